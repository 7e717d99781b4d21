// Statistics the MCMC suites test samplers with: moments of one coordinate over independent
// chains, their exact z-scores for iid normal draws, the 0.999 threshold, and a byte hash that
// lets two builds show they produced the same chains. Shared by test_mcmc, test_hmc, test_ebm.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace continua_test {

// Mean and (n - 1)-normalised variance.
struct moments {
  double mean = 0, var = 0;
};

// Moments of column `col` of a rows x dim row-major sample (one independent chain per row).
template <class T>
moments column_moments(const std::vector<T>& x, std::size_t rows, std::size_t dim,
                       std::size_t col) {
  moments m;
  for (std::size_t c = 0; c < rows; ++c) m.mean += x[c * dim + col];
  m.mean /= static_cast<double>(rows);
  for (std::size_t c = 0; c < rows; ++c) {
    const double d = x[c * dim + col] - m.mean;
    m.var += d * d;
  }
  m.var /= static_cast<double>(rows - 1);
  return m;
}

// z of a sample mean and of a sample variance of n iid normal draws with the given truth.
inline double z_mean(const moments& m, double mean, double var, std::size_t n) {
  return (m.mean - mean) / std::sqrt(var / static_cast<double>(n));
}
inline double z_var(const moments& m, double var, std::size_t n) {
  return (m.var - var) / (var * std::sqrt(2.0 / static_cast<double>(n - 1)));
}

// |z| <= 3.09 per statistic: false-alarm rate 0.002 (two-sided).
inline constexpr double z_limit = 3.09;

// A 64-bit FNV-1a hash of the values' bytes: equal hashes across builds mean equal chains.
template <class T>
std::uint64_t hash_of(const std::vector<T>& x) {
  std::uint64_t h = 1469598103934665603ull;
  const auto* p = reinterpret_cast<const unsigned char*>(x.data());
  for (std::size_t i = 0; i < x.size() * sizeof(T); ++i) h = (h ^ p[i]) * 1099511628211ull;
  return h;
}

}  // namespace continua_test
