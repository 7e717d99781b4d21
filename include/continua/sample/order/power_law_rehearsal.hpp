// power_law_rehearsal: replays stored items with probability decaying as a power of their age.
// Power-law forgetting (Wixted & Ebbesen, "On the form of forgetting", Psych. Science 1991) as a
// replay schedule, the spacing idea of Amiri et al., "Repeat before forgetting", EMNLP 2017.
//
// Item i, stored at stream position s_i, has age a_i = now - s_i at stream position `now` (the
// age counts steps since the item was STORED, in the replay buffer's clock: rows offered). Its
// replay probability is
//   p_i = (a_i + 1)^(-alpha) / sum_j (a_j + 1)^(-alpha),
// evaluated as w_i = ((a_min + 1) / (a_i + 1))^alpha so the youngest weight is 1 and the sum
// never underflows. alpha = 0 is uniform replay; larger alpha favours recent items.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "continua/core/error.hpp"
#include "continua/core/random.hpp"
#include "continua/sample/order/detail/draw.hpp"

namespace continua::sample {

// Options of power_law_rehearsal, validated at construction (invalid_argument naming the field).
struct power_law_rehearsal_options {
  double alpha = 1.0;      // decay exponent, finite and >= 0
  std::uint64_t seed = 0;  // Philox key of the draws (stream 0)
};

// Draws slots of a replay memory by their age. Works on any list of stream positions; with a
// replay buffer (reservoir_buffer, class_balanced_buffer) sample_batch() takes the positions of
// its rows (stream_positions()) and `now` = seen() - 1, the newest row's position.
//
//   sample::reservoir_buffer<float> memory({.capacity = 1000, .feature_dim = 784, .seed = 7});
//   sample::power_law_rehearsal replay({.alpha = 0.5, .seed = 8});
//   memory.add(batch_features, batch_labels);
//   replay.sample_batch(memory, replay_features, replay_labels);  // recent rows more often
class power_law_rehearsal {
 public:
  static constexpr std::string_view checkpoint_kind = "sample.power_law_rehearsal";
  static constexpr std::uint32_t checkpoint_schema = 1;

  explicit power_law_rehearsal(power_law_rehearsal_options o) : opt_(o), seed_(o.seed) {
    require_option(std::isfinite(o.alpha) && o.alpha >= 0, "continua::sample::power_law_rehearsal",
                   "alpha", o.alpha, "must be finite and >= 0");
    sampler_ = philox_engine(philox_key{seed_, 0}, 0);
  }

  // p_i for items stored at `positions` (any order), at stream position `now`. Throws, writing
  // nothing, on no items, out.size() != positions.size(), or a position after `now`.
  void probabilities(std::span<const std::uint64_t> positions, std::uint64_t now,
                     std::span<double> out) const {
    constexpr std::string_view c = "continua::sample::power_law_rehearsal::probabilities";
    require_same_size(c, "out", out.size(), "positions", positions.size());
    const std::vector<double> w = weights(c, positions, now);
    double total = 0;
    for (const double x : w) total += x;
    // From the weights, not from differences of the running sums, which cancel.
    for (std::size_t i = 0; i < out.size(); ++i) out[i] = w[i] / total;
  }

  // Fills `slots` with indices into `positions`, drawn independently with probabilities p_i.
  // Throws, drawing nothing, on no items or a position after `now`.
  void sample(std::span<const std::uint64_t> positions, std::uint64_t now,
              std::span<std::uint64_t> slots) {
    const std::vector<double> cum =
        cumulative("continua::sample::power_law_rehearsal::sample", positions, now);
    for (auto& s : slots) s = detail::order_weighted_index(sampler_, cum);
  }

  // A replay mini-batch from a buffer: labels_out.size() rows drawn with replacement by age,
  // copied to features_out (labels_out.size() x feature_dim). Throws, drawing nothing, when the
  // buffer is empty or features_out has the wrong size.
  template <class Buffer, class T>
  void sample_batch(const Buffer& buffer, std::span<T> features_out,
                    std::span<std::int32_t> labels_out) {
    constexpr std::string_view c = "continua::sample::power_law_rehearsal::sample_batch";
    const std::size_t dim = buffer.feature_dim(), batch = labels_out.size();
    require_same_size(c, "features_out", features_out.size(), "labels_out.size() * feature_dim",
                      batch * dim);
    require(buffer.size() > 0, c, "the buffer is empty");
    const std::vector<double> cum = cumulative(c, buffer.stream_positions(), buffer.seen() - 1);
    const auto features = buffer.features();
    const auto labels = buffer.labels();
    for (std::size_t b = 0; b < batch; ++b) {
      const std::size_t slot = detail::order_weighted_index(sampler_, cum);
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

  double alpha() const { return opt_.alpha; }

  // Checkpoints (docs/checkpoints.md): alpha is a setting a file must share; the seed and the
  // generator come from it.
  template <class V>
  void describe_state(V& v) {
    v.expect("alpha", opt_.alpha);
    v.field("seed", seed_);
    v.field("sampler", sampler_);
  }
  void validate_state() const {
    require(sampler_.key().seed == seed_ && sampler_.key().stream == 0,
            "continua::sample::power_law_rehearsal::load",
            "the sampler is not stream 0 of the seed");
  }

 private:
  // w_i (see the header comment); checks the input first.
  std::vector<double> weights(std::string_view c, std::span<const std::uint64_t> positions,
                              std::uint64_t now) const {
    require(!positions.empty(), c, "no items: positions is empty");
    std::uint64_t newest = 0;
    for (std::size_t i = 0; i < positions.size(); ++i) {
      if (positions[i] > now)
        throw invalid_argument(std::string(c) + ": position " + std::to_string(positions[i]) +
                               " of item " + std::to_string(i) +
                               " lies after now = " + std::to_string(now));
      newest = std::max(newest, positions[i]);
    }
    const double youngest = static_cast<double>(now - newest) + 1.0;
    std::vector<double> w(positions.size());
    for (std::size_t i = 0; i < positions.size(); ++i) {
      const double age = static_cast<double>(now - positions[i]) + 1.0;
      w[i] = opt_.alpha == 0 ? 1.0 : std::pow(youngest / age, opt_.alpha);
    }
    return w;
  }
  // Running sums of the weights, for the inverse-CDF draws.
  std::vector<double> cumulative(std::string_view c, std::span<const std::uint64_t> positions,
                                 std::uint64_t now) const {
    std::vector<double> cum = weights(c, positions, now);
    for (std::size_t i = 1; i < cum.size(); ++i) cum[i] += cum[i - 1];
    return cum;
  }

  power_law_rehearsal_options opt_;
  std::uint64_t seed_;
  philox_engine sampler_;
};

}  // namespace continua::sample
