// Minimal checking for the CUDA translation units (no Boost under nvcc): failure counting,
// tolerance checks that NaN never passes, array comparisons that name the first differing
// element, and the exit-77 skip when the machine has no usable GPU.
#pragma once

#include <cuda_runtime_api.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace continua_cuda_test {

// Deterministic values in [-1, 1) from a 64-bit LCG (test data, not the library RNG).
template <class T>
std::vector<T> pseudo_random(std::size_t n, std::uint64_t seed) {
  std::vector<T> v(n);
  std::uint64_t s = seed * 6364136223846793005ULL + 1442695040888963407ULL;
  for (auto& x : v) {
    s = s * 6364136223846793005ULL + 1442695040888963407ULL;
    x = static_cast<T>(static_cast<double>(s >> 11) / static_cast<double>(1ULL << 53) * 2.0 - 1.0);
  }
  return v;
}

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

// What a failed array comparison does: count it as a suite failure and print it, or only return
// false (for tests that prove the comparison itself catches a bad result).
enum class on_mismatch { fail, quiet };

// Host arrays: std::vector, thrust::host_vector, std::span.
template <class A>
concept host_array = requires(const A& a) {
  a.size();
  static_cast<double>(a[0]);
};

// Normwise comparison: every |got[i] - expect[i]| <= rel_tol * max_j |expect[j]|. Each element is
// tested with `<=`, so a NaN (in either array) or an Inf that differs fails; no max/fmax folding,
// which would drop NaN. Prints the first failing index with both values, the number of failures
// and the largest relative error; on success prints the largest relative error (so the run's log
// shows how much room each tolerance has). Returns whether every element held.
template <host_array G, host_array E>
bool compare_arrays(const char* label, const G& got, const E& expect, double rel_tol,
                    on_mismatch mode = on_mismatch::fail) {
  const bool loud = mode == on_mismatch::fail;
  if (got.size() != expect.size()) {
    if (loud) {
      ++failures();
      std::fprintf(stderr, "%s: size %zu, expected %zu\n", label, std::size_t(got.size()),
                   std::size_t(expect.size()));
    }
    return false;
  }
  const std::size_t n = expect.size();
  double scale = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const double e = std::fabs(static_cast<double>(expect[i]));
    if (e > scale) scale = e;  // a NaN in expect is caught element by element below
  }
  const double tol = rel_tol * scale;
  std::size_t bad = 0, first = n;
  double worst = 0;  // max |got - expect| / scale over the elements that are numbers
  for (std::size_t i = 0; i < n; ++i) {
    const double g = static_cast<double>(got[i]), e = static_cast<double>(expect[i]);
    const double err = std::fabs(g - e);
    if (g == e) continue;  // also equal infinities, whose difference is NaN
    if (!(err <= tol)) {
      if (bad++ == 0) first = i;
    }
    if (scale > 0 && err / scale > worst) worst = err / scale;
  }
  if (bad == 0) {
    std::printf("%s: %zu elements, max |got - expect| / max |expect| = %.3g (tolerance %.3g)\n",
                label, n, worst, rel_tol);
    return true;
  }
  if (loud) {
    ++failures();
    std::fprintf(stderr,
                 "%s: %zu of %zu elements differ; first at [%zu]: got %.17g, expected %.17g "
                 "(tolerance %.3g = %.3g * max |expect| %.3g); max relative error of the "
                 "finite ones %.3g\n",
                 label, bad, n, first, static_cast<double>(got[first]),
                 static_cast<double>(expect[first]), tol, rel_tol, scale, worst);
  }
  return false;
}

// Bit-for-bit equality (for paths that must round identically, and for checkpoints): prints the
// first differing element in decimal and hexadecimal floating point.
template <host_array G, host_array E>
bool compare_bits(const char* label, const G& got, const E& expect,
                  on_mismatch mode = on_mismatch::fail) {
  const bool loud = mode == on_mismatch::fail;
  std::size_t bad = 0, first = 0;
  const std::size_t n = got.size() < expect.size() ? got.size() : expect.size();
  for (std::size_t i = 0; i < n; ++i)
    if (std::memcmp(&got[i], &expect[i], sizeof(got[i])) != 0 && bad++ == 0) first = i;
  static_assert(sizeof(got[0]) == sizeof(expect[0]), "compare_bits: element sizes differ");
  if (bad == 0 && got.size() == expect.size()) {
    std::printf("%s: %zu elements bit-identical\n", label, n);
    return true;
  }
  if (loud) {
    ++failures();
    if (got.size() != expect.size())
      std::fprintf(stderr, "%s: size %zu, expected %zu\n", label, std::size_t(got.size()),
                   std::size_t(expect.size()));
    else
      std::fprintf(stderr,
                   "%s: %zu of %zu elements differ; first at [%zu]: got %.17g (%a), "
                   "expected %.17g (%a)\n",
                   label, bad, n, first, static_cast<double>(got[first]),
                   static_cast<double>(got[first]), static_cast<double>(expect[first]),
                   static_cast<double>(expect[first]));
  }
  return false;
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
