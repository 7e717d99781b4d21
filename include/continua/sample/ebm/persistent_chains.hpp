// Persistent chain buffer for energy-based-model training: a store of MCMC chain states from
// which each training step draws its starts. Du & Mordatch, "Implicit Generation and Modeling
// with Energy-Based Models", NeurIPS 2019 (replay buffer of past samples, 5 % fresh restarts).
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string_view>
#include <type_traits>
#include <unordered_set>
#include <utility>
#include <vector>

#include "continua/config.hpp"
#include "continua/core/buffer.hpp"
#include "continua/core/error.hpp"
#include "continua/core/finite.hpp"
#include "continua/core/kernel.hpp"
#include "continua/core/random.hpp"
#include "continua/core/span.hpp"
#include "continua/core/tensor.hpp"
#include "continua/sample/mcmc/chain_state.hpp"

namespace continua::sample::ebm {

// Where fresh chains start: uniform on [low, high)^dim or N(mean, stddev^2 I).
enum class initializer_kind : std::uint8_t { uniform, normal };

// Options of persistent_chains (see below).
struct persistent_chains_options {
  std::size_t capacity = 10000;      // chains kept, > 0
  std::size_t dim = 0;               // coordinates per chain, > 0 (required)
  double reinit_probability = 0.05;  // p in [0, 1]: chance a drawn chain restarts fresh
  initializer_kind initializer = initializer_kind::uniform;
  double low = -1.0, high = 1.0;    // uniform initializer, low < high
  double mean = 0.0, stddev = 1.0;  // normal initializer, stddev >= 0
  philox_key seed = {};             // the buffer's random stream
};

namespace detail {

// Row r of a draw: the fresh start when it restarts, else chain index[r] of the store.
template <class T>
struct gather_starts {
  const T* store;
  const T* fresh;
  const std::uint64_t* index;
  const std::uint8_t* restart;
  T* out;
  std::size_t dim;
  CONTINUA_HD void operator()(std::size_t i) const {
    const std::size_t r = i / dim, j = i - r * dim;
    out[i] = restart[r] ? fresh[i] : store[static_cast<std::size_t>(index[r]) * dim + j];
  }
};

// Chain index[r] of the store gets row r of the updated batch.
template <class T>
struct scatter_rows {
  T* store;
  const T* rows;
  const std::uint64_t* index;
  std::size_t dim;
  CONTINUA_HD void operator()(std::size_t i) const {
    const std::size_t r = i / dim, j = i - r * dim;
    store[static_cast<std::size_t>(index[r]) * dim + j] = rows[i];
  }
};

}  // namespace detail

// Keeps `capacity` chains (capacity x dim, row-major, in Space), all started by the initializer.
// draw(out) fills a batch of n <= capacity starts: n distinct chains chosen uniformly (Floyd's
// sampling without replacement), each replaced by a fresh initializer draw with probability p;
// the caller runs its MCMC steps on the batch and hands it back with write_back(batch), which
// stores row r in the chain row r was drawn from. Round k (k = 1, 2, ...) uses its own block of
// the Philox stream `seed` (capacity x dim initializer draws, then 2 capacity uniforms: restart
// tests, index choice), so the buffer evolves identically on every backend. Checkpointable
// (chains and round counter; a draw not yet written back is not part of the checkpoint: save
// after write_back).
//   ebm::persistent_chains<float> buf({.capacity = 10000, .dim = 2});
//   buf.draw(x);  /* k.init(x, target); K steps; copy positions to x */  buf.write_back(x);
template <class T, class Space = host_space>
class persistent_chains {
 public:
  static constexpr std::string_view checkpoint_kind = "sample.ebm.persistent_chains";
  static constexpr std::uint32_t checkpoint_schema = 1;
  static constexpr std::string_view name = "continua::sample::ebm::persistent_chains";

  // Validates the options (invalid_argument naming the field) and fills the store from the
  // initializer (round 0 of the stream).
  explicit persistent_chains(persistent_chains_options o) : opt_(o) {
    require_option(opt_.capacity > 0, name, "capacity", static_cast<double>(opt_.capacity),
                   "must be positive");
    require_option(opt_.dim > 0, name, "dim", static_cast<double>(opt_.dim), "must be positive");
    require_option(std::isfinite(opt_.reinit_probability) && opt_.reinit_probability >= 0 &&
                       opt_.reinit_probability <= 1,
                   name, "reinit_probability", opt_.reinit_probability, "must lie in [0, 1]");
    if (opt_.initializer == initializer_kind::uniform) {
      require_option(std::isfinite(opt_.low), name, "low", opt_.low, "must be finite");
      require_option(std::isfinite(opt_.high) && opt_.high > opt_.low, name, "high", opt_.high,
                     "must be finite and greater than low");
    } else {
      require_option(std::isfinite(opt_.mean), name, "mean", opt_.mean, "must be finite");
      require_option(std::isfinite(opt_.stddev) && opt_.stddev >= 0, name, "stddev", opt_.stddev,
                     "must be finite and >= 0");
    }
    const std::size_t n = checked_mul(opt_.capacity, opt_.dim, name, "capacity * dim");
    chains_ = buffer<T, Space>(n);
    fill_fresh(chains_, round_noise(0).normal_offset);
  }

  // The options, as validated.
  const persistent_chains_options& options() const { return opt_; }
  // Chains kept.
  std::size_t capacity() const { return opt_.capacity; }
  // Coordinates per chain.
  std::size_t dim() const { return opt_.dim; }
  // Rounds drawn so far (round k used the stream's block k; block 0 filled the store).
  std::uint64_t rounds() const { return rounds_; }
  // The stored chains, capacity x dim row-major.
  const buffer<T, Space>& chains() const { return chains_; }
  // Chains of the last draw that restarted fresh.
  std::size_t last_restarts() const { return last_restarts_; }
  // Store indices of the last draw's rows (host), empty after write_back.
  const std::vector<std::uint64_t>& pending() const { return pending_host_; }

  // Fills out (n x dim, row-major, 0 < n <= capacity) with the next round's starts, fresh ones
  // from the options' initializer; a draw not yet written back is dropped (its chains keep their
  // stored state). Throws, with the buffer unchanged, on a bad size.
  template <tensor X>
  void draw(X&& out) {
    draw_with(out,
              [this](buffer<T, Space>& fresh, std::uint64_t offset) { fill_fresh(fresh, offset); });
  }

  // As draw(out), with the fresh starts from init(rows, key, offset): a user initializer that
  // fills `rows` (matrix_view<T, Space>, n x dim) — e.g. from a generator network, or with
  // continua::fill_normal(rows, key, offset) draws of the stream (key, offset on are this
  // round's; n x dim draws are reserved for it). Only the restarting rows are used.
  template <tensor X, class Init>
  void draw(X&& out, Init&& init) {
    draw_with(out, [&](buffer<T, Space>& fresh, std::uint64_t offset) {
      init(matrix_view<T, Space>(fresh.data(), fresh.size() / opt_.dim, opt_.dim), opt_.seed,
           offset);
      require_finite("continua::sample::ebm::persistent_chains::draw", "the initializer's rows",
                     span<const T, Space>(fresh.data(), fresh.size()));
    });
  }

  // Stores row r of `rows` (n x dim, the batch of the last draw after its MCMC steps) in the
  // chain it was drawn from. Throws, with the buffer unchanged, when no draw is pending, the
  // size differs from the draw's, or a value is NaN/Inf.
  template <tensor X>
  void write_back(const X& rows) {
    constexpr std::string_view context = "continua::sample::ebm::persistent_chains::write_back";
    static_assert(std::is_same_v<value_t<X>, T> && std::is_same_v<memory_space_t<X>, Space>,
                  "continua::sample::ebm::persistent_chains::write_back: rows must hold T in "
                  "the buffer's memory space");
    require(!pending_host_.empty(), context, "no draw is pending");
    require_same_size(context, "rows", continua::size(rows), "drawn rows * dim",
                      pending_host_.size() * opt_.dim);
    const span<const T, Space> r(continua::data(rows), continua::size(rows));
    require_finite(context, "rows", r);
    for_each_index(
        Space{}, r.size(),
        detail::scatter_rows<T>{chains_.data(), r.data(), pending_index_.data(), opt_.dim});
    pending_host_.clear();
  }

  // Checkpoint fields: the settings must match; the chains and the round counter are restored.
  template <class V>
  void describe_state(V& v) {
    v.expect("capacity", std::uint64_t{opt_.capacity});
    v.expect("dim", std::uint64_t{opt_.dim});
    v.field("chains", chains_, {std::uint64_t{opt_.capacity}, std::uint64_t{opt_.dim}});
    v.field("rounds", rounds_);
    // A draw pending before the load belongs to the old store: drop it (and its restarts).
    if constexpr (V::loading) {
      pending_host_.clear();
      pending_index_ = buffer<std::uint64_t, Space>();
      last_restarts_ = 0;
    }
  }

  // A loaded store must hold finite chains, and a round counter whose next round has its block
  // of the stream (the counter a run can reach; past it the next draw would throw, or the
  // counter wrap to 0 and replay round 0's draws).
  void validate_state() const {
    constexpr std::string_view c = "continua::sample::ebm::persistent_chains::load";
    require(!find_non_finite(span<const T, Space>(chains_.data(), chains_.size())), c,
            "chains hold NaN or Inf");
    require(rounds_ < std::numeric_limits<std::uint64_t>::max(), c,
            "the round counter is at its maximum");
    round_noise(rounds_ + 1);  // throws invalid_argument when the stream is used up
  }

 private:
  // Round k's block of the stream: capacity x dim initializer draws, then 2 capacity uniforms.
  sample::detail::step_noise round_noise(std::uint64_t k) const {
    return sample::detail::noise_of_step<T>(opt_.seed, k, opt_.capacity * opt_.dim,
                                            2 * opt_.capacity, name);
  }

  void fill_fresh(buffer<T, Space>& x, std::uint64_t offset) const {
    if (opt_.initializer == initializer_kind::uniform)
      fill_uniform(x, opt_.seed, offset, opt_.low, opt_.high);
    else
      fill_normal(x, opt_.seed, offset, opt_.mean, opt_.stddev);
  }

  template <tensor X, class Fresh>
  void draw_with(X& out, Fresh&& make_fresh) {
    constexpr std::string_view context = "continua::sample::ebm::persistent_chains::draw";
    static_assert(std::is_same_v<value_t<X>, T> && std::is_same_v<memory_space_t<X>, Space>,
                  "continua::sample::ebm::persistent_chains::draw: out must hold T in the "
                  "buffer's memory space");
    const std::size_t total = continua::size(out);
    require(total > 0 && total % opt_.dim == 0, context,
            "out must hold a positive whole number of rows of dim values");
    const std::size_t n = total / opt_.dim;
    require(n <= opt_.capacity, context, "a batch cannot hold more rows than the capacity");
    const std::uint64_t k = rounds_ + 1;
    const sample::detail::step_noise noise = round_noise(k);
    // Host: restart tests (uniforms 0 .. n-1) and Floyd's choice of n distinct chains (uniforms
    // capacity .. capacity + n - 1), so the choice is the same on every backend.
    std::vector<std::uint8_t> restart(n);
    std::vector<std::uint64_t> index;
    index.reserve(n);
    std::unordered_set<std::uint64_t> taken;
    taken.reserve(2 * n);
    std::size_t restarts = 0;
    for (std::size_t r = 0; r < n; ++r) {
      restart[r] = static_cast<double>(uniform_draw<T>(noise.key, noise.uniform_offset + r)) <
                           opt_.reinit_probability
                       ? 1
                       : 0;
      restarts += restart[r];
    }
    const std::uint64_t cap = opt_.capacity;
    for (std::uint64_t j = cap - n, r = 0; j < cap; ++j, ++r) {
      const double u =
          static_cast<double>(uniform_draw<T>(noise.key, noise.uniform_offset + cap + r));
      std::uint64_t t = static_cast<std::uint64_t>(u * static_cast<double>(j + 1));
      if (t > j) t = j;
      if (!taken.insert(t).second) {
        taken.insert(j);
        t = j;
      }
      index.push_back(t);
    }
    buffer<T, Space> fresh(total);
    make_fresh(fresh, noise.normal_offset);  // may throw: nothing of the buffer changed yet
    buffer<std::uint64_t, Space> index_d(n);
    index_d.assign_from_host(index);
    buffer<std::uint8_t, Space> restart_d(n);
    restart_d.assign_from_host(restart);
    for_each_index(Space{}, total,
                   detail::gather_starts<T>{chains_.data(), fresh.data(), index_d.data(),
                                            restart_d.data(), continua::data(out), opt_.dim});
    pending_index_ = std::move(index_d);
    pending_host_ = std::move(index);
    last_restarts_ = restarts;
    rounds_ = k;
  }

  persistent_chains_options opt_;
  buffer<T, Space> chains_;
  std::uint64_t rounds_ = 0;
  std::size_t last_restarts_ = 0;
  std::vector<std::uint64_t> pending_host_;
  buffer<std::uint64_t, Space> pending_index_;
};

}  // namespace continua::sample::ebm
