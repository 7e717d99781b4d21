// add_regularizer(r): an optim transformation that adds a regularizer's penalty gradient to the
// gradients, so a chain carries it: chain(add_regularizer(r), scale_by_adam(), ...).
// Kirkpatrick et al., "Overcoming catastrophic forgetting in neural networks", PNAS 2017.
#pragma once

#include <tuple>
#include <type_traits>
#include <utility>

#include "continua/core/parameter_set.hpp"
#include "continua/regularize/regularizer.hpp"
#include "continua/regularize/sum.hpp"

namespace continua::regularize {

namespace detail {
template <class T>
struct is_sum : std::false_type {};
template <class... R>
struct is_sum<sum_t<R...>> : std::true_type {};
}  // namespace detail

// A whole-set transformation (optim/transformation.hpp): its update runs grads += d penalty /
// d params with the regularizer's current state, and its validate runs the regularizer's checks
// before any part of the chain changes anything. Stateless: the regularizer's own state is
// saved with the regularizer. Holds a pointer to the regularizer (or a sum_t by value, which is
// itself a set of references).
template <class Holder>
class add_regularizer_t {
 public:
  static constexpr const char* name = "add_regularizer";
  static constexpr bool elementwise = false;
  using regularizer_type = std::remove_cvref_t<std::remove_pointer_t<Holder>>;
  struct state {
    auto fields() { return std::tie(); }
    auto fields() const { return std::tie(); }
  };

  explicit add_regularizer_t(Holder h) : held_(std::move(h)) {}

  template <parameter_set P>
  state init(const P&) const {
    return {};
  }

  template <parameter_set G, parameter_set P>
  void validate(const G& grads, const state&, const P& params) const {
    if constexpr (detail::check_regularizer_gradient<regularizer_type, P, G>())
      regularizer().validate(params, grads);
  }

  template <parameter_set G, parameter_set P>
  void update(G& grads, state&, const P& params) const {
    if constexpr (detail::check_regularizer_gradient<regularizer_type, P, G>())
      regularizer().add_gradient(params, grads);
  }

  const auto& regularizer() const {
    if constexpr (std::is_pointer_v<Holder>)
      return *held_;
    else
      return held_;
  }

 private:
  Holder held_;
};

// r must outlive the chain. A temporary sum(a, b) is kept by value; any other temporary is
// rejected because the transformation would refer to a destroyed regularizer.
template <class R>
auto add_regularizer(R&& r) {
  using D = std::remove_cvref_t<R>;
  if constexpr (std::is_lvalue_reference_v<R>) {
    return add_regularizer_t<std::remove_reference_t<R>*>(&r);
  } else {
    static_assert(detail::is_sum<D>::value,
                  "continua::regularize::add_regularizer keeps a reference to the regularizer: "
                  "pass an lvalue that outlives the chain");
    return add_regularizer_t<D>(std::move(r));
  }
}

}  // namespace continua::regularize
