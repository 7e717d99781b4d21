// cyclical_curriculum: easy-to-hard-and-back cycles over a per-item difficulty score.
// Kesgin & Amasyali, "Cyclical Curriculum Learning", IEEE TNNLS 2023 (arXiv:2202.05531).
//
// At step t the easiest k_t = clamp(round(f_t N), 1, N) of the N items (ranked by difficulty,
// ascending, ties by index) are admissible, and sample() draws uniformly among them. The
// admitted fraction f_t cycles between `floor` and `ceiling`:
//   geometric (the paper's schedule): f_0 = floor; while rising f_{t+1} = min(f_t / m, ceiling),
//     once at the ceiling falling f_{t+1} = max(f_t m, floor), once at the floor rising again
//     (m = multiplier in (0, 1)); the cycle is computed once, by exactly these operations;
//   triangle: f_t = floor + (ceiling - floor) (1 - |1 - 2 p|), p = (t mod period) / period;
//   cosine:   f_t = floor + (ceiling - floor) (1 - cos 2 pi p) / 2.
// Every wave starts at the floor (easiest items only) and reaches the ceiling mid-cycle.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <numeric>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "continua/core/error.hpp"
#include "continua/core/random.hpp"
#include "continua/sample/order/detail/draw.hpp"

namespace continua::sample {

// The shape of the admitted fraction over one cycle (see the header comment).
enum class curriculum_wave : std::uint32_t { geometric = 0, triangle = 1, cosine = 2 };

// Options of cyclical_curriculum, validated at construction (invalid_argument naming the field).
struct cyclical_curriculum_options {
  double floor = 0.25;   // smallest admitted fraction of the items, in (0, ceiling]
  double ceiling = 1.0;  // largest admitted fraction, in [floor, 1]
  curriculum_wave wave = curriculum_wave::geometric;
  double multiplier = 0.8;    // geometric: ratio between consecutive fractions, in (0, 1)
  std::uint64_t period = 10;  // triangle, cosine: steps per easy-hard-easy cycle, >= 2
  std::uint64_t seed = 0;     // Philox key of the draws (stream 0)
};

// Draws item indices for a training step from the currently admissible (easiest) items. The
// caller sets the difficulty scores (any finite values, lower = easier; e.g. a vanilla model's
// per-item loss, as in the paper), draws with sample(), and moves to the next step (an epoch in
// the paper) with advance(). The items may be the rows of a replay buffer (its slot indices).
//
//   sample::cyclical_curriculum cc({.floor = 0.25, .multiplier = 0.8, .seed = 3});
//   cc.set_difficulty(losses);      // one score per item
//   cc.sample(batch_indices);       // uniform among the easiest fraction_at(step()) of the items
//   cc.advance();                   // next step of the cycle
class cyclical_curriculum {
 public:
  static constexpr std::string_view checkpoint_kind = "sample.cyclical_curriculum";
  static constexpr std::uint32_t checkpoint_schema = 1;
  // The longest geometric cycle accepted: a longer one means a multiplier so close to 1 that the
  // schedule is effectively constant, and its table would take memory for nothing.
  static constexpr std::size_t max_cycle = std::size_t{1} << 20;

  explicit cyclical_curriculum(cyclical_curriculum_options o) : opt_(o), seed_(o.seed) {
    constexpr std::string_view c = "continua::sample::cyclical_curriculum";
    require_option(std::isfinite(o.ceiling) && o.ceiling > 0 && o.ceiling <= 1, c, "ceiling",
                   o.ceiling, "must lie in (0, 1]");
    require_option(std::isfinite(o.floor) && o.floor > 0 && o.floor <= o.ceiling, c, "floor",
                   o.floor, "must lie in (0, ceiling]");
    const auto w = static_cast<std::uint32_t>(o.wave);
    require_option(w <= 2, c, "wave", w, "must be geometric, triangle or cosine");
    if (o.wave == curriculum_wave::geometric) {
      require_option(std::isfinite(o.multiplier) && o.multiplier > 0 && o.multiplier < 1, c,
                     "multiplier", o.multiplier, "must lie in (0, 1)");
      build_geometric_cycle(c);
    } else {
      require_option(o.period >= 2, c, "period", o.period, "must be at least 2");
    }
    sampler_ = philox_engine(philox_key{seed_, 0}, 0);
  }

  // Sets one difficulty score per item (lower = easier) and ranks the items. Throws, with the
  // curriculum unchanged, on no items or a NaN/Inf score. R is float or double.
  template <class R>
  void set_difficulty(std::span<const R> difficulty) {
    static_assert(std::is_same_v<R, float> || std::is_same_v<R, double>,
                  "continua::sample::cyclical_curriculum: scores must be float or double");
    constexpr std::string_view c = "continua::sample::cyclical_curriculum::set_difficulty";
    require(!difficulty.empty(), c, "no items: the difficulty scores are empty");
    for (std::size_t i = 0; i < difficulty.size(); ++i)
      if (!std::isfinite(difficulty[i])) throw non_finite_error(c, "difficulty", i);
    difficulty_.assign(difficulty.begin(), difficulty.end());
    rank_items();
  }
  void set_difficulty(const std::vector<double>& d) { set_difficulty(std::span<const double>(d)); }
  void set_difficulty(const std::vector<float>& d) { set_difficulty(std::span<const float>(d)); }

  // Fills `items` with indices drawn independently and uniformly from the admissible items of
  // the current step. Throws, drawing nothing, before set_difficulty.
  void sample(std::span<std::uint64_t> items) {
    require(!order_.empty(), "continua::sample::cyclical_curriculum::sample",
            "no difficulty scores: call set_difficulty first");
    const std::uint64_t k = admissible();
    for (auto& item : items) item = order_[detail::replay_uniform_index(sampler_, k)];
  }

  // A mini-batch of a replay buffer's rows (reservoir_buffer, class_balanced_buffer) whose slots
  // are the items: labels_out.size() rows drawn as sample() draws items, copied to features_out
  // (labels_out.size() x feature_dim). The scores must be the buffer's, one per stored row.
  // Throws, drawing nothing, when items() != buffer.size() or features_out has the wrong size.
  template <class Buffer, class T>
  void sample_batch(const Buffer& buffer, std::span<T> features_out,
                    std::span<std::int32_t> labels_out) {
    constexpr std::string_view c = "continua::sample::cyclical_curriculum::sample_batch";
    const std::size_t dim = buffer.feature_dim(), batch = labels_out.size();
    require_same_size(c, "features_out", features_out.size(), "labels_out.size() * feature_dim",
                      batch * dim);
    require(!order_.empty(), c, "no difficulty scores: call set_difficulty first");
    require_same_size(c, "difficulty scores", order_.size(), "rows of the buffer", buffer.size());
    const std::uint64_t k = admissible();
    const auto features = buffer.features();
    const auto labels = buffer.labels();
    for (std::size_t b = 0; b < batch; ++b) {
      const auto slot = static_cast<std::size_t>(order_[detail::replay_uniform_index(sampler_, k)]);
      std::copy(features.begin() + static_cast<std::ptrdiff_t>(slot * dim),
                features.begin() + static_cast<std::ptrdiff_t>((slot + 1) * dim),
                features_out.begin() + static_cast<std::ptrdiff_t>(b * dim));
      labels_out[b] = labels[slot];
    }
  }
  template <class Buffer, class T>
  void sample_batch(const Buffer& buffer, std::vector<T>& features_out,
                    std::vector<std::int32_t>& labels_out) {
    sample_batch(buffer, std::span<T>(features_out), std::span<std::int32_t>(labels_out));
  }

  // Moves `steps` steps along the cycle. Throws, unchanged, if the step counter would overflow.
  void advance(std::uint64_t steps = 1) {
    step_ = checked_add(step_, steps, "continua::sample::cyclical_curriculum::advance", "step");
  }

  // The admitted fraction f_t at step t (the rule in the header comment).
  double fraction_at(std::uint64_t t) const {
    if (opt_.wave == curriculum_wave::geometric) return cycle_[t % cycle_.size()];
    const double p = static_cast<double>(t % opt_.period) / static_cast<double>(opt_.period);
    const double shape = opt_.wave == curriculum_wave::triangle
                             ? 1.0 - std::abs(1.0 - 2.0 * p)
                             : (1.0 - std::cos(2.0 * 3.141592653589793 * p)) / 2.0;
    return opt_.floor + (opt_.ceiling - opt_.floor) * shape;
  }
  double fraction() const { return fraction_at(step_); }
  // Number of admissible items at step t: clamp(round(f_t N), 1, N); 0 before set_difficulty.
  std::size_t admissible_at(std::uint64_t t) const {
    const std::size_t n = order_.size();
    if (n == 0) return 0;
    const double k = std::floor(fraction_at(t) * static_cast<double>(n) + 0.5);
    return std::clamp<std::size_t>(static_cast<std::size_t>(k), 1, n);
  }
  std::size_t admissible() const { return admissible_at(step_); }
  // Steps in one cycle: the geometric table's length, or `period`.
  std::uint64_t cycle_length() const {
    return opt_.wave == curriculum_wave::geometric ? cycle_.size() : opt_.period;
  }
  std::uint64_t step() const { return step_; }
  std::size_t items() const { return order_.size(); }
  // Item indices from easiest to hardest; the first admissible() are admissible now.
  std::span<const std::uint64_t> easiest_first() const { return order_; }
  std::span<const double> difficulty() const { return difficulty_; }
  const cyclical_curriculum_options& options() const { return opt_; }

  // Checkpoints (docs/checkpoints.md): the options are settings a file must share; the seed,
  // step, scores and generator come from it; the ranking is rebuilt from the scores.
  template <class V>
  void describe_state(V& v) {
    v.expect("floor", opt_.floor);
    v.expect("ceiling", opt_.ceiling);
    v.expect("wave", static_cast<std::uint32_t>(opt_.wave));
    v.expect("multiplier", opt_.multiplier);
    v.expect("period", opt_.period);
    v.field("seed", seed_);
    v.field("step", step_);
    v.field("difficulty", difficulty_);
    v.field("sampler", sampler_);
    // Ranked only when every score is finite: a NaN breaks the sort's strict weak order, and
    // validate_state refuses such a file anyway.
    if constexpr (V::loading)
      if (std::all_of(difficulty_.begin(), difficulty_.end(),
                      [](double d) { return std::isfinite(d); }))
        rank_items();
  }
  void validate_state() const {
    constexpr std::string_view c = "continua::sample::cyclical_curriculum::load";
    for (const double d : difficulty_) require(std::isfinite(d), c, "a difficulty is NaN or Inf");
    require(sampler_.key().seed == seed_ && sampler_.key().stream == 0, c,
            "the sampler is not stream 0 of the seed");
  }

 private:
  void build_geometric_cycle(std::string_view c) {
    const double lo = opt_.floor, hi = opt_.ceiling, m = opt_.multiplier;
    cycle_.assign(1, lo);
    if (lo == hi) return;
    double f = lo;
    bool rising = true;
    for (;;) {
      if (rising) {
        f = std::min(f / m, hi);
        rising = f != hi;
      } else {
        f = std::max(f * m, lo);
        if (f == lo) return;  // back at the start: the cycle closes
      }
      require_option(cycle_.size() < max_cycle, c, "multiplier", m,
                     "makes a cycle longer than 2^20 steps");
      cycle_.push_back(f);
    }
  }
  // Derived from difficulty_: indices sorted by (score, index).
  void rank_items() {
    order_.resize(difficulty_.size());
    std::iota(order_.begin(), order_.end(), std::uint64_t{0});
    std::stable_sort(order_.begin(), order_.end(), [&](std::uint64_t a, std::uint64_t b) {
      return difficulty_[a] < difficulty_[b];
    });
  }

  cyclical_curriculum_options opt_;
  std::vector<double> cycle_;  // geometric: f_0 .. f_{L-1}
  std::uint64_t seed_;
  std::uint64_t step_ = 0;
  std::vector<double> difficulty_;
  std::vector<std::uint64_t> order_;
  philox_engine sampler_;
};

}  // namespace continua::sample
