// Independent reference for the analytic suites: the joint ridge solution
// W = (XᵀX + γI)⁻¹ XᵀY from all rows at once, in long double with a textbook Cholesky (no Eigen).
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <random>
#include <vector>

namespace analytic_test {

struct data_set {
  std::size_t rows = 0, features = 0;
  std::vector<double> x;             // rows x features
  std::vector<std::int32_t> labels;  // rows
};

// Rows from class-dependent Gaussian clusters, so the classes are separable but not trivially.
inline data_set make_data(std::size_t rows, std::size_t features, std::int32_t classes,
                          std::uint64_t seed) {
  std::mt19937_64 gen(seed);
  std::normal_distribution<double> normal;
  std::vector<double> centers(std::size_t(classes) * features);
  for (auto& c : centers) c = 2.0 * normal(gen);
  data_set s{rows, features, std::vector<double>(rows * features), std::vector<std::int32_t>(rows)};
  for (std::size_t i = 0; i < rows; ++i) {
    const auto y = static_cast<std::int32_t>(gen() % std::uint64_t(classes));
    s.labels[i] = y;
    for (std::size_t j = 0; j < features; ++j)
      s.x[i * features + j] = centers[std::size_t(y) * features + j] + normal(gen);
  }
  return s;
}

// Ridge weights (features x k) = (XᵀX + γI)⁻¹ XᵀY for dense targets y (rows x k), over the rows
// `keep` (all when empty).
inline std::vector<long double> ridge(const std::vector<double>& x, std::size_t rows, std::size_t d,
                                      const std::vector<long double>& y, std::size_t k,
                                      double gamma, const std::vector<bool>& keep = {}) {
  std::vector<long double> a(d * d, 0.0L), b(d * k, 0.0L);
  for (std::size_t i = 0; i < rows; ++i) {
    if (!keep.empty() && !keep[i]) continue;
    const double* xi = &x[i * d];
    for (std::size_t p = 0; p < d; ++p) {
      for (std::size_t q = 0; q < d; ++q) a[p * d + q] += (long double)xi[p] * xi[q];
      for (std::size_t c = 0; c < k; ++c) b[p * k + c] += xi[p] * y[i * k + c];
    }
  }
  for (std::size_t p = 0; p < d; ++p) a[p * d + p] += gamma;
  for (std::size_t j = 0; j < d; ++j) {  // A = L Lᵀ in the lower triangle
    long double diag = a[j * d + j];
    for (std::size_t m = 0; m < j; ++m) diag -= a[j * d + m] * a[j * d + m];
    a[j * d + j] = std::sqrt(diag);
    for (std::size_t i = j + 1; i < d; ++i) {
      long double v = a[i * d + j];
      for (std::size_t m = 0; m < j; ++m) v -= a[i * d + m] * a[j * d + m];
      a[i * d + j] = v / a[j * d + j];
    }
  }
  for (std::size_t c = 0; c < k; ++c) {  // L z = b, then Lᵀ w = z
    for (std::size_t i = 0; i < d; ++i) {
      long double v = b[i * k + c];
      for (std::size_t m = 0; m < i; ++m) v -= a[i * d + m] * b[m * k + c];
      b[i * k + c] = v / a[i * d + i];
    }
    for (std::size_t i = d; i-- > 0;) {
      long double v = b[i * k + c];
      for (std::size_t m = i + 1; m < d; ++m) v -= a[m * d + i] * b[m * k + c];
      b[i * k + c] = v / a[i * d + i];
    }
  }
  return b;
}

inline std::vector<long double> one_hot(const std::vector<std::int32_t>& labels,
                                        const std::vector<std::int32_t>& column_labels) {
  const std::size_t k = column_labels.size();
  std::vector<long double> y(labels.size() * k, 0.0L);
  for (std::size_t i = 0; i < labels.size(); ++i)
    for (std::size_t c = 0; c < k; ++c) y[i * k + c] = column_labels[c] == labels[i] ? 1.0L : 0.0L;
  return y;
}

// Joint ridge weights (features x columns) for rows `keep` (all when empty), one-hot columns in
// the order `column_labels`.
inline std::vector<long double> joint_ridge(const data_set& s, double gamma,
                                            const std::vector<std::int32_t>& column_labels,
                                            const std::vector<bool>& keep = {}) {
  return ridge(s.x, s.rows, s.features, one_hot(s.labels, column_labels), column_labels.size(),
               gamma, keep);
}

// ||W - ref||_F / ||ref||_F over the columns both have (W may carry extra, unlearned columns).
template <class T>
double relative_error(const std::vector<T>& w, std::size_t w_cols,
                      const std::vector<long double>& ref, std::size_t ref_cols, std::size_t rows) {
  long double num = 0, den = 0;
  for (std::size_t i = 0; i < rows; ++i)
    for (std::size_t c = 0; c < ref_cols; ++c) {
      const long double e = (long double)w[i * w_cols + c] - ref[i * ref_cols + c];
      num += e * e;
      den += ref[i * ref_cols + c] * ref[i * ref_cols + c];
    }
  return double(std::sqrt(num / den));
}

}  // namespace analytic_test
