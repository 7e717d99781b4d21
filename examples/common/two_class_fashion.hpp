// Two Fashion-MNIST classes as a small logistic-regression problem: T-shirt/top (label 0) vs
// Shirt (label 1), 4x4 average pooling of the 28x28 images (49 values) standardised on the
// training split, plus an intercept column (50 dimensions). Shared by the MCMC example and the
// ESS comparison with NumPyro (bench/peers/numpyro_mcmc.py builds the same features).
#pragma once

#include <cmath>
#include <cstddef>
#include <vector>

#include "continua/io/fashion_mnist.hpp"

namespace continua_examples {

struct two_class_data {
  static constexpr int class_a = 0, class_b = 6;
  static constexpr std::size_t pool = 4, side = 28, cells = side / pool, dim = cells * cells + 1;
  std::vector<double> x;  // n x dim, row-major, last column 1
  std::vector<double> y;  // 0 (T-shirt/top) or 1 (Shirt)
  std::size_t n = 0;
};

// The pooled images of the two classes, in file order.
inline two_class_data pooled_two_classes(const continua::io::labelled_images& images) {
  using d_t = two_class_data;
  d_t d;
  for (std::size_t r = 0; r < images.rows; ++r) {
    const int label = images.labels[r];
    if (label != d_t::class_a && label != d_t::class_b) continue;
    const float* img = images.images.data() + r * images.cols;
    for (std::size_t cy = 0; cy < d_t::cells; ++cy)
      for (std::size_t cx = 0; cx < d_t::cells; ++cx) {
        double sum = 0;
        for (std::size_t py = 0; py < d_t::pool; ++py)
          for (std::size_t px = 0; px < d_t::pool; ++px)
            sum += img[(cy * d_t::pool + py) * d_t::side + cx * d_t::pool + px];
        d.x.push_back(sum / (d_t::pool * d_t::pool));
      }
    d.x.push_back(1.0);
    d.y.push_back(label == d_t::class_b ? 1.0 : 0.0);
    ++d.n;
  }
  return d;
}

// Standardises the pooled features of both splits with the training split's mean and
// (population) deviation, + 1e-8 against constant pixels.
inline void standardise(two_class_data& train, two_class_data& test) {
  constexpr std::size_t dim = two_class_data::dim;
  for (std::size_t j = 0; j + 1 < dim; ++j) {
    double mean = 0, var = 0;
    for (std::size_t i = 0; i < train.n; ++i) mean += train.x[i * dim + j];
    mean /= static_cast<double>(train.n);
    for (std::size_t i = 0; i < train.n; ++i) var += std::pow(train.x[i * dim + j] - mean, 2);
    const double sd = std::sqrt(var / static_cast<double>(train.n)) + 1e-8;
    for (auto* d : {&train, &test})
      for (std::size_t i = 0; i < d->n; ++i) d->x[i * dim + j] = (d->x[i * dim + j] - mean) / sd;
  }
}

}  // namespace continua_examples
