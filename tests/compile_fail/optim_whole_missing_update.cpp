// Rejected: a whole-set transformation without update() handed to chain(); the message names the
// missing member, and the instantiation context names the type (X = centre_gradients).
// Control: the same transformation with update() steps.
#include <numeric>
#include <vector>

#include "continua/optim.hpp"

namespace o = continua::optim;

// Subtracts the mean gradient (a transformation that reads the whole set at once).
struct centre_gradients {
  static constexpr const char* name = "centre_gradients";
  static constexpr bool elementwise = false;
  struct state {};
  template <class P>
  state init(const P&) const {
    return {};
  }
  void validate(const std::vector<float>&, const state&, const std::vector<float>&) const {}
#ifdef CONTINUA_CONTROL
  void update(std::vector<float>& grads, state&, const std::vector<float>&) const {
    const float mean = std::accumulate(grads.begin(), grads.end(), 0.0f) / float(grads.size());
    for (float& g : grads) g -= mean;
  }
#endif
};

int main() {
  std::vector<float> params(4, 1.0f), grads{1.0f, 2.0f, 3.0f, 4.0f};
  o::optimizer opt(o::chain(centre_gradients{}, o::scale_by_learning_rate(0.1)), params);
  return opt.step(params, grads) ? 0 : 1;
}
