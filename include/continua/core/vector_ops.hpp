// Level-1 vector operations on flat views in any memory space: copy and axpy, run through the
// kernel layer so host and device share one code path. Families use these instead of private
// copy functors.
#pragma once

#include <cstddef>
#include <type_traits>

#include "continua/config.hpp"
#include "continua/core/error.hpp"
#include "continua/core/kernel.hpp"
#include "continua/core/span.hpp"
#include "continua/core/tensor.hpp"

namespace continua {

namespace detail {
template <class T>
struct copy_kernel {
  T* dst;
  const T* src;
  CONTINUA_HD void operator()(std::size_t i) const { dst[i] = src[i]; }
};

template <class T>
struct axpy_kernel {
  T* y;
  const T* x;
  T alpha;
  CONTINUA_HD void operator()(std::size_t i) const { y[i] += alpha * x[i]; }
};
}  // namespace detail

// Both take any tensors (spans, buffers, user tensors) of one element type in one memory space;
// an rvalue view is accepted as the destination.
template <class Src, class Dst>
concept copyable_pair = tensor<Src> && tensor<std::remove_cvref_t<Dst>> &&
    std::is_same_v<value_t<Src>, value_t<std::remove_cvref_t<Dst>>> &&
    std::is_same_v<memory_space_t<Src>, memory_space_t<std::remove_cvref_t<Dst>>>;

// dst = src. Sizes must match (views do not own storage to resize).
template <class Src, class Dst>
requires copyable_pair<Src, Dst>
void copy(const Src& src, Dst&& dst) {
  using T = value_t<Src>;
  const std::size_t n = continua::size(src);
  require_same_size("continua::copy", "source", n, "destination", continua::size(dst));
  if (n != 0)
    for_each_index(memory_space_t<Src>{}, n,
                   detail::copy_kernel<T>{continua::data(dst), continua::data(src)});
}

// y += alpha * x. Sizes must match.
template <class X, class Y>
requires copyable_pair<X, Y>
void axpy(value_t<X> alpha, const X& x, Y&& y) {
  using T = value_t<X>;
  const std::size_t n = continua::size(x);
  require_same_size("continua::axpy", "x", n, "y", continua::size(y));
  if (n != 0)
    for_each_index(memory_space_t<X>{}, n,
                   detail::axpy_kernel<T>{continua::data(y), continua::data(x), alpha});
}

}  // namespace continua
