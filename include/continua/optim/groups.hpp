// Parameter groups: different transformations (and options) for different parts of a model,
// stepped together (torch's param_groups, optax's multi_transform).
#pragma once

#include <cstddef>
#include <tuple>
#include <type_traits>
#include <utility>

#include "continua/optim/chain.hpp"

namespace continua::optim {

// One group: a chain, the parameters it owns (a parameter set, typically std::tie(w, b), which
// holds references) and their state.
template <class Chain, class P>
class group {
 public:
  using params_type = P;
  using state_type = typename Chain::template state<std::remove_cvref_t<P>>;

  group(Chain transformation, P params)
      : chain_(std::move(transformation)), params_(params), state_(chain_.init(params_)) {}

  const Chain& transformation() const { return chain_; }
  P& params() { return params_; }
  state_type& state() { return state_; }
  const state_type& state() const { return state_; }

  template <class G>
  bool validate(const G& grads) const {
    return chain_.validate(grads, state_, params_);
  }
  template <class G>
  void step_validated(G& grads) {
    chain_.step_validated(params_, grads, state_);
  }

 private:
  Chain chain_;
  P params_;
  state_type state_;
};

// group(chain, params) keeps params as given: pass std::tie(w, b) to refer to the tensors.
template <class Chain, class P>
group(Chain, P) -> group<Chain, P>;

// Steps every group with its own gradients: step(grads_of_group_0, grads_of_group_1, ...).
// All groups are validated first, so bad input in any group changes no group, and a step that
// any group's nan_policy skips is skipped for all.
template <class... Groups>
class param_groups {
 public:
  explicit param_groups(Groups... groups) : groups_(std::move(groups)...) {}

  template <class... G>
  bool step(G&&... grads) {
    static_assert(sizeof...(G) == sizeof...(Groups),
                  "continua::optim::param_groups::step: pass one gradient set per group");
    auto grad_refs = std::forward_as_tuple(grads...);
    bool all_ok = true;
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      ((all_ok = std::get<I>(groups_).validate(std::get<I>(grad_refs)) && all_ok), ...);
    }
    (std::index_sequence_for<Groups...>{});
    if (!all_ok) return false;
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      (std::get<I>(groups_).step_validated(std::get<I>(grad_refs)), ...);
    }
    (std::index_sequence_for<Groups...>{});
    return true;
  }

  template <std::size_t I>
  auto& get() {
    return std::get<I>(groups_);
  }

 private:
  std::tuple<Groups...> groups_;
};

}  // namespace continua::optim
