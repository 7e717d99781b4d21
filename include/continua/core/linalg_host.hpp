// Host backend of core/linalg: GEMM, SYRK, Cholesky, triangular solves and thin SVD through
// Eigen::Map over caller memory (BLAS/LAPACK semantics: Golub & Van Loan, Matrix Computations).
#pragma once

#include <cstddef>

#include "continua/config.hpp"

namespace continua::linalg::detail {

// The backend contract shared with linalg_cuda.hpp. The facade (linalg.hpp) has already checked
// shapes and turned every view into a contiguous column-major matrix (a row-major view is the
// column-major storage of its transpose), so a backend sees BLAS arguments with ld = rows.
//
// Only declarations here. The definitions below are compiled in every translation unit that
// calls them (header-only, the default) or, with CONTINUA_LINALG_EXTERN=1, only in the one unit
// that defines CONTINUA_LINALG_INSTANTIATE (config.hpp): Eigen's kernels are most of the compile
// time of a unit that uses the analytic learners.
struct eigen_backend {
  // C (m x n) = alpha op(A) op(B) + beta C; op(A) is m x k, op(B) is k x n. beta == 0 ignores
  // C's contents (NaNs in an uninitialised output do not propagate), as in BLAS.
  template <class T>
  static void gemm(bool trans_a, bool trans_b, std::size_t m, std::size_t n, std::size_t k, T alpha,
                   const T* a, const T* b, T beta, T* c);

  // C (n x n) = alpha A Aᵀ + beta C (A is n x k), or alpha AᵀA + beta C when trans (A is k x n).
  // Computes the lower triangle (reading only C's lower triangle when beta != 0) and mirrors it.
  template <class T>
  static void syrk(bool trans, std::size_t n, std::size_t k, T alpha, const T* a, T beta, T* c);

  // In-place Cholesky of the n x n matrix a: lower (A = L Lᵀ, reads the lower triangle) or upper
  // (A = Uᵀ U, reads the upper triangle); the other strict triangle is set to zero. Returns -1, or
  // the 0-based index of the first pivot that is not positive and finite, in which case `a` is
  // restored bit for bit. `workspace` holds n * n scalars or is null (then allocated here).
  template <class T>
  static std::ptrdiff_t cholesky(bool upper, std::size_t n, T* a, T* workspace);

  // Solves op(T) X = B (left) or X op(T) = B (right) in place; B is m x n, T is triangular of
  // order m (left) or n (right) and only its `upper`/lower triangle is read.
  template <class T>
  static void trsm(bool right, bool upper, bool trans, std::size_t m, std::size_t n, const T* t,
                   T* b);

  // Thin SVD A = U diag(s) Vᵀ of the m x n matrix a, k = min(m, n), s descending. u (m x k) and
  // v (n x k) may be null; *_row_major says in which order the caller wants them stored.
  template <class T>
  static void svd(std::size_t m, std::size_t n, const T* a, T* s, T* u, bool u_row_major, T* v,
                  bool v_row_major);

  // Order from which syrk and Cholesky share blocks among OpenMP threads (twice this).
  static constexpr std::size_t syrk_block = 256;
};

}  // namespace continua::linalg::detail

#if !CONTINUA_LINALG_EXTERN || defined(CONTINUA_LINALG_INSTANTIATE)

// Eigen's AVX-512 paths, inlined under -march=native, make GCC 12 report -Wmaybe-uninitialized
// inside its own intrinsic headers (the self-initialised `__Y = __Y` of _mm256_undefined_pd):
// hundreds of false alarms per translation unit that -isystem does not stop, since the warning
// comes after inlining. The pragma covers the code of the headers included here, not the user's.
#if defined(__GNUC__) && !defined(__clang__) && !defined(__CUDACC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <Eigen/Cholesky>
#include <Eigen/Core>
#include <Eigen/SVD>
#if defined(__GNUC__) && !defined(__clang__) && !defined(__CUDACC__)
#pragma GCC diagnostic pop
#endif
#include <algorithm>
#include <cmath>
#include <cstring>
#include <utility>
#include <vector>

#include "continua/core/error.hpp"

#if CONTINUA_WITH_OPENMP
#include <omp.h>
#endif

namespace continua::linalg::detail {

namespace eigen_impl {

template <class T>
using matrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::ColMajor>;
template <class T>
using map = Eigen::Map<matrix<T>>;
template <class T>
using const_map = Eigen::Map<const matrix<T>>;

inline Eigen::Index idx(std::size_t n) { return static_cast<Eigen::Index>(n); }

// Copies the strict lower triangle onto the upper one, tile by tile so both the strided reads and
// the contiguous writes stay in cache; tiles are shared among threads for large n.
template <class T>
void mirror_lower(std::size_t n, T* c) {
  constexpr std::size_t tile = 64;
  const std::ptrdiff_t tiles = static_cast<std::ptrdiff_t>((n + tile - 1) / tile);
#if CONTINUA_WITH_OPENMP
#pragma omp parallel for schedule(dynamic, \
                                  1) if (n >= 2 * eigen_backend::syrk_block && !omp_in_parallel())
#endif
  for (std::ptrdiff_t tj = 0; tj < tiles; ++tj)
    for (std::ptrdiff_t ti = tj; ti < tiles; ++ti) {
      const std::size_t j0 = std::size_t(tj) * tile, i0 = std::size_t(ti) * tile;
      for (std::size_t i = i0; i < std::min(n, i0 + tile); ++i)
        for (std::size_t j = j0; j < std::min({n, j0 + tile, i}); ++j) c[i * n + j] = c[j * n + i];
    }
}

// Pair number p of the lower block triangle, row by row: (0,0), (1,0), (1,1), (2,0), ...
inline std::pair<std::size_t, std::size_t> lower_block_pair(std::size_t p) {
  std::size_t bi = 0, first = 0;
  while (first + bi + 1 <= p) first += ++bi;
  return {bi, p - first};
}

#if CONTINUA_WITH_OPENMP
template <class T>
void syrk_blocked(bool trans, std::size_t n, std::size_t k, T alpha, const T* a, map<T>& cm) {
  constexpr std::size_t bs = eigen_backend::syrk_block;
  const std::size_t blocks = (n + bs - 1) / bs;
  const std::ptrdiff_t pairs = static_cast<std::ptrdiff_t>(blocks * (blocks + 1) / 2);
  // Row i of A Aᵀ (or column i of AᵀA) is what block i needs: `panel(i)` selects it.
  const const_map<T> am(a, idx(trans ? k : n), idx(trans ? n : k));
#pragma omp parallel for schedule(dynamic, 1)
  for (std::ptrdiff_t pair = 0; pair < pairs; ++pair) {
    const auto [bi, bj] = lower_block_pair(static_cast<std::size_t>(pair));
    const Eigen::Index i0 = idx(bi * bs), j0 = idx(bj * bs);
    const Eigen::Index ni = idx(std::min(bs, n - bi * bs));
    const Eigen::Index nj = idx(std::min(bs, n - bj * bs));
    auto block = cm.block(i0, j0, ni, nj);
    if (trans) {
      if (bi == bj)
        block.template selfadjointView<Eigen::Lower>().rankUpdate(am.middleCols(i0, ni).transpose(),
                                                                  alpha);
      else
        block.noalias() += alpha * am.middleCols(i0, ni).transpose() * am.middleCols(j0, nj);
    } else {
      if (bi == bj)
        block.template selfadjointView<Eigen::Lower>().rankUpdate(am.middleRows(i0, ni), alpha);
      else
        block.noalias() += alpha * am.middleRows(i0, ni) * am.middleRows(j0, nj).transpose();
    }
  }
}

// Right-looking blocked A = UᵀU over the upper triangle of `am` (Golub & Van Loan, alg. 4.2.2
// by blocks): factor the diagonal block, solve the block row to its right, update the trailing
// upper triangle. Eigen's LLT runs that update, nearly all the flops, on one thread; here the
// block row and the trailing blocks are shared among threads. Returns the first failing column
// or -1. Works on a map or on its transpose (the lower-triangle case).
template <class M>
Eigen::Index cholesky_upper_parallel(M& am, std::size_t n) {
  using T = typename M::Scalar;
  constexpr std::size_t bs = eigen_backend::syrk_block;
  for (std::size_t k0 = 0; k0 < n; k0 += bs) {
    const Eigen::Index k = idx(k0), kb = idx(std::min(bs, n - k0));
    auto diag = am.block(k, k, kb, kb);
    const Eigen::Index failed = Eigen::internal::llt_inplace<T, Eigen::Upper>::blocked(diag);
    if (failed >= 0) return k + failed;
    const std::size_t rest = k0 + bs;
    if (rest >= n) break;
    const std::size_t blocks = (n - rest + bs - 1) / bs;
    const auto start = [&](std::size_t b) { return idx(rest + b * bs); };
    const auto width = [&](std::size_t b) { return idx(std::min(bs, n - rest - b * bs)); };
#pragma omp parallel for schedule(dynamic, 1)
    for (std::ptrdiff_t b = 0; b < static_cast<std::ptrdiff_t>(blocks); ++b) {
      auto row = am.block(k, start(std::size_t(b)), kb, width(std::size_t(b)));
      diag.template triangularView<Eigen::Upper>().transpose().solveInPlace(row);
    }
    const std::ptrdiff_t pairs = static_cast<std::ptrdiff_t>(blocks * (blocks + 1) / 2);
#pragma omp parallel for schedule(dynamic, 1)
    for (std::ptrdiff_t p = 0; p < pairs; ++p) {
      // (bj, bi) with bi >= bj addresses the upper block triangle.
      const auto [bi, bj] = lower_block_pair(static_cast<std::size_t>(p));
      am.block(start(bj), start(bi), width(bj), width(bi)).noalias() -=
          am.block(k, start(bj), kb, width(bj)).transpose() * am.block(k, start(bi), kb, width(bi));
    }
  }
  return -1;
}
#endif

template <class M, class T>
void store(const M& src, T* dst, std::size_t rows, std::size_t cols, bool row_major) {
  using row_matrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  if (row_major)
    Eigen::Map<row_matrix>(dst, idx(rows), idx(cols)) = src;
  else
    map<T>(dst, idx(rows), idx(cols)) = src;
}

}  // namespace eigen_impl

template <class T>
void eigen_backend::gemm(bool trans_a, bool trans_b, std::size_t m, std::size_t n, std::size_t k,
                         T alpha, const T* a, const T* b, T beta, T* c) {
  using namespace eigen_impl;
  map<T> cm(c, idx(m), idx(n));
  if (beta == T(0))
    cm.setZero();
  else if (beta != T(1))
    cm *= beta;
  if (k == 0 || m == 0 || n == 0 || alpha == T(0)) return;
  const const_map<T> am(a, idx(trans_a ? k : m), idx(trans_a ? m : k));
  const const_map<T> bm(b, idx(trans_b ? n : k), idx(trans_b ? k : n));
  if (!trans_a && !trans_b)
    cm.noalias() += alpha * am * bm;
  else if (trans_a && !trans_b)
    cm.noalias() += alpha * am.transpose() * bm;
  else if (!trans_a && trans_b)
    cm.noalias() += alpha * am * bm.transpose();
  else
    cm.noalias() += alpha * am.transpose() * bm.transpose();
}

template <class T>
void eigen_backend::syrk(bool trans, std::size_t n, std::size_t k, T alpha, const T* a, T beta,
                         T* c) {
  using namespace eigen_impl;
  map<T> cm(c, idx(n), idx(n));
  if (beta == T(0))
    cm.template triangularView<Eigen::Lower>().setZero();
  else if (beta != T(1))
    cm.template triangularView<Eigen::Lower>() *= beta;
  if (k != 0 && n != 0 && alpha != T(0)) {
#if CONTINUA_WITH_OPENMP
    // Eigen's rankUpdate runs on one thread. Large updates go block by block over the lower
    // triangle instead: GEMM off the diagonal, rankUpdate on it, blocks shared among threads
    // (Eigen stays single-threaded inside a parallel region).
    if (n >= 2 * syrk_block && omp_get_max_threads() > 1 && !omp_in_parallel()) {
      syrk_blocked(trans, n, k, alpha, a, cm);
      mirror_lower(n, c);
      return;
    }
#endif
    if (trans)
      cm.template selfadjointView<Eigen::Lower>().rankUpdate(
          const_map<T>(a, idx(k), idx(n)).transpose(), alpha);
    else
      cm.template selfadjointView<Eigen::Lower>().rankUpdate(const_map<T>(a, idx(n), idx(k)),
                                                             alpha);
  }
  mirror_lower(n, c);
}

template <class T>
std::ptrdiff_t eigen_backend::cholesky(bool upper, std::size_t n, T* a, T* workspace) {
  using namespace eigen_impl;
  std::vector<T> own;
  if (workspace == nullptr) {
    own.resize(n * n);
    workspace = own.data();
  }
  if (n != 0) std::memcpy(workspace, a, n * n * sizeof(T));
  map<T> am(a, idx(n), idx(n));
  Eigen::Index failed = -1;
#if CONTINUA_WITH_OPENMP
  if (n >= 2 * syrk_block && omp_get_max_threads() > 1 && !omp_in_parallel()) {
    if (upper) {
      failed = cholesky_upper_parallel(am, n);
    } else {
      Eigen::Transpose<map<T>> at(am);
      failed = cholesky_upper_parallel(at, n);
    }
  } else
#endif
  {
    // Eigen's blocked in-place LLT reports the failing column, which the public Eigen::LLT
    // class hides; naming the pivot is what makes the error actionable.
    failed = upper ? Eigen::internal::llt_inplace<T, Eigen::Upper>::blocked(am)
                   : Eigen::internal::llt_inplace<T, Eigen::Lower>::blocked(am);
  }
  const std::size_t checked = failed < 0 ? n : static_cast<std::size_t>(failed);
  // A NaN pivot passes Eigen's `x <= 0` test, so non-finite pivots are caught here.
  for (std::size_t j = 0; j < checked; ++j)
    if (!std::isfinite(a[j * n + j]) || !(a[j * n + j] > T(0))) {
      failed = static_cast<Eigen::Index>(j);
      break;
    }
  if (failed >= 0) {
    std::memcpy(a, workspace, n * n * sizeof(T));
    return static_cast<std::ptrdiff_t>(failed);
  }
  if (upper)
    am.template triangularView<Eigen::StrictlyLower>().setZero();
  else
    am.template triangularView<Eigen::StrictlyUpper>().setZero();
  return -1;
}

template <class T>
void eigen_backend::trsm(bool right, bool upper, bool trans, std::size_t m, std::size_t n,
                         const T* t, T* b) {
  using namespace eigen_impl;
  if (m == 0 || n == 0) return;
  const std::size_t order = right ? n : m;
  const const_map<T> tm(t, idx(order), idx(order));
  map<T> bm(b, idx(m), idx(n));
  const auto solve = [&](const auto& tri) {
    if (right)
      tri.template solveInPlace<Eigen::OnTheRight>(bm);
    else
      tri.template solveInPlace<Eigen::OnTheLeft>(bm);
  };
  // The transpose of an upper triangle is a lower one, so transposition flips the mode.
  if (upper && !trans) solve(tm.template triangularView<Eigen::Upper>());
  if (upper && trans) solve(tm.transpose().template triangularView<Eigen::Lower>());
  if (!upper && !trans) solve(tm.template triangularView<Eigen::Lower>());
  if (!upper && trans) solve(tm.transpose().template triangularView<Eigen::Upper>());
}

template <class T>
void eigen_backend::svd(std::size_t m, std::size_t n, const T* a, T* s, T* u, bool u_row_major,
                        T* v, bool v_row_major) {
  using namespace eigen_impl;
  const std::size_t k = std::min(m, n);
  if (k == 0) return;
  unsigned int options = 0;
  if (u != nullptr) options |= Eigen::ComputeThinU;
  if (v != nullptr) options |= Eigen::ComputeThinV;
  // BDCSVD switches to one-sided Jacobi below 16 columns; both return s in decreasing order.
  const Eigen::BDCSVD<matrix<T>> dec(const_map<T>(a, idx(m), idx(n)), options);
  if (dec.info() != Eigen::Success)
    throw numerical_error("continua::linalg::svd: the SVD iteration did not converge");
  for (std::size_t i = 0; i < k; ++i) s[i] = dec.singularValues()(idx(i));
  if (u != nullptr) store(dec.matrixU(), u, m, k, u_row_major);
  if (v != nullptr) store(dec.matrixV(), v, n, k, v_row_major);
}

}  // namespace continua::linalg::detail

#endif  // the definitions

// Explicit instantiations for the unit that compiles the backend (CONTINUA_LINALG_EXTERN): write
// one line per scalar type the program uses, after including this header with
// CONTINUA_LINALG_INSTANTIATE defined. The SVD (used by regularize/gradient_projection) is
// separate because it costs several times the rest (about 40 s and 1 GB of g++ per type).
//   CONTINUA_LINALG_INSTANTIATE_MATRIX_OPS(double)  // gemm, syrk, Cholesky, triangular solves
//   CONTINUA_LINALG_INSTANTIATE_SVD(float)
#define CONTINUA_LINALG_INSTANTIATE_MATRIX_OPS(T)                                                 \
  template void continua::linalg::detail::eigen_backend::gemm<T>(                                 \
      bool, bool, std::size_t, std::size_t, std::size_t, T, const T*, const T*, T, T*);           \
  template void continua::linalg::detail::eigen_backend::syrk<T>(bool, std::size_t, std::size_t,  \
                                                                 T, const T*, T, T*);             \
  template std::ptrdiff_t continua::linalg::detail::eigen_backend::cholesky<T>(bool, std::size_t, \
                                                                               T*, T*);           \
  template void continua::linalg::detail::eigen_backend::trsm<T>(bool, bool, bool, std::size_t,   \
                                                                 std::size_t, const T*, T*);
#define CONTINUA_LINALG_INSTANTIATE_SVD(T)                                                \
  template void continua::linalg::detail::eigen_backend::svd<T>(std::size_t, std::size_t, \
                                                                const T*, T*, T*, bool, T*, bool);
