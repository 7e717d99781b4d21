// The tensor concept and its customization points: data, size, shape, memory_space_t.
// An adapter teaches continua a tensor type by specialising continua::tensor_traits
// (docs/adapters.md).
#pragma once

#include <array>
#include <cstddef>
#include <type_traits>
#include <utility>

#include "continua/core/memory_space.hpp"

namespace continua {

// Storage order of a rank >= 2 tensor: rows contiguous (C, the default) or columns (Fortran,
// Eigen).
enum class layout { row_major, col_major };

// The shape of a tensor: up to max_rank extents. Host-side metadata only.
struct extents {
  static constexpr std::size_t max_rank = 8;
  std::array<std::size_t, max_rank> dims{};
  std::size_t rank = 0;

  constexpr std::size_t operator[](std::size_t axis) const { return dims[axis]; }
  constexpr std::size_t count() const {
    std::size_t n = 1;
    for (std::size_t a = 0; a < rank; ++a) n *= dims[a];
    return n;
  }
  friend constexpr bool operator==(const extents& a, const extents& b) {
    if (a.rank != b.rank) return false;
    for (std::size_t i = 0; i < a.rank; ++i)
      if (a.dims[i] != b.dims[i]) return false;
    return true;
  }
};

// The extents of a vector of n elements (rank 1).
constexpr extents make_extents(std::size_t n) { return extents{{n}, 1}; }
// The extents of a rows x cols matrix (rank 2).
constexpr extents make_extents(std::size_t rows, std::size_t cols) {
  return extents{{rows, cols}, 2};
}

// Specialise for a type T to make it a tensor. A specialisation provides:
//   using value_type = ...;            // floating-point element type, never const
//   using memory_space = host_space | device_space;
//   static auto* data(T& t);           // and/or data(const T&): pointer to the first element
//   static std::size_t size(const T& t);
//   static extents shape(const T& t);
//   static continua::layout order(const T& t);   // storage order when rank >= 2
// The primary template is left undefined: a type without a specialisation is not a tensor.
template <class T>
struct tensor_traits;

namespace detail {
template <class T>
using traits_of = tensor_traits<std::remove_cvref_t<T>>;
}  // namespace detail

// Anything with contiguous floating-point elements and a tensor_traits specialisation.
template <class T>
concept tensor = requires(T& t) {
  typename detail::traits_of<T>::value_type;
  typename detail::traits_of<T>::memory_space;
  {detail::traits_of<T>::data(t)};
  { detail::traits_of<T>::size(t) } -> std::convertible_to<std::size_t>;
  { detail::traits_of<T>::shape(t) } -> std::same_as<extents>;
}
&&std::is_floating_point_v<typename detail::traits_of<T>::value_type>;

// Where T's elements live: host_space or device_space.
template <tensor T>
using memory_space_t = typename detail::traits_of<T>::memory_space;

// Element type as seen through T: const when T is const or a read-only view (std::span<const T>).
template <tensor T>
using element_t = std::remove_pointer_t<decltype(detail::traits_of<T>::data(std::declval<T&>()))>;

// T's floating-point element type, without const.
template <tensor T>
using value_t = typename detail::traits_of<T>::value_type;

namespace cpo {
// Type of continua::data: the pointer to a tensor's first element.
struct data_fn {
  template <tensor T>
  constexpr element_t<T>* operator()(T& t) const {
    return detail::traits_of<T>::data(t);
  }
};
// Type of continua::size: a tensor's element count.
struct size_fn {
  template <tensor T>
  constexpr std::size_t operator()(const T& t) const {
    return static_cast<std::size_t>(detail::traits_of<T>::size(t));
  }
};
// Type of continua::shape: a tensor's extents.
struct shape_fn {
  template <tensor T>
  constexpr extents operator()(const T& t) const {
    return detail::traits_of<T>::shape(t);
  }
};
// Type of continua::storage_order: a tensor's layout, row_major when the traits give none.
struct order_fn {
  template <tensor T>
  constexpr continua::layout operator()(const T& t) const {
    if constexpr (requires { detail::traits_of<T>::order(t); })
      return detail::traits_of<T>::order(t);
    else
      return continua::layout::row_major;
  }
};
}  // namespace cpo

// Customization points. Objects, not functions, so argument-dependent lookup never picks
// std::data or std::size instead.
// continua::data(t): the pointer to the first element of tensor t (const for a const tensor).
inline constexpr cpo::data_fn data{};
// continua::size(t): the number of elements of tensor t.
inline constexpr cpo::size_fn size{};
// continua::shape(t): the extents of tensor t.
inline constexpr cpo::shape_fn shape{};
// continua::storage_order(t): the layout of tensor t (row_major unless its traits say otherwise).
inline constexpr cpo::order_fn storage_order{};

// Lets an adapter reject a type with its own message: `static_assert(always_false<T>, "...")`.
template <class...>
inline constexpr bool always_false = false;

}  // namespace continua

#include "continua/core/std_tensors.hpp"
