// Multinomial logistic regression (one linear layer + softmax) with a hand-written gradient: the
// SGD-trained head the demo compares the analytic head against, on the same features.
// Bishop, "Pattern Recognition and Machine Learning", 2006, sec. 4.3.4 (gradient of eq. 4.108).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <tuple>
#include <vector>

#include "continua/core/error.hpp"
#include "continua/core/linalg.hpp"
#include "continua/core/span.hpp"
#include "softmax.hpp"

namespace continua_examples {

// Parameters as one continua parameter set: (W classes x inputs row-major, b). Zero-initialised:
// the loss is convex, so no symmetry needs breaking.
template <class T>
class basic_linear_softmax {
 public:
  using vector = std::vector<T>;
  using params_type = std::tuple<vector, vector>;

  basic_linear_softmax(std::size_t inputs, std::size_t classes)
      : inputs_(inputs),
        classes_(classes),
        params_{vector(classes * inputs, T(0)), vector(classes, T(0))} {
    continua::require(inputs > 0 && classes > 0, "basic_linear_softmax",
                      "inputs and classes must be positive");
  }

  std::size_t inputs() const { return inputs_; }
  std::size_t classes() const { return classes_; }
  params_type& params() { return params_; }
  const params_type& params() const { return params_; }
  params_type zeros_like() const {
    return {vector(classes_ * inputs_, T(0)), vector(classes_, T(0))};
  }

  // z = x Wᵀ + b for the rows of x (n x inputs); `logits` is resized to n x classes.
  void forward(continua::matrix_view<const T> x, vector& logits) const {
    continua::require_same_size("basic_linear_softmax::forward", "columns of x", x.cols(), "inputs",
                                inputs_);
    namespace la = continua::linalg;
    const std::size_t n = x.rows();
    logits.resize(n * classes_);
    const auto& [w, b] = params_;
    const continua::matrix_view<T> z(logits.data(), n, classes_);
    la::gemm(la::op::none, la::op::transpose, T(1), x,
             continua::matrix_view<const T>(w.data(), classes_, inputs_), T(0), z);
    for (std::size_t r = 0; r < n; ++r)
      for (std::size_t k = 0; k < classes_; ++k) z(r, k) += b[k];
  }

  // Mean cross-entropy over the batch; grads (shaped by zeros_like()) = its gradient, overwritten.
  // `scratch` holds the logits and their gradient between calls, so a loop allocates once.
  double loss_and_gradient(continua::matrix_view<const T> x, std::span<const std::int32_t> labels,
                           params_type& grads, vector& scratch) const {
    constexpr const char* context = "basic_linear_softmax::loss_and_gradient";
    continua::require_same_size(context, "labels", labels.size(), "rows of x", x.rows());
    continua::require(x.rows() > 0, context, "empty batch");
    auto& [gw, gb] = grads;
    continua::require(gw.size() == classes_ * inputs_ && gb.size() == classes_, context,
                      "grads do not have the parameters' shapes (use zeros_like())");
    require_labels(context, labels, classes_);
    const std::size_t n = x.rows();
    forward(x, scratch);
    scratch.resize(2 * n * classes_);
    const continua::matrix_view<T> dz(scratch.data() + n * classes_, n, classes_);
    const double loss = softmax_cross_entropy<T>({scratch.data(), n, classes_}, labels, dz);
    // dW = dZᵀ X, db = column sums of dZ.
    namespace la = continua::linalg;
    la::gemm(la::op::transpose, la::op::none, T(1), continua::matrix_view<const T>(dz), x, T(0),
             continua::matrix_view<T>(gw.data(), classes_, inputs_));
    std::fill(gb.begin(), gb.end(), T(0));
    for (std::size_t r = 0; r < n; ++r)
      for (std::size_t k = 0; k < classes_; ++k) gb[k] += dz(r, k);
    return loss;
  }

  // Arg-max class of each row over classes [first, last) (all classes by default).
  void predict(continua::matrix_view<const T> x, std::span<std::int32_t> out, vector& scratch,
               std::size_t first = 0, std::size_t last = 0) const {
    if (last == 0) last = classes_;
    continua::require(first < last && last <= classes_, "basic_linear_softmax::predict",
                      "class range must satisfy first < last <= classes");
    continua::require_same_size("basic_linear_softmax::predict", "out", out.size(), "rows of x",
                                x.rows());
    forward(x, scratch);
    argmax_rows<T>({scratch.data(), x.rows(), classes_}, out, first, last);
  }

 private:
  std::size_t inputs_, classes_;
  params_type params_;
};

}  // namespace continua_examples
