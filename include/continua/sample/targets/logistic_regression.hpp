// Ready-made MCMC target: the posterior of Bayesian logistic regression on a data matrix, with a
// N(0, s^2 I) prior; the chains' logits and gradients are two GEMMs (core/linalg).
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <vector>

#include "continua/config.hpp"
#include "continua/core/buffer.hpp"
#include "continua/core/error.hpp"
#include "continua/core/kernel.hpp"
#include "continua/core/linalg.hpp"
#include "continua/core/span.hpp"

namespace continua::sample::targets {

namespace detail {

// exp(a) for a <= 0 (a below -708 is taken as -708: the result, ~3e-308, then only ever adds to
// 1), written with +, *, a rounding constant and an exponent built from bits, so the row loop
// below vectorises (libm calls do not). k = round(a / ln 2) by
// the 1.5 * 2^52 trick, r = a - k ln 2 in two parts (|r| <= ln2 / 2), e^r by its Taylor
// polynomial to r^12 (next term < 2e-16 relative), times 2^k.
CONTINUA_HD inline double exp_nonpositive(double a) {
  a = a < -708.0 ? -708.0 : a;
  constexpr double shifter = 6755399441055744.0;  // 1.5 * 2^52
  const double t = a * 1.4426950408889634 + shifter;
  const double k = t - shifter;
  const double r = (a - k * 0.6931471803691238) - k * 1.9082149292705877e-10;
  double p = 1.0 / 479001600.0;  // 1/12!
  p = p * r + 1.0 / 39916800.0;
  p = p * r + 1.0 / 3628800.0;
  p = p * r + 1.0 / 362880.0;
  p = p * r + 1.0 / 40320.0;
  p = p * r + 1.0 / 5040.0;
  p = p * r + 1.0 / 720.0;
  p = p * r + 1.0 / 120.0;
  p = p * r + 1.0 / 24.0;
  p = p * r + 1.0 / 6.0;
  p = p * r + 0.5;
  p = p * r + 1.0;
  p = p * r + 1.0;
  const auto bits = static_cast<std::uint64_t>(static_cast<std::int64_t>(k) + 1023) << 52;
  double scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return p * scale;
}

// log(1 + e) for e in [0, 1]: 2 atanh(s) with s = e / (2 + e) in [0, 1/3], summed to s^35 (next
// term < 3e-18 relative); no libm call, so it vectorises with exp_nonpositive.
CONTINUA_HD inline double log1p_unit(double e) {
  const double s = e / (2.0 + e);
  const double z = s * s;
  double p = 1.0 / 35.0;
  for (int k = 33; k >= 1; k -= 2) p = p * z + 1.0 / k;
  return 2.0 * s * p;
}

// Per chain, over its row of logits z_i = x_i . w: the negative log likelihood terms
// softplus(z_i) - y_i z_i (stable for any z) into `terms`, and the residuals sigmoid(z_i) - y_i
// written over the logits (the next GEMM reads them); then the sum of the terms in row order plus
// |w|^2 / (2 s^2), the chain's energy.
template <class T>
struct logistic_residuals {
  T* logits;  // chains x n, replaced by residuals
  T* terms;   // chains x n scratch
  const T* labels;
  const T* w;
  T* energy;
  std::size_t n;
  std::size_t dim;
  double prior_precision;

  CONTINUA_HD void operator()(std::size_t c) const {
    T* z = logits + c * n;
    T* t = terms + c * n;
    for (std::size_t i = 0; i < n; ++i) {
      const double zi = static_cast<double>(z[i]);
      const double y = static_cast<double>(labels[i]);
      const double e = exp_nonpositive(zi < 0 ? zi : -zi);
      t[i] = static_cast<T>(log1p_unit(e) + (zi > 0 ? zi : 0.0) - y * zi);
      z[i] = static_cast<T>((zi >= 0 ? 1.0 : e) / (1.0 + e) - y);
    }
    double nll = 0;
    for (std::size_t i = 0; i < n; ++i) nll += static_cast<double>(t[i]);
    double w2 = 0;
    for (std::size_t j = 0; j < dim; ++j) {
      const double v = static_cast<double>(w[c * dim + j]);
      w2 += v * v;
    }
    energy[c] = static_cast<T>(nll + 0.5 * prior_precision * w2);
  }
};

// gradient += w / s^2, elementwise.
template <class T>
struct add_prior_gradient {
  const T* w;
  T* gradient;
  T prior_precision;
  CONTINUA_HD void operator()(std::size_t i) const { gradient[i] += prior_precision * w[i]; }
};

}  // namespace detail

// Options of logistic_regression.
struct logistic_regression_options {
  double prior_stddev = 1.0;  // s > 0
};

// U(w) = sum_i [log(1 + exp(x_i . w)) - y_i x_i . w] + |w|^2 / (2 s^2) for data X (n x dim,
// row-major) and labels y in {0, 1}; add a column of ones to X for an intercept. The logits of all
// chains are W Xᵀ and the gradients R X (R the residuals), so a batch costs two GEMMs.
//   targets::logistic_regression<double> t(X, y, n, dim, {.prior_stddev = 1.0});
template <class T, class Space = host_space>
class logistic_regression {
 public:
  static constexpr std::string_view name = "continua::sample::targets::logistic_regression";

  // X is n x dim row-major, labels n values each 0 or 1. Throws invalid_argument for empty or
  // mismatched sizes, NaN/Inf, labels other than 0/1 and a bad prior_stddev.
  logistic_regression(const std::vector<T>& x, const std::vector<T>& labels, std::size_t n,
                      std::size_t dim, logistic_regression_options o = {})
      : n_(n), dim_(dim), prior_precision_(1.0 / (o.prior_stddev * o.prior_stddev)) {
    require_option(std::isfinite(o.prior_stddev) && o.prior_stddev > 0, name, "prior_stddev",
                   o.prior_stddev, "must be finite and positive");
    require(n > 0 && dim > 0, name, "the data must hold at least one row and one column");
    require_same_size(name, "x", x.size(), "n * dim", checked_mul(n, dim, name, "n * dim"));
    require_same_size(name, "labels", labels.size(), "n", n);
    for (const T& v : x) require(std::isfinite(v), name, "x holds NaN or Inf");
    for (const T& v : labels) require(v == T(0) || v == T(1), name, "labels must be 0 or 1");
    x_.assign_from_host(x);
    labels_.assign_from_host(labels);
  }

  // Energies and gradients of a batch (see continua::sample::energy_target). Keeps a chains x n
  // scratch of logits and one of
  // likelihood terms, grown on first use.
  void operator()(matrix_view<const T, Space> w, span<T, Space> energy,
                  matrix_view<T, Space> gradient) {
    require_same_size(name, "positions' columns", w.cols(), "dim", dim_);
    require_same_size(name, "energies", energy.size(), "positions' rows", w.rows());
    require_same_size(name, "gradients", gradient.size(), "positions", w.size());
    const std::size_t chains = w.rows();
    const std::size_t cells = checked_mul(chains, n_, name, "chains * n");
    if (logits_.size() != cells) {
      logits_ = buffer<T, Space>(cells);
      terms_ = buffer<T, Space>(cells);
    }
    const matrix_view<const T, Space> x(x_.data(), n_, dim_);
    const matrix_view<T, Space> z(logits_.data(), chains, n_);
    linalg::gemm(linalg::op::none, linalg::op::transpose, T(1), w, x, T(0), z);  // Z = W Xᵀ
    for_each_index(
        Space{}, chains,
        detail::logistic_residuals<T>{logits_.data(), terms_.data(), labels_.data(), w.data(),
                                      energy.data(), n_, dim_, prior_precision_});
    linalg::gemm(linalg::op::none, linalg::op::none, T(1),
                 matrix_view<const T, Space>(logits_.data(), chains, n_), x, T(0),
                 gradient);  // G = R X
    for_each_index(
        Space{}, w.size(),
        detail::add_prior_gradient<T>{w.data(), gradient.data(), static_cast<T>(prior_precision_)});
  }

  std::size_t rows() const { return n_; }
  std::size_t dim() const { return dim_; }

 private:
  std::size_t n_, dim_;
  double prior_precision_;
  buffer<T, Space> x_, labels_, logits_, terms_;
};

}  // namespace continua::sample::targets
