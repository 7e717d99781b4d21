// Dense linear algebra over matrix_view: gemm, syrk, Cholesky factor/solve, triangular solve, thin
// SVD; Eigen or the system BLAS/LAPACK (CONTINUA_WITH_BLAS) on the host, cuBLAS/cuSOLVER on a CUDA
// device (level-3 BLAS and LAPACK semantics).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>

#include "continua/config.hpp"
#include "continua/core/error.hpp"
#include "continua/core/memory_space.hpp"
#include "continua/core/span.hpp"
#include "continua/core/tensor.hpp"

// The one place that decides which backend runs device_space matrices. Under nvcc with Thrust's
// CUDA device system the data is GPU memory (cuBLAS/cuSOLVER); with the OpenMP/CPP device
// systems (any g++ build included) device memory is host memory and Eigen reads it directly.
#if CONTINUA_CUDA_COMPILER
#include <thrust/version.h>
#endif
#if CONTINUA_CUDA_COMPILER && THRUST_DEVICE_SYSTEM == THRUST_DEVICE_SYSTEM_CUDA
#define CONTINUA_DETAIL_LINALG_CUDA 1
#else
#define CONTINUA_DETAIL_LINALG_CUDA 0
#endif

#if !CONTINUA_CUDA_COMPILER || CONTINUA_LINALG_HOST_UNDER_NVCC || !CONTINUA_DETAIL_LINALG_CUDA
#define CONTINUA_DETAIL_LINALG_EIGEN 1
#include "continua/core/linalg_host.hpp"
#if CONTINUA_WITH_BLAS
#include "continua/core/linalg_blas.hpp"
#endif
#else
#define CONTINUA_DETAIL_LINALG_EIGEN 0
#endif
#if CONTINUA_DETAIL_LINALG_CUDA
#include "continua/core/linalg_cuda.hpp"
#endif

namespace continua::linalg {

// op(X) in gemm/syrk/triangular_solve: X itself or its transpose.
enum class op { none, transpose };
// Which triangle of a triangular matrix holds the data.
enum class triangle { lower, upper };

// Cholesky failed: the leading principal minor of order pivot() + 1 is not positive definite
// (or a pivot is NaN/Inf). The matrix passed in is unchanged.
class not_positive_definite : public numerical_error {
 public:
  not_positive_definite(std::string_view context, std::size_t pivot, std::size_t order)
      : numerical_error(std::string(context) + ": matrix of order " + std::to_string(order) +
                        " is not positive definite: pivot " + std::to_string(pivot) +
                        " (0-based) is not positive and finite; the input is left unchanged"),
        pivot_(pivot) {}
  std::size_t pivot() const noexcept { return pivot_; }

 private:
  std::size_t pivot_;
};

namespace detail {

// Host matrices (and device_space ones where device memory is host memory) go to the system
// BLAS/LAPACK when CONTINUA_WITH_BLAS=1, else to Eigen.
#if CONTINUA_DETAIL_LINALG_EIGEN
#if CONTINUA_WITH_BLAS
using host_backend = blas_backend;
#else
using host_backend = eigen_backend;
#endif
#endif

template <class Space>
struct backend_for {
  static_assert(always_false<Space>,
                "continua::linalg: no backend for host_space matrices in a translation unit "
                "compiled by nvcc; define CONTINUA_LINALG_HOST_UNDER_NVCC=1 to compile the Eigen "
                "backend there too");
};
#if CONTINUA_DETAIL_LINALG_EIGEN
template <>
struct backend_for<host_space> {
  using type = host_backend;
};
#endif
template <>
struct backend_for<device_space> {
#if CONTINUA_DETAIL_LINALG_CUDA
  using type = cuda_backend;
#else
  using type = host_backend;
#endif
};
template <class Space>
using backend = typename backend_for<Space>::type;

template <class T>
concept blas_scalar = std::is_same_v<T, float> || std::is_same_v<T, double>;
template <class U, class T>
concept view_of = std::is_same_v<std::remove_const_t<U>, T>;

template <class T, class Space>
bool row_major(const matrix_view<T, Space>& v) {
  return v.order() == layout::row_major;
}

// An output that shares memory with an input would be read after being written.
template <class T, class U>
void require_disjoint(std::string_view context, std::string_view out_name, const T* out,
                      std::size_t out_size, std::string_view in_name, const U* in,
                      std::size_t in_size) {
  if (out_size == 0 || in_size == 0) return;
  const auto o = reinterpret_cast<std::uintptr_t>(out);
  const auto i = reinterpret_cast<std::uintptr_t>(in);
  if (o < i + in_size * sizeof(U) && i < o + out_size * sizeof(T))
    throw invalid_argument(std::string(context) + ": " + std::string(out_name) + " overlaps " +
                           std::string(in_name) + " in memory; outputs must not alias inputs");
}

template <class TT, class T, class Space>
void triangular_solve_checked(std::string_view context, triangle uplo, op trans,
                              matrix_view<TT, Space> t, matrix_view<T, Space> b) {
  require_same_size(context, "rows of the triangular factor", t.rows(),
                    "columns of the triangular factor", t.cols());
  require_same_size(context, "rows of B", b.rows(), "order of the triangular factor", t.rows());
  require_disjoint(context, "B", b.data(), b.size(), "the triangular factor", t.data(), t.size());
  const std::size_t n = b.rows();
  const std::size_t m = b.cols();
  // A row-major T is the column-major storage of Tᵀ: its lower triangle is the storage's upper
  // one and op(T) is the opposite op of that storage.
  const bool rt = row_major(t);
  const bool upper = (uplo == triangle::upper) != rt;
  const bool tr = (trans == op::transpose) != rt;
  if (!row_major(b))
    backend<Space>::trsm(false, upper, tr, n, m, t.data(), b.data());
  else  // op(T) X = B  <=>  Xᵀ op(T)ᵀ = Bᵀ, and Bᵀ is what a row-major B stores column-major.
    backend<Space>::trsm(true, upper, !tr, m, n, t.data(), b.data());
}

template <class TA, class T, class Space>
void syrk_checked(triangle uplo, op trans, T alpha, matrix_view<TA, Space> a, T beta,
                  matrix_view<T, Space> c) {
  constexpr std::string_view context = "continua::linalg::syrk";
  const bool t = trans == op::transpose;
  const std::size_t n = t ? a.cols() : a.rows();
  const std::size_t k = t ? a.rows() : a.cols();
  const std::string_view a_name = t ? "columns of A" : "rows of A";
  require_same_size(context, "rows of C", c.rows(), a_name, n);
  require_same_size(context, "columns of C", c.cols(), a_name, n);
  require_disjoint(context, "C", c.data(), c.size(), "A", a.data(), a.size());
  // The product is symmetric, so a row-major C stores it column-major as well, but with its lower
  // triangle in the storage's upper one. A's layout decides which product the storage needs.
  const bool upper = (uplo == triangle::upper) != row_major(c);
  backend<Space>::syrk(upper, t != row_major(a), n, k, alpha, a.data(), beta, c.data());
}

template <class T, class Space>
void mirror_checked(triangle source, matrix_view<T, Space> c) {
  require_same_size("continua::linalg::mirror_triangle", "rows of C", c.rows(), "columns of C",
                    c.cols());
  backend<Space>::mirror((source == triangle::upper) != row_major(c), c.rows(), c.data());
}

template <class T, class Space>
void cholesky_checked(matrix_view<T, Space> a, T* workspace, std::size_t workspace_size) {
  constexpr std::string_view context = "continua::linalg::cholesky_factor";
  require_same_size(context, "rows of A", a.rows(), "columns of A", a.cols());
  const std::size_t n = a.rows();
  if (workspace != nullptr) {
    require(workspace_size >= n * n, context,
            "workspace holds " + std::to_string(workspace_size) +
                " elements but needs n * n = " + std::to_string(n * n));
    require_disjoint(context, "workspace", workspace, workspace_size, "A", a.data(), a.size());
  }
  if (n == 0) return;
  // The lower triangle of a row-major A is the upper triangle of its column-major storage.
  const std::ptrdiff_t failed = backend<Space>::cholesky(row_major(a), n, a.data(), workspace);
  if (failed >= 0) throw not_positive_definite(context, static_cast<std::size_t>(failed), n);
}

}  // namespace detail

// C = alpha op(A) op(B) + beta C, with op(A) m x k, op(B) k x n and C m x n; any mix of layouts.
// beta == 0 overwrites C without reading it. C must not overlap A or B. No allocation.
template <class TA, class TB, class T, class Space>
requires detail::blas_scalar<T> && detail::view_of<TA, T> && detail::view_of<TB, T>
void gemm(op op_a, op op_b, std::type_identity_t<T> alpha, matrix_view<TA, Space> a,
          matrix_view<TB, Space> b, std::type_identity_t<T> beta, matrix_view<T, Space> c) {
  constexpr std::string_view context = "continua::linalg::gemm";
  const bool ta = op_a == op::transpose;
  const bool tb = op_b == op::transpose;
  const std::size_t m = ta ? a.cols() : a.rows();
  const std::size_t k = ta ? a.rows() : a.cols();
  const std::size_t kb = tb ? b.cols() : b.rows();
  const std::size_t n = tb ? b.rows() : b.cols();
  require_same_size(context, "columns of op(A)", k, "rows of op(B)", kb);
  require_same_size(context, "rows of C", c.rows(), "rows of op(A)", m);
  require_same_size(context, "columns of C", c.cols(), "columns of op(B)", n);
  detail::require_disjoint(context, "C", c.data(), c.size(), "A", a.data(), a.size());
  detail::require_disjoint(context, "C", c.data(), c.size(), "B", b.data(), b.size());
  const bool ea = ta != detail::row_major(a);
  const bool eb = tb != detail::row_major(b);
  if (!detail::row_major(c))
    detail::backend<Space>::gemm(ea, eb, m, n, k, alpha, a.data(), b.data(), beta, c.data());
  else  // Cᵀ = alpha op(B)ᵀ op(A)ᵀ + beta Cᵀ, and Cᵀ is what a row-major C stores column-major.
    detail::backend<Space>::gemm(!eb, !ea, n, m, k, alpha, b.data(), a.data(), beta, c.data());
}

// C = A B.
template <class TA, class TB, class T, class Space>
requires detail::blas_scalar<T> && detail::view_of<TA, T> && detail::view_of<TB, T>
void gemm(matrix_view<TA, Space> a, matrix_view<TB, Space> b, matrix_view<T, Space> c) {
  gemm(op::none, op::none, T(1), a, b, T(0), c);
}

// C = alpha AᵀA + beta C (trans = op::transpose, C is cols(A) x cols(A)) or
// C = alpha A Aᵀ + beta C (trans = op::none, C is rows(A) x rows(A)), in the `uplo` triangle of C
// only (diagonal included, in C's own layout): when beta != 0 that triangle is read, and the
// other strict triangle is neither read nor written (it may hold anything). Half the memory
// traffic of the full syrk below; mirror_triangle completes C when the whole matrix is needed.
// No allocation.
template <class TA, class T, class Space>
requires detail::blas_scalar<T> && detail::view_of<TA, T>
void syrk(triangle uplo, op trans, std::type_identity_t<T> alpha, matrix_view<TA, Space> a,
          std::type_identity_t<T> beta, matrix_view<T, Space> c) {
  detail::syrk_checked(uplo, trans, T(alpha), a, T(beta), c);
}

// Copies the strict `source` triangle of the square C onto the other one: C becomes symmetric.
// A memory-bound pass over C. No allocation.
template <class T, class Space>
requires detail::blas_scalar<T>
void mirror_triangle(triangle source, matrix_view<T, Space> c) {
  detail::mirror_checked(source, c);
}

// As above, stored in full: both triangles of C are written and equal (the one-triangle syrk,
// then mirror_triangle). When beta != 0, C must be symmetric on entry (only one triangle of it
// is read). No allocation.
template <class TA, class T, class Space>
requires detail::blas_scalar<T> && detail::view_of<TA, T>
void syrk(op trans, std::type_identity_t<T> alpha, matrix_view<TA, Space> a,
          std::type_identity_t<T> beta, matrix_view<T, Space> c) {
  // The triangle that is the lower one of C's column-major storage: the one the full syrk has
  // always computed, so its results are bitwise what they were before the one-triangle syrk.
  const triangle computed = detail::row_major(c) ? triangle::upper : triangle::lower;
  detail::syrk_checked(computed, trans, T(alpha), a, T(beta), c);
  detail::mirror_checked(computed, c);
}

// In-place Cholesky factorisation A = L Lᵀ of a symmetric positive definite A (n x n, either
// layout). Reads only the lower triangle; on return the lower triangle holds L and the strict
// upper triangle is zero, so `a` is L as a full matrix.
// Throws not_positive_definite (a numerical_error naming the pivot) and leaves `a` unchanged
// when A is not positive definite. Workspace: n * n elements of the same memory space, held to
// restore A on failure; this overload allocates it on the host. The device backend takes it and
// cuSOLVER's workspace from grow-only scratch kept per host thread and device (no allocation
// once grown) and waits for the device once, to read the factorisation's status.
template <class T, class Space>
requires detail::blas_scalar<T>
void cholesky_factor(matrix_view<T, Space> a) {
  detail::cholesky_checked(a, static_cast<T*>(nullptr), 0);
}

// As above with caller-provided workspace (at least n * n elements, not overlapping `a`).
template <class T, class Space>
requires detail::blas_scalar<T>
void cholesky_factor(matrix_view<T, Space> a, span<T, Space> workspace) {
  detail::cholesky_checked(a, workspace.data(), workspace.size());
}

// Solves A X = B in place (B becomes X, n x m, m right-hand sides) given the factor L of
// A = L Lᵀ from cholesky_factor (only L's lower triangle is read). No allocation.
template <class TL, class T, class Space>
requires detail::blas_scalar<T> && detail::view_of<TL, T>
void cholesky_solve(matrix_view<TL, Space> l, matrix_view<T, Space> b) {
  constexpr std::string_view context = "continua::linalg::cholesky_solve";
  // Two triangular solves (what LAPACK's potrs does), which unlike potrs accept a row-major B.
  detail::triangular_solve_checked(context, triangle::lower, op::none, l, b);
  detail::triangular_solve_checked(context, triangle::lower, op::transpose, l, b);
}

// Solves op(T) X = B in place (B becomes X; T is n x n triangular, B is n x m). Only the `uplo`
// triangle of T is read, diagonal included. No allocation.
template <class TT, class T, class Space>
requires detail::blas_scalar<T> && detail::view_of<TT, T>
void triangular_solve(triangle uplo, op trans, matrix_view<TT, Space> t, matrix_view<T, Space> b) {
  detail::triangular_solve_checked("continua::linalg::triangular_solve", uplo, trans, t, b);
}

// Thin SVD A = U diag(s) Vᵀ of an m x n A, k = min(m, n): s (k values) in descending order,
// U (m x k) and V (n x k) with orthonormal columns, any layout. Pass a default-constructed
// matrix_view for U or V that is not wanted. Workspace: a copy of A and the work arrays, allocated
// per call on the host (Eigen's BDCSVD), from grow-only per-thread scratch on the device
// (cuSOLVER's Xgesvd).
template <class TA, class T, class Space>
requires detail::blas_scalar<T> && detail::view_of<TA, T>
void svd(matrix_view<TA, Space> a, span<T, Space> s, matrix_view<T, Space> u,
         matrix_view<T, Space> v) {
  constexpr std::string_view context = "continua::linalg::svd";
  const std::size_t m = a.rows();
  const std::size_t n = a.cols();
  const std::size_t k = m < n ? m : n;
  require_same_size(context, "s", s.size(), "min(rows, columns) of A", k);
  detail::require_disjoint(context, "s", s.data(), s.size(), "A", a.data(), a.size());
  if (u.data() != nullptr) {
    require_same_size(context, "rows of U", u.rows(), "rows of A", m);
    require_same_size(context, "columns of U", u.cols(), "min(rows, columns) of A", k);
    detail::require_disjoint(context, "U", u.data(), u.size(), "A", a.data(), a.size());
    detail::require_disjoint(context, "U", u.data(), u.size(), "s", s.data(), s.size());
  }
  if (v.data() != nullptr) {
    require_same_size(context, "rows of V", v.rows(), "columns of A", n);
    require_same_size(context, "columns of V", v.cols(), "min(rows, columns) of A", k);
    detail::require_disjoint(context, "V", v.data(), v.size(), "A", a.data(), a.size());
    detail::require_disjoint(context, "V", v.data(), v.size(), "s", s.data(), s.size());
    if (u.data() != nullptr)
      detail::require_disjoint(context, "V", v.data(), v.size(), "U", u.data(), u.size());
  }
  if (k == 0) return;
  if (!detail::row_major(a))
    detail::backend<Space>::svd(m, n, a.data(), s.data(), u.data(), detail::row_major(u), v.data(),
                                detail::row_major(v));
  else  // A row-major stores Aᵀ = V diag(s) Uᵀ column-major: the factors swap roles.
    detail::backend<Space>::svd(n, m, a.data(), s.data(), v.data(), detail::row_major(v), u.data(),
                                detail::row_major(u));
}

// Singular values only.
template <class TA, class T, class Space>
requires detail::blas_scalar<T> && detail::view_of<TA, T>
void svd(matrix_view<TA, Space> a, span<T, Space> s) {
  svd(a, s, matrix_view<T, Space>{}, matrix_view<T, Space>{});
}

}  // namespace continua::linalg
