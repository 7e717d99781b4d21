// Meta-training over a task sampler: batches of tasks drawn by consecutive global indices, the
// learner's meta-gradient averaged over each batch, and a step of any outer optimiser; resumable
// from a checkpoint of the step and task counters.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "continua/bilevel/meta.hpp"
#include "continua/core/error.hpp"
#include "continua/core/finite.hpp"
#include "continua/core/parameter_set.hpp"

namespace continua::bilevel {

// Options of meta_train.
struct meta_train_options {
  std::size_t outer_steps = 1000;   // outer (meta) steps per call
  std::size_t tasks_per_step = 25;  // meta-batch: tasks drawn and averaged per step
};

// What one meta step did; handed to the progress callback and returned for the last step.
struct meta_step_report {
  std::uint64_t step = 0;         // meta steps taken so far (this one included)
  std::uint64_t next_task = 0;    // index the sampler is asked for next
  double meta_gradient_norm = 0;  // |averaged meta-gradient| before the outer step
};

// The driver's counters across calls and runs: the step count and the next task index. A task is
// a pure function of its index (the sampler's contract), so a run resumed from this state draws
// the tasks an uninterrupted run would. Checkpointable (docs/checkpoints.md); theta and the outer
// optimiser are the caller's and are saved by the caller.
struct meta_train_state {
  std::uint64_t step = 0;
  std::uint64_t next_task = 0;

  static constexpr std::string_view checkpoint_kind = "bilevel.meta_train_state";
  static constexpr std::uint32_t checkpoint_schema = 1;
  // Records: step, next_task.
  template <class V>
  void describe_state(V& v) {
    v.field("step", step);
    v.field("next_task", next_task);
  }
  // Every step draws at least one task, so a state with fewer tasks than steps is impossible.
  void validate_state() const {
    require(next_task >= step, "continua::bilevel::meta_train_state",
            "next_task (" + std::to_string(next_task) + ") is below step (" + std::to_string(step) +
                "): every meta step draws a task");
  }
};

// A meta-training progress callback that does nothing.
struct no_meta_progress {
  // Ignores the report.
  void operator()(const meta_step_report&) const {}
};

namespace detail {
template <class Sampler>
using sampled_task_t = std::remove_cvref_t<std::invoke_result_t<const Sampler&, std::uint64_t>>;
}  // namespace detail

// Runs opt.outer_steps meta steps. Step s asks `sampler(i)` for the tasks i = state.next_task, ...,
// next_task + tasks_per_step - 1 (the sampler maps an index to a task deterministically, e.g.
// from a Philox stream at that index), averages learner.meta_gradient over them
// (average_meta_gradient) and calls outer.step(theta, grad) (any optimiser with that member, such
// as continua::optim::optimizer). progress(report) follows every step. A NaN/Inf meta-gradient
// is a non_finite_error naming the step and its task range; theta and the state then hold the
// last completed step. Works with reptile, fomaml, maml and imaml.
template <class Learner, class Sampler, class P, class Outer, class Progress = no_meta_progress>
requires std::is_invocable_v<const Sampler&, std::uint64_t> meta_step_report
meta_train(const Learner& learner, const Sampler& sampler, P& theta, meta_train_state& state,
           Outer& outer, const meta_train_options& opt, Progress&& progress = {}) {
  constexpr std::string_view c = "continua::bilevel::meta_train";
  require_option(opt.tasks_per_step > 0, c, "tasks_per_step", opt.tasks_per_step, "must be > 0");
  require_finite(c, "theta", theta);
  state.validate_state();
  using task_type = detail::sampled_task_t<Sampler>;
  static_assert(meta_task<task_type, P>,
                "continua::bilevel::meta_train: sampler(index) must return a task with "
                "`void grad(const P& params, P& out) const` (see meta_task in bilevel/meta.hpp)");
  std::vector<task_type> batch;
  batch.reserve(opt.tasks_per_step);
  P grad(theta);
  meta_step_report report;
  for (std::size_t s = 0; s < opt.outer_steps; ++s) {
    const std::uint64_t first = state.next_task;
    batch.clear();
    for (std::size_t b = 0; b < opt.tasks_per_step; ++b) batch.push_back(sampler(first + b));
    average_meta_gradient(learner, batch, theta, grad);
    require_finite(c,
                   "the meta-gradient of step " + std::to_string(state.step + 1) + " (tasks " +
                       std::to_string(first) + " to " +
                       std::to_string(first + opt.tasks_per_step - 1) +
                       "; theta and the state hold the last completed step)",
                   grad);
    report.meta_gradient_norm = detail::set_norm(grad);
    outer.step(theta, grad);
    state.next_task = first + opt.tasks_per_step;
    report.step = ++state.step;
    report.next_task = state.next_task;
    progress(static_cast<const meta_step_report&>(report));
  }
  return report;
}

}  // namespace continua::bilevel
