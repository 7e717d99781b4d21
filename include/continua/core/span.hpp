// Non-owning views over user memory: span (flat) and matrix_view (rows x cols, row/col major).
// Taken from any tensor without copying; the memory space is part of the type.
#pragma once

#include <cstddef>
#include <type_traits>

#include "continua/config.hpp"
#include "continua/core/error.hpp"
#include "continua/core/tensor.hpp"

namespace continua {

// A flat view of n elements of T at ptr in Space, like std::span but usable in device code and
// tagged with its memory space. T may be const.
template <class T, class Space = host_space>
class span {
 public:
  using element_type = T;
  using value_type = std::remove_cv_t<T>;
  using memory_space = Space;

  constexpr span() = default;
  CONTINUA_HD constexpr span(T* ptr, std::size_t n) : ptr_(ptr), n_(n) {}
  // span<float> converts to span<const float>.
  template <class U>
  requires std::is_same_v<const U, T> &&(!std::is_same_v<U, T>)CONTINUA_HD
      constexpr span(const span<U, Space>& other)
      : ptr_(other.data()), n_(other.size()) {}

  CONTINUA_HD constexpr T* data() const { return ptr_; }
  CONTINUA_HD constexpr std::size_t size() const { return n_; }
  CONTINUA_HD constexpr bool empty() const { return n_ == 0; }
  CONTINUA_HD constexpr T& operator[](std::size_t i) const { return ptr_[i]; }
  CONTINUA_HD constexpr span subspan(std::size_t offset, std::size_t count) const {
    return span(ptr_ + offset, count);
  }

 private:
  T* ptr_ = nullptr;
  std::size_t n_ = 0;
};

// True for continua::span types: a span (also a parameter set) picks the span reductions.
template <class T>
inline constexpr bool is_span_v = false;
// The span case of is_span_v.
template <class T, class Space>
inline constexpr bool is_span_v<span<T, Space>> = true;

// A span is a rank-1 tensor in its own space.
template <class T, class Space>
struct tensor_traits<span<T, Space>> {
  using value_type = std::remove_const_t<T>;
  using memory_space = Space;
  static constexpr T* data(const span<T, Space>& s) { return s.data(); }
  static constexpr std::size_t size(const span<T, Space>& s) { return s.size(); }
  static constexpr extents shape(const span<T, Space>& s) { return make_extents(s.size()); }
};

// The flat view of a tensor's elements: span<const float> for a const std::vector<float>.
template <tensor T>
constexpr span<element_t<T>, memory_space_t<T>> as_span(T& t) {
  return {continua::data(t), continua::size(t)};
}

// A rows x cols view of user memory in row- or column-major order; operator()(r, c) indexes it in
// either order, leading_dimension() gives the stride between rows (or columns).
template <class T, class Space = host_space>
class matrix_view {
 public:
  using element_type = T;
  using memory_space = Space;

  constexpr matrix_view() = default;
  CONTINUA_HD constexpr matrix_view(T* ptr, std::size_t rows, std::size_t cols,
                                    continua::layout order = continua::layout::row_major)
      : ptr_(ptr), rows_(rows), cols_(cols), order_(order) {}
  template <class U>
  requires std::is_same_v<const U, T> &&(!std::is_same_v<U, T>)CONTINUA_HD
      constexpr matrix_view(const matrix_view<U, Space>& other)
      : ptr_(other.data()), rows_(other.rows()), cols_(other.cols()), order_(other.order()) {}

  CONTINUA_HD constexpr T* data() const { return ptr_; }
  CONTINUA_HD constexpr std::size_t rows() const { return rows_; }
  CONTINUA_HD constexpr std::size_t cols() const { return cols_; }
  CONTINUA_HD constexpr std::size_t size() const { return rows_ * cols_; }
  CONTINUA_HD constexpr continua::layout order() const { return order_; }
  // Distance between the starts of consecutive rows (row-major) or columns (column-major).
  CONTINUA_HD constexpr std::size_t leading_dimension() const {
    return order_ == continua::layout::row_major ? cols_ : rows_;
  }
  CONTINUA_HD constexpr T& operator()(std::size_t r, std::size_t c) const {
    return order_ == continua::layout::row_major ? ptr_[r * cols_ + c] : ptr_[c * rows_ + r];
  }
  CONTINUA_HD constexpr span<T, Space> flat() const { return {ptr_, rows_ * cols_}; }

 private:
  T* ptr_ = nullptr;
  std::size_t rows_ = 0;
  std::size_t cols_ = 0;
  continua::layout order_ = continua::layout::row_major;
};

// A matrix_view is a rank-2 tensor with its own storage order.
template <class T, class Space>
struct tensor_traits<matrix_view<T, Space>> {
  using value_type = std::remove_const_t<T>;
  using memory_space = Space;
  static constexpr T* data(const matrix_view<T, Space>& m) { return m.data(); }
  static constexpr std::size_t size(const matrix_view<T, Space>& m) { return m.size(); }
  static constexpr extents shape(const matrix_view<T, Space>& m) {
    return make_extents(m.rows(), m.cols());
  }
  static constexpr continua::layout order(const matrix_view<T, Space>& m) { return m.order(); }
};

// The matrix view of a rank-2 tensor, in the tensor's own storage order.
template <tensor T>
matrix_view<element_t<T>, memory_space_t<T>> as_matrix(T& t) {
  const extents e = continua::shape(t);
  require(
      e.rank == 2, "continua::as_matrix",
      "tensor has rank " + std::to_string(e.rank) + ", expected 2 (pass rows and cols to reshape)");
  return {continua::data(t), e[0], e[1], continua::storage_order(t)};
}

// A rows x cols view of any tensor holding exactly rows * cols elements.
template <tensor T>
matrix_view<element_t<T>, memory_space_t<T>> as_matrix(T& t, std::size_t rows, std::size_t cols,
                                                       continua::layout order = layout::row_major) {
  require_same_size("continua::as_matrix", "tensor", continua::size(t), "rows * cols", rows * cols);
  return {continua::data(t), rows, cols, order};
}

}  // namespace continua
