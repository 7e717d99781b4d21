// Linear-solver policies for A z = b with A given only as a product z -> A z: conjugate gradient,
// Neumann series and a dense Cholesky solve. Hestenes & Stiefel, J. Res. NBS 49, 1952 (CG).
#pragma once

#include <cmath>
#include <cstddef>
#include <limits>
#include <sstream>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>

#include "continua/bilevel/problem.hpp"
#include "continua/core/buffer.hpp"
#include "continua/core/error.hpp"
#include "continua/core/finite.hpp"
#include "continua/core/linalg.hpp"
#include "continua/core/parameter_set.hpp"
#include "continua/core/reduce.hpp"
#include "continua/core/span.hpp"
#include "continua/core/vector_ops.hpp"

namespace continua::bilevel {

// A linear operator on sets of type V: op(v, out) writes out = A v. A solver policy S has
// `linear_solve_result solve(const Op& op, const V& b, V& z) const`, z holding the start on entry;
// the solvers here throw (throw_on_failure) with z unchanged.
template <class S, class Op, class V>
concept linear_solver = requires(const S& s, const Op& op, const V& b, V& z) {
  { s.solve(op, b, z) } -> std::same_as<linear_solve_result>;
};

namespace detail {
// The checks every solver makes before it writes z: b and z pair up, both finite.
template <class V>
void check_system(std::string_view context, const V& b, const V& z) {
  require_same_structure(context, "b", b, "z (start)", z);
  require_finite(context, "b", b);
  require_finite(context, "z (start)", z);
}

// Throws numerical_error describing r when it did not converge and the caller asked for it.
inline void finish(std::string_view context, const linear_solve_result& r, bool throw_on_failure,
                   double tolerance) {
  if (r.converged || !throw_on_failure) return;
  std::ostringstream os;
  os << context << ": did not converge: residual " << r.residual << " > tolerance " << tolerance
     << " after " << r.iterations << " operator applications (|b| = " << r.rhs_norm << ")";
  if (r.breakdown) os << "; breakdown (operator not positive definite, or NaN)";
  if (r.diverging) os << "; residual grew (alpha * L >= 2, or operator indefinite)";
  throw numerical_error(os.str());
}

// ||b - A z|| with one application, into scratch.
template <class Op, class V>
double true_residual(const Op& op, const V& b, const V& z, V& scratch) {
  op(z, scratch);
  set_axpby(1.0, b, -1.0, scratch);
  return set_norm(scratch);
}

// The common value type and memory space of a set whose tensors all share them (dense solve).
template <class S>
struct uniform_set;
template <class S>
requires tensor<S>
struct uniform_set<S> {
  using value = value_t<S>;
  using space = memory_space_t<S>;
};
template <class T0, class... Ts>
struct uniform_set<std::tuple<T0, Ts...>> {
  static_assert((std::is_same_v<value_t<T0>, value_t<Ts>> && ...) &&
                    (std::is_same_v<memory_space_t<T0>, memory_space_t<Ts>> && ...),
                "continua::bilevel::dense_solve: every tensor of the set must have one element "
                "type and one memory space");
  using value = value_t<T0>;
  using space = memory_space_t<T0>;
};
template <class S>
requires tensor_range<S>
struct uniform_set<S> {
  using element = std::remove_cvref_t<std::ranges::range_reference_t<S>>;
  using value = value_t<element>;
  using space = memory_space_t<element>;
};

// Copies the set's tensors into consecutive stretches of flat.
template <class S, class T, class Space>
void gather(const S& s, span<T, Space> flat) {
  std::size_t offset = 0;
  for_each_tensor(s, [&](std::size_t, const auto& t) {
    const std::size_t n = continua::size(t);
    continua::copy(t, flat.subspan(offset, n));
    offset += n;
  });
}

// Copies consecutive stretches of flat into the set's tensors.
template <class S, class T, class Space>
void scatter(span<T, Space> flat, S& s) {
  std::size_t offset = 0;
  for_each_tensor(s, [&](std::size_t, auto& t) {
    const std::size_t n = continua::size(t);
    continua::copy(span<const T, Space>(flat.data() + offset, n), t);
    offset += n;
  });
}

// a(i, j) = a(j, i) = (a(i, j) + a(j, i)) / 2 written into the lower triangle (the one Cholesky
// reads), from an upper triangle that is only read: no element is both read and written by two
// threads.
template <class T>
struct symmetrize_lower_kernel {
  T* a;
  std::size_t n;
  CONTINUA_HD void operator()(std::size_t k) const {
    const std::size_t i = k % n, j = k / n;  // column-major: element (i, j) at j * n + i
    if (i > j) a[k] = (a[k] + a[i * n + j]) / T(2);
  }
};
}  // namespace detail

// Conjugate gradient on A z = b itself (not the normal equations): A symmetric positive definite.
// Stops when the recursive residual |r_k| <= max(atol, rtol |b|); then recomputes the true
// residual |b - A z| (one more application) and reports that. In floating point the true residual
// stagnates near eps |A| |z|, so relative error in z is about kappa(A) * max(rtol, eps).
// Breakdown (p'Ap <= 0 or NaN: A not positive definite) stops and is reported.
class conjugate_gradient {
 public:
  struct options {
    double rtol = 1e-10;                // relative tolerance on |r|
    double atol = 0;                    // absolute tolerance on |r|
    std::size_t max_iterations = 1000;  // CG steps (one application each)
    bool throw_on_failure = false;      // throw numerical_error instead of reporting
  };

  conjugate_gradient() : conjugate_gradient(options{}) {}
  // Validates the options.
  explicit conjugate_gradient(options opt) : opt_(opt) {
    constexpr std::string_view c = "continua::bilevel::conjugate_gradient";
    require_option(std::isfinite(opt_.rtol) && opt_.rtol >= 0, c, "rtol", opt_.rtol,
                   "must be finite and >= 0");
    require_option(std::isfinite(opt_.atol) && opt_.atol >= 0, c, "atol", opt_.atol,
                   "must be finite and >= 0");
    require_option(opt_.rtol > 0 || opt_.atol > 0, c, "rtol", opt_.rtol,
                   "rtol and atol cannot both be 0 (the solve could never converge)");
    require_option(opt_.max_iterations > 0, c, "max_iterations", opt_.max_iterations,
                   "must be > 0");
  }

  // The options in force.
  const options& opts() const { return opt_; }

  // Solves A z = b from the start in z; writes z.
  template <class Op, class V>
  linear_solve_result solve(const Op& op, const V& b, V& z_out) const {
    constexpr std::string_view c = "continua::bilevel::conjugate_gradient::solve";
    detail::check_system(c, b, z_out);
    V z(z_out);  // worked on a copy: a throw leaves z_out as it was
    linear_solve_result res;
    res.rhs_norm = detail::set_norm(b);
    const double tol = std::max(opt_.atol, opt_.rtol * res.rhs_norm);
    V r(b), p(b), ap(b);
    op(z, ap);
    ++res.iterations;
    detail::set_axpby(-1.0, ap, 1.0, r);  // r = b - A z
    detail::set_copy(r, p);
    double rs = squared_norm(r);
    bool done = std::sqrt(rs) <= tol;
    for (std::size_t k = 0; k < opt_.max_iterations && !done; ++k) {
      op(p, ap);
      ++res.iterations;
      const double pap = dot(p, ap);
      if (!(pap > 0) || !std::isfinite(pap)) {
        res.breakdown = true;
        break;
      }
      const double alpha = rs / pap;
      detail::set_axpby(alpha, p, 1.0, z);
      detail::set_axpby(-alpha, ap, 1.0, r);
      const double rs_new = squared_norm(r);
      if (!std::isfinite(rs_new)) {
        res.breakdown = true;
        break;
      }
      done = std::sqrt(rs_new) <= tol;
      detail::set_axpby(1.0, r, rs_new / rs, p);  // p = r + beta p
      rs = rs_new;
    }
    res.residual = detail::true_residual(op, b, z, ap);
    ++res.iterations;
    res.converged = done && !res.breakdown && std::isfinite(res.residual);
    detail::finish(c, res, opt_.throw_on_failure, tol);
    detail::set_copy(z, z_out);
    return res;
  }

 private:
  options opt_;
};

// Neumann series / Richardson iteration: z <- z + alpha (b - A z). From z = 0 after K steps
// z = alpha sum_{k<K} (I - alpha A)^k b, the truncated series of A^-1 = alpha sum (I - alpha A)^k,
// and the residual is (I - alpha A)^K b, so |z - z*| <= |(I - alpha A)^K| |z*|. It converges iff
// 0 < alpha lambda < 2 for every eigenvalue lambda of A; with L >= lambda_max supplied,
// alpha * L >= 2 is refused at construction, and in any case a residual that grows stops the
// iteration with `diverging` set. The residual is carried by the recurrence (no extra product).
class neumann_series {
 public:
  struct options {
    double alpha = 1.0;                // step; alpha = 1 / L gives rate 1 - mu / L
    std::size_t max_iterations = 100;  // series terms (one application each)
    double rtol = 1e-10;               // stop when |r| <= max(atol, rtol |b|)
    double atol = 0;
    double lipschitz = 0;           // L >= largest eigenvalue of A if known (0: unknown)
    bool throw_on_failure = false;  // throw numerical_error instead of reporting
  };

  neumann_series() : neumann_series(options{}) {}
  // Validates the options; refuses alpha * lipschitz >= 2 (the series would diverge).
  explicit neumann_series(options opt) : opt_(opt) {
    constexpr std::string_view c = "continua::bilevel::neumann_series";
    require_option(std::isfinite(opt_.alpha) && opt_.alpha > 0, c, "alpha", opt_.alpha,
                   "must be finite and > 0");
    require_option(opt_.max_iterations > 0, c, "max_iterations", opt_.max_iterations,
                   "must be > 0");
    require_option(std::isfinite(opt_.rtol) && opt_.rtol >= 0, c, "rtol", opt_.rtol,
                   "must be finite and >= 0");
    require_option(std::isfinite(opt_.atol) && opt_.atol >= 0, c, "atol", opt_.atol,
                   "must be finite and >= 0");
    require_option(std::isfinite(opt_.lipschitz) && opt_.lipschitz >= 0, c, "lipschitz",
                   opt_.lipschitz, "must be finite and >= 0 (0: unknown)");
    require_option(opt_.lipschitz == 0 || opt_.alpha * opt_.lipschitz < 2, c, "alpha", opt_.alpha,
                   "alpha * lipschitz >= 2: the Neumann series diverges (take alpha <= 1 / L)");
  }

  // The options in force.
  const options& opts() const { return opt_; }

  // Runs the iteration from the start in z (z = 0 gives the plain series); writes z.
  template <class Op, class V>
  linear_solve_result solve(const Op& op, const V& b, V& z_out) const {
    constexpr std::string_view c = "continua::bilevel::neumann_series::solve";
    detail::check_system(c, b, z_out);
    V z(z_out);  // worked on a copy: a throw leaves z_out as it was
    linear_solve_result res;
    res.rhs_norm = detail::set_norm(b);
    const double tol = std::max(opt_.atol, opt_.rtol * res.rhs_norm);
    V r(b), ar(b);
    if (max_abs(z) != 0) {  // from z = 0 the first residual is b itself
      op(z, ar);
      ++res.iterations;
      detail::set_axpby(-1.0, ar, 1.0, r);
    }
    double rn = detail::set_norm(r);
    // Growth below this is rounding at the floor the residual has reached, not divergence.
    const double floor = 100 * std::numeric_limits<double>::epsilon() * res.rhs_norm;
    bool done = rn <= tol;
    for (std::size_t k = 0; k < opt_.max_iterations && !done; ++k) {
      detail::set_axpby(opt_.alpha, r, 1.0, z);
      op(r, ar);
      ++res.iterations;
      detail::set_axpby(-opt_.alpha, ar, 1.0, r);
      const double rn_new = detail::set_norm(r);
      if (!std::isfinite(rn_new)) {
        res.breakdown = true;
        rn = rn_new;
        break;
      }
      if (rn_new > rn * (1 + 1e-6) && rn_new > floor) {
        res.diverging = true;
        rn = rn_new;
        break;
      }
      rn = rn_new;
      done = rn <= tol;
    }
    res.residual = rn;
    res.converged = done;
    detail::finish(c, res, opt_.throw_on_failure, tol);
    detail::set_copy(z, z_out);
    return res;
  }

 private:
  options opt_;
};

// Dense solve for small systems: builds A column by column (n applications to unit vectors),
// symmetrises it, factors it by Cholesky (core/linalg) and solves; the residual |b - A z| is then
// computed with one more application. A not positive definite is reported as breakdown (z left
// unchanged). Memory n^2 elements; every tensor of the set must share one element type and space.
class dense_solve {
 public:
  struct options {
    double rtol = 0;  // converged when |b - A z| <= max(atol, rtol |b|); 0 picks sqrt(eps)
    double atol = 0;
    bool throw_on_failure = false;  // throw numerical_error instead of reporting
  };

  dense_solve() : dense_solve(options{}) {}
  // Validates the options.
  explicit dense_solve(options opt) : opt_(opt) {
    constexpr std::string_view c = "continua::bilevel::dense_solve";
    require_option(std::isfinite(opt_.rtol) && opt_.rtol >= 0, c, "rtol", opt_.rtol,
                   "must be finite and >= 0 (0 picks sqrt(eps))");
    require_option(std::isfinite(opt_.atol) && opt_.atol >= 0, c, "atol", opt_.atol,
                   "must be finite and >= 0");
  }

  // The options in force.
  const options& opts() const { return opt_; }

  // Solves A z = b (the start in z is not used); writes z unless A is not positive definite.
  template <class Op, class V>
  linear_solve_result solve(const Op& op, const V& b, V& z_out) const {
    constexpr std::string_view c = "continua::bilevel::dense_solve::solve";
    using T = typename detail::uniform_set<V>::value;
    using Space = typename detail::uniform_set<V>::space;
    detail::check_system(c, b, z_out);
    V z(z_out);  // worked on a copy: a throw leaves z_out as it was
    linear_solve_result res;
    res.rhs_norm = detail::set_norm(b);
    const double rtol = opt_.rtol > 0 ? opt_.rtol : std::sqrt(std::numeric_limits<T>::epsilon());
    const double tol = std::max(opt_.atol, rtol * res.rhs_norm);
    const std::size_t n = total_size(b);
    const std::size_t nn = checked_mul(n, n, c, "matrix elements");
    buffer<T, Space> a(nn), rhs(n);
    V e(b), col(b);
    detail::set_fill(e, 0.0);
    const span<T, Space> flat_a = as_span(a);
    for (std::size_t j = 0; j < n; ++j) {
      detail::set_element(e, j, 1.0);
      op(e, col);
      ++res.iterations;
      detail::set_element(e, j, 0.0);
      detail::gather(col, flat_a.subspan(j * n, n));
    }
    if (!all_finite(a)) {
      res.breakdown = true;
    } else {
      if (n != 0) for_each_index(Space{}, nn, detail::symmetrize_lower_kernel<T>{a.data(), n});
      const matrix_view<T, Space> m(a.data(), n, n, layout::col_major);
      try {
        linalg::cholesky_factor(m);
      } catch (const linalg::not_positive_definite&) {
        res.breakdown = true;
      }
    }
    if (res.breakdown) {
      res.residual = detail::true_residual(op, b, z, col);
      ++res.iterations;
      detail::finish(c, res, opt_.throw_on_failure, tol);
      return res;  // z_out unchanged
    }
    detail::gather(b, as_span(rhs));
    linalg::cholesky_solve(matrix_view<const T, Space>(a.data(), n, n, layout::col_major),
                           matrix_view<T, Space>(rhs.data(), n, 1, layout::col_major));
    detail::scatter(as_span(rhs), z);
    res.residual = detail::true_residual(op, b, z, col);
    ++res.iterations;
    res.converged = std::isfinite(res.residual) && res.residual <= tol;
    detail::finish(c, res, opt_.throw_on_failure, tol);
    detail::set_copy(z, z_out);
    return res;
  }

 private:
  options opt_;
};

}  // namespace continua::bilevel
