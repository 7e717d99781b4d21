// Small elementwise kernels on row-major matrices held in buffers (diagonal shifts,
// symmetrisation, column growth) for the analytic family; host or device via the kernel layer.
// No paper: plumbing shared by the recursive least-squares policies.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "continua/config.hpp"
#include "continua/core/buffer.hpp"
#include "continua/core/error.hpp"
#include "continua/core/finite.hpp"
#include "continua/core/kernel.hpp"
#include "continua/core/span.hpp"
#include "continua/core/vector_ops.hpp"

namespace continua::analytic::detail {

// The row-major rows x cols view of a buffer holding exactly rows * cols elements: core's
// as_matrix under the name the analytic policies use.
template <class T, class Space>
matrix_view<T, Space> view(buffer<T, Space>& b, std::size_t rows, std::size_t cols) {
  return as_matrix(b, rows, cols);
}
template <class T, class Space>
matrix_view<const T, Space> view(const buffer<T, Space>& b, std::size_t rows, std::size_t cols) {
  return as_matrix(b, rows, cols);
}

template <class T>
struct add_diagonal_fn {
  T* a;
  std::size_t n;
  T value;
  CONTINUA_HD void operator()(std::size_t i) const { a[i * (n + 1)] += value; }
};

template <class T>
struct identity_fn {
  T* a;
  std::size_t n;
  T value;
  CONTINUA_HD void operator()(std::size_t i) const { a[i] = (i / n == i % n) ? value : T(0); }
};

// Replaces both mirrored entries by their mean: recursive updates drift off symmetry by rounding.
template <class T>
struct symmetrize_fn {
  T* a;
  std::size_t n;
  CONTINUA_HD void operator()(std::size_t k) const {
    const std::size_t i = k / n;
    const std::size_t j = k % n;
    if (i < j) {
      const T m = (a[i * n + j] + a[j * n + i]) / T(2);
      a[i * n + j] = m;
      a[j * n + i] = m;
    }
  }
};

// dst (rows x new_cols) = src (rows x old_cols) followed by zero columns.
template <class T>
struct widen_fn {
  T* dst;
  const T* src;
  std::size_t old_cols;
  std::size_t new_cols;
  CONTINUA_HD void operator()(std::size_t i) const {
    const std::size_t r = i / new_cols;
    const std::size_t c = i % new_cols;
    dst[i] = c < old_cols ? src[r * old_cols + c] : T(0);
  }
};

template <class T>
struct abs_diagonal_map {
  const T* a;
  std::size_t n;
  CONTINUA_HD T operator()(std::size_t i) const {
    const T v = a[i * (n + 1)];
    return v < T(0) ? -v : v;
  }
};

// dst (row-major) = src in either layout.
template <class T>
struct copy_matrix_fn {
  T* dst;
  const T* src;
  std::size_t rows;
  std::size_t cols;
  bool src_row_major;
  CONTINUA_HD void operator()(std::size_t i) const {
    dst[i] = src_row_major ? src[i] : src[(i % cols) * rows + i / cols];
  }
};

// Diagonal entries with NaN/Inf mapped to -1, so a minimum > 0 means finite and positive.
// (std::numeric_limits is host-only under nvcc, so the sentinel is a plain constant.)
template <class T>
struct signed_diagonal_map {
  const T* a;
  std::size_t n;
  CONTINUA_HD T operator()(std::size_t i) const {
    const T v = a[i * (n + 1)];
    return is_finite(v) ? v : T(-1);
  }
};

template <class T, class Space>
void copy_rows(matrix_view<const T, Space> src, matrix_view<T, Space> dst) {
  if (src.size() == 0) return;
  for_each_index(Space{}, src.size(),
                 copy_matrix_fn<T>{dst.data(), src.data(), src.rows(), src.cols(),
                                   src.order() == layout::row_major});
}

template <class T, class Space>
T min_signed_diagonal(matrix_view<const T, Space> a) {
  return transform_reduce(Space{}, a.rows(), std::numeric_limits<T>::infinity(),
                          signed_diagonal_map<T>{a.data(), a.rows()}, minimum{});
}

template <class T, class Space>
void add_diagonal(matrix_view<T, Space> a, T value) {
  for_each_index(Space{}, a.rows(), add_diagonal_fn<T>{a.data(), a.rows(), value});
}

template <class T, class Space>
void set_identity(matrix_view<T, Space> a, T value) {
  for_each_index(Space{}, a.size(), identity_fn<T>{a.data(), a.rows(), value});
}

template <class T, class Space>
void symmetrize(matrix_view<T, Space> a) {
  for_each_index(Space{}, a.size(), symmetrize_fn<T>{a.data(), a.rows()});
}

// y += alpha x is core's (sizes must match).
using continua::axpy;

// y = x, first resizing y to x's size (workspace buffers start empty); the copy is core's.
template <class T, class Space>
void copy(const buffer<T, Space>& x, buffer<T, Space>& y) {
  if (y.size() != x.size()) y = buffer<T, Space>(x.size());
  continua::copy(x, y);
}

// Grows a rows x old_cols matrix to rows x new_cols with zero columns on the right.
template <class T, class Space>
buffer<T, Space> widened(const buffer<T, Space>& src, std::size_t rows, std::size_t old_cols,
                         std::size_t new_cols) {
  const std::size_t n =
      checked_mul(rows, new_cols, "continua::analytic::widened", "features * classes");
  buffer<T, Space> dst(n);
  if (n != 0) for_each_index(Space{}, n, widen_fn<T>{dst.data(), src.data(), old_cols, new_cols});
  return dst;
}

// The smallest and largest |diagonal entry| of an n x n factor: (min / max)^2 bounds the
// condition number of L Lᵀ from below, which is what the ill-conditioning guard reads.
template <class T, class Space>
std::pair<T, T> diagonal_range(matrix_view<const T, Space> a) {
  const std::size_t n = a.rows();
  if (n == 0) return {T(1), T(1)};
  const T hi = transform_reduce(Space{}, n, T(0), abs_diagonal_map<T>{a.data(), n}, maximum{});
  const T lo = transform_reduce(Space{}, n, hi, abs_diagonal_map<T>{a.data(), n}, minimum{});
  return {lo, hi};
}

// A batch is a finite, non-empty n x features matrix.
template <class T, class Space>
void require_batch(std::string_view context, matrix_view<const T, Space> x, std::size_t features) {
  require(x.rows() > 0, context, "empty batch (0 rows): nothing to learn from");
  require_same_size(context, "columns of x", x.cols(), "features", features);
  if (const auto bad = find_non_finite(span<const T, Space>(x.data(), x.size())))
    throw non_finite_error(context, "x", *bad);
}

// What validate_state checks of a d x d matrix that must be symmetric (a gram XᵀX, the inverse
// of one): |a_ij - a_ji| <= sqrt(eps) * max|a| for every pair. A learner keeps them symmetric to
// rounding (syrk writes both triangles equal, Woodbury re-symmetrises R), so a larger gap means
// the checkpoint holds a matrix no learner wrote, whose factor or solve would use one triangle
// and silently ignore the other. Throws continua::invalid_argument naming the pair.
template <class T, class Space>
void require_symmetric_state(std::string_view context, std::string_view name,
                             const buffer<T, Space>& b, std::size_t d) {
  if (d == 0 || b.size() < d * d) return;  // the shape is the loader's check
  const std::vector<T> a = b.to_host();
  T largest = T(0);
  for (std::size_t k = 0; k < d * d; ++k) largest = std::max(largest, std::abs(a[k]));
  const T allowed = std::sqrt(std::numeric_limits<T>::epsilon()) * largest;
  for (std::size_t i = 0; i < d; ++i)
    for (std::size_t j = i + 1; j < d; ++j) {
      const T upper = a[i * d + j], lower = a[j * d + i];
      if (!(std::abs(upper - lower) <= allowed))
        throw invalid_argument(std::string(context) + ": " + std::string(name) +
                               " must be symmetric, but entry (" + std::to_string(i) + ", " +
                               std::to_string(j) + ") = " + std::to_string(upper) + " and (" +
                               std::to_string(j) + ", " + std::to_string(i) +
                               ") = " + std::to_string(lower) + " differ by more than " +
                               std::to_string(allowed) + " (sqrt(eps) * largest entry)");
    }
}

}  // namespace continua::analytic::detail
