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
#include <filesystem>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "continua/io/checkpoint.hpp"
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

  explicit class_balanced_buffer(replay_options options) : base(options, "class_balanced_buffer") {}

  // Offers each row (features n x feature_dim row-major, one label per row). Throws, with the
  // buffer unchanged, on a size that is not a multiple of feature_dim, labels.size() != n, or
  // NaN/Inf features.
  void add(std::span<const T> features, std::span<const std::int32_t> labels) {
    this->offer_rows("class_balanced_buffer::add", features, labels,
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
    store_.sample_batch("class_balanced_buffer::sample_batch", features_out, labels_out);
  }

  // Rows, generator positions and the per-class bookkeeping (seen counts and slot lists, whose
  // order decides future evictions), so a loaded buffer continues exactly as the saved one.
  void save(const std::filesystem::path& path) const {
    io::checkpoint_writer w(checkpoint_kind, checkpoint_schema);
    this->write(w);
    std::vector<std::int32_t> class_labels;
    std::vector<std::uint64_t> class_seen, class_counts, class_slots;
    for (const auto& [label, cs] : classes_) {
      class_labels.push_back(label);
      class_seen.push_back(cs.seen);
      class_counts.push_back(cs.slots.size());
      class_slots.insert(class_slots.end(), cs.slots.begin(), cs.slots.end());
    }
    w.add("class_labels", class_labels);
    w.add("class_seen", class_seen);
    w.add("class_counts", class_counts);
    w.add("class_slots", class_slots);
    w.save(path);
  }

  // Throws continua::io_error, leaving the buffer unchanged, on a damaged file, another kind or
  // element type, another capacity or feature_dim, or inconsistent content.
  void load(const std::filesystem::path& path) {
    constexpr std::string_view context = "class_balanced_buffer::load";
    const io::checkpoint_reader r(path);
    r.require_kind(checkpoint_kind, checkpoint_schema);
    const auto fail = [&](const std::string& what) {
      throw io_error(std::string(context) + ": '" + r.source() + "': " + what);
    };
    detail::replay_store<T> next = this->read_rows(r, context);
    const auto chooser_position = base::read_chooser_position(r);
    const auto class_labels = r.get<std::int32_t>("class_labels");
    const auto c = static_cast<std::uint64_t>(class_labels.size());
    const auto class_seen = r.get<std::uint64_t>("class_seen", {c});
    const auto class_counts = r.get<std::uint64_t>("class_counts", {c});
    const auto class_slots =
        r.get<std::uint64_t>("class_slots", {static_cast<std::uint64_t>(next.size())});
    std::map<std::int32_t, class_state> classes;
    std::vector<char> hit(next.size(), 0);
    std::size_t k = 0;
    std::uint64_t seen_total = 0;
    for (std::size_t j = 0; j < class_labels.size(); ++j) {
      class_state cs;
      cs.seen = class_seen[j];
      seen_total += cs.seen;
      if (class_counts[j] > cs.seen) fail("a class holds more rows than it offered");
      if (class_counts[j] > class_slots.size() - k) fail("class slot lists overrun");
      for (std::uint64_t m = 0; m < class_counts[j]; ++m, ++k) {
        const std::uint64_t slot = class_slots[k];
        if (slot >= next.size() || hit[static_cast<std::size_t>(slot)] ||
            next.label_at(static_cast<std::size_t>(slot)) != class_labels[j])
          fail("class slot lists do not match the stored labels");
        hit[static_cast<std::size_t>(slot)] = 1;
        cs.slots.push_back(static_cast<std::size_t>(slot));
      }
      if (!classes.emplace(class_labels[j], std::move(cs)).second) fail("duplicate class label");
    }
    if (k != next.size()) fail("class slot lists do not cover the stored rows");
    if (seen_total != next.seen()) fail("per-class seen counts do not add up to seen");
    this->adopt(std::move(next), chooser_position);
    classes_ = std::move(classes);
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
