// The gradient-transformation protocol of continua::optim (after optax's GradientTransformation):
// elementwise parts expose a per-element kernel so chain() can fuse them into one pass.
#pragma once

#include <concepts>
#include <cstddef>
#include <string>
#include <tuple>
#include <type_traits>

#include "continua/core/buffer.hpp"
#include "continua/core/error.hpp"
#include "continua/core/parameter_set.hpp"
#include "continua/core/per_tensor.hpp"
#include "continua/core/span.hpp"
#include "continua/optim/concepts.hpp"

namespace continua::optim {

// An elementwise transformation X turns each gradient element into an update element using only
// that element, the matching parameter, per-element state and per-step constants:
//
//   static constexpr bool elementwise = true;
//   static constexpr const char* name = "...";   // in error messages and checkpoint records
//   static constexpr bool reads_grads = false;   // true: prepare() reads the whole gradient set
//                                                //  (e.g. its global norm), so X starts a new pass
//   template <class T, class Space> struct slots;            // per-tensor buffers, may be empty;
//                                                            //  std::size_t size() const and
//                                                            //  fields(): std::tie of the buffers
//   struct scalars;                                          // per-transformation scalars;
//                                                            //  fields(): std::tie of them
//   template <class T, class Space> slots<T, Space> init_slots(std::size_t n) const;
//   scalars init_scalars() const;
//   template <parameter_set G, parameter_set P>
//   constants prepare(const scalars&, const G& grads, const P& params) const;   // per step, host
//   template <class T, class Space>
//   kernel<T> make_kernel(const constants&, slots<T, Space>&) const;
//       // kernel: CONTINUA_HD T operator()(std::size_t i, T g, T p) const -> new g
//   void commit(scalars&) const;                 // advances scalars once the pass has run
//
// A whole-set transformation (not elementwise) instead provides
//   static constexpr bool elementwise = false;
//   template <parameter_set P> state<P> init(const P& params) const;
//   template <...> void validate(const G& grads, const state& s, const P& params) const;
//   template <...> void update(G& grads, state& s, const P& params) const;
//
// continua/optim/concepts.hpp states both as concepts (elementwise_transformation_for,
// whole_transformation_for) and holds the member-by-member checks chain() runs.

// State of an elementwise transformation over parameter set P.
template <class X, class P>
struct elementwise_state {
  typename X::scalars scalars;
  per_tensor_t<P, X::template slots> slots;
};

namespace detail {
// Stands for the state of a part that lacks the members to have one, so that the signatures
// naming the state stay well-formed and chain()'s own check reports the missing member.
struct no_state_of_incomplete_transformation {};

template <class X, class P>
struct state_of_impl {
  using type = no_state_of_incomplete_transformation;
};
template <class X, class P>
requires whole_transformation<X> && has_init<X, P>
struct state_of_impl<X, P> {
  using type = decltype(std::declval<const X&>().init(std::declval<const P&>()));
};
template <class X, class P>
requires elementwise_transformation<X> && has_scalars<X> &&
    (slots_for_all<X, P>()) struct state_of_impl<X, P> {
  using type = elementwise_state<X, std::remove_cvref_t<P>>;
};
}  // namespace detail

// The state type of transformation X over parameter set P (what X's init returns).
template <class X, class P>
using state_of = typename detail::state_of_impl<X, P>::type;

// The initial state of elementwise X over params: init_scalars(), and init_slots per tensor.
template <elementwise_transformation X, parameter_set P>
elementwise_state<X, std::remove_cvref_t<P>> init_elementwise(const X& x, const P& params) {
  return {x.init_scalars(), make_per_tensor<X::template slots>(params, [&](const auto& t) {
            using T = value_t<decltype(t)>;
            using S = memory_space_t<decltype(t)>;
            return x.template init_slots<T, S>(continua::size(t));
          })};
}

// Throws size_mismatch unless every slot of an elementwise state covers its tensor.
template <elementwise_transformation X, parameter_set P>
void validate_elementwise(const char* name, const elementwise_state<X, std::remove_cvref_t<P>>& s,
                          const P& params) {
  if constexpr (tensor_range<P>)
    require_same_size("continua::optim::" + std::string(name) + "::update", "state (tensor count)",
                      s.slots.size(), "params (tensor count)", tensor_count(params));
  for_each_tensor(params, [&](auto index, const auto& t) {
    const auto& slot = slot_at(s.slots, index);
    const std::size_t n = slot.size();
    if (n != 0 && n != continua::size(t))
      throw size_mismatch("continua::optim::" + std::string(name) + "::update",
                          "state (tensor " + std::to_string(std::size_t(index)) + ")", n, "params",
                          continua::size(t));
  });
}

// Slots for stateless transformations.
template <class T, class Space>
struct no_slots {
  std::size_t size() const { return 0; }
  auto fields() { return std::tie(); }
  auto fields() const { return std::tie(); }
};
// Scalars for transformations without per-step scalars (no step count).
struct no_scalars {
  auto fields() { return std::tie(); }
  auto fields() const { return std::tie(); }
};

}  // namespace continua::optim
