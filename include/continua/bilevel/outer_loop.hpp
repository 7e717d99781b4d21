// An outer-loop driver for bilevel problems: an inner solve (warm-started gradient descent, or the
// caller's own), the implicit hypergradient and a step of any outer optimiser, with progress
// reports and a checkpointable state. Approximate implicit differentiation as in Pedregosa, ICML
// 2016 (HOAG), Alg. 1.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "continua/bilevel/implicit.hpp"
#include "continua/bilevel/problem.hpp"
#include "continua/core/error.hpp"
#include "continua/core/finite.hpp"
#include "continua/core/parameter_set.hpp"

namespace continua::bilevel {

// Options of outer_loop.
struct outer_loop_options {
  std::size_t outer_steps = 100;  // outer steps per call
  std::size_t inner_steps = 100;  // at most this many inner gradient steps per outer step
  double inner_lr = 0.1;          // their step size (< 2 / L of g in y)
  double inner_tolerance = 1e-8;  // inner descent stops once |grad_y g| <= this
};

// What one outer step did; handed to the progress callback and returned for the last step.
struct outer_step_report {
  std::uint64_t step = 0;          // outer steps taken so far (this one included)
  std::size_t inner_steps = 0;     // inner gradient steps taken in this outer step
  double inner_gradient_norm = 0;  // |grad_y g| at the y the hypergradient used
  double hypergradient_norm = 0;   // |dF/dx| before the outer optimiser's step
  linear_solve_result linear;      // the adjoint solve
};

// The driver's state across outer steps and across runs: the inner iterate, the adjoint (warm
// start of the linear solve) and the step count. Checkpointable (docs/checkpoints.md); x and the
// outer optimiser are the caller's and are saved by the caller (io::save of an optim::optimizer).
template <class Y>
struct outer_loop_state {
  Y y;
  Y adjoint;
  std::uint64_t step = 0;

  static constexpr std::string_view checkpoint_kind = "bilevel.outer_loop_state";
  static constexpr std::uint32_t checkpoint_schema = 1;
  // Records: tensors (expected), step, y/<i>, adjoint/<i>.
  template <class V>
  void describe_state(V& v) {
    v.expect("tensors", static_cast<std::uint64_t>(tensor_count(y)));
    v.field("step", step);
    detail::describe_set(v, "y", y);
    detail::describe_set(v, "adjoint", adjoint);
  }
  // A loaded state must hold finite y and adjoint of one structure, and a step count a run can
  // reach (at its maximum the next step would wrap it to 0).
  void validate_state() const {
    constexpr std::string_view c = "continua::bilevel::outer_loop_state";
    require(step < std::numeric_limits<std::uint64_t>::max(), c,
            "the step count is at its maximum");
    require_same_structure(c, "y", y, "adjoint", adjoint);
    require(all_finite(y) && all_finite(adjoint), c, "y or the adjoint holds NaN/Inf");
  }
};

// A state starting at y0 with a zero adjoint.
template <class Y>
outer_loop_state<Y> make_outer_loop_state(const Y& y0) {
  require_finite("continua::bilevel::make_outer_loop_state", "y0", y0);
  outer_loop_state<Y> s{y0, y0, 0};
  detail::set_fill(s.adjoint, 0.0);
  return s;
}

// A progress callback that does nothing.
struct no_progress {
  // Ignores the report.
  void operator()(const outer_step_report&) const {}
};

// Runs `outer_steps` outer steps with the caller's inner solve: inner(x, y) brings y (warm
// started from the state's y) to y*(x) by any means (an exact solve, a factorisation, another
// optimiser) and returns the inner steps it took (reported; 0 for a direct solve). Then the
// implicit hypergradient with `solver` (adjoint warm-started from the state) and
// outer.step(x, grad) (any optimiser with that member, such as continua::optim::optimizer; grad
// may be overwritten by it). progress(report) is called after every step. Returns the last
// report. A NaN/Inf inner solution is a numerical_error; the steps already taken stay taken (the
// state and x hold the last completed step).
template <class Pb, class X, class Y, class Outer, class Solver, class InnerSolve,
          class Progress = no_progress>
requires std::is_invocable_r_v<std::size_t, const InnerSolve&, const X&, Y&> outer_step_report
outer_loop(const Pb& pb, X& x, outer_loop_state<Y>& state, Outer& outer, const Solver& solver,
           const InnerSolve& inner, std::size_t outer_steps, Progress&& progress = {}) {
  constexpr std::string_view c = "continua::bilevel::outer_loop";
  outer_step_report report;
  if constexpr (detail::check_bilevel_problem<Pb, X, Y>()) {
    require_finite(c, "x", x);
    require_same_structure(c, "y (state)", state.y, "adjoint (state)", state.adjoint);
    Y y(state.y), adjoint(state.adjoint);
    X grad(x);
    for (std::size_t s = 0; s < outer_steps; ++s) {
      detail::set_copy(state.y, y);
      detail::set_copy(state.adjoint, adjoint);
      report = {};
      report.inner_steps = inner(static_cast<const X&>(x), y);
      if (!all_finite(y))
        throw numerical_error(std::string(c) + ": the inner solve of outer step " +
                              std::to_string(state.step + 1) +
                              " produced NaN/Inf; the state and x hold the last completed step");
      const hypergradient_result h =
          implicit_hypergradient(pb, x, y, grad, solver, implicit_options{}, &adjoint);
      report.inner_gradient_norm = h.inner_gradient_norm;
      report.linear = h.linear;
      report.hypergradient_norm = detail::set_norm(grad);
      outer.step(x, grad);
      detail::set_copy(y, state.y);
      detail::set_copy(adjoint, state.adjoint);
      report.step = ++state.step;
      progress(static_cast<const outer_step_report&>(report));
    }
  }
  return report;
}

// The same with inner gradient descent (opt.inner_lr) on y from the state's y (warm start) until
// |grad_y g| <= inner_tolerance or inner_steps, for opt.outer_steps outer steps. A NaN/Inf inner
// iterate is a numerical_error (inner_lr too large?).
template <class Pb, class X, class Y, class Outer, class Solver, class Progress = no_progress>
outer_step_report outer_loop(const Pb& pb, X& x, outer_loop_state<Y>& state, Outer& outer,
                             const Solver& solver, const outer_loop_options& opt,
                             Progress&& progress = {}) {
  constexpr std::string_view c = "continua::bilevel::outer_loop";
  if constexpr (!detail::check_bilevel_problem<Pb, X, Y>()) {
    return {};
  } else {
    require_option(opt.inner_steps > 0, c, "inner_steps", opt.inner_steps, "must be > 0");
    require_option(std::isfinite(opt.inner_lr) && opt.inner_lr > 0, c, "inner_lr", opt.inner_lr,
                   "must be finite and > 0");
    require_option(std::isfinite(opt.inner_tolerance) && opt.inner_tolerance >= 0, c,
                   "inner_tolerance", opt.inner_tolerance, "must be finite and >= 0");
    Y g(state.y);
    const auto descent = [&](const X& xs, Y& y) {
      std::size_t steps = 0;
      for (; steps < opt.inner_steps; ++steps) {
        pb.inner_grad(xs, y, g);
        if (!(detail::set_norm(g) > opt.inner_tolerance)) break;
        detail::set_axpby(-opt.inner_lr, g, 1.0, y);
      }
      return steps;
    };
    return outer_loop(pb, x, state, outer, solver, descent, opt.outer_steps,
                      std::forward<Progress>(progress));
  }
}

}  // namespace continua::bilevel
