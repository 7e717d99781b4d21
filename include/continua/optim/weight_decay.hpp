// add_decayed_weights: u = g + rate * p. Before a scaling transformation it is the coupled L2
// penalty (torch Adam/SGD weight_decay); after it, decoupled decay (Loshchilov & Hutter, "Decoupled
// Weight Decay Regularization", ICLR 2019).
#pragma once

#include <cmath>
#include <cstddef>

#include "continua/optim/elementwise_base.hpp"

namespace continua::optim {

namespace detail {
template <class T>
struct decayed_weights_kernel {
  T rate;
  CONTINUA_HD T operator()(std::size_t, T g, T p) const { return g + rate * p; }
};
}  // namespace detail

// u = g + rate p. Option: rate (finite, >= 0; no default). No state. Coupled L2 before a scaling
// transformation, decoupled decay after it (Loshchilov & Hutter, ICLR 2019).
struct add_decayed_weights : stateless_elementwise {
  static constexpr const char* name = "add_decayed_weights";
  double rate;
  explicit add_decayed_weights(double r) : rate(r) {
    require_option(std::isfinite(r) && r >= 0, name, "rate", r, "must be finite and >= 0");
  }
  template <class G, class P>
  double prepare(no_scalars, const G&, const P&) const {
    return rate;
  }
  template <class T, class Space>
  detail::decayed_weights_kernel<T> make_kernel(double r, no_slots<T, Space>&) const {
    return {static_cast<T>(r)};
  }
};

// The coupled L2 penalty 0.5 * rate * |p|^2 adds rate * p to the gradient: the same
// transformation, placed before the optimizer's scaling.
using add_l2_penalty = add_decayed_weights;

}  // namespace continua::optim
