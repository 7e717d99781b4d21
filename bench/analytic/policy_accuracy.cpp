// Accuracy of the two recursive least-squares policies against the joint ridge solution in long
// double, by ridge strength gamma and batch size: the figures behind docs/analytic.md ("when to
// pick which policy"). Prints a Markdown table; no timing, so any build type will do.
// Woodbury (ACIL, Zhuang et al., NeurIPS 2022, Eq. 10-12) updates an inverse; the Cholesky policy
// factors the accumulated statistics once (Golub & Van Loan, Matrix Computations, §4.2).
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <exception>
#include <span>
#include <string>
#include <vector>

#include "continua/analytic/classifier.hpp"
#include "reference.hpp"  // tests/analytic: data and the long-double joint solution

namespace {

namespace an = continua::analytic;

// The largest eigenvalue of XᵀX (= ||X||₂²) over rows [begin, end), by power iteration.
double spectral_norm_squared(const analytic_test::data_set& s, std::size_t begin, std::size_t end) {
  std::vector<double> v(s.features, 1.0), w(s.features);
  double lambda = 0;
  for (int it = 0; it < 100; ++it) {
    std::fill(w.begin(), w.end(), 0.0);
    for (std::size_t i = begin; i < end; ++i) {
      const double* row = &s.x[i * s.features];
      double xv = 0;
      for (std::size_t j = 0; j < s.features; ++j) xv += row[j] * v[j];
      for (std::size_t j = 0; j < s.features; ++j) w[j] += row[j] * xv;
    }
    double norm = 0;
    for (const double e : w) norm += e * e;
    lambda = std::sqrt(norm);
    for (std::size_t j = 0; j < s.features; ++j) v[j] = w[j] / lambda;
  }
  return lambda;
}

// The largest ||X_b||₂² over the batches of `batch` rows.
double largest_batch_norm(const analytic_test::data_set& s, std::size_t batch) {
  double most = 0;
  for (std::size_t r = 0; r < s.rows; r += batch)
    most = std::max(most, spectral_norm_squared(s, r, std::min(s.rows, r + batch)));
  return most;
}

// Relative Frobenius error of a head fitted in batches of `batch` rows, or -1 when refused.
template <class T, class Policy>
double error(const analytic_test::data_set& s, double gamma, std::size_t batch) {
  const std::vector<T> x(s.x.begin(), s.x.end());
  an::analytic_classifier<T, Policy> head({.gamma = gamma}, s.features);
  try {
    for (std::size_t r = 0; r < s.rows; r += batch) {
      const std::size_t n = std::min(batch, s.rows - r);
      head.fit(continua::matrix_view<const T>(x.data() + r * s.features, n, s.features),
               std::span(s.labels).subspan(r, n));
    }
    const auto w = head.weights();
    const std::vector<T> wh(w.data(), w.data() + w.size());
    const auto ref = analytic_test::joint_ridge(s, gamma, head.labels());
    return analytic_test::relative_error(wh, head.classes(), ref, head.classes(), s.features);
  } catch (const std::exception&) {
    return -1;
  }
}

std::string cell(double e) {
  if (e < 0) return "refused";
  char text[32];
  std::snprintf(text, sizeof text, "%.1e", e);
  return text;
}

}  // namespace

int main() {
  // The shape of issue 15's report: 900 rows, 61 features (10 classes of Gaussian clusters).
  const auto s = analytic_test::make_data(900, 61, 10, 15);
  const double norm2 = spectral_norm_squared(s, 0, s.rows);
  std::printf(
      "900 x 61, ||X||_2^2 = %.3g; relative error of W against the long-double joint "
      "solution\n\n",
      norm2);
  std::printf(
      "| gamma | batch | max ||X_b||^2 / gamma | woodbury f32 | cholesky f32 | woodbury f64 "
      "| cholesky f64 |\n|---|---|---|---|---|---|---|\n");
  const std::size_t batches[] = {1, 30, 300, 900};
  double batch_norm[4];
  for (std::size_t b = 0; b < 4; ++b) batch_norm[b] = largest_batch_norm(s, batches[b]);
  for (const double gamma : {100.0, 10.0, 1.0, 0.37, 0.1, 0.01})
    for (std::size_t b = 0; b < 4; ++b)
      std::printf("| %g | %zu | %.1e | %s | %s | %s | %s |\n", gamma, batches[b],
                  batch_norm[b] / gamma,
                  cell(error<float, an::woodbury>(s, gamma, batches[b])).c_str(),
                  cell(error<float, an::cholesky>(s, gamma, batches[b])).c_str(),
                  cell(error<double, an::woodbury>(s, gamma, batches[b])).c_str(),
                  cell(error<double, an::cholesky>(s, gamma, batches[b])).c_str());
  return 0;
}
