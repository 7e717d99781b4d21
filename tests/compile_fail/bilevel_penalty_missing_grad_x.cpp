// Rejected: a problem without inner_grad_x() handed to F2SA's penalty_gradient; the message
// names the missing member, and the instantiation context names the type (Pb = shifted_pair).
// Control: the same problem with inner_grad_x() computes the penalty gradient.
#include <cstddef>
#include <vector>

#include "continua/bilevel/f2sa.hpp"

namespace bl = continua::bilevel;
using vec = std::vector<double>;

// g(x, y) = 1/2 |y - x|^2, f(x, y) = 1/2 |y|^2.
struct shifted_pair {
  void inner_grad(const vec& x, const vec& y, vec& out) const {
    for (std::size_t i = 0; i < y.size(); ++i) out[i] = y[i] - x[i];
  }
  void outer_grad_x(const vec&, const vec&, vec& out) const {
    for (double& v : out) v = 0;
  }
  void outer_grad_y(const vec&, const vec& y, vec& out) const { out = y; }
#ifdef CONTINUA_CONTROL
  void inner_grad_x(const vec& x, const vec& y, vec& out) const {
    for (std::size_t i = 0; i < y.size(); ++i) out[i] = x[i] - y[i];
  }
#endif
};

int main() {
  const vec x{1.0, 2.0}, y{1.0, 2.0}, z{1.0, 2.0};
  vec grad(2);
  bl::penalty_gradient(shifted_pair{}, x, y, z, 10.0, grad);
  return grad[0] == 0.0 ? 0 : 1;
}
