// Eigen adapter: dense Matrix/Array objects, Maps with unit strides and contiguous blocks are
// tensors; strided blocks, strided Maps and unevaluated expressions are rejected at compile time.
#pragma once

// Eigen's AVX-512 paths, inlined under -march=native, make GCC 12 report -Wmaybe-uninitialized
// inside its own intrinsic headers (the self-initialised `__Y = __Y` of _mm256_undefined_pd):
// hundreds of false alarms per translation unit that -isystem does not stop, since the warning
// comes after inlining. The pragma covers the code of the headers included here, not the user's.
#if defined(__GNUC__) && !defined(__clang__) && !defined(__CUDACC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <Eigen/Core>
#if defined(__GNUC__) && !defined(__clang__) && !defined(__CUDACC__)
#pragma GCC diagnostic pop
#endif

#include <type_traits>

#include "continua/core/error.hpp"
#include "continua/core/tensor.hpp"

namespace continua {

namespace detail {
template <class T>
concept eigen_dense = std::is_base_of_v<Eigen::DenseBase<T>, T>;

// Contiguous when elements are directly addressable one after another: direct and linear access
// with unit inner stride (Matrix, Array, default-stride Map, column of a column-major matrix,
// leftCols of a column-major matrix, ...).
template <class T>
inline constexpr bool eigen_contiguous = (int(Eigen::internal::evaluator<T>::Flags) &
                                          Eigen::DirectAccessBit) != 0 &&
                                         (int(Eigen::internal::evaluator<T>::Flags) &
                                          Eigen::LinearAccessBit) != 0 &&
                                         T::InnerStrideAtCompileTime == 1;
}  // namespace detail

// Any dense Eigen object (Matrix, Array, Map, Ref, contiguous Block) of float or double: a host
// tensor of rank 1 (vectors) or 2 in its own storage order. Strided objects are rejected at compile
// time, runtime-strided ones with continua::invalid_argument.
template <detail::eigen_dense T>
requires std::is_floating_point_v<typename T::Scalar>
struct tensor_traits<T> {
  static_assert(detail::eigen_contiguous<T>,
                "continua: this Eigen object is not contiguous storage (a strided block, a row of "
                "a column-major matrix, a Map with a stride, or an unevaluated expression). "
                "continua views user memory without copying, so evaluate it into an "
                "Eigen::Matrix/Array first, or use a contiguous block.");
  using value_type = typename T::Scalar;
  using memory_space = host_space;

  static auto* data(T& t) {
    check_runtime_contiguity(t);
    return t.data();
  }
  static auto* data(const T& t) {
    check_runtime_contiguity(t);
    return t.data();
  }
  static std::size_t size(const T& t) { return static_cast<std::size_t>(t.size()); }
  static extents shape(const T& t) {
    if constexpr (T::IsVectorAtCompileTime)
      return make_extents(static_cast<std::size_t>(t.size()));
    else
      return make_extents(static_cast<std::size_t>(t.rows()), static_cast<std::size_t>(t.cols()));
  }
  static continua::layout order(const T&) {
    return T::IsRowMajor ? continua::layout::row_major : continua::layout::col_major;
  }

 private:
  // Blocks whose outer stride is only known at run time (e.g. a panel of a dynamic matrix) are
  // contiguous only when that stride equals the inner size.
  static void check_runtime_contiguity(const T& t) {
    if constexpr (!T::IsVectorAtCompileTime) {
      if (t.outerSize() > 1 && t.outerStride() != t.innerSize())
        throw invalid_argument("continua: Eigen object has outer stride " +
                               std::to_string(t.outerStride()) + " but inner size " +
                               std::to_string(t.innerSize()) + ": not contiguous");
    }
  }
};

}  // namespace continua
