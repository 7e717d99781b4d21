// scale_by_adagrad: divide by the root of the accumulated squared gradients (torch Adagrad form).
// Duchi, Hazan & Singer, "Adaptive Subgradient Methods", JMLR 2011.
#pragma once

#include <cmath>
#include <cstddef>
#include <tuple>

#include "continua/optim/elementwise_base.hpp"

namespace continua::optim {

// Options of scale_by_adagrad: the accumulator's starting value and the denominator's eps.
struct scale_by_adagrad_options {
  double initial_accumulator = 0.0;
  double eps = 1e-10;
};

namespace detail {
template <class T>
struct adagrad_kernel {
  T* sum;
  T eps;
  CONTINUA_HD T operator()(std::size_t i, T g, T) const {
    const T s = sum[i] + g * g;
    sum[i] = s;
    return g / (std::sqrt(s) + eps);
  }
};
}  // namespace detail

// s += g^2;  u = g / (sqrt(s) + eps).
// Options (defaults): initial_accumulator 0 (s at the start), eps 1e-10. State: s.
// Duchi, Hazan & Singer, "Adaptive Subgradient Methods", JMLR 2011.
struct scale_by_adagrad {
  static constexpr const char* name = "scale_by_adagrad";
  static constexpr bool elementwise = true;
  using options_type = scale_by_adagrad_options;
  template <class T, class Space>
  struct slots {
    buffer<T, Space> sum;
    std::size_t size() const { return sum.size(); }
    auto fields() { return std::tie(sum); }
    auto fields() const { return std::tie(sum); }
  };
  using scalars = no_scalars;

  options_type opt;

  explicit scale_by_adagrad(options_type o = {}) : opt(o) {
    require_option(o.initial_accumulator >= 0 && std::isfinite(o.initial_accumulator), name,
                   "initial_accumulator", o.initial_accumulator, "must be finite and >= 0");
    require_option(o.eps >= 0 && std::isfinite(o.eps), name, "eps", o.eps,
                   "must be finite and >= 0");
  }
  template <class T, class Space>
  slots<T, Space> init_slots(std::size_t n) const {
    return {buffer<T, Space>(n, static_cast<T>(opt.initial_accumulator))};
  }
  no_scalars init_scalars() const { return {}; }
  template <class G, class P>
  double prepare(no_scalars, const G&, const P&) const {
    return opt.eps;
  }
  template <class T, class Space>
  detail::adagrad_kernel<T> make_kernel(double eps, slots<T, Space>& s) const {
    return {s.sum.data(), static_cast<T>(eps)};
  }
  void commit(no_scalars&) const {}
};

}  // namespace continua::optim
