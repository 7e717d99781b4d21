// finite_difference_products: a bilevel problem's Hessian-vector and cross products derived from
// its gradients by central differences, with an error estimate (Nocedal & Wright, 2006, sec. 8.1).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <type_traits>
#include <utility>

#include "continua/bilevel/problem.hpp"
#include "continua/core/error.hpp"
#include "continua/core/kernel.hpp"
#include "continua/core/parameter_set.hpp"
#include "continua/core/reduce.hpp"

namespace continua::bilevel {

// What a product with an estimate reports: the step used and the estimated error of the product
// (2-norm): truncation by Richardson (|D(h) - D(2h)| / 3, exact for a quartic) plus rounding
// (eps * |gradient| / h).
struct finite_difference_estimate {
  double step = 0;
  double error_estimate = 0;
};

namespace detail {
template <class T>
struct read_map {
  const T* x;
  CONTINUA_HD double operator()(std::size_t) const { return static_cast<double>(*x); }
};

// Element `flat` of a set (counted over the whole set), read through the kernel layer.
template <class S>
double set_get(const S& s, std::size_t flat) {
  double value = 0;
  std::size_t offset = 0;
  for_each_tensor(s, [&](std::size_t, const auto& t) {
    using T = value_t<std::remove_cvref_t<decltype(t)>>;
    const std::size_t n = continua::size(t);
    if (flat >= offset && flat < offset + n)
      value = transform_reduce(memory_space_t<std::remove_cvref_t<decltype(t)>>{}, 1, 0.0,
                               read_map<T>{continua::data(t) + (flat - offset)}, plus{});
    offset += n;
  });
  return value;
}

// The machine epsilon of the coarsest element type in the set (float if any tensor is float).
template <class S>
double set_epsilon(const S& s) {
  double eps = 0;
  for_each_tensor(s, [&](std::size_t, const auto& t) {
    using T = value_t<std::remove_cvref_t<decltype(t)>>;
    eps = std::max(eps, static_cast<double>(std::numeric_limits<T>::epsilon()));
  });
  return eps;
}
}  // namespace detail

// Wraps a first-order problem (inner_grad, outer_grad_x, outer_grad_y) into a bilevel_problem:
//   inner_hvp(x, y, v)   = [grad_y g(x, y + h v) - grad_y g(x, y - h v)] / 2h,
//                          h = s * max(1, |y|_inf) / |v|_inf,
//   inner_cross(x, y, v) = [grad_x g(x, y + h v) - grad_x g(x, y - h v)] / 2h when the problem
//                          has inner_grad_x; otherwise coordinate by coordinate in x,
//                          <grad_y g(x + h_i e_i, y) - grad_y g(x - h_i e_i, y), v> / 2h_i,
//                          h_i = s * max(1, |x_i|) (2 * dim(x) gradients: for few hyperparameters),
// with s = cbrt(eps) of the coarsest element type, which balances the O(h^2) truncation against
// the O(eps / h) rounding. Each call allocates two gradient copies.
template <class Pb>
class finite_difference_products {
 public:
  struct options {
    double step_scale = 0;  // s above; 0 picks cbrt(eps)
  };

  // Holds a copy of the problem; validates the options.
  explicit finite_difference_products(Pb problem, options opt = {})
      : pb_(std::move(problem)), opt_(opt) {
    require_option(std::isfinite(opt_.step_scale) && opt_.step_scale >= 0,
                   "continua::bilevel::finite_difference_products", "step_scale", opt_.step_scale,
                   "must be finite and >= 0 (0 picks cbrt(eps))");
  }

  // The wrapped problem.
  const Pb& problem() const { return pb_; }

  // Forwarded first-order members.
  template <class X, class Y>
  void inner_grad(const X& x, const Y& y, Y& out) const {
    pb_.inner_grad(x, y, out);
  }
  // Forwarded grad_x f.
  template <class X, class Y>
  void outer_grad_x(const X& x, const Y& y, X& out) const {
    pb_.outer_grad_x(x, y, out);
  }
  // Forwarded grad_y f.
  template <class X, class Y>
  void outer_grad_y(const X& x, const Y& y, Y& out) const {
    pb_.outer_grad_y(x, y, out);
  }

  // out ~= grad_yy g(x, y) v by central differences.
  template <class X, class Y>
  void inner_hvp(const X& x, const Y& y, const Y& v, Y& out) const {
    hvp_at(x, y, v, out, 1.0);
  }
  // As inner_hvp, with the step and an error estimate (twice the gradient evaluations).
  template <class X, class Y>
  finite_difference_estimate inner_hvp_estimate(const X& x, const Y& y, const Y& v, Y& out) const {
    const auto [h, gscale] = hvp_at(x, y, v, out, 1.0);
    if (h == 0) return {0, 0};
    Y coarse(out);
    hvp_at(x, y, v, coarse, 2.0);
    detail::set_axpby(1.0, out, -1.0, coarse);
    return {h, detail::set_norm(coarse) / 3 + detail::set_epsilon(y) * gscale / h};
  }

  // out ~= (d/dx grad_y g(x, y))^T v by central differences.
  template <class X, class Y>
  void inner_cross(const X& x, const Y& y, const Y& v, X& out) const {
    cross_at(x, y, v, out, 1.0);
  }
  // As inner_cross, with the (largest) step and an error estimate (twice the evaluations).
  template <class X, class Y>
  finite_difference_estimate inner_cross_estimate(const X& x, const Y& y, const Y& v,
                                                  X& out) const {
    const auto [h, gscale] = cross_at(x, y, v, out, 1.0);
    if (h == 0) return {0, 0};
    X coarse(out);
    cross_at(x, y, v, coarse, 2.0);
    detail::set_axpby(1.0, out, -1.0, coarse);
    return {h, detail::set_norm(coarse) / 3 + detail::set_epsilon(x) * gscale / h};
  }

 private:
  struct step_info {
    double step;
    double gradient_scale;  // |gradient| at the evaluated points, for the rounding term
  };

  double scale_for(double eps) const {
    return opt_.step_scale > 0 ? opt_.step_scale : std::cbrt(eps);
  }

  template <class X, class Y>
  step_info hvp_at(const X& x, const Y& y, const Y& v, Y& out, double factor) const {
    const double vmax = max_abs(v);
    if (vmax == 0) {
      detail::set_fill(out, 0.0);
      return {0, 0};
    }
    const double h = factor * scale_for(detail::set_epsilon(y)) * std::max(1.0, max_abs(y)) / vmax;
    Y shifted(y), minus(y);
    detail::set_axpby(h, v, 1.0, shifted);
    pb_.inner_grad(x, shifted, out);
    detail::set_copy(y, shifted);
    detail::set_axpby(-h, v, 1.0, shifted);
    pb_.inner_grad(x, shifted, minus);
    const double gscale = std::max(detail::set_norm(out), detail::set_norm(minus));
    detail::set_axpby(-1.0 / (2 * h), minus, 1.0 / (2 * h), out);
    return {h, gscale};
  }

  template <class X, class Y>
  step_info cross_at(const X& x, const Y& y, const Y& v, X& out, double factor) const {
    const double vmax = max_abs(v);
    if (vmax == 0) {
      detail::set_fill(out, 0.0);
      return {0, 0};
    }
    if constexpr (has_inner_grad_x<Pb, X, Y>) {
      const double h =
          factor * scale_for(detail::set_epsilon(y)) * std::max(1.0, max_abs(y)) / vmax;
      Y shifted(y);
      X minus(out);
      detail::set_axpby(h, v, 1.0, shifted);
      pb_.inner_grad_x(x, shifted, out);
      detail::set_copy(y, shifted);
      detail::set_axpby(-h, v, 1.0, shifted);
      pb_.inner_grad_x(x, shifted, minus);
      const double gscale = std::max(detail::set_norm(out), detail::set_norm(minus));
      detail::set_axpby(-1.0 / (2 * h), minus, 1.0 / (2 * h), out);
      return {h, gscale};
    } else {
      const double s = factor * scale_for(detail::set_epsilon(x));
      const std::size_t n = total_size(x);
      X shifted(x);
      Y gp(y), gm(y);
      double largest_step = 0, gscale = 0;
      for (std::size_t i = 0; i < n; ++i) {
        const double xi = detail::set_get(x, i);
        const double h = s * std::max(1.0, std::abs(xi));
        detail::set_element(shifted, i, xi + h);
        pb_.inner_grad(shifted, y, gp);
        detail::set_element(shifted, i, xi - h);
        pb_.inner_grad(shifted, y, gm);
        detail::set_element(shifted, i, xi);
        gscale = std::max(gscale, std::abs(dot(gp, v)));
        gscale = std::max(gscale, std::abs(dot(gm, v)));
        detail::set_element(out, i, (dot(gp, v) - dot(gm, v)) / (2 * h));
        largest_step = std::max(largest_step, h);
      }
      return {largest_step, gscale};
    }
  }

  Pb pb_;
  options opt_;
};

}  // namespace continua::bilevel
