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
#include "continua/io/checkpoint.hpp"

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

// Rows (features, label, stream position) in preallocated memory, plus the batch sampler.
// perm holds a permutation of the occupied slots; a partial Fisher-Yates shuffle on it draws a
// batch without replacement in O(batch), and it stays a permutation, so it is kept between calls.
template <class T>
class replay_store {
 public:
  replay_store(const replay_options& o, std::string_view component)
      : capacity_(o.capacity), dim_(o.feature_dim), seed_(o.seed) {
    require_option(o.capacity > 0, component, "capacity", o.capacity, "must be positive");
    require_option(o.feature_dim > 0, component, "feature_dim", o.feature_dim, "must be positive");
    require_option(o.capacity <= std::numeric_limits<std::size_t>::max() / o.feature_dim, component,
                   "capacity", o.capacity, "capacity * feature_dim overflows");
    features_.resize(capacity_ * dim_);
    labels_.resize(capacity_);
    positions_.resize(capacity_);
    perm_.resize(capacity_);
    sampler_ = philox_engine(philox_key{seed_, 1}, 0);
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
  // Fills the next free slot and returns it.
  std::size_t append(const T* row, std::int32_t label, std::uint64_t position) {
    const std::size_t slot = size_;
    put(slot, row, label, position);
    perm_[slot] = slot;
    ++size_;
    return slot;
  }

  void sample_batch(std::string_view context, std::span<T> features_out,
                    std::span<std::int32_t> labels_out) {
    const std::size_t batch = labels_out.size();
    require_same_size(context, "features_out", features_out.size(),
                      "labels_out.size() * feature_dim", batch * dim_);
    require(size_ > 0, context, "the buffer is empty");
    for (std::size_t b = 0; b < batch; ++b) {
      std::size_t slot;
      if (batch <= size_) {
        const std::size_t j =
            b + static_cast<std::size_t>(replay_uniform_index(sampler_, size_ - b));
        std::swap(perm_[b], perm_[j]);
        slot = perm_[b];
      } else {
        slot = static_cast<std::size_t>(replay_uniform_index(sampler_, size_));
      }
      std::copy(features_.begin() + static_cast<std::ptrdiff_t>(slot * dim_),
                features_.begin() + static_cast<std::ptrdiff_t>((slot + 1) * dim_),
                features_out.begin() + static_cast<std::ptrdiff_t>(b * dim_));
      labels_out[b] = labels_[slot];
    }
  }

  void write(io::checkpoint_writer& w) const {
    w.add_scalar("capacity", static_cast<std::uint64_t>(capacity_));
    w.add_scalar("feature_dim", static_cast<std::uint64_t>(dim_));
    w.add_scalar("seed", seed_);
    w.add_scalar("seen", seen_);
    w.add_scalar("sampler_position", sampler_.position());
    const auto rows = static_cast<std::uint64_t>(size_);
    w.add("features", std::span<const T>(features_.data(), size_ * dim_),
          {rows, static_cast<std::uint64_t>(dim_)});
    w.add("labels", std::span<const std::int32_t>(labels_.data(), size_));
    w.add("positions", std::span<const std::uint64_t>(positions_.data(), size_));
    const std::vector<std::uint64_t> perm(perm_.begin(),
                                          perm_.begin() + static_cast<std::ptrdiff_t>(size_));
    w.add("perm", perm);
  }

  // Restores a store of this capacity and feature_dim from `r`; throws io_error naming what is
  // inconsistent. The file's seed and generator positions replace the current ones.
  void read(const io::checkpoint_reader& r, std::string_view context) {
    const auto fail = [&](const std::string& what) {
      throw io_error(std::string(context) + ": '" + r.source() + "': " + what);
    };
    const auto cap = r.get_scalar<std::uint64_t>("capacity");
    const auto dim = r.get_scalar<std::uint64_t>("feature_dim");
    if (cap != capacity_ || dim != dim_)
      fail("holds a buffer of capacity " + std::to_string(cap) + " x feature_dim " +
           std::to_string(dim) + ", this one is " + std::to_string(capacity_) + " x " +
           std::to_string(dim_));
    seed_ = r.get_scalar<std::uint64_t>("seed");
    seen_ = r.get_scalar<std::uint64_t>("seen");
    const auto sampler_position = r.get_scalar<std::uint64_t>("sampler_position");
    const io::record_info& fi = r.info("features");
    if (fi.shape.size() != 2 || fi.shape[1] != dim_ || fi.shape[0] > capacity_)
      fail("record 'features' must have shape [rows <= capacity, feature_dim]");
    const std::size_t rows = static_cast<std::size_t>(fi.shape[0]);
    if (rows > seen_) fail("holds more rows than the stream had");
    const auto n = static_cast<std::uint64_t>(rows);
    const std::vector<T> f = r.get<T>("features", fi.shape);
    const std::vector<std::int32_t> labels = r.get<std::int32_t>("labels", {n});
    const std::vector<std::uint64_t> positions = r.get<std::uint64_t>("positions", {n});
    const std::vector<std::uint64_t> perm = r.get<std::uint64_t>("perm", {n});
    for (const T v : f)
      if (!is_finite(v)) fail("features hold NaN or Inf");
    std::vector<char> hit(rows, 0);
    for (std::size_t i = 0; i < rows; ++i) {
      if (positions[i] >= seen_) fail("a stream position lies past the end of the stream");
      if (perm[i] >= n || hit[static_cast<std::size_t>(perm[i])])
        fail("record 'perm' is not a permutation of the rows");
      hit[static_cast<std::size_t>(perm[i])] = 1;
    }
    std::copy(f.begin(), f.end(), features_.begin());
    std::copy(labels.begin(), labels.end(), labels_.begin());
    std::copy(positions.begin(), positions.end(), positions_.begin());
    std::copy(perm.begin(), perm.end(), perm_.begin());
    size_ = rows;
    sampler_ = philox_engine(philox_key{seed_, 1}, sampler_position);
  }

  std::size_t size() const { return size_; }
  std::size_t capacity() const { return capacity_; }
  std::size_t feature_dim() const { return dim_; }
  std::uint64_t seen() const { return seen_; }
  std::uint64_t& seen() { return seen_; }
  std::uint64_t seed() const { return seed_; }
  std::span<const T> features() const { return {features_.data(), size_ * dim_}; }
  std::span<const std::int32_t> labels() const { return {labels_.data(), size_}; }
  std::span<const std::uint64_t> positions() const { return {positions_.data(), size_}; }
  std::int32_t label_at(std::size_t slot) const { return labels_[slot]; }

 private:
  std::size_t capacity_;
  std::size_t dim_;
  std::uint64_t seed_;
  std::size_t size_ = 0;
  std::uint64_t seen_ = 0;
  std::vector<T> features_;
  std::vector<std::int32_t> labels_;
  std::vector<std::uint64_t> positions_;
  std::vector<std::size_t> perm_;
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

 protected:
  replay_buffer(const replay_options& o, std::string_view component)
      : store_(o, component), chooser_(philox_key{o.seed, 0}, 0) {}

  // Checks the whole add() call before offer(row, label) sees its first row, so a throw leaves
  // the buffer unchanged.
  template <class Offer>
  void offer_rows(std::string_view context, std::span<const T> features,
                  std::span<const std::int32_t> labels, Offer&& offer) {
    const std::size_t n = store_.check_add(context, features, labels);
    const std::size_t dim = store_.feature_dim();
    for (std::size_t i = 0; i < n; ++i) offer(features.data() + i * dim, labels[i]);
  }

  // The records both buffers start a checkpoint with: rows, labels, positions, both generators.
  void write(io::checkpoint_writer& w) const {
    store_.write(w);
    w.add_scalar("chooser_position", chooser_.position());
  }

  // Reads the rows into a copy of the store, so that a throw leaves this buffer as it was.
  replay_store<T> read_rows(const io::checkpoint_reader& r, std::string_view context) const {
    replay_store<T> next = store_;
    next.read(r, context);
    return next;
  }

  static std::uint64_t read_chooser_position(const io::checkpoint_reader& r) {
    return r.get_scalar<std::uint64_t>("chooser_position");
  }

  // The last step of a load, once everything in the file has been checked.
  void adopt(replay_store<T>&& next, std::uint64_t chooser_position) {
    store_ = std::move(next);
    chooser_ = philox_engine(philox_key{store_.seed(), 0}, chooser_position);
  }

  replay_store<T> store_;
  philox_engine chooser_;
};

}  // namespace detail

}  // namespace continua::sample
