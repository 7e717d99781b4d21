// Ready-made MCMC target: a mixture of isotropic Gaussians, batched over chains. Its mode
// weights are known, which makes it the test of whether a sampler moves between modes.
#pragma once

#include <cmath>
#include <cstddef>
#include <string_view>
#include <vector>

#include "continua/config.hpp"
#include "continua/core/buffer.hpp"
#include "continua/core/error.hpp"
#include "continua/core/kernel.hpp"
#include "continua/core/span.hpp"

namespace continua::sample::targets {

namespace detail {

// Per chain: log terms l_k = log w_k - d/2 log(2 pi s_k^2) - |x - mu_k|^2 / (2 s_k^2), energy
// -logsumexp(l), gradient sum_k r_k (x - mu_k) / s_k^2 with r = softmax(l); in double, two passes
// over the components (the first finds the largest term).
template <class T>
struct mixture_eval {
  const T* x;
  const double* log_norm;   // per component: log w_k - d/2 log(2 pi s_k^2)
  const double* precision;  // per component: 1 / s_k^2
  const double* means;      // components x dim
  T* energy;
  T* gradient;
  std::size_t dim;
  std::size_t components;

  CONTINUA_HD double log_term(const T* xc, std::size_t k) const {
    double r2 = 0;
    for (std::size_t j = 0; j < dim; ++j) {
      const double d = static_cast<double>(xc[j]) - means[k * dim + j];
      r2 += d * d;
    }
    return log_norm[k] - 0.5 * precision[k] * r2;
  }

  CONTINUA_HD void operator()(std::size_t c) const {
    const T* xc = x + c * dim;
    T* gc = gradient + c * dim;
    double top = log_term(xc, 0);
    for (std::size_t k = 1; k < components; ++k) {
      const double l = log_term(xc, k);
      top = l > top ? l : top;
    }
    double total = 0;
    for (std::size_t j = 0; j < dim; ++j) gc[j] = T(0);
    for (std::size_t k = 0; k < components; ++k) total += std::exp(log_term(xc, k) - top);
    for (std::size_t k = 0; k < components; ++k) {
      const double r = std::exp(log_term(xc, k) - top) / total * precision[k];
      for (std::size_t j = 0; j < dim; ++j)
        gc[j] += static_cast<T>(r * (static_cast<double>(xc[j]) - means[k * dim + j]));
    }
    energy[c] = static_cast<T>(-(top + std::log(total)));
  }
};

}  // namespace detail

// U(x) = -log sum_k w_k N(x; mu_k, s_k^2 I), normalised, so exp(-U) is the mixture density.
//   targets::gaussian_mixture<double> t({0.3, 0.7}, {-2.0, 2.0}, {0.5, 0.5});  // 1-D, two modes
template <class T, class Space = host_space>
class gaussian_mixture {
 public:
  static constexpr std::string_view name = "continua::sample::targets::gaussian_mixture";

  // weights (k, positive, normalised here), means (k x dim row-major), stddevs (k, positive).
  // Throws invalid_argument for empty or mismatched sizes, NaN/Inf or non-positive values.
  gaussian_mixture(std::vector<double> weights, std::vector<double> means,
                   std::vector<double> stddevs)
      : components_(weights.size()) {
    require(components_ > 0, name, "at least one component is needed");
    require(means.size() % components_ == 0 && !means.empty(), name,
            "means must hold components x dim values");
    dim_ = means.size() / components_;
    require_same_size(name, "stddevs", stddevs.size(), "weights", components_);
    double total = 0;
    for (std::size_t k = 0; k < components_; ++k) {
      require(std::isfinite(weights[k]) && weights[k] > 0, name,
              "weights must be finite and positive");
      require(std::isfinite(stddevs[k]) && stddevs[k] > 0, name,
              "stddevs must be finite and positive");
      total += weights[k];
    }
    for (double m : means) require(std::isfinite(m), name, "means hold NaN or Inf");
    std::vector<double> log_norm(components_), precision(components_);
    constexpr double two_pi = 6.283185307179586;
    for (std::size_t k = 0; k < components_; ++k) {
      weights_.push_back(weights[k] / total);
      log_norm[k] = std::log(weights[k] / total) -
                    0.5 * static_cast<double>(dim_) * std::log(two_pi * stddevs[k] * stddevs[k]);
      precision[k] = 1.0 / (stddevs[k] * stddevs[k]);
    }
    log_norm_.assign_from_host(log_norm);
    precision_.assign_from_host(precision);
    means_.assign_from_host(means);
  }

  // Energies and gradients of a batch (see continua::sample::energy_target).
  void operator()(matrix_view<const T, Space> x, span<T, Space> energy,
                  matrix_view<T, Space> gradient) const {
    require_same_size(name, "positions' columns", x.cols(), "dim", dim_);
    require_same_size(name, "energies", energy.size(), "positions' rows", x.rows());
    require_same_size(name, "gradients", gradient.size(), "positions", x.size());
    for_each_index(
        Space{}, x.rows(),
        detail::mixture_eval<T>{x.data(), log_norm_.data(), precision_.data(), means_.data(),
                                energy.data(), gradient.data(), dim_, components_});
  }

  std::size_t dim() const { return dim_; }
  std::size_t components() const { return components_; }
  // The normalised weights.
  const std::vector<double>& weights() const { return weights_; }

 private:
  std::size_t components_;
  std::size_t dim_ = 0;
  std::vector<double> weights_;
  buffer<double, Space> log_norm_, precision_, means_;
};

}  // namespace continua::sample::targets
