// xtensor adapter: containers and adaptors (xarray, xtensor, xtensor_fixed, xt::adapt) are tensors;
// views and strided views are rejected at compile time.
#pragma once

#include <type_traits>
#include <xtensor/xcontainer.hpp>
#include <xtensor/xexpression.hpp>
#include <xtensor/xlayout.hpp>

#include "continua/core/error.hpp"
#include "continua/core/tensor.hpp"

namespace continua {

namespace detail {
template <class T>
concept xtensor_expression = xt::is_xexpression<T>::value;
// xcontainer storage is one contiguous buffer ordered by the container's layout.
template <class T>
inline constexpr bool xtensor_container = std::is_base_of_v<xt::xcontainer<T>, T>;
}  // namespace detail

// Any xtensor container of float or double (xarray, xtensor, xtensor_fixed, xt::adapt): a host
// tensor with the container's shape and layout. Views and unevaluated expressions are rejected at
// compile time.
template <detail::xtensor_expression T>
requires std::is_floating_point_v<typename T::value_type>
struct tensor_traits<T> {
  static_assert(detail::xtensor_container<T>,
                "continua: this xtensor expression is not contiguous storage (a view, a strided "
                "view or an unevaluated expression). continua views user memory without "
                "copying, so evaluate it into an xt::xarray/xt::xtensor first.");
  using value_type = typename T::value_type;
  using memory_space = host_space;

  static auto* data(T& t) { return t.data(); }
  static auto* data(const T& t) { return t.data(); }
  static std::size_t size(const T& t) { return static_cast<std::size_t>(t.size()); }
  static extents shape(const T& t) {
    extents e;
    require(t.dimension() <= extents::max_rank, "continua xtensor adapter",
            "rank above " + std::to_string(extents::max_rank) + " is not supported");
    e.rank = t.dimension();
    for (std::size_t a = 0; a < e.rank; ++a) e.dims[a] = static_cast<std::size_t>(t.shape()[a]);
    return e;
  }
  static continua::layout order(const T& t) {
    return t.layout() == xt::layout_type::column_major ? continua::layout::col_major
                                                       : continua::layout::row_major;
  }
};

}  // namespace continua
