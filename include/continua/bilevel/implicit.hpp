// Implicit hypergradient by the implicit function theorem with any linear-solver policy:
// dF/dx = grad_x f - (d/dx grad_y g)^T [grad_yy g]^-1 grad_y f. Pedregosa, ICML 2016, sec. 2.
#pragma once

#include <cmath>
#include <cstddef>
#include <sstream>
#include <string_view>

#include "continua/bilevel/linear_solvers.hpp"
#include "continua/bilevel/problem.hpp"
#include "continua/core/error.hpp"
#include "continua/core/finite.hpp"
#include "continua/core/parameter_set.hpp"

namespace continua::bilevel {

namespace detail {
// A stand-in operator for checking a solver policy against the concept.
template <class Y>
struct probe_operator {
  void operator()(const Y&, Y&) const {}
};
}  // namespace detail

// Options of implicit_hypergradient.
struct implicit_options {
  // |grad_y g(x, y)| above this marks the inner solve as not converged (the formula assumes
  // y = y*(x)); 0 checks nothing. The norm is reported either way.
  double inner_tolerance = 0;
  // Throw numerical_error (before writing anything) when the inner check fails.
  bool throw_on_inner_failure = false;
};

// Writes grad = dF/dx at (x, y), y being the caller's inner solution. The adjoint
// v = [grad_yy g]^-1 grad_y f is solved by `solver` (conjugate_gradient, neumann_series,
// dense_solve or any linear_solver) from the start in *adjoint when given (a warm start across
// outer steps; it receives v), else from 0. Inputs are checked (structures, NaN/Inf) before
// anything is written; a solver set to throw leaves grad and *adjoint unchanged. The result
// holds |grad_y g| and the linear solve's report; a non-converged solve is reported, and grad is
// still the hypergradient of the v it reached.
template <class Pb, class X, class Y, class Solver>
hypergradient_result implicit_hypergradient(const Pb& pb, const X& x, const Y& y, X& grad,
                                            const Solver& solver, const implicit_options& opt = {},
                                            Y* adjoint = nullptr) {
  constexpr std::string_view c = "continua::bilevel::implicit_hypergradient";
  if constexpr (!detail::check_bilevel_problem<Pb, X, Y>()) {
    return {};
  } else {
    static_assert(linear_solver<Solver, detail::probe_operator<Y>, Y>,
                  "continua::bilevel::implicit_hypergradient: Solver lacks "
                  "`linear_solve_result solve(const Op& op, const Y& b, Y& z) const`");
    require_option(std::isfinite(opt.inner_tolerance) && opt.inner_tolerance >= 0, c,
                   "inner_tolerance", opt.inner_tolerance, "must be finite and >= 0 (0: no check)");
    require_same_structure(c, "x", x, "grad", grad);
    require_finite(c, "x", x);
    require_finite(c, "y", y);
    if (adjoint != nullptr) {
      require_same_structure(c, "y", y, "adjoint", *adjoint);
      require_finite(c, "adjoint", *adjoint);
    }
    hypergradient_result res;
    Y b(y);
    pb.inner_grad(x, y, b);
    require_same_structure(c, "y", y, "inner_grad(x, y)", b);
    require_finite(c, "inner_grad(x, y)", b);
    res.inner_gradient_norm = detail::set_norm(b);
    res.inner_converged =
        opt.inner_tolerance == 0 || res.inner_gradient_norm <= opt.inner_tolerance;
    if (!res.inner_converged && opt.throw_on_inner_failure) {
      std::ostringstream os;
      os << c << ": the inner problem is not solved: |grad_y g(x, y)| = " << res.inner_gradient_norm
         << " > inner_tolerance " << opt.inner_tolerance;
      throw numerical_error(os.str());
    }
    pb.outer_grad_y(x, y, b);
    require_finite(c, "outer_grad_y(x, y)", b);
    Y v(y);
    if (adjoint != nullptr)
      detail::set_copy(*adjoint, v);
    else
      detail::set_fill(v, 0.0);
    const auto hvp = [&](const Y& in, Y& out) { pb.inner_hvp(x, y, in, out); };
    res.linear = solver.solve(hvp, b, v);
    X gx(x), cross(x);
    pb.outer_grad_x(x, y, gx);
    require_same_structure(c, "x", x, "outer_grad_x(x, y)", gx);
    pb.inner_cross(x, y, v, cross);
    require_same_structure(c, "x", x, "inner_cross(x, y, v)", cross);
    detail::set_axpby(-1.0, cross, 1.0, gx);
    detail::set_copy(gx, grad);
    if (adjoint != nullptr) detail::set_copy(v, *adjoint);
    return res;
  }
}

}  // namespace continua::bilevel
