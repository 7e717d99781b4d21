// iMAML: meta-gradients through a proximal inner problem by the implicit function theorem, with
// any linear-solver policy. Rajeswaran, Finn, Kakade & Levine, "Meta-Learning with Implicit
// Gradients", NeurIPS 2019.
#pragma once

#include <cmath>
#include <cstddef>
#include <string>
#include <string_view>

#include "continua/bilevel/linear_solvers.hpp"
#include "continua/bilevel/meta.hpp"
#include "continua/bilevel/problem.hpp"
#include "continua/core/error.hpp"
#include "continua/core/finite.hpp"
#include "continua/core/parameter_set.hpp"

namespace continua::bilevel {

// Options of imaml (the linear solver's own options live in the solver).
struct imaml_options {
  double lambda = 1;  // proximal strength: phi* = argmin L(phi) + lambda/2 |phi - theta|^2
  std::size_t inner_steps = 50;  // gradient steps on the proximal problem, from theta
  double inner_lr = 0.1;         // their step; converges for inner_lr < 2 / (L + lambda)
};

// The meta-gradient (I + H(phi)/lambda)^-1 grad L_query(phi) at the approximate proximal solution
// phi, which depends on theta only through phi* (no backpropagation through the inner steps:
// memory of a few parameter copies, whatever inner_steps is). Tasks need grad and hvp
// (meta_task_hvp). The solve's report is returned: a solver that did not converge says so.
template <class Solver = conjugate_gradient>
struct imaml {
  imaml_options opt;
  Solver solver;

  // out = meta-gradient for one task; returns the linear solve's report.
  template <class Tk, class P>
  linear_solve_result meta_gradient(const Tk& task, const P& theta, P& out) const {
    constexpr std::string_view c = "continua::bilevel::imaml::meta_gradient";
    static_assert(detail::check_meta_params<P>());
    static_assert(meta_task_hvp<Tk, P>,
                  "continua::bilevel::imaml: task Tk lacks `void grad(const P& params, P& out) "
                  "const` or `void hvp(const P& params, const P& v, P& out) const`");
    require_option(std::isfinite(opt.lambda) && opt.lambda > 0, c, "lambda", opt.lambda,
                   "must be finite and > 0");
    require_option(opt.inner_steps > 0, c, "inner_steps", opt.inner_steps, "must be > 0");
    require_option(std::isfinite(opt.inner_lr) && opt.inner_lr > 0, c, "inner_lr", opt.inner_lr,
                   "must be finite and > 0");
    require_same_structure(c, "theta", theta, "out", out);
    require_finite(c, "theta", theta);
    P phi(theta), g(theta), b(theta), v(theta);
    for (std::size_t t = 0; t < opt.inner_steps; ++t) {
      task.grad(phi, g);
      detail::set_axpby(opt.lambda, phi, 1.0, g);     // + lambda phi
      detail::set_axpby(-opt.lambda, theta, 1.0, g);  // - lambda theta
      detail::set_axpby(-opt.inner_lr, g, 1.0, phi);
    }
    if (!all_finite(phi))
      throw numerical_error(std::string(c) +
                            ": the proximal inner problem produced NaN/Inf (inner_lr too large?)");
    detail::query_gradient(task, phi, b);
    detail::set_fill(v, 0.0);
    const double inv = 1 / opt.lambda;
    const auto op = [&](const P& in, P& o) {  // (I + H / lambda) in
      task.hvp(phi, in, o);
      detail::set_axpby(1.0, in, inv, o);
    };
    const linear_solve_result res = solver.solve(op, b, v);
    detail::set_copy(v, out);
    return res;
  }
};

}  // namespace continua::bilevel
