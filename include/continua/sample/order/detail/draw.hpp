// The random draws the data-order samplers share: uniform indices and indices drawn with given
// weights, from a Philox stream. Walker-free inverse-CDF sampling (Devroye, "Non-Uniform Random
// Variate Generation", 1986, ch. III.2): exact up to the rounding of the cumulative sums.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>

#include "continua/core/random.hpp"
#include "continua/sample/detail/replay_store.hpp"

namespace continua::sample::detail {

// A uniform double in [0, 1) from the next two words of the engine (53 bits, exact).
inline double order_unit_double(philox_engine& engine) {
  const std::uint32_t hi = engine();
  const std::uint32_t lo = engine();
  return unit_double(hi, lo);
}

// Index i with probability (cumulative[i] - cumulative[i-1]) / cumulative.back(); cumulative is
// non-decreasing with a positive last value. A zero-weight index is never returned: the first
// cumulative value strictly above u * total is taken, and the rare u * total that rounds up to
// the total itself is drawn again (rejection keeps the draw exact rather than biasing the last
// index).
inline std::size_t order_weighted_index(philox_engine& engine, std::span<const double> cumulative) {
  const double total = cumulative.back();
  for (;;) {
    const double target = order_unit_double(engine) * total;
    const auto it = std::upper_bound(cumulative.begin(), cumulative.end(), target);
    if (it != cumulative.end()) return static_cast<std::size_t>(it - cumulative.begin());
  }
}

}  // namespace continua::sample::detail
