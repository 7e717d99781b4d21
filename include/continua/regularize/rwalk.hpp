// Riemannian Walk: EMA of the empirical Fisher plus a path-integral parameter score normalised
// by the Fisher-weighted squared step, averaged over tasks.
// Chaudhry et al., "Riemannian Walk for Incremental Learning", ECCV 2018, eq. 6-8.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <tuple>

#include "continua/regularize/detail_state.hpp"

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
  static constexpr const char* names[] = {"fisher", "task_score", "previous",
                                          "score",  "importance", "anchor"};
  buffer<T, Space> fisher;      // running EMA, never reset
  buffer<T, Space> task_score;  // path-integral score of the current task
  buffer<T, Space> previous;    // params after the last observed step
  buffer<T, Space> score;       // averaged score of the finished tasks
  buffer<T, Space> importance;  // F (frozen at the last consolidate) + score
  buffer<T, Space> anchor;
  std::size_t size() const { return anchor.size(); }
  auto fields() { return std::tie(fisher, task_score, previous, score, importance, anchor); }
  auto fields() const { return std::tie(fisher, task_score, previous, score, importance, anchor); }
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
class rwalk {
 public:
  static constexpr const char* name = "rwalk";
  using options = rwalk_options;

  // params: the parameters at the start of the first task.
  rwalk(rwalk_options o, const P& params)
      : opt_(o), slots_(detail::make_slots<detail::rwalk_slot>(params)) {
    detail::check_strength(name, opt_.strength);
    require_option(opt_.fisher_decay >= 0 && opt_.fisher_decay < 1, name, "fisher_decay",
                   opt_.fisher_decay, "must lie in [0, 1)");
    detail::check_positive(name, "epsilon", opt_.epsilon);
    require_finite(name, "params", params);
    detail::for_each_slot_pass(params, slots_, [](auto& s, const auto& p) {
      using T = value_t<decltype(p)>;
      return detail::copy_kernel<T>{s.previous.data(), continua::data(p)};
    });
  }

  void observe(const P& grads, const P& params_after_step) {
    const char* ctx = "rwalk.observe";
    detail::check_observed(ctx, "grads", grads, slots_);
    detail::check_observed(ctx, "params_after_step", params_after_step, slots_);
    detail::for_each_slot_pass2(
        grads, params_after_step, slots_, [&](auto& s, const auto& g, const auto& after) {
          using T = value_t<decltype(g)>;
          return detail::rwalk_observe_kernel<T>{s.fisher.data(),
                                                 s.task_score.data(),
                                                 s.previous.data(),
                                                 continua::data(g),
                                                 continua::data(after),
                                                 static_cast<T>(opt_.fisher_decay),
                                                 static_cast<T>(opt_.epsilon)};
        });
    ++steps_;
  }

  // Throws invalid_argument when no step was observed since the last one.
  void consolidate(const P& params) {
    const char* ctx = "rwalk.consolidate";
    detail::check_slots(ctx, "params", params, slots_);
    require(steps_ > 0, ctx, "no step observed since the last consolidate (call observe)");
    require_finite(ctx, "params", params);
    const bool first = tasks_ == 0;
    detail::for_each_slot_pass(params, slots_, [&](auto& s, const auto& p) {
      using T = value_t<decltype(p)>;
      return detail::rwalk_consolidate_kernel<T>{
          s.fisher.data(),     s.task_score.data(), s.previous.data(), s.score.data(),
          s.importance.data(), s.anchor.data(),     continua::data(p), first};
    });
    steps_ = 0;
    ++tasks_;
  }

  double penalty(const P& params) const {
    detail::check_slots("rwalk.penalty", "params", params, slots_);
    if (tasks_ == 0) return 0.0;
    return opt_.strength * detail::weighted_square_sum(
                               params, slots_,
                               [](const auto& s) -> const auto& { return s.importance; },
                               [](const auto& s) -> const auto& { return s.anchor; });
  }

  template <parameter_set G>
  void validate(const P& params, const G& grads) const {
    detail::check_gradient_call("rwalk.add_gradient", params, grads, slots_);
  }

  // grads += 2 strength (F + s) (params - anchor).
  template <parameter_set G>
  void add_gradient(const P& params, G& grads) const {
    validate(params, grads);
    if (tasks_ == 0) return;
    detail::add_weighted_gradient(
        "rwalk.add_gradient", params, grads, slots_, 2 * opt_.strength,
        [](const auto& s) -> const auto& { return s.importance; },
        [](const auto& s) -> const auto& { return s.anchor; });
  }

  std::size_t tasks() const { return tasks_; }
  std::uint64_t observed() const { return steps_; }
  const options& get_options() const { return opt_; }

  void save(const std::filesystem::path& path) const {
    io::checkpoint_writer w("regularize.rwalk", detail::checkpoint_schema);
    w.add_scalar("tasks", static_cast<std::uint64_t>(tasks_));
    w.add_scalar("steps", steps_);
    detail::write_slots(w, slots_);
    w.save(path);
  }

  void load(const std::filesystem::path& path) {
    detail::staged_load in(path, "regularize.rwalk");
    const auto tasks = in.scalar<std::uint64_t>("tasks");
    const auto steps = in.scalar<std::uint64_t>("steps");
    in.slots(slots_);
    in.commit([&] {
      tasks_ = static_cast<std::size_t>(tasks);
      steps_ = steps;
    });
  }

 private:
  options opt_;
  per_tensor_t<P, detail::rwalk_slot> slots_;
  std::uint64_t steps_ = 0;
  std::size_t tasks_ = 0;
};

}  // namespace continua::regularize
