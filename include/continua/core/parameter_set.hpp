// Parameter sets: one tensor, a std::tuple of tensors of mixed types, or a range of tensors,
// treated as one long vector (like multi-tensor apply). Pairs of sets are checked tensor by tensor.
#pragma once

#include <cstddef>
#include <iterator>
#include <ranges>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>

#include "continua/core/error.hpp"
#include "continua/core/tensor.hpp"

namespace continua {

namespace detail {
template <class T>
struct is_tensor_tuple : std::false_type {};
template <class... Ts>
struct is_tensor_tuple<std::tuple<Ts...>> : std::bool_constant<(tensor<Ts> && ...)> {};
}  // namespace detail

// A std::tuple whose elements are all tensors (types may differ: float and double, host and
// device).
template <class P>
concept tensor_tuple = detail::is_tensor_tuple<std::remove_cvref_t<P>>::value;

// A forward range of tensors (std::vector<std::vector<float>>, a vector of Eigen maps, ...).
// A tensor that is also a range counts as one tensor, not as a range.
template <class P>
concept tensor_range =
    (!tensor<P>)&&std::ranges::forward_range<std::remove_reference_t<P>>&& tensor<
        std::ranges::range_reference_t<std::remove_reference_t<P>>>;

// What optimizers and regularizers take: one tensor, a tuple of tensors or a range of tensors.
template <class P>
concept parameter_set = tensor<P> || tensor_tuple<P> || tensor_range<P>;

// Number of tensors in the set.
template <parameter_set P>
std::size_t tensor_count(const P& p) {
  if constexpr (tensor<P>)
    return 1;
  else if constexpr (tensor_tuple<P>)
    return std::tuple_size_v<std::remove_cvref_t<P>>;
  else
    return static_cast<std::size_t>(std::ranges::distance(p));
}

// Calls f(index, tensor) for each tensor of the set, in order. For tuples the index is a
// std::integral_constant (usable as a compile-time index, and convertible to std::size_t).
template <parameter_set P, class F>
void for_each_tensor(P&& p, F&& f) {
  if constexpr (tensor<P>) {
    f(std::size_t{0}, p);
  } else if constexpr (tensor_tuple<P>) {
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      (f(std::integral_constant<std::size_t, I>{}, std::get<I>(p)), ...);
    }
    (std::make_index_sequence<std::tuple_size_v<std::remove_cvref_t<P>>>{});
  } else {
    std::size_t i = 0;
    for (auto&& t : p) f(i++, t);
  }
}

// Total number of elements over all tensors.
template <parameter_set P>
std::size_t total_size(const P& p) {
  std::size_t n = 0;
  for_each_tensor(p, [&](std::size_t, const auto& t) { n += continua::size(t); });
  return n;
}

// Two sets can be paired when both are single tensors, both tuples of one arity, or both ranges.
template <class A, class B>
concept pairable_sets = parameter_set<A> && parameter_set<B> &&
    ((tensor<A> && tensor<B>) || (tensor_range<A> && tensor_range<B>) ||
     (tensor_tuple<A> && tensor_tuple<B> &&
      std::tuple_size_v<std::remove_cvref_t<A>> == std::tuple_size_v<std::remove_cvref_t<B>>));

namespace detail {
inline void check_pair_sizes(std::string_view context, std::string_view a_name,
                             std::string_view b_name, std::size_t index, std::size_t na,
                             std::size_t nb) {
  if (na == nb) return;
  const std::string at = "[" + std::to_string(index) + "]";
  throw size_mismatch(context, std::string(a_name) + at, na, std::string(b_name) + at, nb);
}
}  // namespace detail

// Throws size_mismatch unless a and b have the same number of tensors and equal sizes pairwise;
// the message names the context, the tensor index and both sizes.
template <parameter_set A, parameter_set B>
requires pairable_sets<A, B>
void require_same_structure(std::string_view context, std::string_view a_name, const A& a,
                            std::string_view b_name, const B& b) {
  const std::size_t na = tensor_count(a), nb = tensor_count(b);
  if (na != nb)
    throw size_mismatch(context, std::string(a_name) + " (tensor count)", na,
                        std::string(b_name) + " (tensor count)", nb);
  if constexpr (tensor<A>) {
    require_same_size(context, a_name, continua::size(a), b_name, continua::size(b));
  } else if constexpr (tensor_tuple<A>) {
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      (detail::check_pair_sizes(context, a_name, b_name, I, continua::size(std::get<I>(a)),
                                continua::size(std::get<I>(b))),
       ...);
    }
    (std::make_index_sequence<std::tuple_size_v<std::remove_cvref_t<A>>>{});
  } else {
    auto ib = std::ranges::begin(b);
    std::size_t i = 0;
    for (auto ia = std::ranges::begin(a); ia != std::ranges::end(a); ++ia, ++ib, ++i)
      detail::check_pair_sizes(context, a_name, b_name, i, continua::size(*ia),
                               continua::size(*ib));
  }
}

// Calls f(index, ta, tb) for the i-th tensors of a and b, after require_same_structure (which
// names the sets a_name and b_name in its message). Indices as in for_each_tensor.
template <parameter_set A, parameter_set B, class F>
requires pairable_sets<A, B>
void for_each_tensor_pair(std::string_view context, std::string_view a_name, A&& a,
                          std::string_view b_name, B&& b, F&& f) {
  require_same_structure(context, a_name, a, b_name, b);
  if constexpr (tensor<A>) {
    f(std::size_t{0}, a, b);
  } else if constexpr (tensor_tuple<A>) {
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      (f(std::integral_constant<std::size_t, I>{}, std::get<I>(a), std::get<I>(b)), ...);
    }
    (std::make_index_sequence<std::tuple_size_v<std::remove_cvref_t<A>>>{});
  } else {
    auto ib = std::ranges::begin(b);
    std::size_t i = 0;
    for (auto ia = std::ranges::begin(a); ia != std::ranges::end(a); ++ia, ++ib) f(i++, *ia, *ib);
  }
}

}  // namespace continua
