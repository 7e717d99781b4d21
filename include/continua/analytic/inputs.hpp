// Arguments of the analytic learners: a matrix from any rank-2 tensor (Eigen, xtensor, a reshaped
// std or Thrust container, a matrix_view) and class labels from any range of integers.
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <ranges>
#include <span>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "continua/core/error.hpp"
#include "continua/core/span.hpp"
#include "continua/core/tensor.hpp"

namespace continua::analytic {

namespace detail {

template <class X, class Self>
concept other_than = !std::is_same_v<std::remove_cvref_t<X>, Self>;

// The rank-2 view of a tensor, with a message that says how to pass a flat container.
template <class X>
auto rank2_view(X& x) {
  const extents e = continua::shape(x);
  if (e.rank != 2)
    throw invalid_argument(
        "continua::analytic: a matrix argument has rank " + std::to_string(e.rank) +
        "; pass a 2-D tensor, or reshape a flat container with continua::as_matrix(v, rows, cols)");
  return continua::as_matrix(x);
}

template <class X, class T, class Space>
constexpr void check_matrix_type() {
  static_assert(std::is_same_v<value_t<X>, T>,
                "continua::analytic: the matrix's element type differs from the learner's scalar "
                "type (T); convert the data or use a learner of that type");
  static_assert(std::is_same_v<memory_space_t<X>, Space>,
                "continua::analytic: the matrix lives in another memory space than the learner "
                "(a thrust::device_vector needs a learner with Space = device_space)");
}

}  // namespace detail

// A read-only rows x cols matrix of T in Space, taken without copying from a matrix_view, any
// rank-2 tensor (Eigen matrix in either storage order, 2-D xtensor container; include the adapter
// first) or a flat container reshaped by continua::as_matrix(v, rows, cols). Both storage orders
// are accepted. It is a matrix_view and lives as long as the object it views.
// Converting constructors here are implicit on purpose: a learner's call reads fit(x, labels) for
// any tensor and any integer range.
template <class T, class Space = host_space>
class matrix_input : public matrix_view<const T, Space> {
 public:
  using view_type = matrix_view<const T, Space>;

  matrix_input(view_type v) : view_type(v) {}
  matrix_input(const T* data, std::size_t rows, std::size_t cols,
               continua::layout order = continua::layout::row_major)
      : view_type(data, rows, cols, order) {}
  // Any tensor of T in Space; throws invalid_argument unless it has rank 2.
  template <class X>
  requires detail::other_than<X, matrix_input> && tensor<const X> matrix_input(const X& x)
      : view_type((detail::check_matrix_type<X, T, Space>(), detail::rank2_view(x))) {}

  const view_type& view() const { return *this; }
};

// A writable rows x cols matrix of T in Space (an output such as scores), taken like
// matrix_input from a writable tensor.
template <class T, class Space = host_space>
class matrix_output : public matrix_view<T, Space> {
 public:
  using view_type = matrix_view<T, Space>;

  matrix_output(view_type v) : view_type(v) {}
  matrix_output(T* data, std::size_t rows, std::size_t cols,
                continua::layout order = continua::layout::row_major)
      : view_type(data, rows, cols, order) {}
  template <class X>
  requires detail::other_than<X, matrix_output> && tensor<std::remove_reference_t<X>> matrix_output(
      X&& x)
      : view_type((detail::check_matrix_type<std::remove_cvref_t<X>, T, Space>(), writable(x))) {}

  const view_type& view() const { return *this; }

 private:
  template <class X>
  static view_type writable(X& x) {
    static_assert(!std::is_const_v<element_t<X>>,
                  "continua::analytic: an output matrix must be writable (not const)");
    return detail::rank2_view(x);
  }
};

// Class labels of a batch, one per row, from any sized range of integers: std::vector<int32_t>
// or a span of it is used in place; other integer types (int64 from numpy files, unsigned, Eigen
// or xtensor integer vectors) are converted to int32, and a value outside int32's range throws
// invalid_argument naming the row. Whether labels are >= 0 is checked by the learner.
class label_input {
 public:
  label_input(std::span<const std::int32_t> labels) : values_(labels) {}
  label_input(std::initializer_list<std::int32_t> labels)
      : values_(labels.begin(), labels.size()) {}
  template <class R>
  requires detail::other_than<R, label_input> && std::ranges::sized_range<const R> &&
      std::integral<std::ranges::range_value_t<const R>> &&
      (!std::is_same_v<std::ranges::range_value_t<const R>, bool>)label_input(const R& labels) {
    using V = std::ranges::range_value_t<const R>;
    if constexpr (std::ranges::contiguous_range<const R> && std::is_same_v<V, std::int32_t>) {
      values_ = std::span<const std::int32_t>(std::ranges::data(labels),
                                              std::size_t(std::ranges::size(labels)));
    } else {
      owned_.reserve(std::size_t(std::ranges::size(labels)));
      std::size_t row = 0;
      for (const V v : labels) {
        if (!std::in_range<std::int32_t>(v))
          throw invalid_argument("continua::analytic: label " + std::to_string(v) + " at row " +
                                 std::to_string(row) +
                                 " does not fit in int32 (labels are stored as int32)");
        owned_.push_back(static_cast<std::int32_t>(v));
        ++row;
      }
      values_ = owned_;
    }
  }
  // Moving keeps the converted values' storage, so the view stays valid; copying would not.
  label_input(label_input&&) = default;
  label_input(const label_input&) = delete;
  label_input& operator=(const label_input&) = delete;
  label_input& operator=(label_input&&) = delete;

  std::span<const std::int32_t> values() const { return values_; }
  operator std::span<const std::int32_t>() const { return values_; }
  std::size_t size() const { return values_.size(); }

 private:
  std::vector<std::int32_t> owned_;
  std::span<const std::int32_t> values_;
};

}  // namespace continua::analytic
