// Optional host backend of core/linalg over the system BLAS and LAPACK (OpenBLAS, MKL, BLIS,
// reference): gemm, syrk, potrf, trsm and gesdd through their Fortran entry points. Chosen by
// CONTINUA_WITH_BLAS=1 (config.hpp); the program must link BLAS and LAPACK (the CMake target
// does when the option is on).
#pragma once

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstddef>
#include <cstring>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "continua/config.hpp"
#include "continua/core/error.hpp"
#include "continua/core/linalg_mirror.hpp"
#include "continua/core/threads.hpp"

#if CONTINUA_WITH_OPENMP
#include <omp.h>
#endif

// The Fortran interface (LP64: 32-bit integers, column-major, arguments by address) is the one
// every BLAS/LAPACK that CMake's FindBLAS/FindLAPACK returns provides, so no vendor header is
// needed (cblas.h and lapacke.h live in vendor-specific directories or packages). The trailing
// std::size_t arguments are the hidden lengths of the character arguments that gfortran-built
// libraries (reference BLAS/LAPACK) expect; C-implemented ones (OpenBLAS) ignore them, which the
// x86-64 and AArch64 calling conventions allow.
extern "C" {
// NOLINTBEGIN(readability-identifier-naming)
void sgemm_(const char*, const char*, const int*, const int*, const int*, const float*,
            const float*, const int*, const float*, const int*, const float*, float*, const int*,
            std::size_t, std::size_t);
void dgemm_(const char*, const char*, const int*, const int*, const int*, const double*,
            const double*, const int*, const double*, const int*, const double*, double*,
            const int*, std::size_t, std::size_t);
void ssyrk_(const char*, const char*, const int*, const int*, const float*, const float*,
            const int*, const float*, float*, const int*, std::size_t, std::size_t);
void dsyrk_(const char*, const char*, const int*, const int*, const double*, const double*,
            const int*, const double*, double*, const int*, std::size_t, std::size_t);
void strsm_(const char*, const char*, const char*, const char*, const int*, const int*,
            const float*, const float*, const int*, float*, const int*, std::size_t, std::size_t,
            std::size_t, std::size_t);
void dtrsm_(const char*, const char*, const char*, const char*, const int*, const int*,
            const double*, const double*, const int*, double*, const int*, std::size_t, std::size_t,
            std::size_t, std::size_t);
void spotrf_(const char*, const int*, float*, const int*, int*, std::size_t);
void dpotrf_(const char*, const int*, double*, const int*, int*, std::size_t);
void sgesdd_(const char*, const int*, const int*, float*, const int*, float*, float*, const int*,
             float*, const int*, float*, const int*, int*, int*, std::size_t);
void dgesdd_(const char*, const int*, const int*, double*, const int*, double*, double*, const int*,
             double*, const int*, double*, const int*, int*, int*, std::size_t);
// OpenBLAS only (null elsewhere): 0 sequential, 1 pthreads, 2 OpenMP.
#if defined(__GNUC__)
int openblas_get_parallel() __attribute__((weak));
#endif
// NOLINTEND(readability-identifier-naming)
}

namespace continua::linalg::detail {

namespace blas_impl {

// BLAS takes 32-bit sizes; a larger matrix is refused instead of being silently truncated.
inline int blas_int(std::size_t n, std::string_view call) {
  if (n > static_cast<std::size_t>(INT_MAX))
    throw invalid_argument(std::string(call) + ": dimension " + std::to_string(n) +
                           " exceeds the 32-bit index range of the LP64 BLAS/LAPACK interface");
  return static_cast<int>(n);
}
// Leading dimensions must be at least 1 even for empty matrices.
inline int blas_ld(std::size_t n, std::string_view call) {
  return blas_int(std::max<std::size_t>(n, 1), call);
}

// dst (cols x rows, column-major) = srcᵀ where src is rows x cols column-major.
template <class T>
void transpose_into(const T* src, std::size_t rows, std::size_t cols, T* dst) {
  for (std::size_t j = 0; j < cols; ++j)
    for (std::size_t i = 0; i < rows; ++i) dst[i * cols + j] = src[j * rows + i];
}

template <class T>
inline constexpr bool is_float = std::is_same_v<T, float>;

}  // namespace blas_impl

// Keeps a BLAS threaded through OpenMP (OpenBLAS's OpenMP build, MKL) on the calling thread
// while alive, when `serial`: such a BLAS takes omp_get_max_threads() threads for every call from
// outside a parallel region, even for work too small to share (the thresholds of config.hpp) or
// with fewer CPUs in the affinity mask than threads (detail::host_threads decides). It sets this
// thread's nthreads-var to 1 and restores it. A pthread OpenBLAS keeps its own pool and
// ignores this: docs/linalg.md, "Threads".
class serial_blas_scope {
 public:
  explicit serial_blas_scope([[maybe_unused]] bool serial) {
#if CONTINUA_WITH_OPENMP
    if (serial) {
      saved_ = omp_get_max_threads();
      omp_set_num_threads(1);
    }
#endif
  }
  ~serial_blas_scope() {
#if CONTINUA_WITH_OPENMP
    if (saved_ > 0) omp_set_num_threads(saved_);
#endif
  }
  serial_blas_scope(const serial_blas_scope&) = delete;
  serial_blas_scope& operator=(const serial_blas_scope&) = delete;

 private:
  [[maybe_unused]] int saved_ = 0;
};

// Whether BLAS calls from the threads of an OpenMP team each run serially and independently, so
// continua can share a product among its own threads: true for OpenBLAS's OpenMP build (it goes
// serial inside a parallel region) and for other vendors' OpenMP builds; false for OpenBLAS's
// pthread build (openblas_get_parallel() == 1), whose concurrent callers share one pool.
inline bool blas_calls_split_over_openmp() {
#if CONTINUA_WITH_OPENMP && defined(__GNUC__)
  return openblas_get_parallel == nullptr || openblas_get_parallel() != 1;
#else
  return false;
#endif
}

// Same contract as eigen_backend (linalg_host.hpp): column-major operands with ld = rows, shapes
// already checked by the facade. Each call runs the library's routine for the whole operation;
// the library decides its own threading (see docs/linalg.md on OpenBLAS and OpenMP).
struct blas_backend {
  // C (m x n) = alpha op(A) op(B) + beta C; beta == 0 overwrites C without reading it.
  template <class T>
  static void gemm(bool trans_a, bool trans_b, std::size_t m, std::size_t n, std::size_t k, T alpha,
                   const T* a, const T* b, T beta, T* c) {
    using namespace blas_impl;
    constexpr std::string_view call = "continua::linalg::blas_backend::gemm";
    if (m == 0 || n == 0) return;
    const int im = blas_int(m, call), in = blas_int(n, call), ik = blas_int(k, call);
    const int lda = blas_ld(trans_a ? k : m, call), ldb = blas_ld(trans_b ? n : k, call);
    const int ldc = blas_ld(m, call);
    const char ta = trans_a ? 'T' : 'N', tb = trans_b ? 'T' : 'N';
    const double flops = 2.0 * double(m) * double(n) * double(k);
    const int threads =
        blas_calls_split_over_openmp()
            ? continua::detail::host_threads(flops, double(CONTINUA_OMP_MIN_GEMM_FLOPS))
            : 1;
    // One call per call site below, so the BLAS is entered the same way serially and in slabs.
    const auto call_blas = [&](int rows, int cols, const T* a0, const T* b0, T* c0) {
      if constexpr (is_float<T>)
        sgemm_(&ta, &tb, &rows, &cols, &ik, &alpha, a0, &lda, b0, &ldb, &beta, c0, &ldc, 1, 1);
      else
        dgemm_(&ta, &tb, &rows, &cols, &ik, &alpha, a0, &lda, b0, &ldb, &beta, c0, &ldc, 1, 1);
    };
    if (threads <= 1) {
      const serial_blas_scope serial(true);
      call_blas(im, in, a, b, c);
      return;
    }
#if CONTINUA_WITH_OPENMP
    // Continua shares the product itself: the longer side of C is cut into one slab per thread
    // (multiples of 16, whole register tiles), each a serial BLAS call, so the threads meet only at
    // the region's end. The BLAS's own threading synchronises inside the product by spinning,
    // which collapses when the threads do not each hold a core (docs/performance.md).
    const bool by_columns = n >= m;
    const std::size_t extent = by_columns ? n : m;
#pragma omp parallel num_threads(threads)
    {
      const auto t = std::size_t(omp_get_thread_num()), team = std::size_t(omp_get_num_threads());
      const std::size_t lo = continua::detail::slab_begin(extent, t, team);
      const std::size_t hi = continua::detail::slab_begin(extent, t + 1, team);
      if (lo < hi) {
        const int width = int(hi - lo);
        if (by_columns)  // C(:, lo:hi) = op(A) op(B)(:, lo:hi)
          call_blas(im, width, a, trans_b ? b + lo : b + lo * std::size_t(ldb), c + lo * m);
        else  // C(lo:hi, :) = op(A)(lo:hi, :) op(B)
          call_blas(width, in, trans_a ? a + lo * std::size_t(lda) : a + lo, b, c + lo);
      }
    }
#endif
  }

  // C (n x n) = alpha AᵀA + beta C (trans, A is k x n) or alpha A Aᵀ + beta C (A is n x k) in
  // the upper or lower triangle of C only, as the routine itself does.
  template <class T>
  static void syrk(bool upper, bool trans, std::size_t n, std::size_t k, T alpha, const T* a,
                   T beta, T* c) {
    using namespace blas_impl;
    constexpr std::string_view call = "continua::linalg::blas_backend::syrk";
    if (n == 0) return;
    const int in = blas_int(n, call), ik = blas_int(k, call);
    const int lda = blas_ld(trans ? k : n, call), ldc = blas_ld(n, call);
    const char uplo = upper ? 'U' : 'L', t = trans ? 'T' : 'N';
    const serial_blas_scope serial(
        continua::detail::host_threads(double(n) * double(n) * double(k),
                                       double(CONTINUA_OMP_MIN_SYRK_FLOPS)) <= 1);
    if constexpr (is_float<T>)
      ssyrk_(&uplo, &t, &in, &ik, &alpha, a, &lda, &beta, c, &ldc, 1, 1);
    else
      dsyrk_(&uplo, &t, &in, &ik, &alpha, a, &lda, &beta, c, &ldc, 1, 1);
  }

  // Copies the strict upper (upper) or lower triangle of the n x n matrix c onto the other one.
  template <class T>
  static void mirror(bool upper, std::size_t n, T* c) {
    mirror_triangle_host(upper, n, c);
  }

  // In-place Cholesky (lower: A = L Lᵀ, upper: A = Uᵀ U) by potrf; the other strict triangle is
  // zeroed. Returns -1 or the 0-based first pivot that is not positive and finite, with `a`
  // restored bit for bit from `workspace` (n * n scalars, or null: allocated here).
  template <class T>
  static std::ptrdiff_t cholesky(bool upper, std::size_t n, T* a, T* workspace) {
    using namespace blas_impl;
    constexpr std::string_view call = "continua::linalg::blas_backend::cholesky";
    if (n == 0) return -1;
    const int in = blas_int(n, call);
    const triangle_backup<T> backup(upper, n, a, workspace);
    const char uplo = upper ? 'U' : 'L';
    int info = 0;
    const serial_blas_scope serial(
        continua::detail::host_threads(double(n), double(CONTINUA_OMP_MIN_CHOLESKY_ORDER)) <= 1);
    if constexpr (is_float<T>)
      spotrf_(&uplo, &in, a, &in, &info, 1);
    else
      dpotrf_(&uplo, &in, a, &in, &info, 1);
    if (info < 0)
      throw numerical_error(std::string(call) + ": potrf rejected argument " +
                            std::to_string(-info));
    std::ptrdiff_t failed = info > 0 ? info - 1 : -1;
    // potrf stops at a pivot that is not positive or is NaN; an infinite pivot passes it and
    // poisons later ones, so the pivots before the reported one are checked as eigen_backend does.
    const std::size_t checked = failed < 0 ? n : static_cast<std::size_t>(failed);
    for (std::size_t j = 0; j < checked; ++j)
      if (!std::isfinite(a[j * n + j]) || !(a[j * n + j] > T(0))) {
        failed = static_cast<std::ptrdiff_t>(j);
        break;
      }
    if (failed >= 0) {
      backup.restore(a);
      return failed;
    }
    for (std::size_t j = 0; j < n; ++j) {
      if (upper)
        std::fill(a + j * n + j + 1, a + (j + 1) * n, T(0));  // below the diagonal in column j
      else
        std::fill(a + j * n, a + j * n + j, T(0));  // above the diagonal in column j
    }
    return -1;
  }

  // op(T) X = B (left) or X op(T) = B (right) in place by trsm; B is m x n.
  template <class T>
  static void trsm(bool right, bool upper, bool trans, std::size_t m, std::size_t n, const T* t,
                   T* b) {
    using namespace blas_impl;
    constexpr std::string_view call = "continua::linalg::blas_backend::trsm";
    if (m == 0 || n == 0) return;
    const int im = blas_int(m, call), in = blas_int(n, call);
    const int ldt = blas_ld(right ? n : m, call), ldb = blas_ld(m, call);
    const char side = right ? 'R' : 'L', uplo = upper ? 'U' : 'L', tr = trans ? 'T' : 'N';
    const char diag = 'N';
    const T one(1);
    const serial_blas_scope serial(
        continua::detail::host_threads(double(m) * double(n) * double(right ? n : m),
                                       double(CONTINUA_OMP_MIN_GEMM_FLOPS)) <= 1);
    if constexpr (is_float<T>)
      strsm_(&side, &uplo, &tr, &diag, &im, &in, &one, t, &ldt, b, &ldb, 1, 1, 1, 1);
    else
      dtrsm_(&side, &uplo, &tr, &diag, &im, &in, &one, t, &ldt, b, &ldb, 1, 1, 1, 1);
  }

  // Thin SVD by gesdd (divide and conquer) on a copy of A; s descending, u (m x k) and v (n x k)
  // optional, stored in the order the caller asks for.
  template <class T>
  static void svd(std::size_t m, std::size_t n, const T* a, T* s, T* u, bool u_row_major, T* v,
                  bool v_row_major) {
    using namespace blas_impl;
    constexpr std::string_view call = "continua::linalg::blas_backend::svd";
    const std::size_t k = std::min(m, n);
    if (k == 0) return;
    const int im = blas_int(m, call), in = blas_int(n, call);
    const bool vectors = u != nullptr || v != nullptr;
    const char jobz = vectors ? 'S' : 'N';
    std::vector<T> copy(a, a + m * n);
    // U is m x k column-major; Vᵀ is k x n column-major, which is V stored row-major.
    std::vector<T> uc(vectors ? m * k : 1), vt(vectors ? k * n : 1);
    const int ldu = blas_ld(vectors ? m : 1, call), ldvt = blas_ld(vectors ? k : 1, call);
    std::vector<int> iwork(8 * k);
    int info = 0, lwork = -1;
    T query(0);
    const auto run = [&](T* work) {
      if constexpr (is_float<T>)
        sgesdd_(&jobz, &im, &in, copy.data(), &im, s, uc.data(), &ldu, vt.data(), &ldvt, work,
                &lwork, iwork.data(), &info, 1);
      else
        dgesdd_(&jobz, &im, &in, copy.data(), &im, s, uc.data(), &ldu, vt.data(), &ldvt, work,
                &lwork, iwork.data(), &info, 1);
    };
    run(&query);
    if (info == 0) {
      // The size comes back as a T; in float it may round down, so a little is added.
      lwork = std::max(static_cast<int>(static_cast<double>(query) * 1.0001) + 1, 1);
      std::vector<T> work(static_cast<std::size_t>(lwork));
      run(work.data());
    }
    if (info != 0)
      throw numerical_error(
          "continua::linalg::svd: the SVD iteration did not converge (gesdd info " +
          std::to_string(info) + ")");
    if (u != nullptr) {
      if (u_row_major)
        transpose_into(uc.data(), m, k, u);
      else
        std::copy(uc.begin(), uc.end(), u);
    }
    if (v != nullptr) {
      if (v_row_major)
        std::copy(vt.begin(), vt.end(), v);
      else
        transpose_into(vt.data(), k, n, v);
    }
  }
};

}  // namespace continua::linalg::detail
