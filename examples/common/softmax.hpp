// Softmax cross-entropy over a batch of logits and its gradient, shared by the examples' models.
// Goodfellow, Bengio & Courville, "Deep Learning", 2016, sec. 6.2.2.3 and 6.5.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "continua/core/error.hpp"
#include "continua/core/span.hpp"

namespace continua_examples {

// Throws unless every label is in 0..classes-1, naming the first bad row.
inline void require_labels(const char* context, std::span<const std::int32_t> labels,
                           std::size_t classes) {
  for (std::size_t r = 0; r < labels.size(); ++r)
    continua::require(labels[r] >= 0 && static_cast<std::size_t>(labels[r]) < classes, context,
                      "label " + std::to_string(labels[r]) + " at row " + std::to_string(r) +
                          " is outside 0.." + std::to_string(classes - 1));
}

// Mean cross-entropy of the rows of z (n x classes) against the labels; d = dLoss/dz.
template <class T>
double softmax_cross_entropy(continua::matrix_view<const T> z, std::span<const std::int32_t> labels,
                             continua::matrix_view<T> d) {
  const std::size_t n = z.rows(), classes = z.cols();
  double loss = 0;
  const T inv_n = T(1) / static_cast<T>(n);
  for (std::size_t r = 0; r < n; ++r) {
    T m = z(r, 0);
    for (std::size_t k = 1; k < classes; ++k) m = std::max(m, z(r, k));
    T sum = 0;
    for (std::size_t k = 0; k < classes; ++k) sum += (d(r, k) = std::exp(z(r, k) - m));
    const auto y = static_cast<std::size_t>(labels[r]);
    // log-sum-exp form: exact even when the label's probability underflows.
    loss += static_cast<double>(std::log(sum) - (z(r, y) - m));
    for (std::size_t k = 0; k < classes; ++k) d(r, k) = d(r, k) / sum * inv_n;
    d(r, y) -= inv_n;
  }
  return loss / static_cast<double>(n);
}

// Arg-max over columns [first, last) of each row of z.
template <class T>
void argmax_rows(continua::matrix_view<const T> z, std::span<std::int32_t> out, std::size_t first,
                 std::size_t last) {
  for (std::size_t r = 0; r < z.rows(); ++r) {
    std::size_t best = first;
    for (std::size_t k = first + 1; k < last; ++k)
      if (z(r, k) > z(r, best)) best = k;
    out[r] = static_cast<std::int32_t>(best);
  }
}

}  // namespace continua_examples
