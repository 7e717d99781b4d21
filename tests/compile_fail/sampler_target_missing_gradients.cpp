// Rejected: a sampler target that computes energies but takes no gradients argument, handed to
// MALA; the message names the missing call operator, and the instantiation context names the type
// (F = energy_only). Control: the same target with the gradients argument samples.
#include <cstddef>
#include <vector>

#include "continua/core/std_tensors.hpp"
#include "continua/sample/mcmc.hpp"

namespace s = continua::sample;

// U(x) = |x|^2 / 2 per chain.
struct energy_only {
#ifdef CONTINUA_CONTROL
  void operator()(continua::matrix_view<const double> x, continua::span<double> e,
                  continua::matrix_view<double> g) const {
    for (std::size_t c = 0; c < x.rows(); ++c) {
      e[c] = 0;
      for (std::size_t j = 0; j < x.cols(); ++j) {
        e[c] += 0.5 * x(c, j) * x(c, j);
        g(c, j) = x(c, j);
      }
    }
  }
#else
  void operator()(continua::matrix_view<const double> x, continua::span<double> e) const {
    for (std::size_t c = 0; c < x.rows(); ++c) e[c] = 0.5 * x(c, 0) * x(c, 0);
  }
#endif
};

int main() {
  energy_only target;
  std::vector<double> x0(8, 0.5);
  s::mala kernel({.step_size = 0.1});
  auto state = kernel.init(continua::as_matrix(x0, 4, 2), target);
  return s::mean_acceptance(kernel.step(state, target, {1, 0})) >= 0 ? 0 : 1;
}
