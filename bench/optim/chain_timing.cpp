// Ad-hoc step timing of ready-made optimizers and chains over 2^24 floats (1 warm-up, mean of 5
// steps): the before/after figures of the kernel-layer fixes in docs/performance.md.
#include <chrono>
#include <continua/optim.hpp>
#include <cstdio>
namespace o = continua::optim;
template <class C>
void run(const char* name, C opt) {
  std::size_t n = 1 << 24;
  std::vector<float> p(n, 1.f), g(n, 0.5f);
  opt.with_nan_policy(o::nan_policy::propagate);
  auto s = opt.init(p);
  opt.step(p, g, s);
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 5; ++i) opt.step(p, g, s);
  printf(
      "%s %.1f ms\n", name,
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count() / 5);
}
int main() {
  run("adam", o::chain(o::scale_by_adam(), o::scale_by_learning_rate(1e-3)));
  run("clip+adam",
      o::chain(o::clip_by_value(1.0), o::scale_by_adam(), o::scale_by_learning_rate(1e-3)));
  run("adam+wd",
      o::chain(o::scale_by_adam(), o::add_decayed_weights(1e-2), o::scale_by_learning_rate(1e-3)));
  run("adam+cos",
      o::chain(o::scale_by_adam(), o::scale_by_learning_rate(o::cosine_schedule(1e-3, 100000))));
  run("sgd", o::sgd({.lr = 0.1}));
  run("sgd mom", o::sgd({.lr = 0.1, .momentum = 0.9}));
  run("rmsprop", o::rmsprop({}));
  run("rmsprop centered", o::rmsprop({.centered = true}));
  run("adagrad", o::adagrad({}));
  run("lion", o::lion({}));
  run("clip", o::chain(o::clip_by_value(1.0), o::scale_by_learning_rate(1e-3)));
}
