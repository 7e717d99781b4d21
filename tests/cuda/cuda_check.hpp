// Minimal checking for the CUDA translation units (no Boost under nvcc): failure counting, a
// tolerance check and the exit-77 skip when the machine has no usable GPU.
#pragma once

#include <cuda_runtime_api.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace continua_cuda_test {

inline int& failures() {
  static int count = 0;
  return count;
}

inline void report(bool ok, const char* what, const char* file, int line) {
  if (ok) return;
  ++failures();
  std::fprintf(stderr, "%s:%d: check failed: %s\n", file, line, what);
}

// |got - expect| <= tol, printed with both values when it does not hold (NaN never passes).
inline void report_close(double got, double expect, double tol, const char* what, const char* file,
                         int line) {
  if (std::fabs(got - expect) <= tol) return;
  ++failures();
  std::fprintf(stderr, "%s:%d: %s: got %.17g, expected %.17g (tolerance %.3g)\n", file, line, what,
               got, expect, tol);
}

// Exits with 77 (ctest SKIP_RETURN_CODE) and the reason when no CUDA device can be used.
inline void skip_without_device() {
  int count = 0;
  const cudaError_t err = cudaGetDeviceCount(&count);
  if (err != cudaSuccess || count == 0) {
    std::printf("skipped: no CUDA device (%s)\n",
                err != cudaSuccess ? cudaGetErrorString(err) : "cudaGetDeviceCount returned 0");
    std::exit(77);
  }
}

// 0 when every check held, 1 otherwise.
inline int exit_code(const char* suite) {
  if (failures() == 0) {
    std::printf("%s: all checks passed\n", suite);
    return 0;
  }
  std::fprintf(stderr, "%s: %d check(s) failed\n", suite, failures());
  return 1;
}

}  // namespace continua_cuda_test

#define CONTINUA_CHECK(cond) ::continua_cuda_test::report((cond), #cond, __FILE__, __LINE__)
#define CONTINUA_CHECK_CLOSE(got, expect, tol)                                              \
  ::continua_cuda_test::report_close(static_cast<double>(got), static_cast<double>(expect), \
                                     static_cast<double>(tol), #got, __FILE__, __LINE__)
