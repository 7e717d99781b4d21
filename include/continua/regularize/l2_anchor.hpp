// L2 anchor (L2-SP): a quadratic pull towards the parameters of the last consolidation.
// Li, Grandvalet & Davoine, "Explicit Inductive Bias for Transfer Learning with CNNs", ICML 2018.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <tuple>

#include "continua/regularize/detail_state.hpp"

namespace continua::regularize {

// penalty = strength / 2 * sum_i (p_i - anchor_i)^2 ; 0 before the first consolidate.
struct l2_anchor_options {
  double strength = 1.0;  // lambda >= 0
};

namespace detail {
template <class T, class Space>
struct l2_anchor_slot {
  static constexpr const char* names[] = {"anchor"};
  buffer<T, Space> anchor;
  std::size_t size() const { return anchor.size(); }
  auto fields() { return std::tie(anchor); }
  auto fields() const { return std::tie(anchor); }
};
}  // namespace detail

// Example:
//   regularize::l2_anchor reg({.strength = 1e-2}, params);
//   reg.consolidate(pretrained);  ...  reg.add_gradient(params, grads);
template <parameter_set P>
class l2_anchor {
 public:
  static constexpr const char* name = "l2_anchor";
  using options_type = l2_anchor_options;

  // params gives the shape of the set only; nothing is anchored until consolidate().
  l2_anchor(l2_anchor_options o, const P& params)
      : opt_(o), slots_(detail::make_slots<detail::l2_anchor_slot>(params)) {
    detail::check_strength(name, opt_.strength);
  }

  // anchor = params.
  void consolidate(const P& params) {
    const char* ctx = "l2_anchor.consolidate";
    detail::check_slots(ctx, "params", params, slots_);
    require_finite(ctx, "params", params);
    detail::for_each_slot_pass(params, slots_, [](auto& s, const auto& p) {
      using T = value_t<decltype(p)>;
      return detail::copy_kernel<T>{s.anchor.data(), continua::data(p)};
    });
    ++tasks_;
  }

  double penalty(const P& params) const {
    detail::check_slots("l2_anchor.penalty", "params", params, slots_);
    if (tasks_ == 0) return 0.0;
    return 0.5 * opt_.strength *
           detail::unweighted_square_sum(
               params, slots_, [](const auto& s) -> const auto& { return s.anchor; });
  }

  // The checks add_gradient runs, without changing anything.
  template <parameter_set G>
  void validate(const P& params, const G& grads) const {
    detail::check_gradient_call("l2_anchor.add_gradient", params, grads, slots_);
  }

  // grads += strength * (params - anchor).
  template <parameter_set G>
  void add_gradient(const P& params, G& grads) const {
    validate(params, grads);
    if (tasks_ == 0) return;
    detail::add_unweighted_gradient(
        "l2_anchor.add_gradient", params, grads, slots_, opt_.strength,
        [](const auto& s) -> const auto& { return s.anchor; });
  }

  std::size_t tasks() const { return tasks_; }
  const options_type& options() const { return opt_; }

  void save(const std::filesystem::path& path) const {
    io::checkpoint_writer w("regularize.l2_anchor", detail::checkpoint_schema);
    w.add_scalar("tasks", static_cast<std::uint64_t>(tasks_));
    detail::write_slots(w, slots_);
    w.save(path);
  }

  void load(const std::filesystem::path& path) {
    detail::staged_load in(path, "regularize.l2_anchor");
    const auto tasks = in.scalar<std::uint64_t>("tasks");
    in.slots(slots_);
    in.commit([&] { tasks_ = static_cast<std::size_t>(tasks); });
  }

 private:
  options_type opt_;
  per_tensor_t<P, detail::l2_anchor_slot> slots_;
  std::size_t tasks_ = 0;
};

}  // namespace continua::regularize
