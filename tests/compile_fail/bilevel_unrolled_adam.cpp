// Rejected: Adam as the inner optimiser of the unrolled hypergradient; only linear optim parts
// (weight decay, trace, scale, scale_by_learning_rate) have the exact adjoint it needs, and the
// message says so. Control: the same problem unrolled through optim::momentum.
#include <cstddef>
#include <vector>

#include "continua/bilevel/unrolled.hpp"
#include "continua/optim/aliases.hpp"

namespace bl = continua::bilevel;
using vec = std::vector<double>;

// g(x, y) = 1/2 |y - x|^2, f(x, y) = 1/2 |y|^2.
struct quadratic_pair {
  void inner_grad(const vec& x, const vec& y, vec& out) const {
    for (std::size_t i = 0; i < y.size(); ++i) out[i] = y[i] - x[i];
  }
  void outer_grad_x(const vec&, const vec&, vec& out) const {
    for (double& v : out) v = 0;
  }
  void outer_grad_y(const vec&, const vec& y, vec& out) const { out = y; }
  void inner_hvp(const vec&, const vec&, const vec& v, vec& out) const { out = v; }
  void inner_cross(const vec&, const vec&, const vec& v, vec& out) const {
    for (std::size_t i = 0; i < v.size(); ++i) out[i] = -v[i];
  }
};

int main() {
  const vec x{1.0, 2.0};
  vec y{0.0, 0.0}, grad(2);
#ifdef CONTINUA_CONTROL
  const auto inner = continua::optim::momentum(0.1, 0.5);
#else
  const auto inner = continua::optim::adam({.lr = 0.1});
#endif
  bl::unrolled_hypergradient(quadratic_pair{}, x, y, grad, inner, {.steps = 10});
  return grad[0] > 0 ? 0 : 1;
}
