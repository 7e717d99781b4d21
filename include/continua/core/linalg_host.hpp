// Host backend of core/linalg: GEMM, SYRK, Cholesky, triangular solves and thin SVD through
// Eigen::Map over caller memory (BLAS/LAPACK semantics: Golub & Van Loan, Matrix Computations).
#pragma once

#include <cstddef>

#include "continua/config.hpp"
#include "continua/core/linalg_mirror.hpp"

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

  // C (n x n) = alpha A Aᵀ + beta C (A is n x k), or alpha AᵀA + beta C when trans (A is k x n),
  // in the upper or lower triangle of C only (diagonal included): the other strict triangle is
  // neither read nor written.
  template <class T>
  static void syrk(bool upper, bool trans, std::size_t n, std::size_t k, T alpha, const T* a,
                   T beta, T* c);

  // Copies the strict upper (upper) or lower triangle of the n x n matrix c onto the other one.
  template <class T>
  static void mirror(bool upper, std::size_t n, T* c) {
    mirror_triangle_host(upper, n, c);
  }

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

  // Widest panel of the threaded syrk and tile order of the threaded Cholesky. Wider (384, 512)
  // measured no faster in float or double at n = 4096 (docs/performance.md, issue 14).
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
#include <atomic>
#include <cmath>
#include <cstring>
#include <utility>
#include <vector>

#include "continua/core/error.hpp"
#include "continua/core/threads.hpp"

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

// C += alpha op(A) op(B) with a = op(A), b = op(B) as Eigen expressions. With several threads the
// longer side of C is cut into one contiguous slab per thread (multiples of 16, so every slab
// keeps whole register tiles), each an independent serial Eigen product: no synchronisation but
// the region's closing barrier, at the price of each thread packing the whole shared operand
// (k x slab of a k-deep product: a 1/slab share of its flops).
template <class T, class A, class B>
void gemm_slabs(map<T>& cm, const A& a, const B& b, T alpha, [[maybe_unused]] int threads) {
#if CONTINUA_WITH_OPENMP
  if (threads > 1) {
    const bool by_columns = cm.cols() >= cm.rows();
    const Eigen::Index extent = by_columns ? cm.cols() : cm.rows();
#pragma omp parallel num_threads(threads)
    {
      const Eigen::Index t = omp_get_thread_num(), team = omp_get_num_threads();
      const auto edge = [&](Eigen::Index i) {
        return idx(
            continua::detail::slab_begin(std::size_t(extent), std::size_t(i), std::size_t(team)));
      };
      const Eigen::Index lo = edge(t), len = edge(t + 1) - lo;
      if (len > 0) {
        if (by_columns)
          cm.middleCols(lo, len).noalias() += alpha * a * b.middleCols(lo, len);
        else
          cm.middleRows(lo, len).noalias() += alpha * a.middleRows(lo, len) * b;
      }
    }
    return;
  }
#endif
  cm.noalias() += alpha * a * b;
}

#if CONTINUA_WITH_OPENMP
// One triangle (Mode: Eigen::Lower or Eigen::Upper) of C += alpha L Lᵀ, where L (n x k) is A, or
// Aᵀ when trans, by column panels of width w shared among threads: panel j is its w x w diagonal
// block (Eigen's triangular rank update, no wasted flops) and the rectangle below it (lower) or
// above it (upper), one GEMM as deep as A. Panels go out widest-first (dynamic schedule) so the
// narrow ones at the end fill the gaps. Panels of 256 make each GEMM large enough to run at
// Eigen's full rate; narrower ones when n is small keep at least four per thread.
template <int Mode, class T>
void syrk_panels(bool trans, std::size_t n, std::size_t k, T alpha, const T* a, map<T>& cm,
                 int threads) {
  constexpr bool upper = Mode == Eigen::Upper;
  const std::size_t per_thread = n / (4 * static_cast<std::size_t>(threads)) / 16 * 16;
  const std::size_t w = std::clamp<std::size_t>(per_thread, 32, eigen_backend::syrk_block);
  const std::ptrdiff_t panels = static_cast<std::ptrdiff_t>((n + w - 1) / w);
  const const_map<T> am(a, idx(trans ? k : n), idx(trans ? n : k));
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
  for (std::ptrdiff_t q = 0; q < panels; ++q) {
    // The widest rectangle is the first panel's below the diagonal, the last one's above it.
    const std::ptrdiff_t p = upper ? panels - 1 - q : q;
    const std::size_t j0 = std::size_t(p) * w, nj = std::min(w, n - j0);
    // The off-diagonal rows of the panel: below its diagonal block, or above it.
    const std::size_t r0 = upper ? 0 : j0 + nj, nr = upper ? j0 : n - j0 - nj;
    auto diag = cm.block(idx(j0), idx(j0), idx(nj), idx(nj)).template selfadjointView<Mode>();
    auto rect = cm.block(idx(r0), idx(j0), idx(nr), idx(nj));
    if (trans) {
      diag.rankUpdate(am.middleCols(idx(j0), idx(nj)).transpose(), alpha);
      if (nr != 0)
        rect.noalias() +=
            alpha * am.middleCols(idx(r0), idx(nr)).transpose() * am.middleCols(idx(j0), idx(nj));
    } else {
      diag.rankUpdate(am.middleRows(idx(j0), idx(nj)), alpha);
      if (nr != 0)
        rect.noalias() +=
            alpha * am.middleRows(idx(r0), idx(nr)) * am.middleRows(idx(j0), idx(nj)).transpose();
    }
  }
}

// Tiled A = UᵀU over the upper triangle of `am` (Golub & Van Loan, alg. 4.2.2 by blocks; the
// tile algorithm of Buttari et al., "A class of parallel tiled linear algebra algorithms for
// multicore architectures", 2009): one OpenMP task per tile operation, factor of a diagonal tile,
// triangular solve of a tile right of it, update of a trailing tile (GEMM, or the triangular rank
// update on the diagonal), ordered only by the tiles they read and write. No barrier between
// block steps: the next diagonal tile is factored as soon as its own updates are done, while
// the rest of the trailing matrix is still being updated. Returns the first failing column or -1
// (later tiles are skipped once a factor fails). Works on a map or on its transpose (the
// lower-triangle case).
//
// The solves right of a diagonal tile U multiply by U⁻ᵀ (a triangular product on Eigen's GEMM
// kernel, from a contiguous copy of the tile) instead of substituting in place: Eigen's
// triangular solve ran at a fifth of its GEMM rate on these strided 256 x 256 tiles, so the
// solves, a tenth of the flops, took a third of the factor's time. U⁻¹ is formed once per
// diagonal tile, right after its factor. Multiplying by inverted diagonal blocks is the block
// LU variant analysed by Demmel, Higham & Schreiber, "Stability of block LU factorization",
// 1995: its error grows with κ(U_kk), and κ(U_kk)² <= κ(A) for a positive definite A (U_kk
// factors a diagonal block of a Schur complement).
template <class M>
Eigen::Index cholesky_upper_parallel(M& am, std::size_t n, int threads, std::size_t bs) {
  using T = typename M::Scalar;
  const std::size_t tiles = (n + bs - 1) / bs;
  const auto tile = [&](std::size_t i, std::size_t j) {
    return am.block(idx(i * bs), idx(j * bs), idx(std::min(bs, n - i * bs)),
                    idx(std::min(bs, n - j * bs)));
  };
  std::vector<char> order(tiles * tiles);  // dependence tokens, one per tile
  char* dep = order.data();
  // U⁻¹ of every diagonal tile but the last, and one copy buffer per thread for the solves.
  std::vector<T> inverses((tiles - 1) * bs * bs), copies(std::size_t(threads) * bs * bs);
  const auto inverse = [&](std::size_t k) {
    return map<T>(inverses.data() + k * bs * bs, idx(bs), idx(bs));
  };
  // Written by factor tasks only, which the dependences order among themselves; read by all.
  std::atomic<Eigen::Index> failed{-1};
#pragma omp parallel num_threads(threads)
#pragma omp single
  for (std::size_t k = 0; k < tiles; ++k) {
#pragma omp task depend(inout : dep[k * tiles + k]) shared(failed)
    if (failed < 0) {
      auto d = tile(k, k);
      const Eigen::Index f = Eigen::internal::llt_inplace<T, Eigen::Upper>::blocked(d);
      if (f >= 0)
        failed.store(idx(k * bs) + f);
      else if (k + 1 < tiles) {
        auto u_inv = inverse(k);
        u_inv.setIdentity();
        d.template triangularView<Eigen::Upper>().solveInPlace(u_inv);
      }
    }
    for (std::size_t j = k + 1; j < tiles; ++j) {
#pragma omp task depend(in : dep[k * tiles + k]) depend(inout : dep[k * tiles + j]) shared(failed)
      if (failed < 0) {
        auto r = tile(k, j);
        map<T> copy(copies.data() + std::size_t(omp_get_thread_num()) * bs * bs, r.rows(),
                    r.cols());
        copy = r;
        r.noalias() = inverse(k).transpose().template triangularView<Eigen::Lower>() * copy;
      }
    }
    for (std::size_t j = k + 1; j < tiles; ++j)
      for (std::size_t i = k + 1; i <= j; ++i) {
#pragma omp task depend(in                                                                     \
                        : dep[k * tiles + i], dep[k * tiles + j]) depend(inout                 \
                                                                         : dep[i * tiles + j]) \
    shared(failed)
        if (failed < 0) {
          if (i == j)
            tile(j, j).template selfadjointView<Eigen::Upper>().rankUpdate(tile(k, j).transpose(),
                                                                           T(-1));
          else
            tile(i, j).noalias() -= tile(k, i).transpose() * tile(k, j);
        }
      }
  }
  return failed.load();
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

// One triangle (Mode) of C = alpha L Lᵀ + beta C; see eigen_backend::syrk.
template <int Mode, class T>
void syrk_triangle(bool trans, std::size_t n, std::size_t k, T alpha, const T* a, T beta, T* c) {
  map<T> cm(c, idx(n), idx(n));
  if (beta == T(0))
    cm.template triangularView<Mode>().setZero();
  else if (beta != T(1))
    cm.template triangularView<Mode>() *= beta;
  if (k == 0 || n == 0 || alpha == T(0)) return;
  [[maybe_unused]] const int threads = continua::detail::host_threads(
      double(n) * double(n) * double(k), double(CONTINUA_OMP_MIN_SYRK_FLOPS));
  const continua::detail::serial_eigen_scope serial;
#if CONTINUA_WITH_OPENMP
  // Eigen's rankUpdate runs on one thread; large updates go by panels shared among threads.
  if (threads > 1) {
    syrk_panels<Mode>(trans, n, k, alpha, a, cm, threads);
    return;
  }
#endif
  if (trans)
    cm.template selfadjointView<Mode>().rankUpdate(const_map<T>(a, idx(k), idx(n)).transpose(),
                                                   alpha);
  else
    cm.template selfadjointView<Mode>().rankUpdate(const_map<T>(a, idx(n), idx(k)), alpha);
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
  const int threads = continua::detail::host_threads(2.0 * double(m) * double(n) * double(k),
                                                     double(CONTINUA_OMP_MIN_GEMM_FLOPS));
  const continua::detail::serial_eigen_scope serial;
  const const_map<T> am(a, idx(trans_a ? k : m), idx(trans_a ? m : k));
  const const_map<T> bm(b, idx(trans_b ? n : k), idx(trans_b ? k : n));
  if (!trans_a && !trans_b)
    gemm_slabs(cm, am, bm, alpha, threads);
  else if (trans_a && !trans_b)
    gemm_slabs(cm, am.transpose(), bm, alpha, threads);
  else if (!trans_a && trans_b)
    gemm_slabs(cm, am, bm.transpose(), alpha, threads);
  else
    gemm_slabs(cm, am.transpose(), bm.transpose(), alpha, threads);
}

template <class T>
void eigen_backend::syrk(bool upper, bool trans, std::size_t n, std::size_t k, T alpha, const T* a,
                         T beta, T* c) {
  if (upper)
    eigen_impl::syrk_triangle<Eigen::Upper>(trans, n, k, alpha, a, beta, c);
  else
    eigen_impl::syrk_triangle<Eigen::Lower>(trans, n, k, alpha, a, beta, c);
}

template <class T>
std::ptrdiff_t eigen_backend::cholesky(bool upper, std::size_t n, T* a, T* workspace) {
  using namespace eigen_impl;
  const triangle_backup<T> backup(upper, n, a, workspace);
  map<T> am(a, idx(n), idx(n));
  Eigen::Index failed = -1;
  [[maybe_unused]] const int threads =
      continua::detail::host_threads(double(n), double(CONTINUA_OMP_MIN_CHOLESKY_ORDER));
  const continua::detail::serial_eigen_scope serial;
#if CONTINUA_WITH_OPENMP
  if (threads > 1 && n > syrk_block) {
    if (upper) {
      failed = cholesky_upper_parallel(am, n, threads, syrk_block);
    } else {
      Eigen::Transpose<map<T>> at(am);
      failed = cholesky_upper_parallel(at, n, threads, syrk_block);
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
    backup.restore(a);
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
  const continua::detail::serial_eigen_scope serial;  // BDCSVD's products, see threads.hpp
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
#define CONTINUA_LINALG_INSTANTIATE_MATRIX_OPS(T)                                                  \
  template void continua::linalg::detail::eigen_backend::gemm<T>(                                  \
      bool, bool, std::size_t, std::size_t, std::size_t, T, const T*, const T*, T, T*);            \
  template void continua::linalg::detail::eigen_backend::syrk<T>(bool, bool, std::size_t,          \
                                                                 std::size_t, T, const T*, T, T*); \
  template std::ptrdiff_t continua::linalg::detail::eigen_backend::cholesky<T>(bool, std::size_t,  \
                                                                               T*, T*);            \
  template void continua::linalg::detail::eigen_backend::trsm<T>(bool, bool, bool, std::size_t,    \
                                                                 std::size_t, const T*, T*);
#define CONTINUA_LINALG_INSTANTIATE_SVD(T)                                                \
  template void continua::linalg::detail::eigen_backend::svd<T>(std::size_t, std::size_t, \
                                                                const T*, T*, T*, bool, T*, bool);
