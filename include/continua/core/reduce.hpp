// Named reductions over tensors and parameter sets: sum, dot, squared_norm, max_abs.
// float data is accumulated in double: a 2^25-element sum in float loses ~3 digits.
#pragma once

#include <cstddef>
#include <type_traits>

#include "continua/config.hpp"
#include "continua/core/kernel.hpp"
#include "continua/core/parameter_set.hpp"
#include "continua/core/span.hpp"

namespace continua {

// The accumulator type for reductions of T: double for float (and double), long double stays.
template <class T>
using accumulator_t = std::conditional_t<(sizeof(T) < sizeof(double)), double, T>;

namespace detail {
template <class T, class A>
struct value_map {
  const T* x;
  CONTINUA_HD A operator()(std::size_t i) const { return static_cast<A>(x[i]); }
};
template <class T, class A>
struct product_map {
  const T* x;
  const T* y;
  CONTINUA_HD A operator()(std::size_t i) const {
    return static_cast<A>(x[i]) * static_cast<A>(y[i]);
  }
};
template <class T, class A>
struct square_map {
  const T* x;
  CONTINUA_HD A operator()(std::size_t i) const {
    const A v = static_cast<A>(x[i]);
    return v * v;
  }
};
template <class T>
struct abs_map {
  const T* x;
  CONTINUA_HD T operator()(std::size_t i) const { return x[i] < T(0) ? -x[i] : x[i]; }
};
}  // namespace detail

// Sum of x_i, accumulated in accumulator_t; 0 for an empty span.
template <class T, class Space>
accumulator_t<std::remove_const_t<T>> sum(span<T, Space> x) {
  using V = std::remove_const_t<T>;
  using A = accumulator_t<V>;
  return transform_reduce(Space{}, x.size(), A(0), detail::value_map<V, A>{x.data()}, plus{});
}

// Sum of x_i y_i; x and y must have the same element type and size (else continua::error).
template <class T, class U, class Space>
accumulator_t<std::remove_const_t<T>> dot(span<T, Space> x, span<U, Space> y) {
  using V = std::remove_const_t<T>;
  static_assert(std::is_same_v<V, std::remove_const_t<U>>, "continua::dot: element types differ");
  using A = accumulator_t<V>;
  require_same_size("continua::dot", "x", x.size(), "y", y.size());
  return transform_reduce(Space{}, x.size(), A(0), detail::product_map<V, A>{x.data(), y.data()},
                          plus{});
}

// ||x||^2 = sum of x_i^2.
template <class T, class Space>
accumulator_t<std::remove_const_t<T>> squared_norm(span<T, Space> x) {
  using V = std::remove_const_t<T>;
  using A = accumulator_t<V>;
  return transform_reduce(Space{}, x.size(), A(0), detail::square_map<V, A>{x.data()}, plus{});
}

// Largest |x_i|; 0 for an empty span. NaN entries are not propagated: check finiteness first.
template <class T, class Space>
std::remove_const_t<T> max_abs(span<T, Space> x) {
  using V = std::remove_const_t<T>;
  return transform_reduce(Space{}, x.size(), V(0), detail::abs_map<V>{x.data()}, maximum{});
}

// The same reductions over a tensor or a whole parameter set (all tensors as one vector).
// Sets may mix float and double tensors, so their results are double.
template <parameter_set P>
requires(!is_span_v<P>) double sum(const P& p) {
  double total = 0;
  for_each_tensor(
      p, [&](std::size_t, const auto& t) { total += static_cast<double>(sum(as_span(t))); });
  return total;
}

// ||p||^2 over all tensors of the set.
template <parameter_set P>
requires(!is_span_v<P>) double squared_norm(const P& p) {
  double total = 0;
  for_each_tensor(p, [&](std::size_t, const auto& t) {
    total += static_cast<double>(squared_norm(as_span(t)));
  });
  return total;
}

// Largest |x_i| over all tensors of the set; 0 for an empty set.
template <parameter_set P>
requires(!is_span_v<P>) double max_abs(const P& p) {
  double m = 0;
  for_each_tensor(p, [&](std::size_t, const auto& t) {
    const double v = static_cast<double>(max_abs(as_span(t)));
    m = v > m ? v : m;
  });
  return m;
}

// Sum of a_i b_i over paired sets: same tensor count and sizes, tensor by tensor.
template <parameter_set A, parameter_set B>
requires pairable_sets<A, B> &&(!is_span_v<A>)double dot(const A& a, const B& b) {
  double total = 0;
  for_each_tensor_pair("continua::dot", "x", a, "y", b,
                       [&](std::size_t, const auto& x, const auto& y) {
                         total += static_cast<double>(dot(as_span(x), as_span(y)));
                       });
  return total;
}

}  // namespace continua
