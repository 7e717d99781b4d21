// anchored_quadratic: the base of the quadratic penalties strength-scaled sum_i w_i (p_i - a_i)^2
// that pull parameters towards anchors (L2 anchor, EWC, SI, MAS, RWalk). EWC form: Kirkpatrick
// et al., "Overcoming catastrophic forgetting in neural networks", PNAS 2017.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string_view>
#include <type_traits>

#include "continua/core/parameter_set.hpp"
#include "continua/core/per_tensor.hpp"
#include "continua/io/checkpoint.hpp"
#include "continua/regularize/detail/checkpoint.hpp"
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
// regularize/detail/slots.hpp: `names`, fields(), size()) and has an `anchor` buffer; Weight
// picks w (unit_weight or a functor over a slot). Options has `strength` (checked here); Name
// ("ewc") names the component in errors and its checkpoint kind ("regularize.ewc").
//
// A derived class fills slots_, counts tasks_ in its consolidate, may fold a constant into
// offset_ (EWC's merged separate penalties), and declares save/load through save_checkpoint /
// load_checkpoint with the scalars it adds.
template <class Options, parameter_set P, template <class, class> class Slot,
          detail::fixed_name Name, class Weight>
class anchored_quadratic {
 public:
  static constexpr const char* name = Name.text;
  using options_type = Options;

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

 protected:
  // Checks strength, and builds zero slots shaped like params.
  anchored_quadratic(Options o, const P& params, strength_convention convention)
      : opt_(o),
        slots_(detail::make_slots<Slot>(params)),
        scale_((convention == strength_convention::half ? 1.0 : 2.0) * o.strength) {
    detail::check_strength(name, opt_.strength);
  }

  // The checkpoint (kind "regularize.<Name>", schema 1): the scalars of `leading`, "tasks", those
  // of `trailing`, then every buffer of every slot (detail::write_slots). Each of leading and
  // trailing is a scalars callable (see detail::no_scalars).
  template <class Leading = detail::no_scalars, class Trailing = detail::no_scalars>
  void save_checkpoint(const std::filesystem::path& path, Leading leading = {},
                       Trailing trailing = {}) const {
    io::checkpoint_writer w(kind.text, detail::checkpoint_schema);
    leading(w);
    w.add_scalar("tasks", static_cast<std::uint64_t>(tasks_));
    trailing(w);
    detail::write_slots(w, slots_);
    w.save(path);
  }

  // Reads a file written by save_checkpoint with the same scalars; everything is read and
  // checked before anything is stored, so a throw leaves the state as it was.
  template <class Leading = detail::no_scalars, class Trailing = detail::no_scalars>
  void load_checkpoint(const std::filesystem::path& path, Leading leading = {},
                       Trailing trailing = {}) {
    detail::staged_load in(path, kind.text);
    auto store_leading = leading(in);
    const auto tasks = in.scalar<std::uint64_t>("tasks");
    auto store_trailing = trailing(in);
    in.slots(slots_);
    in.commit([&] {
      tasks_ = static_cast<std::size_t>(tasks);
      store_leading();
      store_trailing();
    });
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

  static constexpr const char* penalty_context = detail::joined_name<Name, ".penalty">.text;
  static constexpr const char* gradient_context = detail::joined_name<Name, ".add_gradient">.text;
  static constexpr auto kind = detail::joined_name<"regularize.", Name>;
  static constexpr auto anchor_of = [](const auto& s) -> const auto& { return s.anchor; };

  double scale_;  // d penalty / d p = scale_ w (p - anchor)
};

}  // namespace continua::regularize
