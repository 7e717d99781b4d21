// Shared parts of elementwise transformations: the stateless boilerplate and a step counter.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <tuple>

#include "continua/core/error.hpp"
#include "continua/optim/transformation.hpp"

namespace continua::optim {

// Base for elementwise transformations without per-element state.
struct stateless_elementwise {
  static constexpr bool elementwise = true;
  template <class T, class Space>
  using slots = no_slots<T, Space>;
  using scalars = no_scalars;
  template <class T, class Space>
  no_slots<T, Space> init_slots(std::size_t) const {
    return {};
  }
  no_scalars init_scalars() const { return {}; }
  void commit(no_scalars&) const {}
};

// Scalars of transformations that count their steps (0 before the first update).
// The count lies in [0, max_count]. max_count = 2^53 is where the double the updates compute
// with (Adam's t = count + 1) stops being exact; no training run gets near it (10^6 steps a
// second for 285 years). advance() saturates there instead of overflowing: the count stays at
// max_count, where Adam's bias corrections are exactly 1 and a schedule sees the same step again.
// A checkpoint holding a count outside [0, max_count] is refused (validate_state).
struct step_count {
  static constexpr std::int64_t max_count = std::int64_t{1} << 53;
  std::int64_t count = 0;
  auto fields() { return std::tie(count); }
  auto fields() const { return std::tie(count); }
  void advance() {
    if (count < max_count) ++count;
  }
  void validate_state() const {
    if (count < 0 || count > max_count)
      throw invalid_argument("continua::optim::step_count: the step count " +
                             std::to_string(count) +
                             " lies outside [0, 2^53 = " + std::to_string(max_count) + "]");
  }
};

// sign(x) in {-1, 0, 1}, with sign(0) = 0 (and NaN mapped to 0), for device code too.
template <class T>
CONTINUA_HD constexpr T sign_of(T x) {
  return x > T(0) ? T(1) : (x < T(0) ? T(-1) : T(0));
}

}  // namespace continua::optim
