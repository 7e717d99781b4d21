// Rejected: a regularizer without add_gradient() put in a chain by add_regularizer(); the message
// names the missing member, and the instantiation context names the type (R = pull_to_zero).
// Control: the same regularizer with add_gradient() steps.
#include <cstddef>
#include <vector>

#include "continua/optim.hpp"
#include "continua/regularize/add_regularizer.hpp"

namespace o = continua::optim;
namespace rg = continua::regularize;

// penalty = (strength / 2) ||p||^2.
struct pull_to_zero {
  double strength = 0.1;
  double penalty(const std::vector<float>& p) const {
    double s = 0;
    for (float v : p) s += double(v) * v;
    return 0.5 * strength * s;
  }
  void validate(const std::vector<float>& p, const std::vector<float>& g) const {
    continua::require_same_size("pull_to_zero", "params", p.size(), "grads", g.size());
  }
#ifdef CONTINUA_CONTROL
  void add_gradient(const std::vector<float>& p, std::vector<float>& g) const {
    for (std::size_t i = 0; i < p.size(); ++i) g[i] += float(strength) * p[i];
  }
#endif
};

int main() {
  pull_to_zero reg;
  std::vector<float> params(4, 1.0f), grads(4, 0.5f);
  o::optimizer opt(o::chain(rg::add_regularizer(reg), o::scale_by_learning_rate(0.1)), params);
  return opt.step(params, grads) ? 0 : 1;
}
