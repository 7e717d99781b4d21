// optimizer: a transformation bound to its state, for the one-line `opt.step(params, grads)`.
#pragma once

#include <type_traits>
#include <utility>

#include "continua/optim/chain.hpp"

namespace continua::optim {

template <class Chain, class P>
class optimizer {
 public:
  using state_type = typename Chain::template state<std::remove_cvref_t<P>>;

  optimizer(Chain transformation, const P& params)
      : chain_(std::move(transformation)), state_(chain_.init(params)) {}

  // params += update(grads); false when skipped by the chain's nan_policy. grads may be
  // overwritten.
  template <parameter_set G>
  bool step(P& params, G&& grads) {
    return chain_.step(params, std::forward<G>(grads), state_);
  }

  const Chain& transformation() const { return chain_; }
  state_type& state() { return state_; }
  const state_type& state() const { return state_; }

 private:
  Chain chain_;
  state_type state_;
};

template <class Chain, class P>
optimizer(Chain, const P&) -> optimizer<Chain, P>;

}  // namespace continua::optim
