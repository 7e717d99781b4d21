// Long-double reference arithmetic for the linear-algebra tests, shared by the host suite
// (tests/core/test_linalg.cpp) and the CUDA suite (tests/cuda/test_linalg_cuda.cu).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <string>
#include <vector>

#include "continua/core/linalg.hpp"

namespace continua_test::linalg_reference {

using continua::layout;
using continua::linalg::op;
using ld = long double;

inline const layout layouts[] = {layout::row_major, layout::col_major};
inline const op ops[] = {op::none, op::transpose};

inline std::string name(layout l) { return l == layout::row_major ? "row-major" : "col-major"; }
inline std::string name(op o) { return o == op::none ? "N" : "T"; }

template <class T>
ld eps() {
  return static_cast<ld>(std::numeric_limits<T>::epsilon());
}

// A row-major matrix of long doubles, the reference arithmetic of every check.
struct lmat {
  std::size_t rows = 0, cols = 0;
  std::vector<ld> v;
  lmat(std::size_t r, std::size_t c, ld fill = 0) : rows(r), cols(c), v(r * c, fill) {}
  ld& operator()(std::size_t i, std::size_t j) { return v[i * cols + j]; }
  ld operator()(std::size_t i, std::size_t j) const { return v[i * cols + j]; }
};

// Deterministic values in [-1, 1) from a 64-bit LCG (test data only).
inline lmat random_matrix(std::size_t r, std::size_t c, std::uint64_t seed) {
  lmat m(r, c);
  std::uint64_t s = seed * 6364136223846793005ULL + 1442695040888963407ULL;
  for (auto& x : m.v) {
    s = s * 6364136223846793005ULL + 1442695040888963407ULL;
    x = static_cast<ld>(s >> 11) / static_cast<ld>(1ULL << 53) * 2 - 1;
  }
  return m;
}

inline lmat transpose(const lmat& a) {
  lmat t(a.cols, a.rows);
  for (std::size_t i = 0; i < a.rows; ++i)
    for (std::size_t j = 0; j < a.cols; ++j) t(j, i) = a(i, j);
  return t;
}
inline lmat apply(op o, const lmat& a) { return o == op::none ? a : transpose(a); }
inline lmat absolute(const lmat& a) {
  lmat r = a;
  for (auto& x : r.v) x = std::fabs(x);
  return r;
}
inline lmat product(const lmat& a, const lmat& b) {
  lmat c(a.rows, b.cols);
  for (std::size_t i = 0; i < a.rows; ++i)
    for (std::size_t p = 0; p < a.cols; ++p)
      for (std::size_t j = 0; j < b.cols; ++j) c(i, j) += a(i, p) * b(p, j);
  return c;
}
inline lmat identity(std::size_t n) {
  lmat e(n, n);
  for (std::size_t i = 0; i < n; ++i) e(i, i) = 1;
  return e;
}
// Values as they are once stored in T: the inputs the routine actually sees.
template <class T>
lmat rounded(const lmat& a) {
  lmat r = a;
  for (auto& x : r.v) x = static_cast<ld>(static_cast<T>(x));
  return r;
}
inline ld frobenius(const lmat& a) {
  ld s = 0;
  for (ld x : a.v) s += x * x;
  return std::sqrt(s);
}
// SPD matrix MᵀM + n I from a random M; for large n (where the n³ long-double product would
// dominate a suite) the symmetric part of M plus 2n I, SPD by Gershgorin's theorem.
inline lmat spd(std::size_t n, std::uint64_t seed) {
  const lmat m = random_matrix(n, n, seed);
  if (n > 100) {
    lmat a(n, n);
    for (std::size_t i = 0; i < n; ++i)
      for (std::size_t j = 0; j < n; ++j)
        a(i, j) = (m(i, j) + m(j, i)) / 2 + (i == j ? ld(2 * n) : ld(0));
    return a;
  }
  lmat a = product(transpose(m), m);
  for (std::size_t i = 0; i < n; ++i) a(i, i) += static_cast<ld>(n);
  return a;
}

// Largest err / bound; infinite (never <= 1) when an element is NaN or Inf, or its ratio is NaN
// (an Inf bound): std::max would silently keep the old value for a NaN ratio. 0/0 counts as 0.
inline ld worst_ratio(const lmat& got, const lmat& want, const lmat& bound) {
  ld worst = 0;
  for (std::size_t i = 0; i < got.v.size(); ++i) {
    if (!std::isfinite(got.v[i])) return std::numeric_limits<ld>::infinity();
    const ld err = std::fabs(got.v[i] - want.v[i]);
    if (err == 0) continue;
    const ld ratio = bound.v[i] > 0 ? err / bound.v[i] : std::numeric_limits<ld>::infinity();
    if (!(ratio <= worst)) worst = std::isnan(ratio) ? std::numeric_limits<ld>::infinity() : ratio;
  }
  return worst;
}

// The first element whose error exceeds its bound, printed (for the large checks, where the
// context string alone does not say where).
inline void print_first_excess(const std::string& ctx, const lmat& got, const lmat& want,
                               const lmat& bound) {
  for (std::size_t i = 0; i < got.v.size(); ++i)
    if (!(std::fabs(got.v[i] - want.v[i]) <= bound.v[i])) {
      std::fprintf(stderr,
                   "%s: first excess at (%zu, %zu): got %.17Lg, expected %.17Lg, bound %.3Lg\n",
                   ctx.c_str(), i / got.cols, i % got.cols, got.v[i], want.v[i], bound.v[i]);
      return;
    }
}

}  // namespace continua_test::linalg_reference
