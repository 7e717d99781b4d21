// optimize(objective, x, transformation, stop): full-batch minimisation driver. The objective
// writes the gradient at x and returns the value; the loop stops on a gradient-norm tolerance, a
// value-change tolerance or a step budget.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>
#include <utility>
#include <vector>

#include "continua/core/buffer.hpp"
#include "continua/core/error.hpp"
#include "continua/core/reduce.hpp"
#include "continua/optim/chain.hpp"

namespace continua::optim {

// When optimize() stops: after max_steps updates, or earlier once a tolerance is met.
struct stop_criteria {
  std::int64_t max_steps = 1000;
  double grad_norm_tol = 1e-6;  // stop when ||grad||_2 <= this
  double value_tol = 0.0;       // stop when |f_k - f_{k-1}| <= value_tol * max(1, |f_k|); 0: off
};

// What optimize() returns: steps taken, final objective and gradient norm, and why it stopped.
struct optimize_result {
  std::int64_t steps = 0;  // parameter updates taken
  double value = 0;        // objective at the returned x
  double grad_norm = 0;    // ||grad|| at the returned x
  bool converged = false;  // a tolerance was met (false: step budget ran out)
};

// objective(const X& x, X& grad) -> value. x is updated in place.
template <tensor X, class Objective, class Chain>
optimize_result optimize(Objective&& objective, X& x, const Chain& transformation,
                         stop_criteria stop = {}) {
  require_option(stop.max_steps >= 0, "optimize", "max_steps", stop.max_steps, "must be >= 0");
  require_option(stop.grad_norm_tol >= 0, "optimize", "grad_norm_tol", stop.grad_norm_tol,
                 "must be >= 0");
  require_option(stop.value_tol >= 0, "optimize", "value_tol", stop.value_tol, "must be >= 0");
  using T = value_t<X>;
  buffer<T, memory_space_t<X>> grad(continua::size(x));
  auto state = transformation.init(x);
  optimize_result r;
  double previous = std::numeric_limits<double>::infinity();
  for (;;) {
    r.value = static_cast<double>(objective(std::as_const(x), grad));
    require(std::isfinite(r.value), "optimize", "objective returned NaN or Inf");
    r.grad_norm = std::sqrt(continua::squared_norm(grad));
    if (r.grad_norm <= stop.grad_norm_tol) {
      r.converged = true;
      break;
    }
    if (stop.value_tol > 0 &&
        std::fabs(r.value - previous) <= stop.value_tol * std::fmax(1.0, std::fabs(r.value))) {
      r.converged = true;
      break;
    }
    if (r.steps == stop.max_steps) break;
    previous = r.value;
    transformation.step(x, grad, state);
    ++r.steps;
  }
  return r;
}

}  // namespace continua::optim
