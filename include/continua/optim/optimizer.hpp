// optimizer: a transformation bound to its state, for the one-line `opt.step(params, grads)`.
// The parameters may be passed as the tensors or as a fresh std::tie of them on every step.
#pragma once

#include <cstddef>
#include <ranges>
#include <tuple>
#include <type_traits>
#include <utility>

#include "continua/optim/chain.hpp"

namespace continua::optim {

namespace detail {
// Whether every tensor reached through a const P can be written: true for a std::tie of tensors
// and for views such as std::span<float>, so such a set may be handed over as a temporary.
template <class R>
constexpr bool writable_tensor() {
  return !std::is_const_v<element_t<R>>;
}
template <class P>
constexpr bool writable_through_const() {
  if constexpr (tensor<P>) {
    return writable_tensor<const P&>();
  } else if constexpr (tensor_tuple<P>) {
    return []<std::size_t... I>(std::index_sequence<I...>) {
      return (writable_tensor<decltype(std::get<I>(std::declval<const P&>()))>() && ...);
    }
    (std::make_index_sequence<std::tuple_size_v<P>>{});
  } else {
    return writable_tensor<std::ranges::range_reference_t<const P>>();
  }
}
}  // namespace detail

// A chain and its state for one parameter set: optimizer(chain(...), params), then
// opt.step(params, grads). The state is built from params at construction.
template <class Chain, class P>
class optimizer {
  static_assert(is_chain_v<Chain>,
                "continua::optim::optimizer takes a chain(...) of transformations (a single "
                "transformation t: chain(t))");
  static_assert(parameter_set<P>,
                "continua::optim::optimizer: params must be a tensor, a std::tuple of tensors "
                "(e.g. std::tie(w, b)) or a range of tensors");

 public:
  using state_type = typename Chain::template state<std::remove_cvref_t<P>>;

  optimizer(Chain transformation, const P& params)
      : chain_(std::move(transformation)), state_(chain_.init(params)) {}

  // params += update(grads); false when skipped by the chain's nan_policy. grads may be
  // overwritten. params is the set the optimizer was built for: the tensors themselves (an
  // lvalue), or, when the set only refers to its tensors (std::tie(w, b), a span), a temporary
  // such as a fresh std::tie(w, b).
  template <class Q, parameter_set G>
  bool step(Q&& params, G&& grads) {
    static_assert(std::is_same_v<std::remove_cvref_t<Q>, P>,
                  "continua::optim::optimizer::step: params must have the type of the parameter "
                  "set the optimizer was built with");
    static_assert((std::is_lvalue_reference_v<Q> && !std::is_const_v<std::remove_reference_t<Q>>) ||
                      detail::writable_through_const<P>(),
                  "continua::optim::optimizer::step: params must be writable: pass the tensors "
                  "themselves, or a std::tie of them");
    return chain_.step(params, std::forward<G>(grads), state_);
  }

  const Chain& transformation() const { return chain_; }
  state_type& state() { return state_; }
  const state_type& state() const { return state_; }

 private:
  Chain chain_;
  state_type state_;
};

// optimizer(chain, params) deduces the parameter-set type from params.
template <class Chain, class P>
optimizer(Chain, const P&) -> optimizer<Chain, P>;

}  // namespace continua::optim
