// A one-hidden-layer ReLU MLP (inputs -> hidden -> classes) with a hand-written forward and
// backward pass on continua::linalg::gemm: the model of the continual-learning examples (softmax
// cross-entropy) and of the diffusion example (squared error). Backward
// pass of softmax cross-entropy as in Goodfellow, Bengio & Courville, "Deep Learning", 2016,
// sec. 6.5; output-norm gradient for MAS (Aljundi et al., ECCV 2018, eq. 2).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <tuple>
#include <vector>

#include "continua/core/error.hpp"
#include "continua/core/linalg.hpp"
#include "continua/core/random.hpp"
#include "continua/core/span.hpp"
#include "softmax.hpp"

namespace continua_examples {

// Activations of one batch, kept between forward() and the backward passes; reused across calls
// so a training loop allocates once.
template <class T>
struct mlp_cache {
  std::size_t rows = 0;
  std::vector<T> hidden;  // rows x hidden, after ReLU: the input of layer 2 (for GPM)
  std::vector<T> logits;  // rows x classes
  std::vector<T> d_logits;
  std::vector<T> d_hidden;
};

// Parameters as one continua parameter set: (W1 hidden x inputs row-major, b1, W2 classes x hidden
// row-major, b2). Layer 1's input is x, layer 2's is the hidden activation.
template <class T>
class basic_mlp {
 public:
  using vector = std::vector<T>;
  using params_type = std::tuple<vector, vector, vector, vector>;
  using cache = mlp_cache<T>;

  // He-normal W1 (ReLU follows it), LeCun-normal W2, zero biases; Philox-seeded so every build and
  // platform starts from the same weights.
  basic_mlp(std::size_t inputs, std::size_t hidden, std::size_t classes, std::uint64_t seed = 0)
      : inputs_(inputs), hidden_(hidden), classes_(classes) {
    continua::require(inputs > 0 && hidden > 0 && classes > 0, "basic_mlp",
                      "inputs, hidden and classes must be positive");
    std::get<0>(params_).assign(hidden * inputs, T(0));
    std::get<1>(params_).assign(hidden, T(0));
    std::get<2>(params_).assign(classes * hidden, T(0));
    std::get<3>(params_).assign(classes, T(0));
    continua::fill_normal(std::get<0>(params_), continua::philox_key{seed, 1}, 0, 0.0,
                          std::sqrt(2.0 / static_cast<double>(inputs)));
    continua::fill_normal(std::get<2>(params_), continua::philox_key{seed, 2}, 0, 0.0,
                          std::sqrt(1.0 / static_cast<double>(hidden)));
  }

  std::size_t inputs() const { return inputs_; }
  std::size_t hidden() const { return hidden_; }
  std::size_t classes() const { return classes_; }
  params_type& params() { return params_; }
  const params_type& params() const { return params_; }

  // Zeroed gradients with the parameters' shapes.
  params_type zeros_like() const {
    return {vector(hidden_ * inputs_, T(0)), vector(hidden_, T(0)),
            vector(classes_ * hidden_, T(0)), vector(classes_, T(0))};
  }

  // Fills c.hidden (the ReLU activations) and c.logits for the rows of x (n x inputs row-major).
  void forward(continua::matrix_view<const T> x, cache& c) const {
    continua::require_same_size("basic_mlp::forward", "columns of x", x.cols(), "inputs", inputs_);
    namespace la = continua::linalg;
    const std::size_t n = x.rows();
    c.rows = n;
    c.hidden.resize(n * hidden_);
    c.logits.resize(n * classes_);
    const auto& [w1, b1, w2, b2] = params_;
    const continua::matrix_view<T> h(c.hidden.data(), n, hidden_);
    la::gemm(la::op::none, la::op::transpose, T(1), x, view(w1, hidden_, inputs_), T(0), h);
    for (std::size_t r = 0; r < n; ++r)
      for (std::size_t k = 0; k < hidden_; ++k) h(r, k) = std::max(h(r, k) + b1[k], T(0));
    const continua::matrix_view<T> z(c.logits.data(), n, classes_);
    la::gemm(la::op::none, la::op::transpose, T(1), continua::matrix_view<const T>(h),
             view(w2, classes_, hidden_), T(0), z);
    for (std::size_t r = 0; r < n; ++r)
      for (std::size_t k = 0; k < classes_; ++k) z(r, k) += b2[k];
  }

  // Mean softmax cross-entropy over the batch; grads = its gradient (overwritten). Labels in
  // 0..classes-1. After the call c holds the batch's activations (c.hidden = layer-2 inputs).
  double loss_and_gradient(continua::matrix_view<const T> x, std::span<const std::int32_t> labels,
                           params_type& grads, cache& c) const {
    constexpr const char* context = "basic_mlp::loss_and_gradient";
    continua::require_same_size(context, "labels", labels.size(), "rows of x", x.rows());
    continua::require(x.rows() > 0, context, "empty batch");
    check_grads(context, grads);
    require_labels(context, labels, classes_);
    forward(x, c);
    const std::size_t n = x.rows();
    c.d_logits.resize(n * classes_);
    const double loss = softmax_cross_entropy<T>({c.logits.data(), n, classes_}, labels,
                                                 {c.d_logits.data(), n, classes_});
    backward(x, grads, c);
    return loss;
  }

  // Mean squared error over the batch, (1 / (n classes)) sum (z - y)^2 with y the n x classes
  // targets (torch.nn.MSELoss): the regression use, e.g. a diffusion model's noise prediction.
  // grads = its gradient (overwritten); c holds the batch's activations afterwards.
  double squared_error_and_gradient(continua::matrix_view<const T> x,
                                    continua::matrix_view<const T> targets, params_type& grads,
                                    cache& c) const {
    constexpr const char* context = "basic_mlp::squared_error_and_gradient";
    continua::require_same_size(context, "rows of targets", targets.rows(), "rows of x", x.rows());
    continua::require_same_size(context, "columns of targets", targets.cols(), "classes", classes_);
    continua::require(x.rows() > 0, context, "empty batch");
    check_grads(context, grads);
    forward(x, c);
    const std::size_t n = x.rows();
    c.d_logits.resize(n * classes_);
    const double scale = 1.0 / static_cast<double>(n * classes_);
    double loss = 0;
    for (std::size_t r = 0; r < n; ++r)
      for (std::size_t k = 0; k < classes_; ++k) {
        const double d = static_cast<double>(c.logits[r * classes_ + k]) - targets(r, k);
        loss += d * d;
        c.d_logits[r * classes_ + k] = static_cast<T>(2 * scale * d);
      }
    backward(x, grads, c);
    return loss * scale;
  }

  // MAS importance signal: grads = d/dparams of (1/n) sum_r ||z_r||^2, z_r the logits of row r.
  // With one row this is the per-sample gradient of the squared output norm.
  void output_norm_gradient(continua::matrix_view<const T> x, params_type& grads, cache& c) const {
    continua::require(x.rows() > 0, "basic_mlp::output_norm_gradient", "empty batch");
    check_grads("basic_mlp::output_norm_gradient", grads);
    forward(x, c);
    const std::size_t n = x.rows();
    c.d_logits.resize(n * classes_);
    const T scale = T(2) / static_cast<T>(n);
    for (std::size_t i = 0; i < n * classes_; ++i) c.d_logits[i] = scale * c.logits[i];
    backward(x, grads, c);
  }

  // Arg-max class of each row over classes [first, last) (all classes by default): the
  // class-incremental prediction, or the task-incremental one when [first, last) is the task's
  // own classes.
  void predict(continua::matrix_view<const T> x, std::span<std::int32_t> out, cache& c,
               std::size_t first = 0, std::size_t last = 0) const {
    if (last == 0) last = classes_;
    continua::require(first < last && last <= classes_, "basic_mlp::predict",
                      "class range must satisfy first < last <= classes");
    continua::require_same_size("basic_mlp::predict", "out", out.size(), "rows of x", x.rows());
    forward(x, c);
    argmax_rows<T>({c.logits.data(), x.rows(), classes_}, out, first, last);
  }

 private:
  static continua::matrix_view<const T> view(const vector& v, std::size_t rows, std::size_t cols) {
    return {v.data(), rows, cols};
  }
  static continua::matrix_view<T> view(vector& v, std::size_t rows, std::size_t cols) {
    return {v.data(), rows, cols};
  }

  void check_grads(const char* context, const params_type& grads) const {
    const auto& [gw1, gb1, gw2, gb2] = grads;
    continua::require(gw1.size() == hidden_ * inputs_ && gb1.size() == hidden_ &&
                          gw2.size() == classes_ * hidden_ && gb2.size() == classes_,
                      context, "grads do not have the parameters' shapes (use zeros_like())");
  }

  // Given c.d_logits = dL/dz (n x classes) from the last forward, writes dL/dparams into grads.
  void backward(continua::matrix_view<const T> x, params_type& grads, cache& c) const {
    namespace la = continua::linalg;
    const std::size_t n = x.rows();
    auto& [gw1, gb1, gw2, gb2] = grads;
    const auto& w2 = std::get<2>(params_);
    const continua::matrix_view<const T> dz(c.d_logits.data(), n, classes_);
    const continua::matrix_view<const T> h(c.hidden.data(), n, hidden_);
    // dW2 = dZᵀ H, db2 = column sums of dZ.
    la::gemm(la::op::transpose, la::op::none, T(1), dz, h, T(0), view(gw2, classes_, hidden_));
    std::fill(gb2.begin(), gb2.end(), T(0));
    for (std::size_t r = 0; r < n; ++r)
      for (std::size_t k = 0; k < classes_; ++k) gb2[k] += dz(r, k);
    // dA = (dZ W2) masked by ReLU' (h > 0), then dW1 = dAᵀ X, db1 = column sums of dA.
    c.d_hidden.resize(n * hidden_);
    const continua::matrix_view<T> da(c.d_hidden.data(), n, hidden_);
    la::gemm(la::op::none, la::op::none, T(1), dz, view(w2, classes_, hidden_), T(0), da);
    std::fill(gb1.begin(), gb1.end(), T(0));
    for (std::size_t r = 0; r < n; ++r)
      for (std::size_t k = 0; k < hidden_; ++k) {
        if (!(h(r, k) > T(0))) da(r, k) = T(0);
        gb1[k] += da(r, k);
      }
    la::gemm(la::op::transpose, la::op::none, T(1), continua::matrix_view<const T>(da), x, T(0),
             view(gw1, hidden_, inputs_));
  }

  std::size_t inputs_, hidden_, classes_;
  params_type params_;
};

using mlp = basic_mlp<float>;

}  // namespace continua_examples
