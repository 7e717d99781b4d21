// sum(r1, r2, ...): several penalties as one, composed at compile time (no virtual calls).
// Kirkpatrick et al., "Overcoming catastrophic forgetting in neural networks", PNAS 2017 (sums
// of quadratic penalties, one per source of importance).
#pragma once

#include <cstddef>
#include <tuple>
#include <type_traits>
#include <utility>

#include "continua/core/parameter_set.hpp"
#include "continua/regularize/regularizer.hpp"

namespace continua::regularize {

// Holds references to its members: observe/consolidate are done on them directly, and they must
// outlive the sum. Example:
//   auto both = regularize::sum(ewc_reg, l2_reg);
//   both.add_gradient(params, grads);   // grads += d(ewc + l2)/d params
template <class... R>
class sum_t {
 public:
  static constexpr const char* name = "sum";

  explicit sum_t(R... members) : members_(std::forward<R>(members)...) {}

  template <parameter_set P>
  double penalty(const P& params) const {
    if constexpr ((detail::check_regularizer_penalty<std::remove_cvref_t<R>, P>() && ...))
      return std::apply([&](const auto&... r) { return (0.0 + ... + r.penalty(params)); },
                        members_);
    else
      return 0.0;
  }

  // Every member's checks, before any member changes grads.
  template <parameter_set P, parameter_set G>
  void validate(const P& params, const G& grads) const {
    if constexpr (gradient_ok<P, G>)
      std::apply([&](const auto&... r) { (r.validate(params, grads), ...); }, members_);
  }

  template <parameter_set P, parameter_set G>
  void add_gradient(const P& params, G& grads) const {
    validate(params, grads);
    if constexpr (gradient_ok<P, G>)
      std::apply([&](const auto&... r) { (r.add_gradient(params, grads), ...); }, members_);
  }

  const std::tuple<R...>& members() const { return members_; }

 private:
  // Every member checked (regularize/regularizer.hpp) before any is called.
  template <class P, class G>
  static constexpr bool gradient_ok =
      (detail::check_regularizer_gradient<std::remove_cvref_t<R>, P, G>() && ...);

  std::tuple<R...> members_;
};

// The sum of regularizers, held by reference: penalty = sum of penalties, add_gradient adds
// each gradient in turn (after validating all of them, so a throw changes nothing).
template <class... R>
sum_t<R&...> sum(R&... r) {
  static_assert(sizeof...(R) > 0, "continua::regularize::sum needs at least one regularizer");
  return sum_t<R&...>(r...);
}

}  // namespace continua::regularize
