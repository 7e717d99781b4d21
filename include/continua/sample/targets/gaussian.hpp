// Ready-made MCMC target: the multivariate Gaussian N(mean, covariance), batched over chains.
// Used by the kernels' tests and benchmarks; its moments are known exactly.
#pragma once

#include <cmath>
#include <cstddef>
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

// Per chain: r = x - mean, gradient = P r, energy = r.P r / 2, accumulated in double.
template <class T>
struct gaussian_eval {
  const T* x;
  const T* mean;
  const T* precision;  // dim x dim, symmetric
  T* energy;
  T* gradient;
  std::size_t dim;

  CONTINUA_HD void operator()(std::size_t c) const {
    const T* xc = x + c * dim;
    T* gc = gradient + c * dim;
    double e = 0;
    for (std::size_t i = 0; i < dim; ++i) {
      double gi = 0;
      for (std::size_t j = 0; j < dim; ++j)
        gi += static_cast<double>(precision[i * dim + j]) *
              (static_cast<double>(xc[j]) - static_cast<double>(mean[j]));
      gc[i] = static_cast<T>(gi);
      e += gi * (static_cast<double>(xc[i]) - static_cast<double>(mean[i]));
    }
    energy[c] = static_cast<T>(0.5 * e);
  }
};

}  // namespace detail

// U(x) = (x - mean)' P (x - mean) / 2 with P = covariance^-1 (computed once, in double).
//   targets::gaussian<float> t({1.0}, {4.0});   // N(1, 2^2)
template <class T, class Space = host_space>
class gaussian {
 public:
  static constexpr std::string_view name = "continua::sample::targets::gaussian";

  // `covariance` is dim x dim row-major, symmetric positive definite. Throws invalid_argument for
  // empty or mismatched sizes, NaN/Inf or an asymmetric covariance, and numerical_error when it
  // is not positive definite.
  gaussian(std::vector<double> mean, std::vector<double> covariance)
      : dim_(mean.size()), mean_host_(std::move(mean)) {
    require(dim_ > 0, name, "the mean must not be empty");
    require_same_size(name, "covariance", covariance.size(), "dim * dim",
                      checked_mul(dim_, dim_, name, "dim * dim"));
    for (double v : mean_host_) require(std::isfinite(v), name, "the mean holds NaN or Inf");
    for (std::size_t i = 0; i < dim_; ++i)
      for (std::size_t j = 0; j < dim_; ++j) {
        const double a = covariance[i * dim_ + j], b = covariance[j * dim_ + i];
        require(std::isfinite(a), name, "the covariance holds NaN or Inf");
        require(std::abs(a - b) <= 1e-12 * (std::abs(a) + std::abs(b)), name,
                "the covariance is not symmetric");
      }
    // P = Sigma^-1 by Cholesky: solve Sigma P = I.
    std::vector<double> identity(dim_ * dim_, 0.0);
    for (std::size_t i = 0; i < dim_; ++i) identity[i * dim_ + i] = 1.0;
    linalg::cholesky_factor(matrix_view<double>(covariance.data(), dim_, dim_));
    linalg::cholesky_solve(matrix_view<const double>(covariance.data(), dim_, dim_),
                           matrix_view<double>(identity.data(), dim_, dim_));
    std::vector<T> mean_t(mean_host_.begin(), mean_host_.end());
    std::vector<T> precision_t(dim_ * dim_);
    for (std::size_t i = 0; i < dim_; ++i)  // symmetrise what rounding left uneven
      for (std::size_t j = 0; j < dim_; ++j)
        precision_t[i * dim_ + j] =
            static_cast<T>(0.5 * (identity[i * dim_ + j] + identity[j * dim_ + i]));
    mean_.assign_from_host(mean_t);
    precision_.assign_from_host(precision_t);
  }

  // Energies and gradients of a batch (see continua::sample::energy_target).
  void operator()(matrix_view<const T, Space> x, span<T, Space> energy,
                  matrix_view<T, Space> gradient) const {
    require_same_size(name, "positions' columns", x.cols(), "dim", dim_);
    require_same_size(name, "energies", energy.size(), "positions' rows", x.rows());
    require_same_size(name, "gradients", gradient.size(), "positions", x.size());
    for_each_index(Space{}, x.rows(),
                   detail::gaussian_eval<T>{x.data(), mean_.data(), precision_.data(),
                                            energy.data(), gradient.data(), dim_});
  }

  std::size_t dim() const { return dim_; }
  // The mean as given (double).
  const std::vector<double>& mean() const { return mean_host_; }

 private:
  std::size_t dim_;
  std::vector<double> mean_host_;
  buffer<T, Space> mean_, precision_;
};

}  // namespace continua::sample::targets
