// importance_penalty: the base of the penalties that learn a per-parameter importance from
// observations during a task and fold it in at the task boundary (EWC, SI, MAS, RWalk).
// Kirkpatrick et al., "Overcoming catastrophic forgetting in neural networks", PNAS 2017.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

#include "continua/core/error.hpp"
#include "continua/core/finite.hpp"
#include "continua/core/parameter_set.hpp"
#include "continua/regularize/anchored_quadratic.hpp"
#include "continua/regularize/detail/fixed_name.hpp"
#include "continua/regularize/detail/slots.hpp"

namespace continua::regularize {

// An anchored_quadratic whose weight is learnt: observe(...) passes update the slots and count
// observations since the last consolidation (saved as `Counter`, e.g. "samples" or "steps");
// consolidate passes fold the task into weight and anchor, refusing when nothing was observed.
// A member defines observe/consolidate from the protected passes below; its checkpoint adds the
// counter after "tasks" (and any settings or scalars of its own through describe_observed).
template <class Options, parameter_set P, template <class, class> class Slot,
          detail::fixed_name Name, detail::fixed_name Counter, class Weight = importance_weight>
class importance_penalty : public anchored_quadratic<Options, P, Slot, Name, Weight> {
  using base = anchored_quadratic<Options, P, Slot, Name, Weight>;

 public:
  // Observations (samples or steps) since the last consolidate.
  std::uint64_t observed() const { return observed_; }

  // The base's checks, then what the counters imply for each slot (validate_counters: an
  // accumulator is zero when nothing was observed, an importance zero before the first task).
  void validate_state() const {
    base::validate_state();
    for_each_slot(this->slots_, [&](std::size_t k, const auto& s) {
      // Probed with values, not members: nvcc's front end rejects `this->` in a
      // requires-expression.
      if constexpr (requires { s.validate_counters(std::uint64_t{}, std::size_t{}); }) {
        try {
          s.validate_counters(observed_, this->tasks_);
        } catch (const invalid_argument& e) {
          throw invalid_argument(std::string(base::component_context) + ": tensor " +
                                 std::to_string(k) + ": " + e.what() + " (" + Counter.text + " = " +
                                 std::to_string(observed_) +
                                 ", tasks = " + std::to_string(this->tasks_) + ")");
        }
      }
    });
  }

  // anchored_quadratic's checkpoint with the counter (Counter, e.g. "samples") after "tasks".
  template <class V>
  void describe_state(V& v) {
    describe_observed(v, typename base::no_fields{}, typename base::no_fields{});
  }

 protected:
  importance_penalty(Options o, const P& params, strength_convention convention)
      : base(o, params, convention) {}

  // One observation of `set` (named `set_name` in errors): make_kernel(slot, tensor) per tensor.
  template <class Make>
  void observe_pass(std::string_view set_name, const P& set, Make&& make_kernel) {
    check_counter();
    detail::check_observed(observe_context, set_name, set, this->slots_);
    detail::for_each_slot_pass(set, this->slots_, make_kernel);
    ++observed_;
  }

  // One optimizer step: make_kernel(slot, grads tensor, params_after_step tensor) per tensor.
  template <class Make>
  void observe_step(const P& grads, const P& params_after_step, Make&& make_kernel) {
    check_counter();
    detail::check_observed(observe_context, "grads", grads, this->slots_);
    detail::check_observed(observe_context, "params_after_step", params_after_step, this->slots_);
    detail::for_each_slot_pass2(grads, params_after_step, this->slots_, make_kernel);
    ++observed_;
  }

  // Ends a task in one pass: make_kernel(slot, params tensor) folds the task into weight and
  // anchors. Throws invalid_argument with `nothing_observed` when nothing was observed since the
  // last one.
  template <class Make>
  void consolidate_pass(const P& params, std::string_view nothing_observed, Make&& make_kernel) {
    begin_consolidate(params, nothing_observed);
    detail::for_each_slot_pass(params, this->slots_, make_kernel);
    end_consolidate();
  }

  // The checks and the bookkeeping of consolidate_pass, for a consolidation of several passes:
  // begin_consolidate throws before anything changes; end_consolidate starts the next task.
  void begin_consolidate(const P& params, std::string_view nothing_observed) const {
    detail::check_slots(consolidate_context, "params", params, this->slots_);
    require(observed_ > 0, consolidate_context, nothing_observed);
    this->check_task_counter(consolidate_context);
    require_finite(consolidate_context, "params", params);
  }
  void end_consolidate() {
    observed_ = 0;
    ++this->tasks_;
  }

  // describe_anchored with the counter first among the scalars: settings(v) after "tensors",
  // then "tasks", Counter, scalars(v) and the slots.
  template <class V, class Settings, class Scalars>
  void describe_observed(V& v, Settings&& settings, Scalars&& scalars) {
    this->describe_anchored(v, settings, [&](V& w) {
      w.field(Counter.text, observed_);
      scalars(w);
    });
  }

  std::uint64_t observed_ = 0;

 private:
  // The observation counter refuses to wrap (to 0, which would read as "nothing observed"):
  // an observe at UINT64_MAX throws before anything changes. Only a loaded state gets there.
  // (No string is built unless it throws: observe runs every step.)
  void check_counter() const {
    if (observed_ == std::numeric_limits<std::uint64_t>::max())
      throw invalid_argument(std::string(observe_context) + ": " + Counter.text +
                             " is at its maximum (2^64 - 1); consolidate before observing more");
  }

  static constexpr const char* observe_context = detail::call_context<Name, "::observe">.text;
  static constexpr const char* consolidate_context =
      detail::call_context<Name, "::consolidate">.text;
};

}  // namespace continua::regularize
