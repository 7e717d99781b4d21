// L2 anchor (L2-SP): a quadratic pull towards the parameters of the last consolidation.
// Li, Grandvalet & Davoine, "Explicit Inductive Bias for Transfer Learning with CNNs", ICML 2018.
#pragma once

#include <cstddef>

#include "continua/core/buffer.hpp"
#include "continua/core/finite.hpp"
#include "continua/core/parameter_set.hpp"
#include "continua/regularize/anchored_quadratic.hpp"
#include "continua/regularize/detail/slots.hpp"

namespace continua::regularize {

// penalty = strength / 2 * sum_i (p_i - anchor_i)^2 ; 0 before the first consolidate.
struct l2_anchor_options {
  double strength = 1.0;  // lambda >= 0
};

namespace detail {
template <class T, class Space>
struct l2_anchor_slot {
  buffer<T, Space> anchor;
  std::size_t size() const { return anchor.size(); }
  template <class V>
  void describe_state(V& v) {
    v.field("anchor", anchor);
  }
  void validate_state() const { check_state_values("anchor", anchor, false); }
};
}  // namespace detail

// Example:
//   regularize::l2_anchor reg({.strength = 1e-2}, params);
//   reg.consolidate(pretrained);  ...  reg.add_gradient(params, grads);
template <parameter_set P>
class l2_anchor : public anchored_quadratic<l2_anchor_options, P, detail::l2_anchor_slot,
                                            "l2_anchor", unit_weight> {
  using base =
      anchored_quadratic<l2_anchor_options, P, detail::l2_anchor_slot, "l2_anchor", unit_weight>;

 public:
  // params gives the shape of the set only; nothing is anchored until consolidate().
  l2_anchor(l2_anchor_options o, const P& params) : base(o, params, strength_convention::half) {}

  // anchor = params.
  void consolidate(const P& params) {
    const char* ctx = "continua::regularize::l2_anchor::consolidate";
    detail::check_slots(ctx, "params", params, this->slots_);
    require_finite(ctx, "params", params);
    this->check_task_counter(ctx);
    detail::copy_to_slots(
        params, this->slots_, [](auto& s) -> auto& { return s.anchor; });
    ++this->tasks_;
  }

  // penalty and add_gradient (grads += strength * (params - anchor)) and the checkpoint (tensors,
  // tasks, t<k>/anchor) come from the base.
};

}  // namespace continua::regularize
