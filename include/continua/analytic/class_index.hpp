// Class bookkeeping of the analytic family: labels in column order, learned rows per class, the
// sample total, and validated changes that map a batch (or another index) onto columns.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "continua/config.hpp"
#include "continua/core/buffer.hpp"
#include "continua/core/error.hpp"
#include "continua/core/kernel.hpp"

namespace continua::analytic {

// Which label owns which column of a head's weights or of XᵀY, and how many learned rows each
// class has. Columns keep the order of first arrival; a class whose rows were all unlearned keeps
// its column with count 0. Heads (analytic_classifier), sufficient_statistics and the MPI
// reduction all keep their labels here.
//
// Every change goes in two steps: plan_*() validates and returns a `change` (nothing happens to
// the index), the caller updates its matrices, then apply() installs the change and cannot fail.
// So a learner whose linear algebra throws keeps its bookkeeping as it was. Error messages are
// built only when a check fails.
class class_index {
 public:
  // A validated change planned against one state of one index.
  class change {
   public:
    // Labels in column order after the change (known columns first, new ones appended).
    const std::vector<std::int32_t>& labels() const { return labels_; }
    std::size_t classes() const { return labels_.size(); }
    // The column of each source item after the change: per batch row for plan_add/plan_remove,
    // per column of the other index for plan_merge/plan_subtract.
    const std::vector<std::uint32_t>& columns() const { return columns_; }
    // Columns the change appends (labels not known before).
    std::size_t added() const { return added_; }
    const std::vector<std::uint64_t>& counts() const { return counts_; }  // after the change
    std::uint64_t samples() const { return samples_; }                    // after the change

   private:
    friend class class_index;
    std::vector<std::int32_t> labels_;
    std::vector<std::uint32_t> columns_;
    std::vector<std::uint64_t> counts_;
    std::uint64_t samples_ = 0;
    std::size_t added_ = 0;
    const class_index* origin_ = nullptr;
    std::uint64_t revision_ = 0;
  };

  class_index() = default;
  // An index with these columns and no learned rows (the order to align other indexes to).
  explicit class_index(std::vector<std::int32_t> labels)
      : class_index(labels, std::vector<std::uint64_t>(labels.size(), 0), 0) {}
  // A restored index. Throws invalid_argument unless labels are distinct and >= 0, there is one
  // count per label, and the counts sum to samples.
  class_index(std::vector<std::int32_t> labels, std::vector<std::uint64_t> counts,
              std::uint64_t samples)
      : labels_(std::move(labels)), counts_(std::move(counts)), samples_(samples) {
    validate("continua::analytic::class_index");
  }

  std::size_t classes() const { return labels_.size(); }
  const std::vector<std::int32_t>& labels() const { return labels_; }   // column -> label
  const std::vector<std::uint64_t>& counts() const { return counts_; }  // column -> rows
  std::uint64_t samples() const { return samples_; }                    // learned rows
  bool has_rows() const {
    return std::any_of(counts_.begin(), counts_.end(), [](std::uint64_t n) { return n > 0; });
  }

  // The column of a label, or nothing for a label never learned.
  std::optional<std::size_t> find(std::int32_t label) const {
    const auto it = std::find(labels_.begin(), labels_.end(), label);
    if (it == labels_.end()) return std::nullopt;
    return static_cast<std::size_t>(it - labels_.begin());
  }
  // The column of a label; throws invalid_argument (prefixed by context) for an unknown one.
  std::size_t column(std::string_view context, std::int32_t label) const {
    if (const auto c = find(label)) return *c;
    throw invalid_argument(std::string(context) + ": unknown label " + std::to_string(label) +
                           " (" + std::to_string(classes()) + " classes are known)");
  }

  // Learning a batch: one row per label (each >= 0); unknown labels get new columns in order of
  // first appearance.
  change plan_add(std::string_view context, std::span<const std::int32_t> batch) const {
    change c = start();
    c.columns_.resize(batch.size());
    for (std::size_t i = 0; i < batch.size(); ++i) {
      if (batch[i] < 0)
        throw invalid_argument(std::string(context) + ": label " + std::to_string(batch[i]) +
                               " at row " + std::to_string(i) + " is negative");
      c.columns_[i] = column_or_append(c, batch[i]);
      ++c.counts_[c.columns_[i]];
    }
    c.samples_ += batch.size();
    return c;
  }

  // Unlearning a batch of rows learned before: every label must be known and no class may lose
  // more rows than it has.
  change plan_remove(std::string_view context, std::span<const std::int32_t> batch) const {
    change c = start();
    c.columns_.resize(batch.size());
    for (std::size_t i = 0; i < batch.size(); ++i) {
      const auto col = find(batch[i]);
      if (!col)
        throw invalid_argument(std::string(context) + ": label " + std::to_string(batch[i]) +
                               " at row " + std::to_string(i) + " was never learned");
      c.columns_[i] = static_cast<std::uint32_t>(*col);
    }
    std::vector<std::uint64_t> removed(classes(), 0);
    for (const std::uint32_t col : c.columns_) ++removed[col];
    subtract_counts(context, c, removed, batch.size());
    return c;
  }

  // Adding another index's rows (merging statistics): its labels are matched by value.
  change plan_merge(std::string_view, const class_index& other) const {
    change c = start();
    c.columns_.resize(other.classes());
    for (std::size_t j = 0; j < other.classes(); ++j) {
      c.columns_[j] = column_or_append(c, other.labels_[j]);
      c.counts_[c.columns_[j]] += other.counts_[j];
    }
    c.samples_ += other.samples_;
    return c;
  }

  // Removing another index's rows (a client leaving): every class of `other` must be known here
  // and keep a count >= 0.
  change plan_subtract(std::string_view context, const class_index& other) const {
    change c = start();
    c.columns_.resize(other.classes());
    std::vector<std::uint64_t> removed(classes(), 0);
    for (std::size_t j = 0; j < other.classes(); ++j) {
      const auto col = find(other.labels_[j]);
      if (!col)
        throw invalid_argument(std::string(context) + ": the subtracted statistics hold class " +
                               std::to_string(other.labels_[j]) + ", which was never learned");
      c.columns_[j] = static_cast<std::uint32_t>(*col);
      removed[*col] += other.counts_[j];
    }
    subtract_counts(context, c, removed, other.samples_);
    return c;
  }

  // Installs a change planned by this index in its current state. Throws (index unchanged) only
  // for a change planned elsewhere or before another apply: a programming error.
  void apply(change c) {
    if (c.origin_ != this || c.revision_ != revision_)
      throw invalid_argument(
          "continua::analytic::class_index::apply: the change was planned by another index or "
          "against an earlier state");
    labels_ = std::move(c.labels_);
    counts_ = std::move(c.counts_);
    samples_ = c.samples_;
    ++revision_;
  }

  // Part of a checkpoint (continua/io/state.hpp). A load advances the revision, so a change
  // planned before it no longer fits.
  template <class V>
  void describe_state(V& v) {
    v.field("labels", labels_);
    v.field("counts", counts_);
    v.field("samples", samples_);
    if constexpr (V::loading) ++revision_;
  }
  // A loaded index: distinct labels >= 0, one count per label, counts summing to samples.
  void validate_state() const { validate("continua::analytic::class_index"); }

  friend bool operator==(const class_index& a, const class_index& b) {
    return a.labels_ == b.labels_ && a.counts_ == b.counts_ && a.samples_ == b.samples_;
  }

 private:
  change start() const {
    change c;
    c.labels_ = labels_;
    c.counts_ = counts_;
    c.samples_ = samples_;
    c.origin_ = this;
    c.revision_ = revision_;
    return c;
  }

  static std::uint32_t column_or_append(change& c, std::int32_t label) {
    const auto it = std::find(c.labels_.begin(), c.labels_.end(), label);
    if (it != c.labels_.end()) return static_cast<std::uint32_t>(it - c.labels_.begin());
    c.labels_.push_back(label);
    c.counts_.push_back(0);
    ++c.added_;
    return static_cast<std::uint32_t>(c.labels_.size() - 1);
  }

  void subtract_counts(std::string_view context, change& c,
                       const std::vector<std::uint64_t>& removed, std::uint64_t samples) const {
    for (std::size_t col = 0; col < classes(); ++col)
      if (removed[col] > counts_[col])
        throw invalid_argument(std::string(context) + ": class " + std::to_string(labels_[col]) +
                               " has " + std::to_string(counts_[col]) +
                               " learned rows, cannot remove " + std::to_string(removed[col]));
    if (samples > samples_)
      throw invalid_argument(std::string(context) + ": " + std::to_string(samples_) +
                             " rows were learned, cannot remove " + std::to_string(samples));
    for (std::size_t col = 0; col < classes(); ++col) c.counts_[col] -= removed[col];
    c.samples_ -= samples;
  }

  void validate(std::string_view context) const {
    if (counts_.size() != labels_.size())
      throw size_mismatch(context, "counts", counts_.size(), "labels", labels_.size());
    std::uint64_t total = 0;
    for (std::size_t i = 0; i < labels_.size(); ++i) {
      if (labels_[i] < 0)
        throw invalid_argument(std::string(context) + ": label " + std::to_string(labels_[i]) +
                               " is negative");
      // A forged file could make the sum wrap around to `samples`.
      if (counts_[i] > std::numeric_limits<std::uint64_t>::max() - total)
        throw invalid_argument(std::string(context) + ": the counts overflow 64 bits");
      total += counts_[i];
    }
    std::vector<std::int32_t> sorted = labels_;
    std::sort(sorted.begin(), sorted.end());
    if (const auto twice = std::adjacent_find(sorted.begin(), sorted.end()); twice != sorted.end())
      throw invalid_argument(std::string(context) + ": label " + std::to_string(*twice) +
                             " appears twice");
    if (total != samples_)
      throw invalid_argument(std::string(context) + ": the counts sum to " + std::to_string(total) +
                             " but samples is " + std::to_string(samples_));
  }

  std::vector<std::int32_t> labels_;
  std::vector<std::uint64_t> counts_;
  std::uint64_t samples_ = 0;
  std::uint64_t revision_ =
      0;  // advanced by apply(): a change fits only the state it was planned on
};

namespace detail {
// dst[:, map[c]] += sign * src[:, c]: adds columns of one matrix into chosen columns of another.
template <class T>
struct scatter_columns_fn {
  T* dst;
  const T* src;
  const std::uint32_t* map;
  std::size_t src_cols;
  std::size_t dst_cols;
  T sign;
  CONTINUA_HD void operator()(std::size_t i) const {
    const std::size_t r = i / src_cols;
    const std::size_t c = i % src_cols;
    dst[r * dst_cols + map[c]] += sign * src[i];
  }
};
}  // namespace detail

// One-hot targets (rows x c.classes(), row-major) of a batch change (plan_add / plan_remove).
template <class T, class Space = host_space>
buffer<T, Space> one_hot(const class_index::change& c) {
  const std::size_t k = c.classes();
  std::vector<T> host(
      checked_mul(c.columns().size(), k, "continua::analytic::one_hot", "rows * classes"), T(0));
  for (std::size_t i = 0; i < c.columns().size(); ++i) host[i * k + c.columns()[i]] = T(1);
  buffer<T, Space> out(host.size());
  out.assign_from_host(host);
  return out;
}

// Aligns a matrix kept in another index's column order (XᵀY of merged statistics) to the order of
// a merge/subtract change: dst (rows x c.classes(), row-major) += sign * src (rows x
// c.columns().size(), row-major), column j of src going to column c.columns()[j].
template <class T, class Space>
void scatter_columns(const class_index::change& c, const buffer<T, Space>& src, std::size_t rows,
                     buffer<T, Space>& dst, T sign = T(1)) {
  constexpr std::string_view context = "continua::analytic::scatter_columns";
  const std::size_t from = c.columns().size();
  require_same_size(context, "source", src.size(), "rows * source columns",
                    checked_mul(rows, from, context, "rows * source columns"));
  require_same_size(context, "destination", dst.size(), "rows * classes",
                    checked_mul(rows, c.classes(), context, "rows * classes"));
  if (from == 0 || rows == 0) return;
  buffer<std::uint32_t, Space> columns(from);
  columns.assign_from_host(c.columns());
  for_each_index(Space{}, src.size(),
                 detail::scatter_columns_fn<T>{dst.data(), src.data(), columns.data(), from,
                                               c.classes(), sign});
}

}  // namespace continua::analytic
