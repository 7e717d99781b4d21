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

#include "continua/core/span.hpp"

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

  // Logits of a batch (rows x classes).
  row_matrix logits(const_rows x) const {
    Eigen::Map<const row_matrix> w(weights.data(), Eigen::Index(classes), Eigen::Index(features));
    Eigen::Map<const Eigen::RowVectorXf> b(biases.data(), Eigen::Index(classes));
    row_matrix z = x * w.transpose();
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
    Eigen::Map<row_matrix> gw(grad_w.data(), Eigen::Index(classes), Eigen::Index(features));
    gw.noalias() = inv_n * p.transpose() * x;
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

}  // namespace continua_examples
