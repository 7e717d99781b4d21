// learning_progress_sampler: picks tasks with probability proportional to the recent absolute
// change of their loss. Matiisen, Oliver, Cohen & Schulman, "Teacher-Student Curriculum
// Learning", IEEE TNNLS 2020 (arXiv:1707.00183); the fast-minus-slow EMA estimate of progress of
// Kanitscheider et al., "Multi-task curriculum learning in a complex, visual, hard-exploration
// domain: Minecraft", arXiv:2106.14876 (2021).
//
// Each task i keeps two exponential moving averages of its observed losses, set to the first loss
// observed and then updated as  m <- (1 - rate) m + rate loss  with rate `fast` and `slow`. Its
// learning progress is LP_i = |fast_i - slow_i| (absolute: forgetting, a rising loss, counts as
// much as learning), and
//   p_i = epsilon / K + (1 - epsilon) LP_i / sum_j LP_j      (p_i = 1 / K while every LP_j = 0),
// K tasks. The epsilon-uniform floor keeps every task observed, so a task whose loss starts to
// move again is noticed.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "continua/core/error.hpp"
#include "continua/core/random.hpp"
#include "continua/sample/order/detail/draw.hpp"

namespace continua::sample {

// Options of learning_progress_sampler, validated at construction (invalid_argument naming the
// field).
struct learning_progress_options {
  std::size_t tasks = 0;   // number of tasks K, > 0
  double fast = 0.1;       // rate of the fast loss average, in (0, 1]
  double slow = 0.02;      // rate of the slow loss average, in (0, fast)
  double epsilon = 0.1;    // uniform mixing floor, in [0, 1]
  std::uint64_t seed = 0;  // Philox key of the draws (stream 0)
};

// The task sampler of a multi-task or continual curriculum: observe() the losses of the tasks
// trained, sample() the tasks of the next steps (with replacement). Each task's data may come
// from its own replay buffer (one reservoir_buffer per task, say).
//
//   sample::learning_progress_sampler teacher({.tasks = 5, .seed = 1});
//   teacher.sample(next_tasks);            // uniform at first
//   teacher.observe(task, loss);           // after training on `task`
class learning_progress_sampler {
 public:
  static constexpr std::string_view checkpoint_kind = "sample.learning_progress_sampler";
  static constexpr std::uint32_t checkpoint_schema = 1;

  explicit learning_progress_sampler(learning_progress_options o) : opt_(o), seed_(o.seed) {
    constexpr std::string_view c = "continua::sample::learning_progress_sampler";
    require_option(o.tasks > 0, c, "tasks", o.tasks, "must be positive");
    require_option(std::isfinite(o.fast) && o.fast > 0 && o.fast <= 1, c, "fast", o.fast,
                   "must lie in (0, 1]");
    require_option(std::isfinite(o.slow) && o.slow > 0 && o.slow < o.fast, c, "slow", o.slow,
                   "must lie in (0, fast): a slow average as fast as the fast one measures no "
                   "progress");
    require_option(std::isfinite(o.epsilon) && o.epsilon >= 0 && o.epsilon <= 1, c, "epsilon",
                   o.epsilon, "must lie in [0, 1]");
    counts_.assign(o.tasks, 0);
    fast_.assign(o.tasks, 0.0);
    slow_.assign(o.tasks, 0.0);
    sampler_ = philox_engine(philox_key{seed_, 0}, 0);
  }

  // Records losses[j] for task tasks[j], in order. Throws, with the sampler unchanged, on
  // tasks.size() != losses.size(), a task index >= K, or a NaN/Inf loss. R is float or double.
  template <class R>
  void observe(std::span<const std::uint64_t> tasks, std::span<const R> losses) {
    static_assert(std::is_same_v<R, float> || std::is_same_v<R, double>,
                  "continua::sample::learning_progress_sampler: losses must be float or double");
    constexpr std::string_view c = "continua::sample::learning_progress_sampler::observe";
    require_same_size(c, "losses", losses.size(), "tasks", tasks.size());
    for (std::size_t j = 0; j < tasks.size(); ++j) {
      if (tasks[j] >= opt_.tasks)
        throw invalid_argument(std::string(c) + ": task " + std::to_string(tasks[j]) + " (entry " +
                               std::to_string(j) + ") is not in [0, " + std::to_string(opt_.tasks) +
                               ")");
      if (!std::isfinite(losses[j])) throw non_finite_error(c, "losses", j);
    }
    for (std::size_t j = 0; j < tasks.size(); ++j) {
      const auto i = static_cast<std::size_t>(tasks[j]);
      const double loss = static_cast<double>(losses[j]);
      // The count only tells observed from not; it saturates rather than wrap to "never".
      const std::uint64_t seen = counts_[i];
      if (seen != std::numeric_limits<std::uint64_t>::max()) counts_[i] = seen + 1;
      if (seen == 0) {
        fast_[i] = slow_[i] = loss;
      } else {
        // The convex form cannot overflow where m + rate (loss - m) can (loss - m past DBL_MAX).
        fast_[i] = (1 - opt_.fast) * fast_[i] + opt_.fast * loss;
        slow_[i] = (1 - opt_.slow) * slow_[i] + opt_.slow * loss;
      }
    }
  }
  // One observation.
  void observe(std::uint64_t task, double loss) {
    observe(std::span<const std::uint64_t>(&task, 1), std::span<const double>(&loss, 1));
  }

  // The current p_i (header comment) into out (K values). Throws on out.size() != K.
  void probabilities(std::span<double> out) const {
    require_same_size("continua::sample::learning_progress_sampler::probabilities", "out",
                      out.size(), "tasks", opt_.tasks);
    const std::vector<double> p = distribution();
    std::copy(p.begin(), p.end(), out.begin());
  }
  // LP_i = |fast_i - slow_i| into out (K values).
  void progress(std::span<double> out) const {
    require_same_size("continua::sample::learning_progress_sampler::progress", "out", out.size(),
                      "tasks", opt_.tasks);
    for (std::size_t i = 0; i < opt_.tasks; ++i) out[i] = std::abs(fast_[i] - slow_[i]);
  }

  // Fills `tasks` with task indices drawn independently from p.
  void sample(std::span<std::uint64_t> tasks) {
    std::vector<double> cum = distribution();
    for (std::size_t i = 1; i < cum.size(); ++i) cum[i] += cum[i - 1];
    for (auto& t : tasks) t = detail::order_weighted_index(sampler_, cum);
  }

  std::size_t tasks() const { return opt_.tasks; }
  std::span<const std::uint64_t> observations() const { return counts_; }
  std::span<const double> fast_average() const { return fast_; }
  std::span<const double> slow_average() const { return slow_; }
  const learning_progress_options& options() const { return opt_; }

  // Checkpoints (docs/checkpoints.md): the options are settings a file must share; the seed,
  // the per-task counts and averages and the generator come from it.
  template <class V>
  void describe_state(V& v) {
    v.expect("tasks", static_cast<std::uint64_t>(opt_.tasks));
    v.expect("fast", opt_.fast);
    v.expect("slow", opt_.slow);
    v.expect("epsilon", opt_.epsilon);
    v.field("seed", seed_);
    const auto k = static_cast<std::uint64_t>(opt_.tasks);
    v.field("observations", counts_, {k});
    v.field("fast_average", fast_, {k});
    v.field("slow_average", slow_, {k});
    v.field("sampler", sampler_);
  }
  void validate_state() const {
    constexpr std::string_view c = "continua::sample::learning_progress_sampler::load";
    for (std::size_t i = 0; i < opt_.tasks; ++i) {
      require(std::isfinite(fast_[i]) && std::isfinite(slow_[i]), c,
              "a loss average is NaN or Inf");
      require(counts_[i] > 0 || (fast_[i] == 0 && slow_[i] == 0), c,
              "a task never observed has a non-zero loss average");
      require(counts_[i] != 1 || fast_[i] == slow_[i], c,
              "a task observed once has two different loss averages");
    }
    require(sampler_.key().seed == seed_ && sampler_.key().stream == 0, c,
            "the sampler is not stream 0 of the seed");
  }

 private:
  std::vector<double> distribution() const {
    const std::size_t k = opt_.tasks;
    std::vector<double> p(k);
    double total = 0;
    for (std::size_t i = 0; i < k; ++i) total += std::abs(fast_[i] - slow_[i]);
    const double uniform = 1.0 / static_cast<double>(k);
    // A total that overflows (losses near DBL_MAX) falls back to uniform rather than NaN.
    if (total == 0 || !std::isfinite(total)) {
      std::fill(p.begin(), p.end(), uniform);
      return p;
    }
    for (std::size_t i = 0; i < k; ++i)
      p[i] = opt_.epsilon * uniform + (1 - opt_.epsilon) * std::abs(fast_[i] - slow_[i]) / total;
    return p;
  }

  learning_progress_options opt_;
  std::uint64_t seed_;
  std::vector<std::uint64_t> counts_;
  std::vector<double> fast_;
  std::vector<double> slow_;
  philox_engine sampler_;
};

}  // namespace continua::sample
