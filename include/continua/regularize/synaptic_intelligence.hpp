// Synaptic Intelligence: per-parameter importance from the path integral of the gradient along
// the training trajectory, normalised by the squared total displacement plus damping.
// Zenke, Poole & Ganguli, "Continual Learning Through Synaptic Intelligence", ICML 2017, eq. 4-5.
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

// penalty = strength * sum_i Omega_i (p_i - anchor_i)^2 (the paper's c, no 1/2), with
// Omega_i = sum over finished tasks of omega_i / (Delta_i^2 + damping),
// omega_i = -sum_steps g_i (theta_i(k+1) - theta_i(k)), Delta_i = theta_i(end) - theta_i(start).
struct si_options {
  double strength = 1.0;  // c >= 0
  double damping = 0.1;   // xi > 0
};

namespace detail {
template <class T, class Space>
struct si_slot {
  buffer<T, Space> omega;       // path integral of the current task
  buffer<T, Space> previous;    // params after the last observed step
  buffer<T, Space> anchor;      // params at the start of the current task (= last consolidate)
  buffer<T, Space> importance;  // Omega
  std::size_t size() const { return anchor.size(); }
  template <class V>
  void describe_state(V& v) {
    v.field("omega", omega);
    v.field("previous", previous);
    v.field("anchor", anchor);
    v.field("importance", importance);
  }
  // Finite only: a step against the gradient (momentum, noise) makes omega, and so Omega,
  // negative for some parameters, and the paper does not clip it.
  void validate_state() const {
    check_state_values("omega", omega, false);
    check_state_values("previous", previous, false);
    check_state_values("anchor", anchor, false);
    check_state_values("importance", importance, false);
  }
  // What the counters imply: consolidate resets omega and is the only writer of Omega.
  void validate_counters(std::uint64_t observed, std::size_t tasks) const {
    if (observed == 0) check_state_zero("omega", omega, nothing_observed_yet);
    if (tasks == 0) check_state_zero("importance", importance, no_task_yet);
  }
};

template <class T>
struct si_start_kernel {
  T* previous;
  T* anchor;
  const T* p;
  CONTINUA_HD void operator()(std::size_t i) const {
    previous[i] = p[i];
    anchor[i] = p[i];
  }
};

template <class T>
struct si_observe_kernel {
  T* omega;
  T* previous;
  const T* g;
  const T* after;
  CONTINUA_HD void operator()(std::size_t i) const {
    omega[i] -= g[i] * (after[i] - previous[i]);
    previous[i] = after[i];
  }
};

template <class T>
struct si_consolidate_kernel {
  T* omega;
  T* previous;
  T* anchor;
  T* importance;
  const T* p;
  T damping;
  CONTINUA_HD void operator()(std::size_t i) const {
    const T delta = p[i] - anchor[i];
    importance[i] += omega[i] / (delta * delta + damping);
    omega[i] = T(0);
    previous[i] = p[i];
    anchor[i] = p[i];
  }
};
}  // namespace detail

// Pass the gradient of the task loss (without the penalty) that the optimizer step used, and
// the parameters after that step. Example:
//   regularize::synaptic_intelligence reg({.strength = 0.1, .damping = 0.1}, params);
//   grads = task_grad(params); opt.step(params, grads_copy); reg.observe(grads, params);
template <parameter_set P>
class synaptic_intelligence
    : public importance_penalty<si_options, P, detail::si_slot, "synaptic_intelligence", "steps"> {
  using base = importance_penalty<si_options, P, detail::si_slot, "synaptic_intelligence", "steps">;

 public:
  // params: the parameters at the start of the first task.
  synaptic_intelligence(si_options o, const P& params)
      : base(o, params, strength_convention::whole) {
    detail::check_positive(base::component_context, "damping", this->opt_.damping);
    require_finite(base::component_context, "params", params);
    detail::for_each_slot_pass(params, this->slots_, [](auto& s, const auto& p) {
      using T = value_t<decltype(p)>;
      return detail::si_start_kernel<T>{s.previous.data(), s.anchor.data(), continua::data(p)};
    });
  }

  // omega -= grads * (params_after_step - previous params); previous = params_after_step.
  void observe(const P& grads, const P& params_after_step) {
    this->observe_step(grads, params_after_step, [](auto& s, const auto& g, const auto& after) {
      using T = value_t<decltype(g)>;
      return detail::si_observe_kernel<T>{s.omega.data(), s.previous.data(), continua::data(g),
                                          continua::data(after)};
    });
  }

  // Omega += omega / ((params - start)^2 + damping); the next task starts (and is anchored) at
  // params. Throws invalid_argument when no step was observed since the last one.
  void consolidate(const P& params) {
    this->consolidate_pass(params, "no step observed since the last consolidate (call observe)",
                           [&](auto& s, const auto& p) {
                             using T = value_t<decltype(p)>;
                             return detail::si_consolidate_kernel<T>{
                                 s.omega.data(),    s.previous.data(),
                                 s.anchor.data(),   s.importance.data(),
                                 continua::data(p), static_cast<T>(this->opt_.damping)};
                           });
  }

  // The checkpoint (tensors, tasks, steps, t<k>/omega|previous|anchor|importance) comes from the
  // base.
};

}  // namespace continua::regularize
