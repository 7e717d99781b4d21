// What the replay buffers share: their options, the fixed-memory row store with its mini-batch
// sampler, and the members and checkpoint records common to both buffers.
// Vitter, "Random Sampling with a Reservoir", ACM TOMS 1985 (the uniform draws of Algorithm R).
//
// Random numbers come from Philox streams keyed by options.seed: stream 0 decides what is kept,
// stream 1 draws mini-batches, so how often a buffer is sampled never changes what it keeps.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "continua/core/error.hpp"
#include "continua/core/finite.hpp"
#include "continua/core/random.hpp"

namespace continua::sample {

struct replay_options {
  std::size_t capacity = 0;     // rows the buffer holds, > 0
  std::size_t feature_dim = 0;  // features per row, > 0
  std::uint64_t seed = 0;       // Philox key of the buffer's random decisions
};

namespace detail {

// Uniform integer in [0, bound), bound >= 1, from 64-bit words by rejection (no modulo bias).
inline std::uint64_t replay_uniform_index(philox_engine& engine, std::uint64_t bound) {
  const std::uint64_t reject_below = (0 - bound) % bound;  // 2^64 mod bound
  for (;;) {
    const std::uint64_t hi = engine();
    const std::uint64_t x = (hi << 32) | engine();
    if (x >= reject_below) return x % bound;
  }
}

// Rows (features, label, stream position) in memory reserved for `capacity` rows, plus the batch
// sampler. perm holds a permutation of the occupied slots; a partial Fisher-Yates shuffle on it
// draws a batch without replacement in O(batch), and it stays a permutation, so it is kept
// between calls. The vectors hold only the occupied slots (size() rows), which is also exactly
// what a checkpoint holds.
template <class T>
class replay_store {
 public:
  replay_store(const replay_options& o, std::string_view component)
      : capacity_(o.capacity), dim_(o.feature_dim), seed_(o.seed) {
    require_option(o.capacity > 0, component, "capacity", o.capacity, "must be positive");
    require_option(o.feature_dim > 0, component, "feature_dim", o.feature_dim, "must be positive");
    require_option(o.capacity <= std::numeric_limits<std::size_t>::max() / o.feature_dim, component,
                   "capacity", o.capacity, "capacity * feature_dim overflows");
    reserve();
    sampler_ = philox_engine(philox_key{seed_, 1}, 0);
  }

  // Memory for `capacity` rows, so append() never reallocates. A copy (and so a loaded buffer)
  // holds only its rows until the next add() reserves again; std::vector::reserve either
  // succeeds or changes nothing.
  void reserve() {
    features_.reserve(capacity_ * dim_);
    labels_.reserve(capacity_);
    positions_.reserve(capacity_);
    perm_.reserve(capacity_);
  }

  // Number of rows in an add() call; throws before anything changes when the arguments are bad.
  std::size_t check_add(std::string_view context, std::span<const T> features,
                        std::span<const std::int32_t> labels) const {
    if (features.size() % dim_ != 0)
      throw invalid_argument(std::string(context) + ": features has " +
                             std::to_string(features.size()) +
                             " values, not a multiple of feature_dim = " + std::to_string(dim_));
    const std::size_t n = features.size() / dim_;
    require_same_size(context, "labels", labels.size(), "rows of features", n);
    if (const auto bad = find_non_finite(continua::span<const T>(features.data(), features.size())))
      throw non_finite_error(context, "features", *bad);
    return n;
  }

  void put(std::size_t slot, const T* row, std::int32_t label, std::uint64_t position) {
    std::copy(row, row + dim_, features_.begin() + static_cast<std::ptrdiff_t>(slot * dim_));
    labels_[slot] = label;
    positions_[slot] = position;
  }
  // Fills the next free slot and returns it (within the reserved memory: no allocation).
  std::size_t append(const T* row, std::int32_t label, std::uint64_t position) {
    const std::size_t slot = size();
    features_.insert(features_.end(), row, row + dim_);
    labels_.push_back(label);
    positions_.push_back(position);
    perm_.push_back(slot);
    return slot;
  }

  void sample_batch(std::string_view context, std::span<T> features_out,
                    std::span<std::int32_t> labels_out) {
    const std::size_t batch = labels_out.size();
    const std::size_t rows = size();
    require_same_size(context, "features_out", features_out.size(),
                      "labels_out.size() * feature_dim", batch * dim_);
    require(rows > 0, context, "the buffer is empty");
    for (std::size_t b = 0; b < batch; ++b) {
      std::size_t slot;
      if (batch <= rows) {
        const std::size_t j =
            b + static_cast<std::size_t>(replay_uniform_index(sampler_, rows - b));
        std::swap(perm_[b], perm_[j]);
        slot = static_cast<std::size_t>(perm_[b]);
      } else {
        slot = static_cast<std::size_t>(replay_uniform_index(sampler_, rows));
      }
      std::copy(features_.begin() + static_cast<std::ptrdiff_t>(slot * dim_),
                features_.begin() + static_cast<std::ptrdiff_t>((slot + 1) * dim_),
                features_out.begin() + static_cast<std::ptrdiff_t>(b * dim_));
      labels_out[b] = labels_[slot];
    }
  }

  // The checkpoint fields (io/state.hpp). The capacity and feature_dim are settings a file must
  // share; the seed and both generators come from the file. The labels come first: their count
  // is the number of rows, which shapes the records after them.
  template <class V>
  void describe_state(V& v) {
    v.expect("capacity", static_cast<std::uint64_t>(capacity_));
    v.expect("feature_dim", static_cast<std::uint64_t>(dim_));
    v.field("seed", seed_);
    v.field("seen", seen_);
    v.field("labels", labels_);
    const auto rows = static_cast<std::uint64_t>(labels_.size());
    v.field("features", features_, {rows, static_cast<std::uint64_t>(dim_)});
    v.field("positions", positions_, {rows});
    v.field("perm", perm_, {rows});
    v.field("sampler", sampler_);
  }

  // What a loaded store must satisfy for add() and sample_batch() to be safe and meaningful.
  void validate_state() const {
    constexpr std::string_view context = "continua::sample::replay_buffer::load";
    const std::size_t rows = size();
    require(rows <= capacity_, context, "holds more rows than its capacity");
    require(rows <= seen_, context, "holds more rows than the stream had");
    require(!find_non_finite(continua::span<const T>(features_.data(), features_.size())), context,
            "features hold NaN or Inf");
    std::vector<char> hit(rows, 0);
    for (std::size_t i = 0; i < rows; ++i) {
      require(positions_[i] < seen_, context, "a stream position lies past the end of the stream");
      require(perm_[i] < rows && !hit[static_cast<std::size_t>(perm_[i])], context,
              "perm is not a permutation of the rows");
      hit[static_cast<std::size_t>(perm_[i])] = 1;
    }
    require(sampler_.key().seed == seed_ && sampler_.key().stream == 1, context,
            "the sampler is not stream 1 of the seed");
  }

  std::size_t size() const { return labels_.size(); }
  std::size_t capacity() const { return capacity_; }
  std::size_t feature_dim() const { return dim_; }
  std::uint64_t seen() const { return seen_; }
  std::uint64_t& seen() { return seen_; }
  std::uint64_t seed() const { return seed_; }
  std::span<const T> features() const { return features_; }
  std::span<const std::int32_t> labels() const { return labels_; }
  std::span<const std::uint64_t> positions() const { return positions_; }
  std::int32_t label_at(std::size_t slot) const { return labels_[slot]; }

 private:
  std::size_t capacity_;
  std::size_t dim_;
  std::uint64_t seed_;
  std::uint64_t seen_ = 0;
  std::vector<T> features_;               // size() x dim_, row-major
  std::vector<std::int32_t> labels_;      // one per occupied slot
  std::vector<std::uint64_t> positions_;  // 0-based stream index of each occupied slot
  std::vector<std::uint64_t> perm_;       // a permutation of the occupied slots
  philox_engine sampler_;
};

// What both replay buffers expose, and their checkpoint plumbing: a buffer adds only its rule for
// which rows to keep (add, with stream 0 drawn from `chooser_`) and its own records.
template <class T>
class replay_buffer {
 public:
  std::size_t size() const { return store_.size(); }
  std::size_t capacity() const { return store_.capacity(); }
  std::size_t feature_dim() const { return store_.feature_dim(); }
  // Rows offered so far.
  std::uint64_t seen() const { return store_.seen(); }
  // The stored rows: size() x feature_dim row-major, their labels, and the 0-based stream index
  // of each (slot order, which is not stream order).
  std::span<const T> features() const { return store_.features(); }
  std::span<const std::int32_t> labels() const { return store_.labels(); }
  std::span<const std::uint64_t> stream_positions() const { return store_.positions(); }

  // The checkpoint fields both buffers start with (io/state.hpp): the store, then the keeping
  // generator. Saved and loaded by continua::io::save / continua::io::load.
  template <class V>
  void describe_state(V& v) {
    store_.describe_state(v);
    v.field("chooser", chooser_);
  }
  void validate_state() const {
    store_.validate_state();
    require(chooser_.key().seed == store_.seed() && chooser_.key().stream == 0,
            "continua::sample::replay_buffer::load", "the chooser is not stream 0 of the seed");
  }

 protected:
  replay_buffer(const replay_options& o, std::string_view component)
      : store_(o, component), chooser_(philox_key{o.seed, 0}, 0) {}

  // Checks the whole add() call before offer(row, label) sees its first row, so a throw leaves
  // the buffer unchanged. The stream counter `seen` refuses to wrap: an add that would take it
  // past UINT64_MAX throws (the buffer unchanged) rather than restart the stream positions at 0
  // and draw from an empty range. No real stream gets there; a loaded checkpoint can.
  template <class Offer>
  void offer_rows(std::string_view context, std::span<const T> features,
                  std::span<const std::int32_t> labels, Offer&& offer) {
    const std::size_t n = store_.check_add(context, features, labels);
    if (n > std::numeric_limits<std::uint64_t>::max() - store_.seen())
      throw invalid_argument(
          std::string(context) + ": the stream counter seen = " + std::to_string(store_.seen()) +
          " cannot count " + std::to_string(n) + " more rows without overflowing its 64 bits");
    store_.reserve();
    const std::size_t dim = store_.feature_dim();
    for (std::size_t i = 0; i < n; ++i) offer(features.data() + i * dim, labels[i]);
  }

  replay_store<T> store_;
  philox_engine chooser_;
};

}  // namespace detail

}  // namespace continua::sample
