// Riemannian Walk: EMA of the empirical Fisher plus a path-integral parameter score normalised
// by the Fisher-weighted squared step, averaged over tasks.
// Chaudhry et al., "Riemannian Walk for Incremental Learning", ECCV 2018, eq. 6-8.
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

// Per observed step k (d = theta(k+1) - theta(k)):
//   F = fisher_decay * F + (1 - fisher_decay) * g^2           (F updated first, then used)
//   s_task += -g d / (1/2 F d^2 + epsilon)
// consolidate: s = s_task after the first task, then s = (s + s_task) / 2;
//   importance = F + s, anchor = params;  penalty = strength * sum_i importance_i (p - anchor)^2
// (the paper's lambda, no 1/2).
struct rwalk_options {
  double strength = 1.0;      // lambda >= 0
  double fisher_decay = 0.9;  // weight of the old Fisher in the EMA, in [0, 1)
  double epsilon = 1e-3;      // > 0
};

namespace detail {
template <class T, class Space>
struct rwalk_slot {
  buffer<T, Space> fisher;      // running EMA, never reset
  buffer<T, Space> task_score;  // path-integral score of the current task
  buffer<T, Space> previous;    // params after the last observed step
  buffer<T, Space> score;       // averaged score of the finished tasks
  buffer<T, Space> importance;  // F (frozen at the last consolidate) + score
  buffer<T, Space> anchor;
  std::size_t size() const { return anchor.size(); }
  template <class V>
  void describe_state(V& v) {
    v.field("fisher", fisher);
    v.field("task_score", task_score);
    v.field("previous", previous);
    v.field("score", score);
    v.field("importance", importance);
    v.field("anchor", anchor);
  }
  // The Fisher is an average of g^2, so >= 0; the scores (and importance = F + score) may be
  // negative where a step went against the gradient.
  void validate_state() const {
    check_state_values("fisher", fisher, true);
    check_state_values("task_score", task_score, false);
    check_state_values("previous", previous, false);
    check_state_values("score", score, false);
    check_state_values("importance", importance, false);
    check_state_values("anchor", anchor, false);
  }
  // What the counters imply: consolidate resets the task score and is the only writer of the
  // averaged score and the importance (the Fisher is a running average from the first step on).
  void validate_counters(std::uint64_t observed, std::size_t tasks) const {
    if (observed == 0) check_state_zero("task_score", task_score, nothing_observed_yet);
    if (tasks == 0) {
      check_state_zero("score", score, no_task_yet);
      check_state_zero("importance", importance, no_task_yet);
    }
  }
};

template <class T>
struct rwalk_observe_kernel {
  T* fisher;
  T* task_score;
  T* previous;
  const T* g;
  const T* after;
  T decay;
  T epsilon;
  CONTINUA_HD void operator()(std::size_t i) const {
    const T gi = g[i];
    const T f = decay * fisher[i] + (T(1) - decay) * gi * gi;
    const T d = after[i] - previous[i];
    fisher[i] = f;
    task_score[i] -= gi * d / (T(0.5) * f * d * d + epsilon);
    previous[i] = after[i];
  }
};

template <class T>
struct rwalk_consolidate_kernel {
  T* fisher;
  T* task_score;
  T* previous;
  T* score;
  T* importance;
  T* anchor;
  const T* p;
  bool first;
  CONTINUA_HD void operator()(std::size_t i) const {
    const T s = first ? task_score[i] : T(0.5) * (score[i] + task_score[i]);
    score[i] = s;
    importance[i] = fisher[i] + s;
    task_score[i] = T(0);
    previous[i] = p[i];
    anchor[i] = p[i];
  }
};
}  // namespace detail

// Example:
//   regularize::rwalk reg({.strength = 1.0}, params);
//   grads = task_grad(params); opt.step(params, grads_copy); reg.observe(grads, params);
//   ... reg.consolidate(params) at the task boundary.
template <parameter_set P>
class rwalk : public importance_penalty<rwalk_options, P, detail::rwalk_slot, "rwalk", "steps"> {
  using base = importance_penalty<rwalk_options, P, detail::rwalk_slot, "rwalk", "steps">;

 public:
  // params: the parameters at the start of the first task.
  rwalk(rwalk_options o, const P& params) : base(o, params, strength_convention::whole) {
    const rwalk_options& opt = this->opt_;
    require_option(opt.fisher_decay >= 0 && opt.fisher_decay < 1, base::component_context,
                   "fisher_decay", opt.fisher_decay, "must lie in [0, 1)");
    detail::check_positive(base::component_context, "epsilon", opt.epsilon);
    require_finite(base::component_context, "params", params);
    detail::copy_to_slots(
        params, this->slots_, [](auto& s) -> auto& { return s.previous; });
  }

  void observe(const P& grads, const P& params_after_step) {
    this->observe_step(grads, params_after_step, [&](auto& s, const auto& g, const auto& after) {
      using T = value_t<decltype(g)>;
      return detail::rwalk_observe_kernel<T>{s.fisher.data(),
                                             s.task_score.data(),
                                             s.previous.data(),
                                             continua::data(g),
                                             continua::data(after),
                                             static_cast<T>(this->opt_.fisher_decay),
                                             static_cast<T>(this->opt_.epsilon)};
    });
  }

  // Throws invalid_argument when no step was observed since the last one.
  void consolidate(const P& params) {
    const bool first = this->tasks_ == 0;
    this->consolidate_pass(
        params, "no step observed since the last consolidate (call observe)",
        [&](auto& s, const auto& p) {
          using T = value_t<decltype(p)>;
          return detail::rwalk_consolidate_kernel<T>{
              s.fisher.data(),     s.task_score.data(), s.previous.data(), s.score.data(),
              s.importance.data(), s.anchor.data(),     continua::data(p), first};
        });
  }

  // The checkpoint (tensors, tasks, steps, then the six buffers of each t<k>) comes from the base.
};

}  // namespace continua::regularize
