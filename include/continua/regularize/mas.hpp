// Memory Aware Synapses: importance = mean magnitude of the gradient of the squared L2 norm of
// the model output, blended across tasks.
// Aljundi et al., "Memory Aware Synapses: Learning what (not) to forget", ECCV 2018, eq. 2-3.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <tuple>

#include "continua/regularize/detail_state.hpp"

namespace continua::regularize {

// penalty = strength * sum_i Omega_i (p_i - anchor_i)^2 (the paper's lambda, no 1/2);
// Omega_task = mean over observed samples of |g|; Omega = Omega_task after the first task, then
// Omega = blend * Omega + (1 - blend) * Omega_task.
struct mas_options {
  double strength = 1.0;  // lambda >= 0
  double blend = 0.5;     // in [0, 1]
};

namespace detail {
template <class T, class Space>
struct mas_slot {
  static constexpr const char* names[] = {"accum", "importance", "anchor"};
  buffer<T, Space> accum;  // sum of |g| over the current task
  buffer<T, Space> importance;
  buffer<T, Space> anchor;
  std::size_t size() const { return anchor.size(); }
  auto fields() { return std::tie(accum, importance, anchor); }
  auto fields() const { return std::tie(accum, importance, anchor); }
};

template <class T>
struct abs_accumulate_kernel {
  T* acc;
  const T* g;
  CONTINUA_HD void operator()(std::size_t i) const { acc[i] += g[i] < T(0) ? -g[i] : g[i]; }
};

template <class T>
struct mas_consolidate_kernel {
  T* acc;
  T* importance;
  T* anchor;
  const T* p;
  T inv_count;
  T keep;  // weight of the old importance: 0 for the first task
  CONTINUA_HD void operator()(std::size_t i) const {
    importance[i] = keep * importance[i] + (T(1) - keep) * (acc[i] * inv_count);
    anchor[i] = p[i];
    acc[i] = T(0);
  }
};
}  // namespace detail

// Example (per sample x: g = d ||f(x)||^2 / d params):
//   regularize::mas reg({.strength = 1.0}, params);
//   for (auto& g : output_norm_grads) reg.observe(g);  reg.consolidate(params);
template <parameter_set P>
class mas {
 public:
  static constexpr const char* name = "mas";
  using options = mas_options;

  mas(mas_options o, const P& params)
      : opt_(o), slots_(detail::make_slots<detail::mas_slot>(params)) {
    detail::check_strength(name, opt_.strength);
    detail::check_unit_interval(name, "blend", opt_.blend);
  }

  // importance accumulator += |output_norm_grads|.
  void observe(const P& output_norm_grads) {
    detail::check_observed("mas.observe", "output_norm_grads", output_norm_grads, slots_);
    detail::for_each_slot_pass(output_norm_grads, slots_, [](auto& s, const auto& g) {
      using T = value_t<decltype(g)>;
      return detail::abs_accumulate_kernel<T>{s.accum.data(), continua::data(g)};
    });
    ++samples_;
  }

  // Blends the task's mean |g| into Omega and anchors at params. Throws invalid_argument when
  // nothing was observed since the last one.
  void consolidate(const P& params) {
    const char* ctx = "mas.consolidate";
    detail::check_slots(ctx, "params", params, slots_);
    require(samples_ > 0, ctx, "no gradient observed since the last consolidate (call observe)");
    require_finite(ctx, "params", params);
    const double inv = 1.0 / static_cast<double>(samples_);
    const double keep = tasks_ == 0 ? 0.0 : opt_.blend;
    detail::for_each_slot_pass(params, slots_, [&](auto& s, const auto& p) {
      using T = value_t<decltype(p)>;
      return detail::mas_consolidate_kernel<T>{s.accum.data(),      s.importance.data(),
                                               s.anchor.data(),     continua::data(p),
                                               static_cast<T>(inv), static_cast<T>(keep)};
    });
    samples_ = 0;
    ++tasks_;
  }

  double penalty(const P& params) const {
    detail::check_slots("mas.penalty", "params", params, slots_);
    if (tasks_ == 0) return 0.0;
    return opt_.strength * detail::weighted_square_sum(
                               params, slots_,
                               [](const auto& s) -> const auto& { return s.importance; },
                               [](const auto& s) -> const auto& { return s.anchor; });
  }

  template <parameter_set G>
  void validate(const P& params, const G& grads) const {
    detail::check_gradient_call("mas.add_gradient", params, grads, slots_);
  }

  // grads += 2 strength Omega (params - anchor).
  template <parameter_set G>
  void add_gradient(const P& params, G& grads) const {
    validate(params, grads);
    if (tasks_ == 0) return;
    detail::add_weighted_gradient(
        "mas.add_gradient", params, grads, slots_, 2 * opt_.strength,
        [](const auto& s) -> const auto& { return s.importance; },
        [](const auto& s) -> const auto& { return s.anchor; });
  }

  std::size_t tasks() const { return tasks_; }
  std::uint64_t observed() const { return samples_; }
  const options& get_options() const { return opt_; }

  void save(const std::filesystem::path& path) const {
    io::checkpoint_writer w("regularize.mas", detail::checkpoint_schema);
    w.add_scalar("tasks", static_cast<std::uint64_t>(tasks_));
    w.add_scalar("samples", samples_);
    detail::write_slots(w, slots_);
    w.save(path);
  }

  void load(const std::filesystem::path& path) {
    detail::staged_load in(path, "regularize.mas");
    const auto tasks = in.scalar<std::uint64_t>("tasks");
    const auto samples = in.scalar<std::uint64_t>("samples");
    in.slots(slots_);
    in.commit([&] {
      tasks_ = static_cast<std::size_t>(tasks);
      samples_ = samples;
    });
  }

 private:
  options opt_;
  per_tensor_t<P, detail::mas_slot> slots_;
  std::uint64_t samples_ = 0;
  std::size_t tasks_ = 0;
};

}  // namespace continua::regularize
