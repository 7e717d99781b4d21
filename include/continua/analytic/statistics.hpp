// Sufficient statistics of labelled ridge regression, C = XᵀX, B = XᵀY (Y one-hot), class
// counts: add, remove, merge and subtract in any order and batch size (the exactness behind AFL:
// Zhuang et al., "AFL: A Single-Round Analytic Approach for Federated Learning", 2024).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "continua/analytic/detail/matrix_ops.hpp"
#include "continua/core/buffer.hpp"
#include "continua/core/error.hpp"
#include "continua/core/linalg.hpp"
#include "continua/core/span.hpp"

namespace continua::analytic {

namespace detail {

// The column of each label: known labels keep theirs, new ones are appended in order of first
// appearance. Validates labels (>= 0) before anything changes.
struct label_columns {
  std::vector<std::int32_t> labels;      // column -> label after the batch
  std::vector<std::uint32_t> column_of;  // row -> column
  std::size_t added = 0;                 // new columns
};

inline label_columns map_labels(std::string_view context, const std::vector<std::int32_t>& known,
                                std::span<const std::int32_t> batch) {
  label_columns out{known, std::vector<std::uint32_t>(batch.size()), 0};
  for (std::size_t i = 0; i < batch.size(); ++i) {
    const std::int32_t y = batch[i];
    if (y < 0)
      throw invalid_argument(std::string(context) + ": label " + std::to_string(y) + " at row " +
                             std::to_string(i) + " is negative");
    const auto it = std::find(out.labels.begin(), out.labels.end(), y);
    if (it != out.labels.end()) {
      out.column_of[i] = static_cast<std::uint32_t>(it - out.labels.begin());
    } else {
      out.column_of[i] = static_cast<std::uint32_t>(out.labels.size());
      out.labels.push_back(y);
      ++out.added;
    }
  }
  return out;
}

// One-hot targets (n x classes, row-major) in memory space Space.
template <class T, class Space>
buffer<T, Space> one_hot(const std::vector<std::uint32_t>& column_of, std::size_t classes) {
  std::vector<T> host(column_of.size() * classes, T(0));
  for (std::size_t i = 0; i < column_of.size(); ++i) host[i * classes + column_of[i]] = T(1);
  buffer<T, Space> out(host.size());
  out.assign_from_host(host);
  return out;
}

}  // namespace detail

// C, B and counts of a labelled data set; what a federated client sends and a server sums.
template <class T, class Space = host_space>
class sufficient_statistics {
 public:
  using value_type = T;
  using memory_space = Space;

  sufficient_statistics() = default;
  explicit sufficient_statistics(std::size_t features) : d_(features), c_(features * features) {
    require(features > 0, "continua::analytic::sufficient_statistics", "features must be > 0");
  }

  std::size_t features() const { return d_; }
  std::size_t classes() const { return labels_.size(); }
  std::uint64_t samples() const { return samples_; }
  const std::vector<std::int32_t>& labels() const { return labels_; }   // column -> label
  const std::vector<std::uint64_t>& counts() const { return counts_; }  // per column
  matrix_view<const T, Space> gram() const { return detail::view(c_, d_, d_); }
  matrix_view<const T, Space> cross() const { return detail::view(b_, d_, classes()); }

  // Adds the rows x (n x features) with their labels.
  void add(matrix_view<const T, Space> x, std::span<const std::int32_t> labels) {
    constexpr std::string_view context = "continua::analytic::sufficient_statistics::add";
    detail::require_batch(context, x, d_);
    require_same_size(context, "labels", labels.size(), "rows of x", x.rows());
    auto map = detail::map_labels(context, labels_, labels);
    const std::size_t k = map.labels.size();
    const buffer<T, Space> y = detail::one_hot<T, Space>(map.column_of, k);
    // Nothing below throws for validated input.
    b_ = detail::widened(b_, d_, classes(), k);
    labels_ = std::move(map.labels);
    counts_.resize(k, 0);
    for (const std::uint32_t c : map.column_of) ++counts_[c];
    samples_ += x.rows();
    linalg::syrk(linalg::op::transpose, T(1), x, T(1), detail::view(c_, d_, d_));
    linalg::gemm(linalg::op::transpose, linalg::op::none, T(1), x, detail::view(y, x.rows(), k),
                 T(1), detail::view(b_, d_, k));
  }

  // Adds (sign +1) or removes (-1) another set's statistics; labels are matched by value.
  void merge(const sufficient_statistics& other) { combine(other, T(1)); }
  // Removes statistics that were merged before (a client leaving): counts must not go negative.
  void subtract(const sufficient_statistics& other) { combine(other, T(-1)); }

  // Raw access for checkpoints.
  buffer<T, Space>& gram_buffer() { return c_; }
  buffer<T, Space>& cross_buffer() { return b_; }
  const buffer<T, Space>& gram_buffer() const { return c_; }
  const buffer<T, Space>& cross_buffer() const { return b_; }
  void restore(std::vector<std::int32_t> labels, std::vector<std::uint64_t> counts,
               std::uint64_t samples) {
    labels_ = std::move(labels);
    counts_ = std::move(counts);
    samples_ = samples;
  }

 private:
  void combine(const sufficient_statistics& other, T sign) {
    const std::string_view context = sign > T(0)
                                         ? "continua::analytic::sufficient_statistics::merge"
                                         : "continua::analytic::sufficient_statistics::subtract";
    require_same_size(context, "features of the other statistics", other.d_, "features", d_);
    auto map = detail::map_labels(context, labels_, other.labels_);
    if (sign < T(0)) {
      require(map.added == 0, context, "the other statistics hold a class these never had");
      for (std::size_t j = 0; j < other.classes(); ++j)
        require(counts_[map.column_of[j]] >= other.counts_[j], context,
                "class " + std::to_string(other.labels_[j]) + " would have a negative count");
      require(samples_ >= other.samples_, context, "sample count would go negative");
    }
    const std::size_t k = map.labels.size();
    b_ = detail::widened(b_, d_, classes(), k);
    labels_ = std::move(map.labels);
    counts_.resize(k, 0);
    for (std::size_t j = 0; j < other.classes(); ++j) {
      auto& c = counts_[map.column_of[j]];
      c = sign > T(0) ? c + other.counts_[j] : c - other.counts_[j];
    }
    samples_ = sign > T(0) ? samples_ + other.samples_ : samples_ - other.samples_;
    detail::axpy(sign, other.c_, c_);
    if (other.classes() != 0) {
      buffer<std::uint32_t, Space> columns(other.classes());
      columns.assign_from_host(map.column_of);
      for_each_index(Space{}, other.b_.size(),
                     detail::scatter_columns_fn<T>{b_.data(), other.b_.data(), columns.data(),
                                                   other.classes(), k, sign});
    }
  }

  std::size_t d_ = 0;
  buffer<T, Space> c_, b_;
  std::vector<std::int32_t> labels_;
  std::vector<std::uint64_t> counts_;
  std::uint64_t samples_ = 0;
};

// The statistics of many clients summed: the input of the centralised-equivalent model.
template <class T, class Space>
sufficient_statistics<T, Space> aggregate(
    std::span<const sufficient_statistics<T, Space>> clients) {
  require(!clients.empty(), "continua::analytic::aggregate", "no client statistics to aggregate");
  sufficient_statistics<T, Space> total(clients.front().features());
  for (const auto& c : clients) total.merge(c);
  return total;
}

}  // namespace continua::analytic
