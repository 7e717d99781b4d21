// CUDA backend of core/linalg: cuBLAS gemm/syrk/trsm and cuSOLVER potrf/gesvd on device memory,
// with per-thread handles (cuBLAS and cuSOLVER library guides, CUDA Toolkit). nvcc only; no Eigen.
#pragma once

#if !defined(__CUDACC__)
#error "continua/core/linalg_cuda.hpp is compiled by nvcc only; include continua/core/linalg.hpp"
#endif

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cusolverDn.h>

#include <climits>
#include <cmath>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "continua/core/error.hpp"

namespace continua::linalg::detail {

inline const char* cusolver_status_name(cusolverStatus_t s) {
  switch (s) {
    case CUSOLVER_STATUS_SUCCESS:
      return "CUSOLVER_STATUS_SUCCESS";
    case CUSOLVER_STATUS_NOT_INITIALIZED:
      return "CUSOLVER_STATUS_NOT_INITIALIZED";
    case CUSOLVER_STATUS_ALLOC_FAILED:
      return "CUSOLVER_STATUS_ALLOC_FAILED";
    case CUSOLVER_STATUS_INVALID_VALUE:
      return "CUSOLVER_STATUS_INVALID_VALUE";
    case CUSOLVER_STATUS_ARCH_MISMATCH:
      return "CUSOLVER_STATUS_ARCH_MISMATCH";
    case CUSOLVER_STATUS_MAPPING_ERROR:
      return "CUSOLVER_STATUS_MAPPING_ERROR";
    case CUSOLVER_STATUS_EXECUTION_FAILED:
      return "CUSOLVER_STATUS_EXECUTION_FAILED";
    case CUSOLVER_STATUS_INTERNAL_ERROR:
      return "CUSOLVER_STATUS_INTERNAL_ERROR";
    case CUSOLVER_STATUS_MATRIX_TYPE_NOT_SUPPORTED:
      return "CUSOLVER_STATUS_MATRIX_TYPE_NOT_SUPPORTED";
    case CUSOLVER_STATUS_NOT_SUPPORTED:
      return "CUSOLVER_STATUS_NOT_SUPPORTED";
    case CUSOLVER_STATUS_ZERO_PIVOT:
      return "CUSOLVER_STATUS_ZERO_PIVOT";
    case CUSOLVER_STATUS_INVALID_LICENSE:
      return "CUSOLVER_STATUS_INVALID_LICENSE";
    case CUSOLVER_STATUS_INVALID_WORKSPACE:
      return "CUSOLVER_STATUS_INVALID_WORKSPACE";
    default:
      return "unknown cusolverStatus_t";
  }
}

inline void check_cuda(cudaError_t e, const char* call) {
  if (e != cudaSuccess)
    throw std::runtime_error(std::string("continua::linalg (CUDA): ") + call + " failed: " +
                             cudaGetErrorName(e) + " (" + cudaGetErrorString(e) + ")");
}
inline void check_cublas(cublasStatus_t s, const char* call) {
  if (s != CUBLAS_STATUS_SUCCESS)
    throw std::runtime_error(std::string("continua::linalg (cuBLAS): ") + call +
                             " failed: " + cublasGetStatusName(s));
}
inline void check_cusolver(cusolverStatus_t s, const char* call) {
  if (s != CUSOLVER_STATUS_SUCCESS)
    throw std::runtime_error(std::string("continua::linalg (cuSOLVER): ") + call +
                             " failed: " + cusolver_status_name(s));
}

// Library handles are costly to create (tens of microseconds to milliseconds) and not safe to share
// across concurrently calling host threads, so each thread creates its own on first use.
class cuda_handles {
 public:
  cuda_handles() = default;
  cuda_handles(const cuda_handles&) = delete;
  cuda_handles& operator=(const cuda_handles&) = delete;
  ~cuda_handles() {
    // Status ignored: at process exit the CUDA context may already be gone.
    if (solver_ != nullptr) cusolverDnDestroy(solver_);
    if (blas_ != nullptr) cublasDestroy(blas_);
  }
  cublasHandle_t blas() {
    if (blas_ == nullptr) check_cublas(cublasCreate(&blas_), "cublasCreate");
    return blas_;
  }
  cusolverDnHandle_t solver() {
    if (solver_ == nullptr) check_cusolver(cusolverDnCreate(&solver_), "cusolverDnCreate");
    return solver_;
  }

 private:
  cublasHandle_t blas_ = nullptr;
  cusolverDnHandle_t solver_ = nullptr;
};

inline cuda_handles& thread_cuda_handles() {
  thread_local cuda_handles handles;
  return handles;
}

// Scratch device memory owned for the duration of one call.
template <class T>
class device_scratch {
 public:
  explicit device_scratch(std::size_t n) {
    if (n != 0) check_cuda(cudaMalloc(reinterpret_cast<void**>(&p_), n * sizeof(T)), "cudaMalloc");
  }
  device_scratch(const device_scratch&) = delete;
  device_scratch& operator=(const device_scratch&) = delete;
  ~device_scratch() {
    if (p_ != nullptr) cudaFree(p_);
  }
  T* get() const { return p_; }

 private:
  T* p_ = nullptr;
};

inline int to_int(std::size_t n, const char* what) {
  if (n > static_cast<std::size_t>(INT_MAX))
    throw invalid_argument(std::string("continua::linalg (CUDA): ") + what + " = " +
                           std::to_string(n) + " exceeds the 32-bit range of cuBLAS/cuSOLVER");
  return static_cast<int>(n);
}
inline int ld(std::size_t n) { return n == 0 ? 1 : to_int(n, "leading dimension"); }

// Column-major n x n: c(i, j) = c(j, i) for i < j, copying the lower triangle upward.
template <class T>
__global__ void mirror_lower_kernel(T* c, std::size_t n) {
  const std::size_t i = blockIdx.x * std::size_t(blockDim.x) + threadIdx.x;
  const std::size_t j = blockIdx.y * std::size_t(blockDim.y) + threadIdx.y;
  if (i < n && j < n && i < j) c[i + j * n] = c[j + i * n];
}
// Column-major n x n: zero the strict lower (or upper) triangle.
template <class T>
__global__ void zero_strict_triangle_kernel(T* a, std::size_t n, bool lower) {
  const std::size_t i = blockIdx.x * std::size_t(blockDim.x) + threadIdx.x;
  const std::size_t j = blockIdx.y * std::size_t(blockDim.y) + threadIdx.y;
  if (i < n && j < n && (lower ? i > j : i < j)) a[i + j * n] = T(0);
}
// dst (cols x rows, column-major) = srcᵀ with src rows x cols column-major.
template <class T>
__global__ void transpose_kernel(const T* src, std::size_t rows, std::size_t cols, T* dst) {
  const std::size_t i = blockIdx.x * std::size_t(blockDim.x) + threadIdx.x;
  const std::size_t j = blockIdx.y * std::size_t(blockDim.y) + threadIdx.y;
  if (i < rows && j < cols) dst[j + i * cols] = src[i + j * rows];
}

inline dim3 grid_for(std::size_t rows, std::size_t cols, dim3 block) {
  return dim3(static_cast<unsigned>((rows + block.x - 1) / block.x),
              static_cast<unsigned>((cols + block.y - 1) / block.y));
}

// Precision dispatch: one overload per BLAS/LAPACK prefix.
inline cublasStatus_t xgemm(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m,
                            int n, int k, const float* alpha, const float* a, int lda,
                            const float* b, int ldb, const float* beta, float* c, int ldc) {
  return cublasSgemm(h, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
inline cublasStatus_t xgemm(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m,
                            int n, int k, const double* alpha, const double* a, int lda,
                            const double* b, int ldb, const double* beta, double* c, int ldc) {
  return cublasDgemm(h, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
inline cublasStatus_t xsyrk(cublasHandle_t h, cublasFillMode_t uplo, cublasOperation_t t, int n,
                            int k, const float* alpha, const float* a, int lda, const float* beta,
                            float* c, int ldc) {
  return cublasSsyrk(h, uplo, t, n, k, alpha, a, lda, beta, c, ldc);
}
inline cublasStatus_t xsyrk(cublasHandle_t h, cublasFillMode_t uplo, cublasOperation_t t, int n,
                            int k, const double* alpha, const double* a, int lda,
                            const double* beta, double* c, int ldc) {
  return cublasDsyrk(h, uplo, t, n, k, alpha, a, lda, beta, c, ldc);
}
inline cublasStatus_t xtrsm(cublasHandle_t h, cublasSideMode_t side, cublasFillMode_t uplo,
                            cublasOperation_t t, int m, int n, const float* alpha, const float* a,
                            int lda, float* b, int ldb) {
  return cublasStrsm(h, side, uplo, t, CUBLAS_DIAG_NON_UNIT, m, n, alpha, a, lda, b, ldb);
}
inline cublasStatus_t xtrsm(cublasHandle_t h, cublasSideMode_t side, cublasFillMode_t uplo,
                            cublasOperation_t t, int m, int n, const double* alpha, const double* a,
                            int lda, double* b, int ldb) {
  return cublasDtrsm(h, side, uplo, t, CUBLAS_DIAG_NON_UNIT, m, n, alpha, a, lda, b, ldb);
}
inline cusolverStatus_t xpotrf_buffer_size(cusolverDnHandle_t h, cublasFillMode_t uplo, int n,
                                           float* a, int lda, int* lwork) {
  return cusolverDnSpotrf_bufferSize(h, uplo, n, a, lda, lwork);
}
inline cusolverStatus_t xpotrf_buffer_size(cusolverDnHandle_t h, cublasFillMode_t uplo, int n,
                                           double* a, int lda, int* lwork) {
  return cusolverDnDpotrf_bufferSize(h, uplo, n, a, lda, lwork);
}
inline cusolverStatus_t xpotrf(cusolverDnHandle_t h, cublasFillMode_t uplo, int n, float* a,
                               int lda, float* work, int lwork, int* info) {
  return cusolverDnSpotrf(h, uplo, n, a, lda, work, lwork, info);
}
inline cusolverStatus_t xpotrf(cusolverDnHandle_t h, cublasFillMode_t uplo, int n, double* a,
                               int lda, double* work, int lwork, int* info) {
  return cusolverDnDpotrf(h, uplo, n, a, lda, work, lwork, info);
}
template <class T>
cusolverStatus_t xgesvd_buffer_size(cusolverDnHandle_t h, int m, int n, int* lwork) {
  if constexpr (std::is_same_v<T, float>)
    return cusolverDnSgesvd_bufferSize(h, m, n, lwork);
  else
    return cusolverDnDgesvd_bufferSize(h, m, n, lwork);
}
inline cusolverStatus_t xgesvd(cusolverDnHandle_t h, signed char jobu, signed char jobvt, int m,
                               int n, float* a, int lda, float* s, float* u, int ldu, float* vt,
                               int ldvt, float* work, int lwork, float* rwork, int* info) {
  return cusolverDnSgesvd(h, jobu, jobvt, m, n, a, lda, s, u, ldu, vt, ldvt, work, lwork, rwork,
                          info);
}
inline cusolverStatus_t xgesvd(cusolverDnHandle_t h, signed char jobu, signed char jobvt, int m,
                               int n, double* a, int lda, double* s, double* u, int ldu, double* vt,
                               int ldvt, double* work, int lwork, double* rwork, int* info) {
  return cusolverDnDgesvd(h, jobu, jobvt, m, n, a, lda, s, u, ldu, vt, ldvt, work, lwork, rwork,
                          info);
}

inline int read_info(const int* device_info) {
  int info = 0;
  check_cuda(cudaMemcpy(&info, device_info, sizeof(int), cudaMemcpyDeviceToHost),
             "cudaMemcpy(info)");
  return info;
}

// Same contract as eigen_backend (linalg_host.hpp): contiguous column-major device matrices with
// ld = rows; all work is queued on the default stream, so it is ordered with Thrust's calls there.
struct cuda_backend {
  static constexpr dim3 block{32, 8, 1};

  template <class T>
  static void gemm(bool trans_a, bool trans_b, std::size_t m, std::size_t n, std::size_t k, T alpha,
                   const T* a, const T* b, T beta, T* c) {
    if (m == 0 || n == 0) return;
    check_cublas(
        xgemm(thread_cuda_handles().blas(), trans_a ? CUBLAS_OP_T : CUBLAS_OP_N,
              trans_b ? CUBLAS_OP_T : CUBLAS_OP_N, to_int(m, "m"), to_int(n, "n"), to_int(k, "k"),
              &alpha, a, ld(trans_a ? k : m), b, ld(trans_b ? n : k), &beta, c, ld(m)),
        "gemm");
  }

  template <class T>
  static void syrk(bool trans, std::size_t n, std::size_t k, T alpha, const T* a, T beta, T* c) {
    if (n == 0) return;
    check_cublas(xsyrk(thread_cuda_handles().blas(), CUBLAS_FILL_MODE_LOWER,
                       trans ? CUBLAS_OP_T : CUBLAS_OP_N, to_int(n, "n"), to_int(k, "k"), &alpha, a,
                       ld(trans ? k : n), &beta, c, ld(n)),
                 "syrk");
    mirror_lower_kernel<<<grid_for(n, n, block), block>>>(c, n);
    check_cuda(cudaGetLastError(), "mirror_lower_kernel");
  }

  template <class T>
  static std::ptrdiff_t cholesky(bool upper, std::size_t n, T* a, T* workspace) {
    const int nn = to_int(n, "n");
    device_scratch<T> own(workspace == nullptr ? n * n : 0);
    T* backup = workspace == nullptr ? own.get() : workspace;
    check_cuda(cudaMemcpy(backup, a, n * n * sizeof(T), cudaMemcpyDeviceToDevice),
               "cudaMemcpy(backup)");
    cusolverDnHandle_t h = thread_cuda_handles().solver();
    const cublasFillMode_t uplo = upper ? CUBLAS_FILL_MODE_UPPER : CUBLAS_FILL_MODE_LOWER;
    int lwork = 0;
    check_cusolver(xpotrf_buffer_size(h, uplo, nn, a, nn, &lwork), "potrf_bufferSize");
    device_scratch<T> work(static_cast<std::size_t>(lwork));
    device_scratch<int> info(1);
    check_cusolver(xpotrf(h, uplo, nn, a, nn, work.get(), lwork, info.get()), "potrf");
    const int status = read_info(info.get());
    if (status < 0)
      throw std::runtime_error("continua::linalg (cuSOLVER): potrf rejected argument " +
                               std::to_string(-status));
    // potrf's info names the first minor that is not positive; a NaN pivot passes its test, so
    // the diagonal (gathered with a stride of n + 1) is checked as well.
    std::ptrdiff_t failed = status > 0 ? status - 1 : -1;
    const std::size_t checked = failed < 0 ? n : static_cast<std::size_t>(failed);
    if (checked != 0) {
      std::vector<T> diag(checked);
      check_cuda(cudaMemcpy2D(diag.data(), sizeof(T), a, (n + 1) * sizeof(T), sizeof(T), checked,
                              cudaMemcpyDeviceToHost),
                 "cudaMemcpy2D(diagonal)");
      for (std::size_t j = 0; j < checked; ++j)
        if (!std::isfinite(diag[j]) || !(diag[j] > T(0))) {
          failed = static_cast<std::ptrdiff_t>(j);
          break;
        }
    }
    if (failed >= 0) {
      check_cuda(cudaMemcpy(a, backup, n * n * sizeof(T), cudaMemcpyDeviceToDevice),
                 "cudaMemcpy(restore)");
      return failed;
    }
    zero_strict_triangle_kernel<<<grid_for(n, n, block), block>>>(a, n, upper);
    check_cuda(cudaGetLastError(), "zero_strict_triangle_kernel");
    return -1;
  }

  template <class T>
  static void trsm(bool right, bool upper, bool trans, std::size_t m, std::size_t n, const T* t,
                   T* b) {
    if (m == 0 || n == 0) return;
    const T one = T(1);
    check_cublas(xtrsm(thread_cuda_handles().blas(), right ? CUBLAS_SIDE_RIGHT : CUBLAS_SIDE_LEFT,
                       upper ? CUBLAS_FILL_MODE_UPPER : CUBLAS_FILL_MODE_LOWER,
                       trans ? CUBLAS_OP_T : CUBLAS_OP_N, to_int(m, "m"), to_int(n, "n"), &one, t,
                       ld(right ? n : m), b, ld(m)),
                 "trsm");
  }

  template <class T>
  static void svd(std::size_t m, std::size_t n, const T* a, T* s, T* u, bool u_row_major, T* v,
                  bool v_row_major) {
    // cuSOLVER's gesvd needs rows >= columns, so a wide A is factored as Aᵀ = V diag(s) Uᵀ.
    const bool wide = m < n;
    const std::size_t rows = wide ? n : m;
    const std::size_t k = wide ? m : n;
    const int r = to_int(rows, "rows");
    const int kk = to_int(k, "min(rows, columns)");
    device_scratch<T> w(rows * k);  // gesvd overwrites its input
    if (!wide) {
      check_cuda(cudaMemcpy(w.get(), a, rows * k * sizeof(T), cudaMemcpyDeviceToDevice),
                 "cudaMemcpy(A)");
    } else {
      transpose_kernel<<<grid_for(m, n, block), block>>>(a, m, n, w.get());
      check_cuda(cudaGetLastError(), "transpose_kernel");
    }
    // W = Uw diag(s) VTw: the left factor of W is U for a tall A and V for a wide one.
    T* const left_out = wide ? v : u;
    T* const right_out = wide ? u : v;
    device_scratch<T> uw(left_out != nullptr ? rows * k : 0);
    device_scratch<T> vt(right_out != nullptr ? k * k : 0);
    cusolverDnHandle_t h = thread_cuda_handles().solver();
    int lwork = 0;
    check_cusolver(xgesvd_buffer_size<T>(h, r, kk, &lwork), "gesvd_bufferSize");
    device_scratch<T> work(static_cast<std::size_t>(lwork));
    device_scratch<T> rwork(k);
    device_scratch<int> info(1);
    check_cusolver(
        xgesvd(h, left_out != nullptr ? 'S' : 'N', right_out != nullptr ? 'S' : 'N', r, kk, w.get(),
               r, s, uw.get(), r, vt.get(), kk, work.get(), lwork, rwork.get(), info.get()),
        "gesvd");
    const int status = read_info(info.get());
    if (status < 0)
      throw std::runtime_error("continua::linalg (cuSOLVER): gesvd rejected argument " +
                               std::to_string(-status));
    if (status > 0)
      throw numerical_error("continua::linalg::svd: cuSOLVER gesvd did not converge (" +
                            std::to_string(status) + " superdiagonals remain)");
    // uw holds the left factor (rows x k) column-major; vt holds the right factor transposed.
    if (left_out != nullptr)
      store(uw.get(), false, left_out, rows, k, wide ? v_row_major : u_row_major);
    if (right_out != nullptr)
      store(vt.get(), true, right_out, k, k, wide ? u_row_major : v_row_major);
  }

 private:
  // Writes X (rows x cols) into dst, stored row-major or column-major; src holds X column-major,
  // or Xᵀ column-major when src_transposed.
  template <class T>
  static void store(const T* src, bool src_transposed, T* dst, std::size_t rows, std::size_t cols,
                    bool dst_row_major) {
    if (src_transposed == dst_row_major) {
      check_cuda(cudaMemcpy(dst, src, rows * cols * sizeof(T), cudaMemcpyDeviceToDevice),
                 "cudaMemcpy(factor)");
      return;
    }
    const std::size_t src_rows = src_transposed ? cols : rows;
    const std::size_t src_cols = src_transposed ? rows : cols;
    transpose_kernel<<<grid_for(src_rows, src_cols, block), block>>>(src, src_rows, src_cols, dst);
    check_cuda(cudaGetLastError(), "transpose_kernel");
  }
};

}  // namespace continua::linalg::detail
