// continua compile-time configuration: every CONTINUA_* switch, documented in one place.
// Define a switch before including any continua header (or pass -D...) to override its default.
#pragma once

// CONTINUA_WITH_OPENMP (0/1): run host loops with `omp parallel for simd` when the input is large
// enough. Default: 1 when the translation unit is compiled with OpenMP (_OPENMP), else 0.
#ifndef CONTINUA_WITH_OPENMP
#if defined(_OPENMP)
#define CONTINUA_WITH_OPENMP 1
#else
#define CONTINUA_WITH_OPENMP 0
#endif
#endif

// CONTINUA_OMP_MIN_SIZE: host loops shorter than this run on the calling thread; spawning a team
// costs more than it saves on small arrays. Default: 32768 elements.
#ifndef CONTINUA_OMP_MIN_SIZE
#define CONTINUA_OMP_MIN_SIZE 32768
#endif

// CONTINUA_OMP_MIN_GEMM_FLOPS, CONTINUA_OMP_MIN_SYRK_FLOPS, CONTINUA_OMP_MIN_CHOLESKY_ORDER: the
// host linear algebra (core/linalg.hpp, on Eigen or on a BLAS threaded through OpenMP) shares a
// product among OpenMP threads from 2 m n k flops (GEMM) or n^2 k (SYRK) up, and a Cholesky
// factor from this order up; below, it runs on the calling thread, and neither Eigen's own
// product threads nor the BLAS's spinning ones are used (they busy-wait,
// docs/performance.md "Results: shared CPU"). Every kernel also uses at most as many threads as
// the calling thread's CPU affinity mask holds. Defaults: 2^22 flops (about 60 us of one core),
// 2^21, and order 512 (two blocks of 256).
#ifndef CONTINUA_OMP_MIN_GEMM_FLOPS
#define CONTINUA_OMP_MIN_GEMM_FLOPS 4194304.0
#endif
#ifndef CONTINUA_OMP_MIN_SYRK_FLOPS
#define CONTINUA_OMP_MIN_SYRK_FLOPS 2097152.0
#endif
#ifndef CONTINUA_OMP_MIN_CHOLESKY_ORDER
#define CONTINUA_OMP_MIN_CHOLESKY_ORDER 512
#endif

// CONTINUA_LINALG_EXTERN (0/1): compile the Eigen host backend of core/linalg (GEMM, SYRK,
// Cholesky, triangular solves, SVD for float and double; most of the compile time of a unit that
// uses the analytic learners) once per program instead of in every translation unit that uses
// it. Define it to 1 for every unit, and in exactly one .cpp (compiled with the same OpenMP
// setting as the rest) write, before any other include,
//   #define CONTINUA_LINALG_INSTANTIATE 1
//   #include <continua/core/linalg_host.hpp>
//   CONTINUA_LINALG_INSTANTIATE_MATRIX_OPS(double)  // and/or float; _SVD(T) when GPM is used
// A scalar type left out is a link error naming eigen_backend::<operation><T>. Default: 0
// (header-only).
#ifndef CONTINUA_LINALG_EXTERN
#define CONTINUA_LINALG_EXTERN 0
#endif

// CONTINUA_WITH_BLAS (0/1): run the host linear algebra of core/linalg (gemm, syrk, Cholesky,
// triangular solves, SVD; float and double) on the system BLAS/LAPACK (blas_backend,
// core/linalg_blas.hpp) instead of Eigen (eigen_backend). The program must then link BLAS and
// LAPACK (LP64 Fortran interface): the CMake option of the same name, on by default when
// FindBLAS/FindLAPACK succeed, adds the define and the link. Results agree with the Eigen backend
// to rounding. Default: 0.
#ifndef CONTINUA_WITH_BLAS
#define CONTINUA_WITH_BLAS 0
#endif

// CONTINUA_WITH_EIGEN, CONTINUA_WITH_XTENSOR, CONTINUA_WITH_CUDA, CONTINUA_WITH_MPI,
// CONTINUA_WITH_ZLIB (0/1): set by
// the CMake target (options of the same names) so code can tell which optional parts were found.
// Headers never depend on them: including an adapter (continua/adapters/eigen.hpp, ...) is what
// enables it, and only that adapter touches the dependency.
#ifndef CONTINUA_WITH_EIGEN
#define CONTINUA_WITH_EIGEN 0
#endif
#ifndef CONTINUA_WITH_XTENSOR
#define CONTINUA_WITH_XTENSOR 0
#endif
#ifndef CONTINUA_WITH_CUDA
#define CONTINUA_WITH_CUDA 0
#endif
#ifndef CONTINUA_WITH_ZLIB
#define CONTINUA_WITH_ZLIB 0
#endif
#ifndef CONTINUA_WITH_MPI
#define CONTINUA_WITH_MPI 0
#endif

// CONTINUA_LINALG_HOST_UNDER_NVCC (0/1): whether a translation unit compiled by nvcc also gets the
// Eigen host backend of core/linalg.hpp. Default 0: Eigen 3.4 under nvcc floods the build with
// host/device warnings, and .cu files normally hold device data; host_space calls there fail to
// compile with a message naming this switch.
#ifndef CONTINUA_LINALG_HOST_UNDER_NVCC
#define CONTINUA_LINALG_HOST_UNDER_NVCC 0
#endif

// CONTINUA_HD: marks functions and functors callable on host and device. Expands to
// `__host__ __device__` under nvcc, to nothing elsewhere.
#if defined(__CUDACC__)
#define CONTINUA_HD __host__ __device__
#else
#define CONTINUA_HD
#endif

// CONTINUA_CUDA_COMPILER: 1 while nvcc compiles the translation unit, 0 otherwise (including
// Thrust's OpenMP/CPP device backends compiled by g++).
#if defined(__CUDACC__)
#define CONTINUA_CUDA_COMPILER 1
#else
#define CONTINUA_CUDA_COMPILER 0
#endif

// Build flag, not a macro: compile code using continua with -fno-math-errno (the CMake target and
// the Conan package add it for GCC/Clang; CMake option CONTINUA_NO_MATH_ERRNO). With errno
// semantics GCC cannot vectorise std::sqrt, and loops such as Adam's run about 5x slower.

#define CONTINUA_PRAGMA(x) _Pragma(#x)

// CONTINUA_SIMD: a vectorisation hint for a loop whose iterations are independent.
#if defined(_OPENMP) || defined(_OPENMP_SIMD)
#define CONTINUA_SIMD CONTINUA_PRAGMA(omp simd)
#elif defined(__clang__)
// No hint: clang's `loop vectorize(enable)` turns a loop it cannot vectorise into a warning.
#define CONTINUA_SIMD
#elif defined(__GNUC__)
#define CONTINUA_SIMD CONTINUA_PRAGMA(GCC ivdep)
#else
#define CONTINUA_SIMD
#endif

// Not switches: CONTINUA_DETAIL_* macros (core/linalg.hpp, adapters/thrust.hpp) record what the
// headers derived from the above and from Thrust's configuration; they are not to be set.

#define CONTINUA_VERSION_MAJOR 0
#define CONTINUA_VERSION_MINOR 1
#define CONTINUA_VERSION_PATCH 0
