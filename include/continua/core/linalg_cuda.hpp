// CUDA backend of core/linalg: cuBLAS gemm/syrk/trsm/geam (64-bit API) and cuSOLVER Xpotrf/Xgesvd
// (64-bit generic API) on device memory, on this thread's continua stream, with per-thread,
// per-device handles and scratch (cuBLAS and cuSOLVER library guides). nvcc only; no Eigen.
#pragma once

#if !defined(__CUDACC__)
#error "continua/core/linalg_cuda.hpp is compiled by nvcc only; include continua/core/linalg.hpp"
#endif

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cusolverDn.h>

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "continua/core/cuda_stream.hpp"
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

// Per host thread and device: library handles (costly to create, not safe to share between
// concurrently calling threads, bound to the device current at creation), cuSOLVER's params, and
// grow-only scratch so that steady-state calls allocate nothing.
class cuda_context {
 public:
  explicit cuda_context(int device) : device_(device) {}
  cuda_context(const cuda_context&) = delete;
  cuda_context& operator=(const cuda_context&) = delete;
  ~cuda_context() {
    // Status ignored: at thread or process exit the CUDA context may already be gone.
    cudaSetDevice(device_);
    if (host_status_ != nullptr) cudaFreeHost(host_status_);
    if (params_ != nullptr) cusolverDnDestroyParams(params_);
    if (solver_ != nullptr) cusolverDnDestroy(solver_);
    if (blas_ != nullptr) cublasDestroy(blas_);
  }

  cublasHandle_t blas(cudaStream_t stream) {
    if (blas_ == nullptr) {
      check_cublas(cublasCreate(&blas_), "cublasCreate");
      blas_stream_ = nullptr;  // a new handle runs on stream 0
    }
    // Only on a change: cublasSetStream also resets the handle's workspace.
    if (stream != blas_stream_) {
      check_cublas(cublasSetStream(blas_, stream), "cublasSetStream");
      blas_stream_ = stream;
    }
    return blas_;
  }
  cusolverDnHandle_t solver(cudaStream_t stream) {
    if (solver_ == nullptr) {
      check_cusolver(cusolverDnCreate(&solver_), "cusolverDnCreate");
      solver_stream_ = nullptr;
    }
    if (stream != solver_stream_) {
      check_cusolver(cusolverDnSetStream(solver_, stream), "cusolverDnSetStream");
      solver_stream_ = stream;
    }
    return solver_;
  }
  cusolverDnParams_t params() {
    if (params_ == nullptr)
      check_cusolver(cusolverDnCreateParams(&params_), "cusolverDnCreateParams");
    return params_;
  }
  // cuSOLVER's host workspace (the 64-bit API asks for one; often 0 bytes), grow-only.
  void* host_workspace(std::size_t bytes) {
    if (host_work_.size() < bytes) host_work_.resize(bytes);
    return bytes == 0 ? nullptr : host_work_.data();
  }
  template <class Status>
  Status read_status(const Status* device_status, cudaStream_t stream) {
    static_assert(sizeof(Status) <= status_bytes);
    if (host_status_ == nullptr)  // pinned, so the copy is a true async copy: the sync is explicit
      check_cuda(cudaMallocHost(&host_status_, status_bytes), "cudaMallocHost(status)");
    check_cuda(cudaMemcpyAsync(host_status_, device_status, sizeof(Status), cudaMemcpyDeviceToHost,
                               stream),
               "cudaMemcpyAsync(status)");
    check_cuda(cudaStreamSynchronize(stream), "cudaStreamSynchronize(status)");
    return *static_cast<const Status*>(host_status_);
  }

  continua::detail::stream_scratch scratch;

 private:
  static constexpr std::size_t status_bytes = 64;
  int device_;
  cublasHandle_t blas_ = nullptr;
  cusolverDnHandle_t solver_ = nullptr;
  cudaStream_t blas_stream_ = nullptr;
  cudaStream_t solver_stream_ = nullptr;
  cusolverDnParams_t params_ = nullptr;
  void* host_status_ = nullptr;
  std::vector<std::byte> host_work_;
};

inline cuda_context& thread_cuda_context() {
  return continua::detail::per_thread_device_context<cuda_context>();
}

// Byte offsets of the regions carved out of one scratch block, each 256-byte aligned (what
// cudaMalloc guarantees for the block itself).
struct scratch_layout {
  std::size_t bytes = 0;
  std::size_t add(std::size_t n) {
    const std::size_t at = bytes;
    bytes += (n + 255) / 256 * 256;
    return at;
  }
};

// Written on the device by cuSOLVER and first_bad_pivot_kernel; read back in one copy.
struct solver_status {
  int info;
  int unused;
  unsigned long long first_bad;  // all ones: no bad pivot
};

inline std::int64_t to_i64(std::size_t n, const char* what) {
  if (n > static_cast<std::size_t>(INT64_MAX))
    throw invalid_argument(std::string("continua::linalg (CUDA): ") + what + " = " +
                           std::to_string(n) + " exceeds the 64-bit range of cuBLAS/cuSOLVER");
  return static_cast<std::int64_t>(n);
}
inline std::int64_t ld(std::size_t n) { return n == 0 ? 1 : to_i64(n, "leading dimension"); }

template <class T>
inline constexpr cudaDataType data_type = std::is_same_v<T, float> ? CUDA_R_32F : CUDA_R_64F;

// The square kernels below stride over the grid in both dimensions, so any n fits the grid limits
// (65535 blocks on y); a tile of blockDim.x rows by blockDim.y columns is skipped when it holds no
// element of the triangle written.
inline constexpr dim3 square_block{32, 8, 1};
inline dim3 square_grid(std::size_t n) {
  const auto cap = [](std::size_t blocks) {
    return static_cast<unsigned>(blocks < 65535 ? (blocks == 0 ? 1 : blocks) : 65535);
  };
  return dim3(cap((n + square_block.x - 1) / square_block.x),
              cap((n + square_block.y - 1) / square_block.y));
}

// Column-major n x n: copies the strict lower triangle onto the upper one (c(i, j) = c(j, i) for
// i < j) or, when `upper`, the other way. Threads run down a column, so the accesses to the upper
// triangle are coalesced.
template <class T>
__global__ void mirror_triangle_kernel(T* c, std::size_t n, bool upper) {
  const std::size_t rows = blockDim.x, cols = blockDim.y;
  for (std::size_t j0 = blockIdx.y * cols; j0 < n; j0 += gridDim.y * cols) {
    const std::size_t j = j0 + threadIdx.y;
    // Row tiles only move down the column, so once one starts at or below the diagonal, no later
    // one holds an i < j.
    for (std::size_t i0 = blockIdx.x * rows; i0 + 1 < j0 + cols; i0 += gridDim.x * rows) {
      const std::size_t i = i0 + threadIdx.x;
      if (i < j && j < n) {
        if (upper)
          c[j + i * n] = c[i + j * n];
        else
          c[i + j * n] = c[j + i * n];
      }
    }
  }
}

// Column-major n x n: zero the strict lower (i > j) or upper (i < j) triangle.
template <class T>
__global__ void zero_strict_triangle_kernel(T* a, std::size_t n, bool lower) {
  const std::size_t rows = blockDim.x, cols = blockDim.y;
  const std::size_t stride = gridDim.x * rows;
  for (std::size_t j0 = blockIdx.y * cols; j0 < n; j0 += gridDim.y * cols) {
    const std::size_t j = j0 + threadIdx.y;
    std::size_t i0 = blockIdx.x * rows;
    // Lower: a tile holds an i > j only if i0 + rows - 1 > j0; jump to this block's first such.
    if (lower && j0 + 2 > i0 + rows) i0 += (j0 + 2 - rows - i0 + stride - 1) / stride * stride;
    for (; i0 < n; i0 += stride) {
      if (!lower && i0 + 1 >= j0 + cols) break;  // upper: no i < j from here down
      const std::size_t i = i0 + threadIdx.x;
      if (i < n && j < n && (lower ? i > j : i < j)) a[i + j * n] = T(0);
    }
  }
}

// After potrf: the first j below min(n, info - 1 when info > 0) whose pivot is NaN, Inf or not
// positive. potrf's info names the first minor that is not positive, but a NaN pivot passes its
// test. Checking on the device lets one copy bring back info and this index together.
template <class T>
__global__ void first_bad_pivot_kernel(const T* a, std::size_t n, solver_status* status) {
  const int info = status->info;
  const std::size_t limit = info == 0 ? n : (info > 0 ? static_cast<std::size_t>(info) - 1 : 0);
  const std::size_t stride = std::size_t(gridDim.x) * blockDim.x;
  for (std::size_t j = blockIdx.x * std::size_t(blockDim.x) + threadIdx.x; j < limit; j += stride) {
    const T d = a[j * (n + 1)];
    if (!(isfinite(d) && d > T(0)))
      atomicMin(&status->first_bad, static_cast<unsigned long long>(j));
  }
}
inline dim3 pivot_grid(std::size_t n) {
  const std::size_t blocks = (n + 255) / 256;
  return dim3(static_cast<unsigned>(blocks < 1024 ? blocks : 1024));
}

// Precision dispatch for the 64-bit cuBLAS API (CUDA 12+): one overload per BLAS prefix.
inline cublasStatus_t xgemm(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb,
                            std::int64_t m, std::int64_t n, std::int64_t k, const float* alpha,
                            const float* a, std::int64_t lda, const float* b, std::int64_t ldb,
                            const float* beta, float* c, std::int64_t ldc) {
  return cublasSgemm_64(h, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
inline cublasStatus_t xgemm(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb,
                            std::int64_t m, std::int64_t n, std::int64_t k, const double* alpha,
                            const double* a, std::int64_t lda, const double* b, std::int64_t ldb,
                            const double* beta, double* c, std::int64_t ldc) {
  return cublasDgemm_64(h, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
inline cublasStatus_t xsyrk(cublasHandle_t h, cublasFillMode_t uplo, cublasOperation_t t,
                            std::int64_t n, std::int64_t k, const float* alpha, const float* a,
                            std::int64_t lda, const float* beta, float* c, std::int64_t ldc) {
  return cublasSsyrk_64(h, uplo, t, n, k, alpha, a, lda, beta, c, ldc);
}
inline cublasStatus_t xsyrk(cublasHandle_t h, cublasFillMode_t uplo, cublasOperation_t t,
                            std::int64_t n, std::int64_t k, const double* alpha, const double* a,
                            std::int64_t lda, const double* beta, double* c, std::int64_t ldc) {
  return cublasDsyrk_64(h, uplo, t, n, k, alpha, a, lda, beta, c, ldc);
}
inline cublasStatus_t xtrsm(cublasHandle_t h, cublasSideMode_t side, cublasFillMode_t uplo,
                            cublasOperation_t t, std::int64_t m, std::int64_t n, const float* alpha,
                            const float* a, std::int64_t lda, float* b, std::int64_t ldb) {
  return cublasStrsm_64(h, side, uplo, t, CUBLAS_DIAG_NON_UNIT, m, n, alpha, a, lda, b, ldb);
}
inline cublasStatus_t xtrsm(cublasHandle_t h, cublasSideMode_t side, cublasFillMode_t uplo,
                            cublasOperation_t t, std::int64_t m, std::int64_t n,
                            const double* alpha, const double* a, std::int64_t lda, double* b,
                            std::int64_t ldb) {
  return cublasDtrsm_64(h, side, uplo, t, CUBLAS_DIAG_NON_UNIT, m, n, alpha, a, lda, b, ldb);
}
inline cublasStatus_t xgeam(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb,
                            std::int64_t m, std::int64_t n, const float* alpha, const float* a,
                            std::int64_t lda, const float* beta, const float* b, std::int64_t ldb,
                            float* c, std::int64_t ldc) {
  return cublasSgeam_64(h, ta, tb, m, n, alpha, a, lda, beta, b, ldb, c, ldc);
}
inline cublasStatus_t xgeam(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb,
                            std::int64_t m, std::int64_t n, const double* alpha, const double* a,
                            std::int64_t lda, const double* beta, const double* b, std::int64_t ldb,
                            double* c, std::int64_t ldc) {
  return cublasDgeam_64(h, ta, tb, m, n, alpha, a, lda, beta, b, ldb, c, ldc);
}

// dst (cols x rows) = srcᵀ for src rows x cols, both column-major and disjoint, by geam
// (C = alpha op(A) + beta op(B)) with beta = 0. B is the source again, so every matrix argument
// is valid memory of the right shape whether or not cuBLAS reads it.
template <class T>
void transpose(cublasHandle_t h, const T* src, std::size_t rows, std::size_t cols, T* dst) {
  const T one = T(1);
  const T zero = T(0);
  check_cublas(xgeam(h, CUBLAS_OP_T, CUBLAS_OP_T, to_i64(cols, "columns"), to_i64(rows, "rows"),
                     &one, src, ld(rows), &zero, src, ld(rows), dst, ld(cols)),
               "cublasXgeam(transpose)");
}

// Same contract as eigen_backend (linalg_host.hpp): contiguous column-major device matrices with
// ld = rows. All work is queued on this thread's continua stream (continua/core/cuda_stream.hpp),
// so it is ordered with the Thrust loops of adapters/thrust.hpp.
struct cuda_backend {
  // Per call (all routines): no cudaMalloc/cudaFree once this thread's scratch on the device has
  // grown to the size (the first call per thread and device also creates the handles); host
  // synchronisations: none for gemm, syrk and trsm, one each for cholesky and svd (the status
  // read that their failure contracts need; cuSOLVER's gesvd may also synchronise inside).

  template <class T>
  static void gemm(bool trans_a, bool trans_b, std::size_t m, std::size_t n, std::size_t k, T alpha,
                   const T* a, const T* b, T beta, T* c) {
    if (m == 0 || n == 0) return;
    check_cublas(
        xgemm(thread_cuda_context().blas(cuda_stream()), trans_a ? CUBLAS_OP_T : CUBLAS_OP_N,
              trans_b ? CUBLAS_OP_T : CUBLAS_OP_N, to_i64(m, "m"), to_i64(n, "n"), to_i64(k, "k"),
              &alpha, a, ld(trans_a ? k : m), b, ld(trans_b ? n : k), &beta, c, ld(m)),
        "cublasXgemm_64");
  }

  template <class T>
  static void syrk(bool upper, bool trans, std::size_t n, std::size_t k, T alpha, const T* a,
                   T beta, T* c) {
    if (n == 0) return;
    check_cublas(xsyrk(thread_cuda_context().blas(cuda_stream()),
                       upper ? CUBLAS_FILL_MODE_UPPER : CUBLAS_FILL_MODE_LOWER,
                       trans ? CUBLAS_OP_T : CUBLAS_OP_N, to_i64(n, "n"), to_i64(k, "k"), &alpha, a,
                       ld(trans ? k : n), &beta, c, ld(n)),
                 "cublasXsyrk_64");
  }

  template <class T>
  static void mirror(bool upper, std::size_t n, T* c) {
    if (n < 2) return;
    mirror_triangle_kernel<<<square_grid(n), square_block, 0, cuda_stream()>>>(c, n, upper);
    check_cuda(cudaGetLastError(), "mirror_triangle_kernel");
  }

  template <class T>
  static std::ptrdiff_t cholesky(bool upper, std::size_t n, T* a, T* workspace) {
    const cudaStream_t stream = cuda_stream();
    cuda_context& ctx = thread_cuda_context();
    cusolverDnHandle_t h = ctx.solver(stream);
    cusolverDnParams_t params = ctx.params();
    const cublasFillMode_t uplo = upper ? CUBLAS_FILL_MODE_UPPER : CUBLAS_FILL_MODE_LOWER;
    const std::int64_t nn = to_i64(n, "n");
    constexpr cudaDataType type = data_type<T>;
    std::size_t device_bytes = 0;
    std::size_t host_bytes = 0;
    check_cusolver(cusolverDnXpotrf_bufferSize(h, params, uplo, nn, type, a, nn, type,
                                               &device_bytes, &host_bytes),
                   "cusolverDnXpotrf_bufferSize");
    // Scratch: status, the backup of A (unless the caller gave a workspace), potrf's workspace.
    const std::size_t matrix_bytes = n * n * sizeof(T);
    scratch_layout layout;
    const std::size_t status_at = layout.add(sizeof(solver_status));
    const std::size_t backup_at = layout.add(workspace == nullptr ? matrix_bytes : 0);
    const std::size_t work_at = layout.add(device_bytes);
    continua::detail::scratch_lease lease(ctx.scratch, layout.bytes, stream);
    auto* status = reinterpret_cast<solver_status*>(lease.get() + status_at);
    T* const backup =
        workspace != nullptr ? workspace : reinterpret_cast<T*>(lease.get() + backup_at);

    check_cuda(cudaMemcpyAsync(backup, a, matrix_bytes, cudaMemcpyDeviceToDevice, stream),
               "cudaMemcpyAsync(backup)");
    check_cuda(cudaMemsetAsync(&status->first_bad, 0xff, sizeof(status->first_bad), stream),
               "cudaMemsetAsync(status)");
    check_cusolver(
        cusolverDnXpotrf(h, params, uplo, nn, type, a, nn, type, lease.get() + work_at,
                         device_bytes, ctx.host_workspace(host_bytes), host_bytes, &status->info),
        "cusolverDnXpotrf");
    first_bad_pivot_kernel<<<pivot_grid(n), 256, 0, stream>>>(a, n, status);
    check_cuda(cudaGetLastError(), "first_bad_pivot_kernel");
    const solver_status result = ctx.read_status(status, stream);  // the one host sync
    if (result.info < 0)
      throw std::runtime_error("continua::linalg (cuSOLVER): Xpotrf rejected argument " +
                               std::to_string(-result.info));
    std::ptrdiff_t failed = result.info > 0 ? result.info - 1 : -1;
    if (result.first_bad != ~0ULL) failed = static_cast<std::ptrdiff_t>(result.first_bad);
    if (failed >= 0) {
      // Queued on the stream: later work on it, and a later read after a sync, see A restored.
      check_cuda(cudaMemcpyAsync(a, backup, matrix_bytes, cudaMemcpyDeviceToDevice, stream),
                 "cudaMemcpyAsync(restore)");
      lease.release();
      return failed;
    }
    zero_strict_triangle_kernel<<<square_grid(n), square_block, 0, stream>>>(a, n, upper);
    check_cuda(cudaGetLastError(), "zero_strict_triangle_kernel");
    lease.release();
    return -1;
  }

  template <class T>
  static void trsm(bool right, bool upper, bool trans, std::size_t m, std::size_t n, const T* t,
                   T* b) {
    if (m == 0 || n == 0) return;
    const T one = T(1);
    check_cublas(xtrsm(thread_cuda_context().blas(cuda_stream()),
                       right ? CUBLAS_SIDE_RIGHT : CUBLAS_SIDE_LEFT,
                       upper ? CUBLAS_FILL_MODE_UPPER : CUBLAS_FILL_MODE_LOWER,
                       trans ? CUBLAS_OP_T : CUBLAS_OP_N, to_i64(m, "m"), to_i64(n, "n"), &one, t,
                       ld(right ? n : m), b, ld(m)),
                 "cublasXtrsm_64");
  }

  template <class T>
  static void svd(std::size_t m, std::size_t n, const T* a, T* s, T* u, bool u_row_major, T* v,
                  bool v_row_major) {
    // gesvd needs rows >= columns, so a wide A is factored as Aᵀ = V diag(s) Uᵀ.
    const bool wide = m < n;
    const std::size_t rows = wide ? n : m;
    const std::size_t k = wide ? m : n;
    const std::int64_t r = to_i64(rows, "rows");
    const std::int64_t kk = to_i64(k, "min(rows, columns)");
    // W = Uw diag(s) VTw: the left factor of W is U for a tall A and V for a wide one.
    T* const left_out = wide ? v : u;
    T* const right_out = wide ? u : v;
    const signed char jobu = left_out != nullptr ? 'S' : 'N';
    const signed char jobvt = right_out != nullptr ? 'S' : 'N';
    const cudaStream_t stream = cuda_stream();
    cuda_context& ctx = thread_cuda_context();
    cusolverDnHandle_t h = ctx.solver(stream);
    cusolverDnParams_t params = ctx.params();
    constexpr cudaDataType type = data_type<T>;
    std::size_t device_bytes = 0;
    std::size_t host_bytes = 0;
    // The size query gets the caller's arrays, which have the sizes of W, S, Uw and VTw; the
    // scratch that will hold W, Uw and VTw is sized from its answer.
    check_cusolver(cusolverDnXgesvd_bufferSize(h, params, jobu, jobvt, r, kk, type, a, r, type, s,
                                               type, left_out, r, type, right_out, kk, type,
                                               &device_bytes, &host_bytes),
                   "cusolverDnXgesvd_bufferSize");
    // Scratch: status, W (gesvd overwrites its input), Uw, VTw, gesvd's workspace.
    scratch_layout layout;
    const std::size_t status_at = layout.add(sizeof(solver_status));
    const std::size_t w_at = layout.add(rows * k * sizeof(T));
    const std::size_t uw_at = layout.add(left_out != nullptr ? rows * k * sizeof(T) : 0);
    const std::size_t vt_at = layout.add(right_out != nullptr ? k * k * sizeof(T) : 0);
    const std::size_t work_at = layout.add(device_bytes);
    continua::detail::scratch_lease lease(ctx.scratch, layout.bytes, stream);
    auto* status = reinterpret_cast<solver_status*>(lease.get() + status_at);
    T* const w = reinterpret_cast<T*>(lease.get() + w_at);
    T* const uw = left_out != nullptr ? reinterpret_cast<T*>(lease.get() + uw_at) : nullptr;
    T* const vt = right_out != nullptr ? reinterpret_cast<T*>(lease.get() + vt_at) : nullptr;

    if (!wide)
      check_cuda(cudaMemcpyAsync(w, a, rows * k * sizeof(T), cudaMemcpyDeviceToDevice, stream),
                 "cudaMemcpyAsync(A)");
    else
      transpose(ctx.blas(stream), a, m, n, w);
    check_cusolver(cusolverDnXgesvd(h, params, jobu, jobvt, r, kk, type, w, r, type, s, type, uw, r,
                                    type, vt, kk, type, lease.get() + work_at, device_bytes,
                                    ctx.host_workspace(host_bytes), host_bytes, &status->info),
                   "cusolverDnXgesvd");
    const solver_status result = ctx.read_status(status, stream);  // the one host sync
    if (result.info < 0)
      throw std::runtime_error("continua::linalg (cuSOLVER): Xgesvd rejected argument " +
                               std::to_string(-result.info));
    if (result.info > 0)
      throw numerical_error("continua::linalg::svd: cuSOLVER gesvd did not converge (" +
                            std::to_string(result.info) + " superdiagonals remain)");
    // uw holds the left factor (rows x k) column-major; vt holds the right factor transposed.
    if (left_out != nullptr)
      store(ctx, stream, uw, false, left_out, rows, k, wide ? v_row_major : u_row_major);
    if (right_out != nullptr)
      store(ctx, stream, vt, true, right_out, k, k, wide ? u_row_major : v_row_major);
    lease.release();
  }

 private:
  // Writes X (rows x cols) into dst, stored row-major or column-major; src holds X column-major,
  // or Xᵀ column-major when src_transposed.
  template <class T>
  static void store(cuda_context& ctx, cudaStream_t stream, const T* src, bool src_transposed,
                    T* dst, std::size_t rows, std::size_t cols, bool dst_row_major) {
    if (src_transposed == dst_row_major) {
      check_cuda(
          cudaMemcpyAsync(dst, src, rows * cols * sizeof(T), cudaMemcpyDeviceToDevice, stream),
          "cudaMemcpyAsync(factor)");
      return;
    }
    transpose(ctx.blas(stream), src, src_transposed ? cols : rows, src_transposed ? rows : cols,
              dst);
  }
};

}  // namespace continua::linalg::detail
