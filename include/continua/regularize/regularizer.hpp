// The regularizer concept: what sum() and add_regularizer() need of a continual-learning penalty,
// and the checks they run so that a missing member is named by the compiler.
#pragma once

#include <concepts>
#include <type_traits>

namespace continua::regularize {

// A regularizer R over parameters P and gradients G provides (const members):
//   double penalty(const P& params) const;                  // the penalty's value
//   void validate(const P& params, const G& grads) const;   // throws on bad input, changes nothing
//   void add_gradient(const P& params, G& grads) const;     // grads += d penalty / d params
// Its life cycle (observe, consolidate, save/load) is its own: sum() and add_regularizer() only
// read it, so they ask for nothing more.
template <class R, class P>
concept regularizer_penalty = requires(const R& r, const P& p) {
  { r.penalty(p) } -> std::convertible_to<double>;
};

// R checks a (params, grads) pair without changing anything.
template <class R, class P, class G>
concept regularizer_validate = requires(const R& r, const P& p, const G& g) {
  r.validate(p, g);
};

// R adds its gradient to grads.
template <class R, class P, class G>
concept regularizer_add_gradient = requires(const R& r, const P& p, G& g) {
  r.add_gradient(p, g);
};

// R is a complete regularizer over parameters P and gradients G (all three members above).
template <class R, class P, class G>
concept regularizer_for =
    regularizer_penalty<R, P> && regularizer_validate<R, P, G> && regularizer_add_gradient<R, P, G>;

namespace detail {

// One static_assert per member; the regularizer at fault is the R of the instantiation context
// the compiler prints with the message. Each returns whether R passed, so the caller can skip the
// call that would fail again further in.
template <class R, class P>
constexpr bool check_regularizer_penalty() {
  static_assert(regularizer_penalty<R, P>,
                "continua::regularize: regularizer R lacks `double penalty(const P& params) "
                "const`");
  return regularizer_penalty<R, P>;
}

template <class R, class P, class G>
constexpr bool check_regularizer_gradient() {
  static_assert(regularizer_validate<R, P, G>,
                "continua::regularize: regularizer R lacks `void validate(const P& params, "
                "const G& grads) const` (throws on bad input and changes nothing)");
  static_assert(regularizer_add_gradient<R, P, G>,
                "continua::regularize: regularizer R lacks `void add_gradient(const P& params, "
                "G& grads) const` (grads += d penalty / d params)");
  return regularizer_validate<R, P, G> && regularizer_add_gradient<R, P, G>;
}

}  // namespace detail

}  // namespace continua::regularize
