// Clipping: clip_by_value (elementwise) and clip_by_global_norm (rescales the whole set when its
// L2 norm exceeds max_norm; Pascanu et al., "On the difficulty of training RNNs", ICML 2013).
#pragma once

#include <cmath>
#include <cstddef>

#include "continua/core/reduce.hpp"
#include "continua/optim/elementwise_base.hpp"
#include "continua/optim/scale.hpp"

namespace continua::optim {

namespace detail {
template <class T>
struct clip_value_kernel {
  T max;
  CONTINUA_HD T operator()(std::size_t, T g, T) const {
    return g > max ? max : (g < -max ? -max : g);
  }
};
}  // namespace detail

// u = min(max(g, -max_delta), max_delta). Option: max_delta (> 0; no default). No state.
struct clip_by_value : stateless_elementwise {
  static constexpr const char* name = "clip_by_value";
  double max_delta;
  explicit clip_by_value(double m) : max_delta(m) {
    require_option(m > 0 && !std::isnan(m), name, "max_delta", m, "must be > 0");
  }
  template <class G, class P>
  double prepare(no_scalars, const G&, const P&) const {
    return max_delta;
  }
  template <class T, class Space>
  detail::clip_value_kernel<T> make_kernel(double m, no_slots<T, Space>&) const {
    return {static_cast<T>(m)};
  }
};

// u = g * min(1, max_norm / |g|), |g| the L2 norm over the whole parameter set. prepare() reads
// the gradients, so it starts a new fused pass. Option: max_norm (finite, > 0; no default).
// Pascanu et al., "On the difficulty of training RNNs", ICML 2013.
struct clip_by_global_norm : stateless_elementwise {
  static constexpr const char* name = "clip_by_global_norm";
  static constexpr bool reads_grads = true;
  double max_norm;
  explicit clip_by_global_norm(double m) : max_norm(m) {
    require_option(m > 0 && std::isfinite(m), name, "max_norm", m, "must be finite and > 0");
  }
  template <class G, class P>
  double prepare(no_scalars, const G& grads, const P&) const {
    const double norm = std::sqrt(continua::squared_norm(grads));
    return norm > max_norm ? max_norm / norm : 1.0;
  }
  template <class T, class Space>
  detail::scale_kernel<T> make_kernel(double f, no_slots<T, Space>&) const {
    return {static_cast<T>(f)};
  }
};

}  // namespace continua::optim
