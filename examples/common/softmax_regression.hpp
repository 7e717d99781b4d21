// Multinomial logistic (softmax) regression with a hand-written forward and backward pass over
// Eigen maps: the model used by the optimizer examples and the Fashion-MNIST accuracy test.
#pragma once

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <numeric>
#include <tuple>
#include <vector>

#include "continua/core/linalg.hpp"
#include "continua/core/random.hpp"
#include "continua/io/fashion_mnist.hpp"
#include "continua/optim.hpp"

namespace continua_examples {

// Parameters: weights (classes x features, row-major) and biases, as one continua parameter set.
struct softmax_regression {
  std::size_t features, classes;
  std::vector<float> weights, biases;

  softmax_regression(std::size_t n_features, std::size_t n_classes)
      : features(n_features),
        classes(n_classes),
        weights(n_features * n_classes, 0.f),
        biases(n_classes, 0.f) {}

  auto params() { return std::tie(weights, biases); }

  using row_matrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  using const_rows = Eigen::Map<const row_matrix>;

  static continua::matrix_view<const float> rows_view(const_rows x) {
    return {x.data(), std::size_t(x.rows()), std::size_t(x.cols())};
  }

  // Logits of a batch (rows x classes).
  row_matrix logits(const_rows x) const {
    Eigen::Map<const row_matrix> w(weights.data(), Eigen::Index(classes), Eigen::Index(features));
    Eigen::Map<const Eigen::RowVectorXf> b(biases.data(), Eigen::Index(classes));
    row_matrix z(x.rows(), Eigen::Index(classes));
    // Through continua's facade, not Eigen's operator*: Eigen would share this small product
    // among spin-waiting OpenMP threads, which on a busy machine costs time slices per batch.
    namespace la = continua::linalg;
    la::gemm(la::op::none, la::op::transpose, 1.f, rows_view(x),
             continua::matrix_view<const float>(w.data(), classes, features), 0.f,
             continua::matrix_view<float>(z.data(), std::size_t(z.rows()), classes));
    z.rowwise() += b;
    return z;
  }

  // Mean cross-entropy of the batch; writes its gradient into (grad_w, grad_b).
  double loss_and_gradient(const_rows x, const std::uint8_t* labels, std::vector<float>& grad_w,
                           std::vector<float>& grad_b) const {
    row_matrix p = logits(x);
    double loss = 0;
    for (Eigen::Index r = 0; r < p.rows(); ++r) {
      const float m = p.row(r).maxCoeff();
      p.row(r) = (p.row(r).array() - m).exp();
      const float z = p.row(r).sum();
      p.row(r) /= z;
      loss -= std::log(std::max(p(r, labels[r]), 1e-30f));
      p(r, labels[r]) -= 1.f;  // dL/dlogits = softmax - onehot
    }
    const float inv_n = 1.f / static_cast<float>(x.rows());
    namespace la = continua::linalg;
    la::gemm(la::op::transpose, la::op::none, inv_n,
             continua::matrix_view<const float>(p.data(), std::size_t(p.rows()), classes),
             rows_view(x), 0.f, continua::matrix_view<float>(grad_w.data(), classes, features));
    Eigen::Map<Eigen::RowVectorXf>(grad_b.data(), Eigen::Index(classes)) =
        inv_n * p.colwise().sum();
    return loss / static_cast<double>(x.rows());
  }

  // Fraction of rows whose arg-max logit is the label.
  double accuracy(const_rows x, const std::uint8_t* labels) const {
    const row_matrix z = logits(x);
    std::size_t correct = 0;
    for (Eigen::Index r = 0; r < z.rows(); ++r) {
      Eigen::Index best = 0;
      z.row(r).maxCoeff(&best);
      correct += static_cast<std::size_t>(best) == labels[r];
    }
    return static_cast<double>(correct) / static_cast<double>(z.rows());
  }
};

// Trains `model` with mini-batch Adam and a cosine schedule over `epochs` passes of a
// Philox-seeded shuffle; calls on_epoch(epoch, mean_loss) after each.
template <class OnEpoch>
void train_with_adam(softmax_regression& model, const continua::io::labelled_images& train,
                     std::size_t epochs, std::size_t batch, double lr, std::uint64_t seed,
                     OnEpoch&& on_epoch) {
  namespace o = continua::optim;
  const std::size_t steps_per_epoch = train.rows / batch;
  auto params = model.params();
  o::optimizer opt(
      o::adam({.lr = lr}, o::cosine_schedule(lr, std::int64_t(epochs * steps_per_epoch), 0.05)),
      params);
  std::vector<float> grad_w(model.weights.size()), grad_b(model.biases.size());
  std::vector<float> xb(batch * train.cols);
  std::vector<std::uint8_t> yb(batch);
  std::vector<std::size_t> order(train.rows);
  std::iota(order.begin(), order.end(), std::size_t{0});
  continua::philox_engine rng(continua::philox_key{seed, 0});
  for (std::size_t epoch = 0; epoch < epochs; ++epoch) {
    std::shuffle(order.begin(), order.end(), rng);
    double loss = 0;
    for (std::size_t s = 0; s < steps_per_epoch; ++s) {
      for (std::size_t r = 0; r < batch; ++r) {
        const std::size_t i = order[s * batch + r];
        std::copy_n(train.images.begin() + std::ptrdiff_t(i * train.cols), train.cols,
                    xb.begin() + std::ptrdiff_t(r * train.cols));
        yb[r] = train.labels[i];
      }
      loss += model.loss_and_gradient({xb.data(), Eigen::Index(batch), Eigen::Index(train.cols)},
                                      yb.data(), grad_w, grad_b);
      opt.step(params, std::tie(grad_w, grad_b));
    }
    on_epoch(epoch, loss / double(steps_per_epoch));
  }
}

}  // namespace continua_examples
