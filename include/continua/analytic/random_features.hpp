// Random-feature buffer layers, seeded and reproducible on every backend (Philox): a fixed random
// projection followed by ReLU or tanh, and Gaussian-kernel features around centres drawn from data.
// Rahimi & Recht, "Random Features for Large-Scale Kernel Machines", NIPS 2007; the buffer layer
// of ACIL (Zhuang et al., NeurIPS 2022) and DS-AL (Zhuang et al., AAAI 2024).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "continua/analytic/detail/matrix_ops.hpp"
#include "continua/analytic/inputs.hpp"
#include "continua/config.hpp"
#include "continua/core/buffer.hpp"
#include "continua/core/error.hpp"
#include "continua/core/finite.hpp"
#include "continua/core/kernel.hpp"
#include "continua/core/linalg.hpp"
#include "continua/core/random.hpp"
#include "continua/core/span.hpp"

namespace continua::analytic {

// Activation policies: any type with a static `name` and a CONTINUA_HD call operator works.
struct relu {
  static constexpr std::string_view name = "relu";
  template <class T>
  CONTINUA_HD T operator()(T v) const {
    return v > T(0) ? v : T(0);
  }
};

// tanh activation policy.
struct tanh_activation {
  static constexpr std::string_view name = "tanh";
  template <class T>
  CONTINUA_HD T operator()(T v) const {
    using std::tanh;
    return tanh(v);
  }
};

// Options of random_features: h = act(x Wᵀ + b), W (outputs x inputs) and b drawn from Philox
// with the given seed.
struct random_feature_options {
  std::size_t inputs = 0;
  std::size_t outputs = 0;
  std::uint64_t seed = 0;
  double weight_scale = 1.0;  // W ~ N(0, weight_scale² / inputs)
  double bias_scale = 1.0;    // b ~ N(0, bias_scale²)
};

namespace detail {

// Entry i of an h in either storage order: its row and column.
struct matrix_index {
  std::size_t rows, cols;
  bool row_major;
  CONTINUA_HD std::size_t row(std::size_t i) const { return row_major ? i / cols : i % rows; }
  CONTINUA_HD std::size_t col(std::size_t i) const { return row_major ? i % cols : i / rows; }
};

template <class T, class Act>
struct bias_activation_fn {
  T* h;
  const T* bias;
  matrix_index at;
  Act act;
  CONTINUA_HD void operator()(std::size_t i) const { h[i] = act(h[i] + bias[at.col(i)]); }
};

template <class T>
struct scale_columns_fn {
  T* w;
  const T* scale;
  std::size_t cols;
  CONTINUA_HD void operator()(std::size_t i) const { w[i] *= scale[i % cols]; }
};

}  // namespace detail

// h = act(x Wᵀ + b) with W (outputs x inputs) and b fixed at construction.
template <class T, class Activation = relu, class Space = host_space>
class random_features {
 public:
  explicit random_features(random_feature_options opt) : opt_(opt) {
    constexpr std::string_view c = "continua::analytic::random_features";
    require_option(opt.inputs > 0, c, "inputs", opt.inputs, "must be > 0");
    require_option(opt.outputs > 0, c, "outputs", opt.outputs, "must be > 0");
    require_option(std::isfinite(opt.weight_scale) && opt.weight_scale > 0, c, "weight_scale",
                   opt.weight_scale, "must be finite and > 0");
    require_option(std::isfinite(opt.bias_scale) && opt.bias_scale >= 0, c, "bias_scale",
                   opt.bias_scale, "must be finite and >= 0");
    w_ = buffer<T, Space>(checked_mul(opt.outputs, opt.inputs, c, "outputs * inputs"));
    b_ = buffer<T, Space>(opt.outputs);
    // Streams 0 and 1 of the seed: W and b are independent and identical on every backend.
    fill_normal(w_, philox_key{opt.seed, 0}, 0, 0.0,
                opt.weight_scale / std::sqrt(double(opt.inputs)));
    if (opt.bias_scale > 0) fill_normal(b_, philox_key{opt.seed, 1}, 0, 0.0, opt.bias_scale);
  }

  std::size_t inputs() const { return opt_.inputs; }
  std::size_t outputs() const { return opt_.outputs; }
  const random_feature_options& options() const { return opt_; }

  // Folds a per-input standardisation (x - mean) / stddev into W and b, so inputs are used as
  // they are: W' = W diag(1/stddev), b' = b - W' mean. Host spans of `inputs` values.
  void normalize_inputs(std::span<const T> mean, std::span<const T> stddev) {
    constexpr std::string_view c = "continua::analytic::random_features::normalize_inputs";
    require_same_size(c, "mean", mean.size(), "inputs", inputs());
    require_same_size(c, "stddev", stddev.size(), "inputs", inputs());
    std::vector<T> inv(inputs());
    for (std::size_t j = 0; j < inputs(); ++j) {
      require(std::isfinite(double(mean[j])) && std::isfinite(double(stddev[j])) && stddev[j] > 0,
              c, "mean and stddev must be finite and stddev > 0 (input " + std::to_string(j) + ")");
      inv[j] = T(1) / stddev[j];
    }
    buffer<T, Space> scale(inputs()), mu(inputs()), wmu(outputs());
    scale.assign_from_host(inv);
    mu.assign_from_host(std::vector<T>(mean.begin(), mean.end()));
    for_each_index(Space{}, w_.size(),
                   detail::scale_columns_fn<T>{w_.data(), scale.data(), inputs()});
    linalg::gemm(detail::view(std::as_const(w_), outputs(), inputs()),
                 detail::view(std::as_const(mu), inputs(), 1), detail::view(wmu, outputs(), 1));
    detail::axpy(T(-1), wmu, b_);
  }

  // h (n x outputs) = act(x (n x inputs) Wᵀ + b); x and h are any rank-2 tensors (see
  // matrix_input), in either storage order.
  void transform(matrix_input<T, Space> x, matrix_output<T, Space> h) const {
    constexpr std::string_view c = "continua::analytic::random_features::transform";
    require_same_size(c, "columns of x", x.cols(), "inputs", inputs());
    require_same_size(c, "rows of h", h.rows(), "rows of x", x.rows());
    require_same_size(c, "columns of h", h.cols(), "outputs", outputs());
    linalg::gemm(linalg::op::none, linalg::op::transpose, T(1), x,
                 detail::view(w_, outputs(), inputs()), T(0), h);
    const detail::matrix_index at{h.rows(), h.cols(), h.order() == layout::row_major};
    for_each_index(Space{}, h.size(),
                   detail::bias_activation_fn<T, Activation>{h.data(), b_.data(), at, {}});
  }

  const buffer<T, Space>& projection() const { return w_; }
  const buffer<T, Space>& bias() const { return b_; }

  // Checkpoints (continua::io::save / io::load): W and b, which normalize_inputs() may have
  // changed since construction, in a layer with the same activation, sizes and seed.
  static constexpr std::string_view checkpoint_kind = "analytic.random_features";
  static constexpr std::uint32_t checkpoint_schema = 2;
  template <class V>
  void describe_state(V& v) {
    v.expect("activation", Activation::name);
    v.expect("inputs", static_cast<std::uint64_t>(opt_.inputs));
    v.expect("outputs", static_cast<std::uint64_t>(opt_.outputs));
    v.expect("seed", static_cast<std::uint64_t>(opt_.seed));
    v.field("projection", w_, {opt_.outputs, opt_.inputs});
    v.field("bias", b_, {opt_.outputs});
  }
  void validate_state() const {
    constexpr std::string_view c = "continua::analytic::random_features";
    if (const auto bad = find_non_finite(span<const T, Space>(w_.data(), w_.size())))
      throw non_finite_error(c, "projection", *bad);
    if (const auto bad = find_non_finite(span<const T, Space>(b_.data(), b_.size())))
      throw non_finite_error(c, "bias", *bad);
  }

 private:
  random_feature_options opt_;
  buffer<T, Space> w_, b_;
};

// Options of gaussian_kernel_features: h_j = exp(-|x - c_j|² / (2 sigma²)) around centres c_j
// drawn from the data.
struct gaussian_kernel_options {
  std::size_t centers = 0;  // features produced
  std::uint64_t seed = 0;   // which rows of the data become centres
  double bandwidth = 0.0;   // sigma; 0 = median distance between centres (median heuristic)
};

namespace detail {

// h[i, j] = exp(-(|x_i|² - 2 x_i·c_j + |c_j|²) / (2 sigma²)), h holding -2 x cᵀ on entry.
template <class T>
struct gaussian_fn {
  T* h;
  const T* x_norm;
  const T* c_norm;
  matrix_index at;
  T inv_two_sigma2;
  CONTINUA_HD void operator()(std::size_t i) const {
    using std::exp;
    T d2 = x_norm[at.row(i)] + h[i] + c_norm[at.col(i)];
    d2 = d2 > T(0) ? d2 : T(0);  // rounding can make a tiny distance negative
    h[i] = exp(-d2 * inv_two_sigma2);
  }
};

template <class T>
struct row_norm_fn {
  T* out;
  const T* x;
  std::size_t cols;
  CONTINUA_HD void operator()(std::size_t r) const {
    T s = T(0);
    for (std::size_t j = 0; j < cols; ++j) s += x[r * cols + j] * x[r * cols + j];
    out[r] = s;
  }
};

}  // namespace detail

// Gaussian-kernel features exp(-|x - c_j|² / (2 sigma²)) around centres sampled (without
// replacement, Philox-seeded) from the rows of a data matrix.
template <class T, class Space = host_space>
class gaussian_kernel_features {
 public:
  // Centres are rows of data (any rank-2 tensor, see matrix_input).
  gaussian_kernel_features(gaussian_kernel_options opt, matrix_input<T, Space> data)
      : opt_(opt), inputs_(data.cols()) {
    constexpr std::string_view c = "continua::analytic::gaussian_kernel_features";
    require_option(opt.centers > 0, c, "centers", opt.centers, "must be > 0");
    require_option(std::isfinite(opt.bandwidth) && opt.bandwidth >= 0, c, "bandwidth",
                   opt.bandwidth, "must be finite and >= 0");
    require(opt.centers <= data.rows(), c,
            "asks for " + std::to_string(opt.centers) + " centres from " +
                std::to_string(data.rows()) + " rows");
    detail::require_batch(c, data, inputs_);
    // Partial Fisher-Yates over row indices with Philox uniforms: reproducible everywhere.
    const std::size_t n = data.rows();
    std::vector<std::size_t> rows(n);
    for (std::size_t i = 0; i < n; ++i) rows[i] = i;
    std::vector<double> u(opt.centers);
    fill_uniform(u, philox_key{opt.seed, 2});
    for (std::size_t i = 0; i < opt.centers; ++i) {
      const std::size_t j = i + std::min(n - i - 1, std::size_t(u[i] * double(n - i)));
      std::swap(rows[i], rows[j]);
    }
    buffer<T, Space> all(data.size());
    detail::copy_rows(data, detail::view(all, n, inputs_));
    const std::vector<T> host = all.to_host();
    std::vector<T> centres(opt.centers * inputs_);
    for (std::size_t i = 0; i < opt.centers; ++i)
      std::copy_n(host.begin() + rows[i] * inputs_, inputs_, centres.begin() + i * inputs_);
    centers_.assign_from_host(centres);
    std::vector<T> norms(opt.centers);
    for (std::size_t i = 0; i < opt.centers; ++i) {
      T s = 0;
      for (std::size_t j = 0; j < inputs_; ++j)
        s += centres[i * inputs_ + j] * centres[i * inputs_ + j];
      norms[i] = s;
    }
    center_norms_.assign_from_host(norms);
    sigma_ = opt.bandwidth > 0 ? opt.bandwidth : median_distance(centres, opt.centers);
    require(sigma_ > 0, c, "all centres coincide: give a bandwidth explicitly");
  }

  std::size_t inputs() const { return inputs_; }
  std::size_t outputs() const { return opt_.centers; }
  double bandwidth() const { return sigma_; }
  matrix_view<const T, Space> centers() const {
    return detail::view(centers_, opt_.centers, inputs_);
  }

  // h (n x centres) as above; x and h are any rank-2 tensors, in either storage order.
  void transform(matrix_input<T, Space> x, matrix_output<T, Space> h) const {
    constexpr std::string_view c = "continua::analytic::gaussian_kernel_features::transform";
    require_same_size(c, "columns of x", x.cols(), "inputs", inputs());
    require_same_size(c, "rows of h", h.rows(), "rows of x", x.rows());
    require_same_size(c, "columns of h", h.cols(), "outputs", outputs());
    buffer<T, Space> xr(x.size()), xn(x.rows());
    detail::copy_rows(x, detail::view(xr, x.rows(), x.cols()));
    for_each_index(Space{}, x.rows(), detail::row_norm_fn<T>{xn.data(), xr.data(), inputs()});
    linalg::gemm(linalg::op::none, linalg::op::transpose, T(-2),
                 detail::view(std::as_const(xr), x.rows(), inputs()), centers(), T(0), h);
    const detail::matrix_index at{h.rows(), h.cols(), h.order() == layout::row_major};
    for_each_index(Space{}, h.size(),
                   detail::gaussian_fn<T>{h.data(), xn.data(), center_norms_.data(), at,
                                          T(1.0 / (2.0 * sigma_ * sigma_))});
  }

 private:
  double median_distance(const std::vector<T>& c, std::size_t m) const {
    // Up to 256 centres: enough for a stable median, bounded cost.
    const std::size_t k = std::min<std::size_t>(m, 256);
    std::vector<double> d;
    for (std::size_t a = 0; a < k; ++a)
      for (std::size_t b = a + 1; b < k; ++b) {
        double s = 0;
        for (std::size_t j = 0; j < inputs_; ++j) {
          const double e = double(c[a * inputs_ + j]) - double(c[b * inputs_ + j]);
          s += e * e;
        }
        d.push_back(std::sqrt(s));
      }
    if (d.empty()) return 1.0;
    std::nth_element(d.begin(), d.begin() + d.size() / 2, d.end());
    return d[d.size() / 2];
  }

  gaussian_kernel_options opt_;
  std::size_t inputs_;
  buffer<T, Space> centers_, center_norms_;
  double sigma_ = 1.0;
};

}  // namespace continua::analytic
