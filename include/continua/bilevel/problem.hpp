// The bilevel problem concept (min_x F(x) = f(x, y*(x)), y*(x) = argmin_y g(x, y)), the results
// solvers report, and the parameter-set arithmetic they share. Setting: Pedregosa, ICML 2016.
#pragma once

#include <cmath>
#include <concepts>
#include <cstddef>
#include <string>
#include <string_view>
#include <type_traits>

#include "continua/config.hpp"
#include "continua/core/buffer.hpp"
#include "continua/core/error.hpp"
#include "continua/core/finite.hpp"
#include "continua/core/kernel.hpp"
#include "continua/core/parameter_set.hpp"
#include "continua/core/reduce.hpp"
#include "continua/core/span.hpp"
#include "continua/core/tensor.hpp"
#include "continua/core/vector_ops.hpp"

namespace continua::bilevel {

// x (outer variables) and y (inner variables) are parameter sets whose copies own their elements
// (std::vector, Eigen and xtensor containers, Thrust vectors, tuples and vectors of these): the
// solvers keep workspace as copies of the caller's x and y, so the problem's callbacks see the
// caller's own types. A view (continua::span, std::span) would alias instead of copy.
template <class S>
concept owning_set = parameter_set<S> && std::copy_constructible<S> &&
    std::is_copy_assignable_v<S> &&(!is_span_v<S>);

// The members of a problem, one concept each, so a type that misses one is named with it.
// out = grad_y g(x, y).
template <class Pb, class X, class Y>
concept has_inner_grad = requires(const Pb& pb, const X& x, const Y& y, Y& out) {
  pb.inner_grad(x, y, out);
};
// out = grad_x f(x, y).
template <class Pb, class X, class Y>
concept has_outer_grad_x = requires(const Pb& pb, const X& x, const Y& y, X& out) {
  pb.outer_grad_x(x, y, out);
};
// out = grad_y f(x, y).
template <class Pb, class X, class Y>
concept has_outer_grad_y = requires(const Pb& pb, const X& x, const Y& y, Y& out) {
  pb.outer_grad_y(x, y, out);
};
// out = grad_yy g(x, y) v (Hessian-vector product in y).
template <class Pb, class X, class Y>
concept has_inner_hvp = requires(const Pb& pb, const X& x, const Y& y, const Y& v, Y& out) {
  pb.inner_hvp(x, y, v, out);
};
// out = (d/dx grad_y g(x, y))^T v = grad_x <grad_y g(x, y), v> (cross product, lands in x).
template <class Pb, class X, class Y>
concept has_inner_cross = requires(const Pb& pb, const X& x, const Y& y, const Y& v, X& out) {
  pb.inner_cross(x, y, v, out);
};
// out = grad_x g(x, y): optional; lets finite_difference_products form cross products by one
// directional difference instead of one per outer coordinate.
template <class Pb, class X, class Y>
concept has_inner_grad_x = requires(const Pb& pb, const X& x, const Y& y, X& out) {
  pb.inner_grad_x(x, y, out);
};

// A first-order problem: the gradients every solver needs.
template <class Pb, class X, class Y>
concept first_order_problem = owning_set<X> && owning_set<Y> && has_inner_grad<Pb, X, Y> &&
    has_outer_grad_x<Pb, X, Y> && has_outer_grad_y<Pb, X, Y>;

// A problem the implicit and unrolled hypergradients accept: first-order members plus the
// second-order products (supplied, or derived by finite_difference_products).
template <class Pb, class X, class Y>
concept bilevel_problem =
    first_order_problem<Pb, X, Y> && has_inner_hvp<Pb, X, Y> && has_inner_cross<Pb, X, Y>;

namespace detail {
// One static_assert per member; the problem at fault is the Pb of the instantiation context the
// compiler prints with the message. Returns whether Pb passed, so callers skip the calls that
// would fail again further in.
template <class Pb, class X, class Y>
constexpr bool check_first_order_problem() {
  static_assert(owning_set<X>,
                "continua::bilevel: the outer variables X must be a parameter set whose copies own "
                "their elements (std::vector, Eigen, xtensor, Thrust vectors or tuples of them), "
                "not a view");
  static_assert(owning_set<Y>,
                "continua::bilevel: the inner variables Y must be a parameter set whose copies own "
                "their elements (std::vector, Eigen, xtensor, Thrust vectors or tuples of them), "
                "not a view");
  static_assert(has_inner_grad<Pb, X, Y>,
                "continua::bilevel: problem Pb lacks `void inner_grad(const X& x, const Y& y, Y& "
                "out) const` (out = grad_y g(x, y))");
  static_assert(has_outer_grad_x<Pb, X, Y>,
                "continua::bilevel: problem Pb lacks `void outer_grad_x(const X& x, const Y& y, "
                "X& out) const` (out = grad_x f(x, y))");
  static_assert(has_outer_grad_y<Pb, X, Y>,
                "continua::bilevel: problem Pb lacks `void outer_grad_y(const X& x, const Y& y, "
                "Y& out) const` (out = grad_y f(x, y))");
  return first_order_problem<Pb, X, Y>;
}

template <class Pb, class X, class Y>
constexpr bool check_bilevel_problem() {
  if constexpr (!check_first_order_problem<Pb, X, Y>()) {
    return false;
  } else {
    static_assert(has_inner_hvp<Pb, X, Y>,
                  "continua::bilevel: problem Pb lacks `void inner_hvp(const X& x, const Y& y, "
                  "const Y& v, Y& out) const` (out = grad_yy g(x, y) v); wrap it in "
                  "finite_difference_products to derive it from inner_grad");
    static_assert(has_inner_cross<Pb, X, Y>,
                  "continua::bilevel: problem Pb lacks `void inner_cross(const X& x, const Y& y, "
                  "const Y& v, X& out) const` (out = (d/dx grad_y g)^T v); wrap it in "
                  "finite_difference_products to derive it from inner_grad");
    return bilevel_problem<Pb, X, Y>;
  }
}
}  // namespace detail

// What a linear solve A z = b reports. residual is ||b - A z|| of the z it wrote (computed, not
// assumed); converged says whether residual <= max(atol, rtol * ||b||).
struct linear_solve_result {
  std::size_t iterations = 0;  // operator applications (matrix-vector products) used
  double residual = 0;         // ||b - A z|| at the returned z
  double rhs_norm = 0;         // ||b||
  bool converged = false;      // residual within tolerance
  bool breakdown = false;      // CG met p'Ap <= 0 (A not positive definite) or a NaN
  bool diverging = false;      // Neumann: the residual grew (alpha * L >= 2 or A indefinite)
};

// What a hypergradient reports next to the gradient it wrote.
struct hypergradient_result {
  double inner_gradient_norm = 0;  // ||grad_y g(x, y)|| at the y used: how far y is from y*(x)
  bool inner_converged = true;     // inner_gradient_norm within the caller's inner tolerance
  linear_solve_result linear;      // the linear solve A = grad_yy g, b = grad_y f
};

namespace detail {

template <class T>
struct scale_kernel {
  T* x;
  T a;
  CONTINUA_HD void operator()(std::size_t i) const { x[i] *= a; }
};
template <class T>
struct fill_kernel {
  T* x;
  T value;
  CONTINUA_HD void operator()(std::size_t i) const { x[i] = value; }
};
// y = a x + b y.
template <class T>
struct axpby_kernel {
  T* y;
  const T* x;
  T a, b;
  CONTINUA_HD void operator()(std::size_t i) const { y[i] = a * x[i] + b * y[i]; }
};
// Writes value at one index (run over one element).
template <class T>
struct set_at_kernel {
  T* x;
  std::size_t index;
  T value;
  CONTINUA_HD void operator()(std::size_t) const { x[index] = value; }
};

// Set-level arithmetic: every tensor of the set through the kernel layer, so host and device
// share one path. Structures were checked by the caller (workspace is a copy of the input).
template <class S>
void set_fill(S& s, double value) {
  for_each_tensor(s, [&](std::size_t, auto& t) {
    using T = value_t<std::remove_cvref_t<decltype(t)>>;
    const std::size_t n = continua::size(t);
    if (n != 0)
      for_each_index(memory_space_t<std::remove_cvref_t<decltype(t)>>{}, n,
                     fill_kernel<T>{continua::data(t), static_cast<T>(value)});
  });
}

template <class S>
void set_scale(S& s, double a) {
  for_each_tensor(s, [&](std::size_t, auto& t) {
    using T = value_t<std::remove_cvref_t<decltype(t)>>;
    const std::size_t n = continua::size(t);
    if (n != 0)
      for_each_index(memory_space_t<std::remove_cvref_t<decltype(t)>>{}, n,
                     scale_kernel<T>{continua::data(t), static_cast<T>(a)});
  });
}

// dst = src.
template <class S>
void set_copy(const S& src, S& dst) {
  for_each_tensor_pair("continua::bilevel::set_copy", "source", src, "destination", dst,
                       [](std::size_t, const auto& a, auto& b) { continua::copy(a, b); });
}

// y = a x + b y.
template <class S>
void set_axpby(double a, const S& x, double b, S& y) {
  for_each_tensor_pair("continua::bilevel::set_axpby", "x", x, "y", y,
                       [&](std::size_t, const auto& xt, auto& yt) {
                         using T = value_t<std::remove_cvref_t<decltype(xt)>>;
                         const std::size_t n = continua::size(xt);
                         if (n != 0)
                           for_each_index(memory_space_t<std::remove_cvref_t<decltype(xt)>>{}, n,
                                          axpby_kernel<T>{continua::data(yt), continua::data(xt),
                                                          static_cast<T>(a), static_cast<T>(b)});
                       });
}

// Sets element `flat` (counted over the whole set) to value.
template <class S>
void set_element(S& s, std::size_t flat, double value) {
  std::size_t offset = 0;
  for_each_tensor(s, [&](std::size_t, auto& t) {
    using T = value_t<std::remove_cvref_t<decltype(t)>>;
    const std::size_t n = continua::size(t);
    if (flat >= offset && flat < offset + n)
      for_each_index(memory_space_t<std::remove_cvref_t<decltype(t)>>{}, 1,
                     set_at_kernel<T>{continua::data(t), flat - offset, static_cast<T>(value)});
    offset += n;
  });
}

template <class S>
double set_norm(const S& s) {
  return std::sqrt(squared_norm(s));
}

// Describes every tensor of a set as a record "<name>/<index>", through a buffer in the tensor's
// own space (device tensors too, without naming an adapter); on load the record must hold exactly
// the tensor's current size, and is copied into it.
template <class V, class S>
void describe_set(V& v, std::string_view name, S& s) {
  for_each_tensor(s, [&](std::size_t k, auto& t) {
    using Tn = std::remove_cvref_t<decltype(t)>;
    buffer<value_t<Tn>, memory_space_t<Tn>> b(continua::size(t));
    if constexpr (!V::loading) continua::copy(t, b);
    v.field(std::string(name) + "/" + std::to_string(k), b);
    if constexpr (V::loading) continua::copy(b, t);
  });
}

// Validates that `s` has the structure of `like` and holds finite numbers.
template <class S>
void require_like(std::string_view context, std::string_view name, const S& s,
                  std::string_view like_name, const S& like) {
  require_same_structure(context, name, s, like_name, like);
  require_finite(context, name, s);
}

}  // namespace detail
}  // namespace continua::bilevel
