// Shared parts of elementwise transformations: the stateless boilerplate and a step counter.
#pragma once

#include <cstddef>
#include <cstdint>
#include <tuple>

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
struct step_count {
  std::int64_t count = 0;
  auto fields() { return std::tie(count); }
  auto fields() const { return std::tie(count); }
};

// sign(x) in {-1, 0, 1}, with sign(0) = 0 (and NaN mapped to 0), for device code too.
template <class T>
CONTINUA_HD constexpr T sign_of(T x) {
  return x > T(0) ? T(1) : (x < T(0) ? T(-1) : T(0));
}

}  // namespace continua::optim
