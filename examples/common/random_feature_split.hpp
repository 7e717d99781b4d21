// Fashion-MNIST rows split by a Philox permutation, and their random ReLU features in double with
// a constant column: the data pipeline shared by the bilevel examples (reweighting, ridge).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "common/pixel_standardisation.hpp"
#include "continua/analytic/random_features.hpp"
#include "continua/core/random.hpp"
#include "continua/core/span.hpp"
#include "continua/io/fashion_mnist.hpp"

namespace continua_examples {

// 0 .. total-1 shuffled by Fisher-Yates with Philox uniforms (seed, stream): reproducible.
inline std::vector<std::size_t> philox_permutation(std::size_t total, std::uint64_t seed,
                                                   std::uint64_t stream) {
  std::vector<std::size_t> order(total);
  for (std::size_t i = 0; i < total; ++i) order[i] = i;
  std::vector<double> u(total);
  continua::fill_uniform(u, continua::philox_key{seed, stream});
  for (std::size_t i = 0; i + 1 < total; ++i)
    std::swap(order[i], order[i + std::min(total - i - 1, std::size_t(u[i] * double(total - i)))]);
  return order;
}

// Features of a set of rows, with a last constant column that plays the role of the bias.
struct feature_matrix {
  std::size_t n = 0, d = 0;  // d includes the constant column
  std::vector<double> h;     // n x d, row-major
  std::vector<std::uint8_t> labels;
};

// scale * relu features of the given rows of `data`, plus the constant column.
inline feature_matrix featurise(const continua::analytic::random_features<float>& layer,
                                const continua::io::labelled_images& data,
                                const std::vector<std::size_t>& rows, double scale) {
  const std::size_t p = layer.inputs(), k = layer.outputs();
  std::vector<float> x(rows.size() * p), hf(rows.size() * k);
  for (std::size_t i = 0; i < rows.size(); ++i)
    std::copy_n(data.images.begin() + rows[i] * p, p, x.begin() + i * p);
  layer.transform(continua::matrix_view<const float>(x.data(), rows.size(), p),
                  continua::matrix_view<float>(hf.data(), rows.size(), k));
  feature_matrix f{rows.size(), k + 1, std::vector<double>(rows.size() * (k + 1)), {}};
  for (std::size_t i = 0; i < rows.size(); ++i) {
    for (std::size_t j = 0; j < k; ++j) f.h[i * f.d + j] = scale * hf[i * k + j];
    f.h[i * f.d + k] = 1.0;
    f.labels.push_back(data.labels[rows[i]]);
  }
  return f;
}

// A ReLU random-feature layer (Philox seed) on pixels standardised over the training rows, and
// the scale that makes the mean |h|^2 of the training rows 1 (the constant column counted).
struct standardised_features {
  continua::analytic::random_features<float> layer;
  double scale = 1;
};

inline standardised_features make_standardised_features(const continua::io::labelled_images& data,
                                                        const std::vector<std::size_t>& train_rows,
                                                        std::size_t features, std::uint64_t seed) {
  const std::size_t p = data.cols;
  std::vector<float> sub(train_rows.size() * p);
  for (std::size_t i = 0; i < train_rows.size(); ++i)
    std::copy_n(data.images.begin() + train_rows[i] * p, p, sub.begin() + i * p);
  const auto moments = standardisation(sub.data(), train_rows.size(), p);
  standardised_features out{
      continua::analytic::random_features<float>({.inputs = p, .outputs = features, .seed = seed}),
      1.0};
  out.layer.normalize_inputs(moments.mean, moments.deviation);
  const feature_matrix raw = featurise(out.layer, data, train_rows, 1.0);
  double sq = 0;
  for (double v : raw.h) sq += v * v;
  out.scale = 1 / std::sqrt(sq / double(raw.n));
  return out;
}

}  // namespace continua_examples
