// chain(t1, t2, ...): composes gradient transformations; consecutive elementwise parts run as
// ONE pass over memory (fusion), and step() also fuses the final params += update.
#pragma once

#include <cstddef>
#include <tuple>
#include <type_traits>
#include <utility>

#include "continua/config.hpp"
#include "continua/core/finite.hpp"
#include "continua/core/kernel.hpp"
#include "continua/optim/transformation.hpp"

namespace continua::optim {

// What a step does when the gradients hold NaN or Inf (checked before anything changes).
enum class nan_policy {
  throw_error,  // throw continua::non_finite_error; params and state untouched (default)
  skip_step,    // return false; params and state untouched
  propagate,    // no check (saves one read pass over the gradients)
};

namespace detail {

template <class... K>
struct kernel_pack;

template <>
struct kernel_pack<> {
  template <class T>
  CONTINUA_HD T operator()(std::size_t, T g, T) const {
    return g;
  }
};

template <class K, class... R>
struct kernel_pack<K, R...> {
  K head;
  kernel_pack<R...> tail;
  template <class T>
  CONTINUA_HD T operator()(std::size_t i, T g, T p) const {
    return tail(i, head(i, g, p), p);
  }
};

inline kernel_pack<> make_pack() { return {}; }
template <class K, class... R>
kernel_pack<K, R...> make_pack(const K& k, const R&... rest) {
  return {k, make_pack(rest...)};
}

// One fused pass: u = kernels(g); then either g = u (update) or p += u (step).
template <class T, class PT, class Pack, bool Apply>
struct fused_pass {
  T* g;
  PT* p;
  Pack pack;
  CONTINUA_HD void operator()(std::size_t i) const {
    const T u = pack(i, g[i], p[i]);
    if constexpr (Apply)
      p[i] = p[i] + u;
    else
      g[i] = u;
  }
};

template <class T>
struct add_pass {
  T* p;
  const T* u;
  CONTINUA_HD void operator()(std::size_t i) const { p[i] = p[i] + u[i]; }
};

template <class X>
constexpr bool reads_grads_v() {
  if constexpr (requires { X::reads_grads; })
    return X::reads_grads;
  else
    return false;
}

// End of the fused stage starting at B: consecutive elementwise parts, cut before a part whose
// prepare() must read the gradients as they are at that point.
template <std::size_t B, class... Xs>
constexpr std::size_t stage_end() {
  constexpr bool ew[] = {elementwise_transformation<Xs>..., false};
  constexpr bool rg[] = {reads_grads_v<Xs>()..., false};
  std::size_t e = B + 1;
  while (e < sizeof...(Xs) && ew[e] && !rg[e]) ++e;
  return e;
}

}  // namespace detail

// The type chain(t1, t2, ...) returns: parts applied in order, state the tuple of their states
// (state<P>), consecutive elementwise parts fused into one pass. update() turns gradients into
// updates in place; step() also applies them (params += u); both validate first and honour the
// nan_policy (default throw_error). optax: chain.
template <class... Xs>
class chain_t {
  // Each part is checked here, when chain(...) is called, and again with the parameter and
  // gradient types by init/update/step/validate: a missing member is reported by name (see
  // optim/concepts.hpp) before anything below tries to call it.
  // (The fold always holds: a failing check has already stopped the build with its own message.)
  static_assert(((void)detail::check_transformation<Xs>(), ..., true));

  template <class P>
  static constexpr bool init_ok =
      (detail::check_transformation_init<Xs, std::remove_cvref_t<P>>() && ...);
  template <class G, class P>
  static constexpr bool update_ok =
      (detail::check_transformation_update<Xs, std::remove_cvref_t<G>, std::remove_cvref_t<P>>() &&
       ...);

 public:
  static constexpr bool elementwise = false;
  static constexpr std::size_t size = sizeof...(Xs);

  constexpr chain_t() = default;
  explicit constexpr chain_t(Xs... parts) : parts_(std::move(parts)...) {}

  // The nan_policy for update() and step(); returns *this for chaining.
  chain_t& with_nan_policy(nan_policy p) {
    policy_ = p;
    return *this;
  }
  nan_policy policy() const { return policy_; }
  const std::tuple<Xs...>& parts() const { return parts_; }

  template <parameter_set P>
  auto init(const P& params) const {
    if constexpr (init_ok<P>)
      return std::apply(
          [&](const auto&... x) { return state<std::remove_cvref_t<P>>{init_one(x, params)...}; },
          parts_);
  }

  template <class P>
  using state = std::tuple<state_of<Xs, P>...>;

  // Turns grads into updates in place. Returns false when the step was skipped (NaN policy).
  template <parameter_set G, parameter_set P>
  bool update(G&& grads, state<std::remove_cvref_t<P>>& s, const P& params) const {
    if constexpr (update_ok<G, P>) {
      if (!validate(grads, s, params)) return false;
      run_from<0, false>(grads, s, params);
    }
    return true;
  }

  // update + apply_updates: params += updates, fused into the last pass when it is elementwise.
  // grads may be overwritten (they hold intermediate updates between passes).
  template <parameter_set G, parameter_set P>
  bool step(P& params, G&& grads, state<std::remove_cvref_t<P>>& s) const {
    if constexpr (update_ok<G, P>) {
      if (!validate(grads, s, params)) return false;
      run_from<0, true>(grads, s, params);
    }
    return true;
  }

  // step() without its checks, for callers that ran validate() themselves and got true (e.g.
  // param_groups, which validates every group before stepping any).
  template <parameter_set G, parameter_set P>
  void step_validated(P& params, G&& grads, state<std::remove_cvref_t<P>>& s) const {
    if constexpr (update_ok<G, P>) run_from<0, true>(grads, s, params);
  }

  // Checks grads, state and params, then the NaN policy: throws on bad input, returns false when
  // the step is to be skipped. Changes nothing.
  template <parameter_set G, parameter_set P>
  bool validate(const G& grads, const state<std::remove_cvref_t<P>>& s, const P& params) const {
    if constexpr (!update_ok<G, P>) {
      return false;
    } else {
      require_same_structure("continua::optim::chain::update", "grads", grads, "params", params);
      [&]<std::size_t... I>(std::index_sequence<I...>) {
        (validate_one(std::get<I>(parts_), grads, std::get<I>(s), params), ...);
      }
      (std::index_sequence_for<Xs...>{});
      if (policy_ == nan_policy::propagate) return true;
      if (all_finite(grads)) return true;
      if (policy_ == nan_policy::skip_step) return false;
      require_finite("continua::optim::chain::update", "grads", grads);
      return true;
    }
  }

 private:
  template <class X, class P>
  static auto init_one(const X& x, const P& params) {
    if constexpr (elementwise_transformation<X>)
      return init_elementwise(x, params);
    else
      return x.init(params);
  }

  template <class X, class G, class S, class P>
  static void validate_one(const X& x, const G& grads, const S& s, const P& params) {
    if constexpr (elementwise_transformation<X>)
      validate_elementwise<X>(X::name, s, params);
    else
      x.validate(grads, s, params);
  }

  template <std::size_t B, bool Apply, class G, class S, class P>
  void run_from(G& grads, S& s, P& params) const {
    if constexpr (B < sizeof...(Xs)) {
      using X = std::tuple_element_t<B, std::tuple<Xs...>>;
      if constexpr (elementwise_transformation<X>) {
        constexpr std::size_t E = detail::stage_end<B, Xs...>();
        run_stage<B, Apply && E == sizeof...(Xs)>(grads, s, params,
                                                  std::make_index_sequence<E - B>{});
        run_from<E, Apply>(grads, s, params);
      } else {
        std::get<B>(parts_).update(grads, std::get<B>(s), params);
        if constexpr (Apply && B + 1 == sizeof...(Xs)) apply_pass(grads, params);
        run_from<B + 1, Apply>(grads, s, params);
      }
    }
  }

  // Parts B..B+K-1 in one pass over each tensor.
  template <std::size_t B, bool Apply, class G, class S, class P, std::size_t... K>
  void run_stage(G& grads, S& s, P& params, std::index_sequence<K...>) const {
    const auto constants = std::make_tuple(
        std::get<B + K>(parts_).prepare(std::get<B + K>(s).scalars, grads, params)...);
    for_each_tensor_pair(
        "continua::optim::chain::update", "grads", grads, "params", params,
        [&](auto index, auto& g, auto& p) {
          using T = value_t<decltype(g)>;
          using Space = memory_space_t<decltype(g)>;
          static_assert(std::is_same_v<T, value_t<decltype(p)>>,
                        "continua::optim: grads and params tensors must have "
                        "the same element type");
          auto pack = detail::make_pack(std::get<B + K>(parts_).template make_kernel<T, Space>(
              std::get<K>(constants), slot_at(std::get<B + K>(s).slots, index))...);
          using PT = std::conditional_t<Apply, T, const T>;
          for_each_index(Space{}, continua::size(g),
                         detail::fused_pass<T, PT, decltype(pack), Apply>{continua::data(g),
                                                                          continua::data(p), pack});
        });
    (std::get<B + K>(parts_).commit(std::get<B + K>(s).scalars), ...);
  }

  template <class G, class P>
  static void apply_pass(G& grads, P& params) {
    for_each_tensor_pair("continua::optim::chain::step", "params", params, "updates", grads,
                         [&](auto, auto& p, const auto& u) {
                           using T = value_t<decltype(p)>;
                           for_each_index(
                               memory_space_t<decltype(p)>{}, continua::size(p),
                               detail::add_pass<T>{continua::data(p), continua::data(u)});
                         });
  }

  std::tuple<Xs...> parts_;
  nan_policy policy_ = nan_policy::throw_error;
};

// True for chain_t types.
template <class X>
inline constexpr bool is_chain_v = false;
// The chain_t case of is_chain_v.
template <class... Xs>
inline constexpr bool is_chain_v<chain_t<Xs...>> = true;

// Composes transformations, applied in order: chain(clip_by_global_norm(1.0), scale_by_adam{},
// scale_by_learning_rate(1e-3)).
template <class... Xs>
chain_t<std::remove_cvref_t<Xs>...> chain(Xs&&... parts) {
  return chain_t<std::remove_cvref_t<Xs>...>(std::forward<Xs>(parts)...);
}

// params += updates over a whole parameter set.
template <parameter_set P, parameter_set U>
void apply_updates(P& params, const U& updates) {
  require_same_structure("apply_updates", "params", params, "updates", updates);
  for_each_tensor_pair("apply_updates", "params", params, "updates", updates,
                       [&](auto, auto& p, const auto& u) {
                         using T = value_t<decltype(p)>;
                         for_each_index(memory_space_t<decltype(p)>{}, continua::size(p),
                                        detail::add_pass<T>{continua::data(p), continua::data(u)});
                       });
}

}  // namespace continua::optim
