// Rejected: an elementwise transformation without prepare() handed to chain(); the message names
// the missing member, and the instantiation context names the type (X = doubling_rule).
// Control: the same transformation with prepare() steps.
#include <cstddef>
#include <vector>

#include "continua/optim.hpp"

namespace o = continua::optim;

template <class T>
struct times_kernel {
  T factor;
  T operator()(std::size_t, T g, T) const { return factor * g; }
};

struct doubling_rule : o::stateless_elementwise {
  static constexpr const char* name = "doubling_rule";
#ifdef CONTINUA_CONTROL
  template <class G, class P>
  double prepare(const o::no_scalars&, const G&, const P&) const {
    return 2.0;
  }
#endif
  template <class T, class Space>
  times_kernel<T> make_kernel(double factor, o::no_slots<T, Space>&) const {
    return {static_cast<T>(factor)};
  }
};

int main() {
  std::vector<float> params(4, 1.0f), grads(4, 0.5f);
  auto opt = o::chain(doubling_rule{}, o::scale_by_learning_rate(0.1));
  auto state = opt.init(params);
  return opt.step(params, grads, state) ? 0 : 1;
}
