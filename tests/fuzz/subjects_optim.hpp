// Optimizer subjects for the loader target and the seed corpus: every optimizer alias and a few
// hand-built chains, each after a few steps on small float/double parameters, so that every
// state field holds something other than its initial value.
#pragma once

#include <cstddef>
#include <tuple>
#include <vector>

#include "continua/optim.hpp"
#include "continua/optim/serialize.hpp"
#include "fuzz.hpp"

namespace continua_fuzz {

namespace o = continua::optim;

// An optimizer's state (chain and its state) as a checkpoint image, and the reverse.
template <class Chain, class P>
struct state_io<o::optimizer<Chain, P>> {
  using opt = o::optimizer<Chain, P>;
  static std::vector<unsigned char> bytes(const opt& x) {
    return io::save_bytes(o::detail::chain_state<Chain, const typename opt::state_type>(
        x.transformation(), x.state()));
  }
  static void load(const io::checkpoint_reader& r, opt& x) {
    io::load(r, x.transformation(), x.state());
  }
};

namespace optim_subjects {

using flat = std::vector<float>;
using mixed = std::tuple<std::vector<float>, std::vector<double>>;

inline flat flat_params() { return {0.5f, -1.25f, 2.0f, 0.125f, -0.75f, 1.5f}; }
inline mixed mixed_params() { return {{0.5f, -1.0f, 0.25f}, {1.5, -0.5}}; }

inline flat grads_for(const flat& p, int step) {
  flat g(p.size());
  for (std::size_t i = 0; i < p.size(); ++i)
    g[i] = p[i] - 0.1f * static_cast<float>((static_cast<int>(i) + step) % 5) + 0.05f;
  return g;
}
inline mixed grads_for(const mixed& p, int step) {
  return {grads_for(std::get<0>(p), step),
          {std::get<1>(p)[0] * 0.5 - 0.1 * step, std::get<1>(p)[1] + 0.2}};
}

// An optimizer for `chain` on `params` after three steps.
template <class Chain, class P>
auto trained(Chain chain, P params) {
  o::optimizer opt(std::move(chain), params);
  for (int step = 0; step < 3; ++step) opt.step(params, grads_for(params, step));
  return opt;
}

// One more step on a loaded state: what a resumed run does first.
inline auto step_flat = [](auto& opt) {
  flat p = flat_params();
  opt.step(p, grads_for(p, 7));
};
inline auto step_mixed = [](auto& opt) {
  mixed p = mixed_params();
  opt.step(p, grads_for(p, 7));
};

}  // namespace optim_subjects

// Calls f(name, make, use) for each optimizer subject.
template <class F>
void visit_optim(F&& f) {
  using namespace optim_subjects;
  f(
      "sgd", [] { return trained(o::sgd({.lr = 0.1}), flat_params()); }, step_flat);
  f(
      "momentum", [] { return trained(o::momentum(0.1), flat_params()); }, step_flat);
  f(
      "nesterov", [] { return trained(o::nesterov(0.1), flat_params()); }, step_flat);
  f(
      "adam", [] { return trained(o::adam({.lr = 1e-2}), flat_params()); }, step_flat);
  f(
      "amsgrad", [] { return trained(o::amsgrad({.lr = 1e-2}), flat_params()); }, step_flat);
  f(
      "adamw", [] { return trained(o::adamw({.lr = 1e-2}), mixed_params()); }, step_mixed);
  f(
      "rmsprop",
      [] {
        return trained(o::rmsprop({.lr = 1e-2, .momentum = 0.5, .centered = true}), flat_params());
      },
      step_flat);
  f(
      "adagrad", [] { return trained(o::adagrad({}), flat_params()); }, step_flat);
  f(
      "lion", [] { return trained(o::lion({}), mixed_params()); }, step_mixed);
  f(
      "clip_adam_decay_cosine",
      [] {
        return trained(
            o::chain(o::clip_by_global_norm(1.0), o::scale_by_adam(), o::add_decayed_weights(1e-2),
                     o::scale_by_learning_rate(o::cosine_schedule(3e-2, 20))),
            flat_params());
      },
      step_flat);
  f(
      "nested_trace_rms",
      [] {
        return trained(
            o::chain(o::chain(o::trace({.decay = 0.5}), o::scale_by_rms({.centered = true})),
                     o::scale_by_learning_rate(o::warmup_cosine_schedule(1e-2, 2, 20))),
            mixed_params());
      },
      step_mixed);
}

}  // namespace continua_fuzz
