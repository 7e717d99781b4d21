// Rejected: a bilevel problem without inner_cross() handed to implicit_hypergradient; the message
// names the missing member, and the instantiation context names the type (Pb = quadratic_pair).
// Control: the same problem with inner_cross() computes the hypergradient.
#include <cstddef>
#include <vector>

#include "continua/bilevel/implicit.hpp"

namespace bl = continua::bilevel;
using vec = std::vector<double>;

// g(x, y) = 1/2 |y - x|^2, f(x, y) = 1/2 |y|^2: y*(x) = x, dF/dx = x.
struct quadratic_pair {
  void inner_grad(const vec& x, const vec& y, vec& out) const {
    for (std::size_t i = 0; i < y.size(); ++i) out[i] = y[i] - x[i];
  }
  void outer_grad_x(const vec&, const vec&, vec& out) const {
    for (double& v : out) v = 0;
  }
  void outer_grad_y(const vec&, const vec& y, vec& out) const { out = y; }
  void inner_hvp(const vec&, const vec&, const vec& v, vec& out) const { out = v; }
#ifdef CONTINUA_CONTROL
  void inner_cross(const vec&, const vec&, const vec& v, vec& out) const {
    for (std::size_t i = 0; i < v.size(); ++i) out[i] = -v[i];
  }
#endif
};

int main() {
  const vec x{1.0, 2.0}, y{1.0, 2.0};
  vec grad(2);
  bl::implicit_hypergradient(quadratic_pair{}, x, y, grad, bl::conjugate_gradient{});
  return grad[0] == 1.0 ? 0 : 1;
}
