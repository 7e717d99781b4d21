// anchored_quadratic: the base of the quadratic penalties strength-scaled sum_i w_i (p_i - a_i)^2
// that pull parameters towards anchors (L2 anchor, EWC, SI, MAS, RWalk). EWC form: Kirkpatrick
// et al., "Overcoming catastrophic forgetting in neural networks", PNAS 2017.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <type_traits>

#include "continua/core/error.hpp"
#include "continua/core/parameter_set.hpp"
#include "continua/core/per_tensor.hpp"
#include "continua/regularize/detail/fixed_name.hpp"
#include "continua/regularize/detail/options.hpp"
#include "continua/regularize/detail/quadratic.hpp"
#include "continua/regularize/detail/slots.hpp"

namespace continua::regularize {

// How `strength` scales q = sum_i w_i (p_i - a_i)^2, following each paper so that published
// hyperparameters carry over: `half` (L2-SP, EWC) penalty = strength / 2 q, `whole` (SI, MAS,
// RWalk) penalty = strength q.
enum class strength_convention { half, whole };

// The weight w_i of the quadratic, picked from a slot: unit_weight (every w_i = 1, the L2
// anchor) or a functor returning one of the slot's buffers, such as importance_weight.
struct unit_weight {};
// w_i = the slot's `importance` buffer (SI, MAS, RWalk).
struct importance_weight {
  template <class S>
  const auto& operator()(const S& s) const {
    return s.importance;
  }
};

// What every anchored penalty shares, so a member keeps only how it fills its slots:
//   penalty = strength * c * (sum_i w_i (p_i - anchor_i)^2 + offset),  c = 1/2 or 1 (Convention)
//   add_gradient: grads += 2 c strength w (params - anchor), one fused pass per tensor,
// both 0 before the first consolidation. Slot<T, Space> is the per-tensor state (see
// regularize/detail/slots.hpp: describe_state, size(), optionally validate_state) and has an
// `anchor` buffer; Weight picks w (unit_weight or a functor over a slot). Options has `strength`
// (checked here); Name ("ewc") names the component in errors and its checkpoint kind
// ("regularize.ewc").
//
// A derived class fills slots_, counts tasks_ in its consolidate and may fold a constant into
// offset_ (EWC's merged separate penalties). It is checkpointable as it stands
// (continua::io::save / io::load, continua/io/state.hpp); one with settings or scalars of its
// own describes them through describe_anchored's hooks.
template <class Options, parameter_set P, template <class, class> class Slot,
          detail::fixed_name Name, class Weight>
class anchored_quadratic {
 public:
  static constexpr const char* name = Name.text;
  // "continua::regularize::<name>": the component in option and state errors.
  static constexpr const char* component_context = detail::call_context<Name>.text;
  using options_type = Options;

 private:
  static constexpr auto kind = detail::joined_name<"regularize.", Name>;

 public:
  double penalty(const P& params) const {
    detail::check_slots(penalty_context, "params", params, slots_);
    if (tasks_ == 0) return 0.0;
    return 0.5 * scale_ * (quadratic(params) + offset_);
  }

  // The checks add_gradient runs, without changing anything.
  template <parameter_set G>
  void validate(const P& params, const G& grads) const {
    detail::check_gradient_call(gradient_context, params, grads, slots_);
  }

  template <parameter_set G>
  void add_gradient(const P& params, G& grads) const {
    validate(params, grads);
    if (tasks_ == 0) return;
    if constexpr (std::is_same_v<Weight, unit_weight>)
      detail::add_unweighted_gradient(gradient_context, params, grads, slots_, scale_, anchor_of);
    else
      detail::add_weighted_gradient(gradient_context, params, grads, slots_, scale_, Weight{},
                                    anchor_of);
  }

  // Number of consolidations.
  std::size_t tasks() const { return tasks_; }
  const options_type& options() const { return opt_; }

  // The checkpoint (continua::io::save / io::load): "tensors" (the number of tensors, which a
  // file must share), "tasks", then each tensor's slot as t<k>/<buffer>. The options are the
  // object's own and are not overwritten by a load.
  static constexpr std::string_view checkpoint_kind = kind.text;
  static constexpr std::uint32_t checkpoint_schema = 1;
  template <class V>
  void describe_state(V& v) {
    describe_anchored(v, no_fields{}, no_fields{});
  }
  // What a loaded state must mean (each slot checks its own buffers as it is read).
  void validate_state() const {
    require(
        std::isfinite(offset_) && offset_ >= 0, component_context,
        "the penalty's constant offset must be finite and >= 0, found " + std::to_string(offset_));
  }

 protected:
  // Checks strength, and builds zero slots shaped like params.
  anchored_quadratic(Options o, const P& params, strength_convention convention)
      : opt_(o),
        slots_(detail::make_slots<Slot>(params)),
        scale_((convention == strength_convention::half ? 1.0 : 2.0) * o.strength) {
    detail::check_strength(component_context, opt_.strength);
  }

  // For a consolidate, before it changes anything: the task counter refuses to wrap to 0 (which
  // would switch the penalty off). Only a loaded state can be at SIZE_MAX.
  void check_task_counter(std::string_view context) const {
    require(tasks_ < std::numeric_limits<std::size_t>::max(), context,
            "tasks is at its maximum (SIZE_MAX); no further task can be counted");
  }

  // A hook of describe_anchored that describes nothing.
  struct no_fields {
    template <class V>
    void operator()(V&) const {}
  };

  // The description behind describe_state, with two hooks a derived class fills through its own
  // describe_state: settings(v) after "tensors" (what a file must share, e.g. EWC's mode) and
  // scalars(v) after "tasks" (its counters and constants).
  template <class V, class Settings, class Scalars>
  void describe_anchored(V& v, Settings&& settings, Scalars&& scalars) {
    v.expect("tensors", static_cast<std::uint64_t>(slot_count(slots_)));
    settings(v);
    v.field("tasks", tasks_);
    scalars(v);
    for_each_slot(slots_, [&](std::size_t k, auto& s) { v.field("t" + std::to_string(k), s); });
  }

  options_type opt_;
  per_tensor_t<P, Slot> slots_;
  std::size_t tasks_ = 0;
  double offset_ = 0;

 private:
  double quadratic(const P& params) const {
    if constexpr (std::is_same_v<Weight, unit_weight>)
      return detail::unweighted_square_sum(params, slots_, anchor_of);
    else
      return detail::weighted_square_sum(params, slots_, Weight{}, anchor_of);
  }

  static constexpr const char* penalty_context = detail::call_context<Name, "::penalty">.text;
  static constexpr const char* gradient_context = detail::call_context<Name, "::add_gradient">.text;
  static constexpr auto anchor_of = [](const auto& s) -> const auto& { return s.anchor; };

  double scale_;  // d penalty / d p = scale_ w (p - anchor)
};

}  // namespace continua::regularize
