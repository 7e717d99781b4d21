// Gradient-based meta-learners: meta-gradients of MAML (second order through the k inner steps),
// first-order MAML and Reptile. Finn, Abbeel & Levine, ICML 2017; Nichol, Achiam & Schulman, 2018.
#pragma once

#include <cmath>
#include <cstddef>
#include <iterator>
#include <ranges>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "continua/bilevel/problem.hpp"
#include "continua/core/error.hpp"
#include "continua/core/finite.hpp"
#include "continua/core/parameter_set.hpp"

namespace continua::bilevel {

// A task: `void grad(const P& params, P& out) const` writes the gradient of its loss (support set
// for the adaptation and query set for the meta-gradient are the same loss here; a task with two
// sets gives its query loss through `query_grad` when it has one). MAML also needs
// `void hvp(const P& params, const P& v, P& out) const` (the loss's Hessian times v).
template <class Tk, class P>
concept meta_task = requires(const Tk& t, const P& p, P& out) {
  t.grad(p, out);
};
// A task with the loss's Hessian-vector product (for second-order MAML).
template <class Tk, class P>
concept meta_task_hvp = meta_task<Tk, P> && requires(const Tk& t, const P& p, const P& v, P& out) {
  t.hvp(p, v, out);
};
// A task whose meta-objective (query loss) differs from its adaptation loss.
template <class Tk, class P>
concept meta_task_query = requires(const Tk& t, const P& p, P& out) {
  t.query_grad(p, out);
};

// The adaptation every learner shares: k steps phi_{t+1} = phi_t - alpha grad L(phi_t) from
// phi_0 = theta.
struct meta_options {
  std::size_t inner_steps = 1;  // k
  double inner_lr = 0.1;        // alpha
};

namespace detail {
template <class P>
constexpr bool check_meta_params() {
  static_assert(owning_set<P>,
                "continua::bilevel: meta-learner parameters P must be a parameter set whose copies "
                "own their elements (std::vector, Eigen, xtensor, Thrust vectors or tuples of "
                "them), not a view");
  return owning_set<P>;
}

inline void validate_meta(std::string_view c, const meta_options& o) {
  require_option(o.inner_steps > 0, c, "inner_steps", o.inner_steps, "must be > 0");
  require_option(std::isfinite(o.inner_lr) && o.inner_lr > 0, c, "inner_lr", o.inner_lr,
                 "must be finite and > 0");
}

template <class Tk, class P>
void query_gradient(const Tk& task, const P& p, P& out) {
  if constexpr (meta_task_query<Tk, P>)
    task.query_grad(p, out);
  else
    task.grad(p, out);
}

// phi <- phi - alpha grad L(phi), k times; g is scratch. Keeps every phi_t in tape when given.
template <class Tk, class P>
void adapt(std::string_view c, const Tk& task, P& phi, P& g, const meta_options& o,
           std::type_identity_t<std::vector<P>>* tape) {
  for (std::size_t t = 0; t < o.inner_steps; ++t) {
    if (tape != nullptr) set_copy(phi, (*tape)[t]);
    task.grad(phi, g);
    set_axpby(-o.inner_lr, g, 1.0, phi);
  }
  if (!all_finite(phi))
    throw numerical_error(std::string(c) +
                          ": the adaptation produced NaN/Inf (inner_lr too large for the task?)");
}
}  // namespace detail

// Reptile: meta-gradient theta - phi_k (the outer step theta <- theta - beta (theta - phi_k)
// moves theta toward the adapted parameters). For quadratic tasks the fixed point of the averaged
// step is (sum (I - B_i^k))^-1 sum (I - B_i^k) c_i, B_i = I - alpha A_i.
struct reptile {
  meta_options opt;
  // out = theta - phi_k(theta) for one task.
  template <class Tk, class P>
  void meta_gradient(const Tk& task, const P& theta, P& out) const {
    constexpr std::string_view c = "continua::bilevel::reptile::meta_gradient";
    static_assert(meta_task<Tk, P>,
                  "continua::bilevel::reptile: task Tk lacks `void grad(const P& params, P& out) "
                  "const`");
    static_assert(detail::check_meta_params<P>());
    detail::validate_meta(c, opt);
    require_same_structure(c, "theta", theta, "out", out);
    require_finite(c, "theta", theta);
    P phi(theta), g(theta);
    detail::adapt(c, task, phi, g, opt, nullptr);
    detail::set_copy(theta, g);
    detail::set_axpby(-1.0, phi, 1.0, g);
    detail::set_copy(g, out);
  }
};

// First-order MAML: meta-gradient grad L_query(phi_k), the MAML gradient with the Jacobian of the
// adaptation dropped. Quadratic tasks, one step: fixed point (sum A_i B_i)^-1 sum A_i B_i c_i.
struct fomaml {
  meta_options opt;
  // out = grad L_query(phi_k(theta)) for one task.
  template <class Tk, class P>
  void meta_gradient(const Tk& task, const P& theta, P& out) const {
    constexpr std::string_view c = "continua::bilevel::fomaml::meta_gradient";
    static_assert(meta_task<Tk, P>,
                  "continua::bilevel::fomaml: task Tk lacks `void grad(const P& params, P& out) "
                  "const`");
    static_assert(detail::check_meta_params<P>());
    detail::validate_meta(c, opt);
    require_same_structure(c, "theta", theta, "out", out);
    require_finite(c, "theta", theta);
    P phi(theta), g(theta);
    detail::adapt(c, task, phi, g, opt, nullptr);
    detail::query_gradient(task, phi, g);
    detail::set_copy(g, out);
  }
};

// MAML (second order): meta-gradient d/dtheta L_query(phi_k(theta))
//   = (I - alpha H(phi_0)) ... (I - alpha H(phi_{k-1})) grad L_query(phi_k),
// reverse mode through the k inner steps with one task Hessian-vector product per step (k copies
// of the parameters kept). Quadratic tasks, one step: fixed point
// (sum B_i A_i B_i)^-1 sum B_i A_i B_i c_i.
struct maml {
  meta_options opt;
  // out = d/dtheta L_query(phi_k(theta)) for one task.
  template <class Tk, class P>
  void meta_gradient(const Tk& task, const P& theta, P& out) const {
    constexpr std::string_view c = "continua::bilevel::maml::meta_gradient";
    static_assert(meta_task_hvp<Tk, P>,
                  "continua::bilevel::maml: task Tk lacks `void grad(const P& params, P& out) "
                  "const` or `void hvp(const P& params, const P& v, P& out) const`");
    static_assert(detail::check_meta_params<P>());
    detail::validate_meta(c, opt);
    require_same_structure(c, "theta", theta, "out", out);
    require_finite(c, "theta", theta);
    std::vector<P> tape(opt.inner_steps, theta);
    P phi(theta), g(theta), hv(theta);
    detail::adapt(c, task, phi, g, opt, &tape);
    detail::query_gradient(task, phi, g);
    for (std::size_t t = opt.inner_steps; t-- > 0;) {
      task.hvp(tape[t], g, hv);
      detail::set_axpby(-opt.inner_lr, hv, 1.0, g);
    }
    detail::set_copy(g, out);
  }
};

// The meta-gradient averaged over a range of tasks: out = mean_i learner.meta_gradient(task_i).
// Checked before out is written; an empty range is refused.
template <class Learner, std::ranges::forward_range Tasks, class P>
void average_meta_gradient(const Learner& learner, const Tasks& tasks, const P& theta, P& out) {
  constexpr std::string_view c = "continua::bilevel::average_meta_gradient";
  const auto n = std::ranges::distance(tasks);
  require(n > 0, c, "no tasks");
  require_same_structure(c, "theta", theta, "out", out);
  P sum(theta), one(theta);
  detail::set_fill(sum, 0.0);
  for (const auto& task : tasks) {
    learner.meta_gradient(task, theta, one);
    detail::set_axpby(1.0, one, 1.0, sum);
  }
  detail::set_scale(sum, 1.0 / static_cast<double>(n));
  detail::set_copy(sum, out);
}

}  // namespace continua::bilevel
