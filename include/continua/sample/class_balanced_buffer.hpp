// class_balanced_buffer: a fixed-size replay memory keeping every class seen equally represented.
// Chrysakis & Moens, "Online Continual Learning from Imbalanced Data", ICML 2020 (CBRS).
//
// While the buffer has room every row is stored. Once it is full, a row of class c:
//   - if c is not (one of) the largest classes in the buffer, replaces a uniformly random row of
//     a largest class (ties broken uniformly at random), so small classes grow at the expense of
//     the largest;
//   - if c is a largest class, replaces a uniformly random row of class c with probability
//     m_c / n_c (m_c rows of c stored, n_c rows of c seen), i.e. reservoir sampling inside the
//     class, so the stored rows of c stay a uniform sample of c's stream.
// Consequence: once every class has offered enough rows, the per-class counts differ by at most
// one (each holds capacity / classes_seen, rounded), whatever order the classes arrive in, and
// the buffer never holds more than capacity rows.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "continua/core/error.hpp"
#include "continua/sample/detail/replay_store.hpp"

namespace continua::sample {

// Same members as reservoir_buffer, plus count(label) and classes_seen(). Host memory for the
// rows, allocated at construction; per-class bookkeeping grows with the number of classes.
template <class T>
class class_balanced_buffer : public detail::replay_buffer<T> {
  static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>,
                "continua::sample::class_balanced_buffer: T must be float or double");
  using base = detail::replay_buffer<T>;
  using base::chooser_;
  using base::store_;

  struct class_state {
    std::uint64_t seen = 0;
    std::vector<std::size_t> slots;  // slots holding this class, in no particular order
  };

 public:
  static constexpr std::string_view checkpoint_kind = "sample.class_balanced_buffer";
  static constexpr std::uint32_t checkpoint_schema = 1;

  explicit class_balanced_buffer(replay_options options)
      : base(options, "continua::sample::class_balanced_buffer") {}

  // Offers each row (features n x feature_dim row-major, one label per row). Throws, with the
  // buffer unchanged, on a size that is not a multiple of feature_dim, labels.size() != n, or
  // NaN/Inf features.
  void add(std::span<const T> features, std::span<const std::int32_t> labels) {
    this->offer_rows("continua::sample::class_balanced_buffer::add", features, labels,
                     [&](const T* row, std::int32_t label) { offer(row, label); });
  }

  // Rows of class `label` in the buffer (0 for a class never seen).
  std::size_t count(std::int32_t label) const {
    const auto it = classes_.find(label);
    return it == classes_.end() ? 0 : it->second.slots.size();
  }
  // Distinct labels offered so far.
  std::size_t classes_seen() const { return classes_.size(); }

  void sample_batch(std::span<T> features_out, std::span<std::int32_t> labels_out) {
    store_.sample_batch("continua::sample::class_balanced_buffer::sample_batch", features_out,
                        labels_out);
  }

  // Checkpoints (continua::io::save / io::load): the base's rows and generators, then the
  // per-class bookkeeping flattened in label order: each class's label, rows offered, rows held,
  // and its slot list (whose order decides future evictions), so a loaded buffer continues
  // exactly as the saved one. A load refuses, with the buffer unchanged, a damaged file, another
  // kind or element type, another capacity or feature_dim, or inconsistent content.
  template <class V>
  void describe_state(V& v) {
    base::describe_state(v);
    std::vector<std::int32_t> labels;
    std::vector<std::uint64_t> seen, counts, slots;
    if constexpr (!V::loading) {
      for (const auto& [label, cs] : classes_) {
        labels.push_back(label);
        seen.push_back(cs.seen);
        counts.push_back(cs.slots.size());
        slots.insert(slots.end(), cs.slots.begin(), cs.slots.end());
      }
    }
    v.field("class_labels", labels);
    const auto classes = static_cast<std::uint64_t>(labels.size());
    v.field("class_seen", seen, {classes});
    v.field("class_counts", counts, {classes});
    v.field("class_slots", slots, {static_cast<std::uint64_t>(store_.size())});
    if constexpr (V::loading) {
      // Cut the slot list into the classes; whether the slots fit the rows is validate_state's.
      classes_.clear();
      std::size_t k = 0;
      for (std::size_t j = 0; j < labels.size(); ++j) {
        if (counts[j] > slots.size() - k) v.fail("class slot lists overrun the stored rows");
        class_state& cs = classes_[labels[j]];
        cs.seen = seen[j];
        cs.slots.assign(slots.begin() + static_cast<std::ptrdiff_t>(k),
                        slots.begin() + static_cast<std::ptrdiff_t>(k + counts[j]));
        k += static_cast<std::size_t>(counts[j]);
      }
      if (classes_.size() != labels.size()) v.fail("duplicate class label");
      if (k != slots.size()) v.fail("class slot lists do not cover the stored rows");
    }
  }

  // Every stored row belongs to exactly one class list, under its own label; no class holds
  // more rows than it offered; the classes' offers add up to the stream.
  void validate_state() const {
    constexpr std::string_view context = "continua::sample::class_balanced_buffer::load";
    base::validate_state();
    std::vector<char> hit(store_.size(), 0);
    std::uint64_t seen_total = 0;
    for (const auto& [label, cs] : classes_) {
      require(cs.slots.size() <= cs.seen, context, "a class holds more rows than it offered");
      // A forged file can make the per-class counts wrap around to the total.
      seen_total =
          checked_add(seen_total, cs.seen, context, "the sum of the per-class seen counts");
      for (const std::size_t slot : cs.slots) {
        require(slot < store_.size() && !hit[slot] && store_.label_at(slot) == label, context,
                "class slot lists do not match the stored labels");
        hit[slot] = 1;
      }
    }
    require(seen_total == store_.seen(), context, "per-class seen counts do not add up to seen");
  }

 private:
  void offer(const T* row, std::int32_t label) {
    const std::uint64_t t = store_.seen();
    class_state& cs = classes_[label];
    ++cs.seen;
    ++store_.seen();
    if (store_.size() < store_.capacity()) {
      cs.slots.push_back(store_.append(row, label, t));
      return;
    }
    std::size_t largest = 0, ties = 0;
    for (const auto& [l, other] : classes_) {
      const std::size_t m = other.slots.size();
      if (m > largest) {
        largest = m;
        ties = 1;
      } else if (m == largest) {
        ++ties;
      }
    }
    if (cs.slots.size() == largest) {
      // Reservoir sampling within the class: keep with probability m_c / n_c.
      const std::uint64_t j = detail::replay_uniform_index(chooser_, cs.seen);
      if (j < cs.slots.size()) store_.put(cs.slots[static_cast<std::size_t>(j)], row, label, t);
      return;
    }
    std::uint64_t pick = ties > 1 ? detail::replay_uniform_index(chooser_, ties) : 0;
    class_state* victim = nullptr;
    for (auto& [l, other] : classes_)
      if (other.slots.size() == largest && pick-- == 0) {
        victim = &other;
        break;
      }
    const std::size_t idx =
        static_cast<std::size_t>(detail::replay_uniform_index(chooser_, largest));
    const std::size_t slot = victim->slots[idx];
    victim->slots[idx] = victim->slots.back();
    victim->slots.pop_back();
    store_.put(slot, row, label, t);
    cs.slots.push_back(slot);
  }

  std::map<std::int32_t, class_state> classes_;
};

}  // namespace continua::sample
