// Analytic components on a CUDA device that test_analytic_cuda does not reach: random-feature
// layers (ReLU, tanh, folded input normalisation), Gaussian-kernel features, sufficient
// statistics (add, aggregate/merge with a new class, subtract) and the DS-AL dual stream, in
// float and double. Each runs the call sequence of analytic_drivers.hpp on device_space and on
// host_space (analytic_host.cpp, Eigen) with the same inputs; the host path is checked against
// long-double references in tests/analytic. Exit 0 ok, 1 failure, 77 without a GPU.
#include <thrust/device_vector.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "../analytic/reference.hpp"
#include "analytic_drivers.hpp"
#include "continua/adapters/thrust.hpp"
#include "cuda_check.hpp"

namespace {

namespace ad = analytic_drivers;
namespace an = continua::analytic;
using continua::device_space;
using continua_cuda_test::compare_arrays;
using continua_cuda_test::compare_bits;

template <class T>
double eps() {
  return std::numeric_limits<T>::epsilon();
}

template <class T>
std::string name(const char* what) {
  return std::string(what) + (sizeof(T) == 4 ? " float" : " double");
}

template <class T>
std::vector<T> cast(const std::vector<double>& v) {
  return std::vector<T>(v.begin(), v.end());
}

// h = act(x Wᵀ + b), inner dimension k = inputs. W and b are Philox draws, bit-identical on every
// backend, and the folded normalisation scales W by the same host-computed 1/stddev (one IEEE
// product): bit-identical too. h and the folded bias go through GEMMs that cuBLAS and Eigen
// order differently (and cuBLAS fuses): each side is within gamma_k sum|x||w| of the exact value
// (Higham Thm 3.5), and for these Gaussian W, sum|x||w| is about sqrt(k) times the typical |h|,
// so (k + 2) eps sqrt(k) bounds the normwise difference; tanh adds at most 2 ulps.
template <class T, class Act>
void random_features_match(const char* act, bool normalize) {
  constexpr std::size_t rows = 300, inputs = 32, outputs = 64;
  const auto s = analytic_test::make_data(rows, inputs, 4, 11);
  const std::vector<T> x = cast<T>(s.x);
  const an::random_feature_options opt{
      .inputs = inputs, .outputs = outputs, .seed = 77, .weight_scale = 1.5, .bias_scale = 0.5};
  const auto host = ad::host_random_features<T, Act>(opt, x, rows, normalize);
  const auto dev = ad::random_features_run<T, Act, device_space>(opt, x, rows, normalize);
  const std::string label = name<T>(act) + (normalize ? " normalised" : "");
  compare_bits((label + ": W").c_str(), dev.w0, host.w0);
  compare_bits((label + ": b").c_str(), dev.b0, host.b0);
  const double tol = (inputs + 2) * eps<T>() * std::sqrt(double(inputs));
  if (normalize) {
    compare_bits((label + ": W diag(1/sd)").c_str(), dev.w1, host.w1);
    compare_arrays((label + ": b - W mean").c_str(), dev.b1, host.b1, tol);
  }
  compare_arrays((label + ": features").c_str(), dev.h, host.h, tol);
}

// Centres are chosen on the host from Philox uniforms and copied: bit-identical, and so is the
// median-heuristic bandwidth (computed on the host from them in both runs). Then
// d2 = |x|² - 2 x·c + |c|² has an absolute error below 2 gamma_{d+2} (|x|² + |c|²) on either side
// (GEMM for x·c, a sequential loop for the norms), and h = exp(-d2 / 2 sigma²) <= 1 moves by
// at most that / (2 sigma²), plus 2 ulps of exp. The rows include the centres, so max h = 1 and
// this absolute bound is also the normwise one.
template <class T>
void gaussian_features_match() {
  constexpr std::size_t rows = 200, cols = 16;
  const auto s = analytic_test::make_data(rows, cols, 3, 12);
  const std::vector<T> x = cast<T>(s.x);
  const an::gaussian_kernel_options opt{.centers = 48, .seed = 5};
  const auto host = ad::host_gaussian<T>(opt, x, rows, cols);
  const auto dev = ad::gaussian_run<T, device_space>(opt, x, rows, cols);
  const std::string label = name<T>("gaussian kernel");
  compare_bits((label + ": centres").c_str(), dev.centers, host.centers);
  CONTINUA_CHECK(dev.bandwidth == host.bandwidth);
  double sq = 0;
  for (std::size_t i = 0; i < rows; ++i) {
    double r = 0;
    for (std::size_t j = 0; j < cols; ++j) r += double(x[i * cols + j]) * double(x[i * cols + j]);
    sq = r > sq ? r : sq;
  }
  const double sigma2 = host.bandwidth * host.bandwidth;
  const double tol = 2 * (cols + 2) * eps<T>() * (2 * sq) / (2 * sigma2) + 4 * eps<T>();
  compare_arrays((label + ": features").c_str(), dev.h, host.h, tol);
}

// C = XᵀX and B = XᵀY over n rows: every entry of C is within gamma_{n+2} sqrt(C_pp C_qq) <=
// gamma_{n+2} max|C| of the exact one on either side (a few more roundings for the merges), so
// 2 (n + 4) eps covers the normwise difference of the two; "left" (total minus client a) has
// about half the magnitude but the rounding errors of the total, hence twice that. B's entries
// are sums of +-x over a class; their sums of |x| are within a small factor of max|B| for these
// clustered data, covered by the same factor 2. Labels, counts and sample numbers are exact.
template <class T>
void statistics_match() {
  constexpr std::size_t rows = 320, d = 24;
  const auto s = analytic_test::make_data(rows, d, 4, 13);
  const std::vector<T> x = cast<T>(s.x);
  std::vector<std::int32_t> labels = s.labels;
  for (std::size_t i = rows / 2; i < rows; ++i)
    if (labels[i] == 3) labels[i] = 9;  // a class only client b has: merge widens B
  const auto host = ad::host_statistics<T>(x, labels, rows, d);
  const auto dev = ad::statistics_run<T, device_space>(x, labels, rows, d);
  const std::string label = name<T>("statistics");
  const double tol = 2 * (rows + 4) * eps<T>();
  compare_arrays((label + ": merged gram").c_str(), dev.gram_total, host.gram_total, tol);
  compare_arrays((label + ": merged cross").c_str(), dev.cross_total, host.cross_total, 2 * tol);
  compare_arrays((label + ": subtracted gram").c_str(), dev.gram_left, host.gram_left, 2 * tol);
  compare_arrays((label + ": subtracted cross").c_str(), dev.cross_left, host.cross_left, 4 * tol);
  CONTINUA_CHECK(dev.labels_total == host.labels_total);
  CONTINUA_CHECK(dev.labels_left == host.labels_left);
  CONTINUA_CHECK(dev.counts_total == host.counts_total);
  CONTINUA_CHECK(dev.counts_left == host.counts_left);
  CONTINUA_CHECK(dev.samples_total == rows && host.samples_total == rows);
  CONTINUA_CHECK(dev.samples_left == rows - rows / 2 && host.samples_left == dev.samples_left);
  CONTINUA_CHECK(host.labels_total.size() == 5);  // classes 0..3 and 9
}

// DS-AL: two ridge solves in a row (the compensation targets are the main stream's residuals).
// Both sides solve the same well-conditioned systems (gamma 1 and 8 bound the condition numbers
// by (n * features + gamma) / gamma, here below 400) in different orders; the forward error of
// each is below kappa * n * eps, which is about 5e-3 in float at worst and 1e-11 in double. The
// tolerances, 2e-3 (float) and 1e-10 (double), are the realistic sqrt(n)-scaled version of that
// bound with a 10x margin; the analytic suites' bars against long double are 1e-3 and 1e-9.
template <class T, class Policy>
void dual_stream_matches(const char* policy) {
  constexpr std::size_t rows = 160, dm = 8, dc = 16;
  const auto s = analytic_test::make_data(rows, dm, 4, 14);
  const std::vector<T> xm = cast<T>(s.x);
  // The compensation features come from the host layer so both runs get the same inputs.
  const auto comp = ad::host_random_features<T, an::tanh_activation>(
      {.inputs = dm, .outputs = dc, .seed = 3}, xm, rows, false);
  const an::dual_stream_options opt{
      .main = {.gamma = 1.0}, .compensation = {.gamma = 8.0}, .compensation_ratio = 0.8};
  const auto host = ad::host_dual_stream<T, Policy>(opt, xm, comp.h, s.labels, rows, dm, dc);
  const auto dev =
      ad::dual_stream_run<T, Policy, device_space>(opt, xm, comp.h, s.labels, rows, dm, dc);
  const std::string label = name<T>("dual stream") + " " + policy;
  const double tol = sizeof(T) == 4 ? 2e-3 : 1e-10;
  CONTINUA_CHECK(dev.labels == host.labels);
  compare_arrays((label + ": main weights").c_str(), dev.w_main, host.w_main, tol);
  compare_arrays((label + ": compensation weights").c_str(), dev.w_comp, host.w_comp, tol);
  compare_arrays((label + ": scores").c_str(), dev.scores, host.scores, tol);
}

template <class T>
void run_all() {
  random_features_match<T, an::relu>("relu", false);
  random_features_match<T, an::tanh_activation>("tanh", false);
  random_features_match<T, an::tanh_activation>("tanh", true);
  gaussian_features_match<T>();
  statistics_match<T>();
  dual_stream_matches<T, an::cholesky>("cholesky");
  dual_stream_matches<T, an::woodbury>("woodbury");
}

}  // namespace

int main() {
  continua_cuda_test::skip_without_device();
  try {
    run_all<float>();
    run_all<double>();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "unexpected exception: %s\n", e.what());
    return 1;
  }
  return continua_cuda_test::exit_code("test_features_cuda");
}
