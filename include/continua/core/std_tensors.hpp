// tensor_traits for standard containers: std::vector, std::array, std::span, C arrays.
#pragma once

#include <array>
#include <cstddef>
#include <span>
#include <type_traits>
#include <vector>

#include "continua/core/tensor.hpp"

namespace continua {

// std::vector of float or double: a rank-1 host tensor.
template <class T, class Alloc>
requires std::is_floating_point_v<T>
struct tensor_traits<std::vector<T, Alloc>> {
  using value_type = T;
  using memory_space = host_space;
  static T* data(std::vector<T, Alloc>& v) { return v.data(); }
  static const T* data(const std::vector<T, Alloc>& v) { return v.data(); }
  static std::size_t size(const std::vector<T, Alloc>& v) { return v.size(); }
  static extents shape(const std::vector<T, Alloc>& v) { return make_extents(v.size()); }
};

// std::array of float or double: a rank-1 host tensor of N elements.
template <class T, std::size_t N>
requires std::is_floating_point_v<T>
struct tensor_traits<std::array<T, N>> {
  using value_type = T;
  using memory_space = host_space;
  static constexpr T* data(std::array<T, N>& v) { return v.data(); }
  static constexpr const T* data(const std::array<T, N>& v) { return v.data(); }
  static constexpr std::size_t size(const std::array<T, N>&) { return N; }
  static constexpr extents shape(const std::array<T, N>&) { return make_extents(N); }
};

// std::span<const T> is a read-only tensor; its constness is carried by the element type.
template <class T, std::size_t E>
requires std::is_floating_point_v<std::remove_const_t<T>>
struct tensor_traits<std::span<T, E>> {
  using value_type = std::remove_const_t<T>;
  using memory_space = host_space;
  static constexpr T* data(const std::span<T, E>& v) { return v.data(); }
  static constexpr std::size_t size(const std::span<T, E>& v) { return v.size(); }
  static constexpr extents shape(const std::span<T, E>& v) { return make_extents(v.size()); }
};

// A C array T[N] of float or double: a rank-1 host tensor.
template <class T, std::size_t N>
requires std::is_floating_point_v<T>
struct tensor_traits<T[N]> {
  using value_type = T;
  using memory_space = host_space;
  static constexpr T* data(T (&v)[N]) { return v; }
  static constexpr const T* data(const T (&v)[N]) { return v; }
  static constexpr std::size_t size(const T (&)[N]) { return N; }
  static constexpr extents shape(const T (&)[N]) { return make_extents(N); }
};

}  // namespace continua
