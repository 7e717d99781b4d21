// Per-pixel mean and deviation of a training set (rows x cols, row-major), for folding a
// standardisation into a random-feature layer (random_features::normalize_inputs). Border pixels
// of Fashion-MNIST are almost constant: a floor on the deviation keeps them from dominating.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <vector>

namespace continua_examples {

struct pixel_moments {
  std::vector<float> mean, deviation;
};

inline pixel_moments standardisation(const float* x, std::size_t rows, std::size_t cols,
                                     double deviation_floor = 0.1) {
  std::vector<double> sum(cols, 0.0), sq(cols, 0.0);
  for (std::size_t i = 0; i < rows; ++i)
    for (std::size_t j = 0; j < cols; ++j) {
      const double v = x[i * cols + j];
      sum[j] += v;
      sq[j] += v * v;
    }
  pixel_moments out{std::vector<float>(cols), std::vector<float>(cols)};
  for (std::size_t j = 0; j < cols; ++j) {
    const double m = sum[j] / double(rows);
    out.mean[j] = float(m);
    out.deviation[j] =
        float(std::max(std::sqrt(std::max(sq[j] / double(rows) - m * m, 0.0)), deviation_floor));
  }
  return out;
}

}  // namespace continua_examples
