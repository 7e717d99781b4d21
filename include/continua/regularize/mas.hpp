// Memory Aware Synapses: importance = mean magnitude of the gradient of the squared L2 norm of
// the model output, blended across tasks.
// Aljundi et al., "Memory Aware Synapses: Learning what (not) to forget", ECCV 2018, eq. 2-3.
#pragma once

#include <cstddef>

#include "continua/config.hpp"
#include "continua/core/buffer.hpp"
#include "continua/core/error.hpp"
#include "continua/core/finite.hpp"
#include "continua/core/parameter_set.hpp"
#include "continua/regularize/detail/options.hpp"
#include "continua/regularize/detail/slots.hpp"
#include "continua/regularize/importance_penalty.hpp"

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
  buffer<T, Space> accum;  // sum of |g| over the current task
  buffer<T, Space> importance;
  buffer<T, Space> anchor;
  std::size_t size() const { return anchor.size(); }
  template <class V>
  void describe_state(V& v) {
    v.field("accum", accum);
    v.field("importance", importance);
    v.field("anchor", anchor);
  }
  // Sums and blends of |g| are >= 0.
  void validate_state() const {
    check_state_values("accum", accum, true);
    check_state_values("importance", importance, true);
    check_state_values("anchor", anchor, false);
  }
  // What the counters imply: consolidate resets the accumulator and is the only writer of Omega.
  void validate_counters(std::uint64_t observed, std::size_t tasks) const {
    if (observed == 0) check_state_zero("accum", accum, nothing_observed_yet);
    if (tasks == 0) check_state_zero("importance", importance, no_task_yet);
  }
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
class mas : public importance_penalty<mas_options, P, detail::mas_slot, "mas", "samples"> {
  using base = importance_penalty<mas_options, P, detail::mas_slot, "mas", "samples">;

 public:
  mas(mas_options o, const P& params) : base(o, params, strength_convention::whole) {
    detail::check_unit_interval(base::component_context, "blend", this->opt_.blend);
  }

  // importance accumulator += |output_norm_grads|.
  void observe(const P& output_norm_grads) {
    this->observe_pass("output_norm_grads", output_norm_grads, [](auto& s, const auto& g) {
      using T = value_t<decltype(g)>;
      return detail::abs_accumulate_kernel<T>{s.accum.data(), continua::data(g)};
    });
  }

  // Blends the task's mean |g| into Omega and anchors at params. Throws invalid_argument when
  // nothing was observed since the last one.
  void consolidate(const P& params) {
    this->consolidate_pass(params, "no gradient observed since the last consolidate (call observe)",
                           [&](auto& s, const auto& p) {
                             using T = value_t<decltype(p)>;
                             const double inv = 1.0 / static_cast<double>(this->observed_);
                             const double keep = this->tasks_ == 0 ? 0.0 : this->opt_.blend;
                             return detail::mas_consolidate_kernel<T>{
                                 s.accum.data(),    s.importance.data(), s.anchor.data(),
                                 continua::data(p), static_cast<T>(inv), static_cast<T>(keep)};
                           });
  }

  // The checkpoint (tensors, tasks, samples, t<k>/accum|importance|anchor) comes from the base.
};

}  // namespace continua::regularize
