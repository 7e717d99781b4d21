// reservoir_buffer: a fixed-size replay memory holding a uniform sample of a labelled stream.
// Vitter, "Random Sampling with a Reservoir", ACM TOMS 1985 (Algorithm R).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <type_traits>
#include <utility>

#include "continua/core/error.hpp"
#include "continua/core/random.hpp"
#include "continua/sample/detail/replay_store.hpp"

namespace continua::sample {

// Keeps `capacity` rows such that, after n rows have been offered, every row of the stream is in
// the buffer with probability min(1, capacity / n), independently of its position (Algorithm R:
// row t >= capacity replaces slot j, j uniform in [0, t], when j < capacity). Host memory for
// `capacity` rows, reserved at construction (and by the first add after a copy or a load). T is
// float or double.
//
//   sample::reservoir_buffer<float> memory({.capacity = 1000, .feature_dim = 784, .seed = 7});
//   memory.add(batch_features, batch_labels);          // every training batch
//   memory.sample_batch(replay_features, replay_labels);  // a replay mini-batch
template <class T>
class reservoir_buffer : public detail::replay_buffer<T> {
  static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>,
                "continua::sample::reservoir_buffer: T must be float or double");
  using base = detail::replay_buffer<T>;
  using base::chooser_;
  using base::store_;

 public:
  static constexpr std::string_view checkpoint_kind = "sample.reservoir_buffer";
  static constexpr std::uint32_t checkpoint_schema = 1;

  explicit reservoir_buffer(replay_options options)
      : base(options, "continua::sample::reservoir_buffer") {}

  // Offers each row of features (n x feature_dim, row-major) with its label to the reservoir.
  // Throws, with the buffer unchanged, when features.size() is not a multiple of feature_dim,
  // labels.size() != n, or a feature is NaN/Inf.
  void add(std::span<const T> features, std::span<const std::int32_t> labels) {
    this->offer_rows("continua::sample::reservoir_buffer::add", features, labels,
                     [&](const T* row, std::int32_t label) {
                       const std::uint64_t t = store_.seen();
                       if (store_.size() < store_.capacity()) {
                         store_.append(row, label, t);
                       } else {
                         const std::uint64_t j = detail::replay_uniform_index(chooser_, t + 1);
                         if (j < store_.capacity())
                           store_.put(static_cast<std::size_t>(j), row, label, t);
                       }
                       ++store_.seen();
                     });
  }

  // Fills labels_out.size() rows (features_out holds that many x feature_dim): drawn uniformly
  // without replacement when the batch fits in size(), else with replacement. Throws when the
  // buffer is empty or features_out has the wrong size.
  void sample_batch(std::span<T> features_out, std::span<std::int32_t> labels_out) {
    store_.sample_batch("continua::sample::reservoir_buffer::sample_batch", features_out,
                        labels_out);
  }

  // Checkpoints: continua::io::save(path, buffer) / continua::io::load(path, buffer) write and
  // read the rows, labels, stream positions, the seed and both generators (describe_state, from
  // the base), so a loaded buffer keeps and samples exactly as the saved one would have. A load
  // refuses, with the buffer unchanged, a damaged file, another kind or element type, another
  // capacity or feature_dim, or content that no reservoir can hold (validate_state).
  void validate_state() const {
    base::validate_state();
    require(store_.size() == std::min<std::uint64_t>(store_.seen(), store_.capacity()),
            "reservoir_buffer", "a reservoir holds min(seen, capacity) rows");
  }
};

}  // namespace continua::sample
