// Analytic class-incremental classifier head: ridge regression onto one-hot labels whose classes
// grow whenever new labels arrive, in any order and mixed with old ones in a batch; exact
// unlearning of samples, classes and federated clients.
// Zhuang et al., "ACIL", NeurIPS 2022; Zhuang et al., "G-ACIL: Analytic Learning for Exemplar-Free
// Generalized Class Incremental Learning", 2024.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "continua/analytic/rls.hpp"
#include "continua/analytic/statistics.hpp"
#include "continua/core/error.hpp"

namespace continua::analytic {

template <class T, rls_policy Policy = cholesky, class Space = host_space>
class analytic_classifier {
 public:
  using value_type = T;
  using policy = Policy;
  using memory_space = Space;

  analytic_classifier(rls_options opt, std::size_t features) : rls_(opt, features, 0) {}

  std::size_t features() const { return rls_.features(); }
  // Columns of the head, in order of first arrival; a fully unlearned class keeps its column
  // (with count 0) and is never predicted.
  std::size_t classes() const { return labels_.size(); }
  const std::vector<std::int32_t>& labels() const { return labels_; }
  const std::vector<std::uint64_t>& counts() const { return counts_; }
  std::uint64_t samples() const { return samples_; }
  const rls_options& options() const { return rls_.options(); }

  // Learns rows x (n x features) with labels (n values >= 0, any mix of known and new).
  void fit(matrix_view<const T, Space> x, std::span<const std::int32_t> labels) {
    constexpr std::string_view context = "continua::analytic::analytic_classifier::fit";
    require_same_size(context, "labels", labels.size(), "rows of x", x.rows());
    auto map = detail::map_labels(context, labels_, labels);
    const buffer<T, Space> y = detail::one_hot<T, Space>(map.column_of, map.labels.size());
    rls_.fit(x, detail::view(y, x.rows(), map.labels.size()));
    commit(std::move(map), +1);
  }

  // Forgets rows learned before: the head equals one trained without them.
  void unlearn(matrix_view<const T, Space> x, std::span<const std::int32_t> labels) {
    constexpr std::string_view context = "continua::analytic::analytic_classifier::unlearn";
    require_same_size(context, "labels", labels.size(), "rows of x", x.rows());
    auto map = detail::map_labels(context, labels_, labels);
    require(map.added == 0, context, "a label was never learned: " + first_new(map));
    std::vector<std::uint64_t> removed(classes(), 0);
    for (const std::uint32_t c : map.column_of) ++removed[c];
    for (std::size_t c = 0; c < classes(); ++c)
      require(removed[c] <= counts_[c], context,
              "class " + std::to_string(labels_[c]) + " has " + std::to_string(counts_[c]) +
                  " learned rows, cannot unlearn " + std::to_string(removed[c]));
    const buffer<T, Space> y = detail::one_hot<T, Space>(map.column_of, classes());
    rls_.unlearn(x, detail::view(y, x.rows(), classes()));
    commit(std::move(map), -1);
  }

  // Forgets a whole class: x must be all of its learned rows (their number is checked).
  void unlearn_class(std::int32_t label, matrix_view<const T, Space> x) {
    constexpr std::string_view context = "continua::analytic::analytic_classifier::unlearn_class";
    const std::size_t c = column(label);
    require(x.rows() == counts_[c], context,
            "class " + std::to_string(label) + " has " + std::to_string(counts_[c]) +
                " learned rows but " + std::to_string(x.rows()) + " were given");
    const std::vector<std::int32_t> labels(x.rows(), label);
    unlearn(x, labels);
  }

  // Adds a client's (or any data set's) statistics: equals having fitted its rows.
  void merge(const sufficient_statistics<T, Space>& s) { combine(s, +1); }
  // Removes statistics merged (or rows fitted) before: equals never having seen them.
  void subtract(const sufficient_statistics<T, Space>& s) { combine(s, -1); }

  // The column of a label; throws for a label this head never learned.
  std::size_t column(std::int32_t label) const {
    const auto it = std::find(labels_.begin(), labels_.end(), label);
    if (it == labels_.end())
      throw invalid_argument("continua::analytic::analytic_classifier: unknown label " +
                             std::to_string(label) + " (the head knows " +
                             std::to_string(classes()) + " classes)");
    return static_cast<std::size_t>(it - labels_.begin());
  }

  // W (features x classes), columns in labels() order.
  matrix_view<const T, Space> weights() { return rls_.weights(); }

  // scores (n x classes) = x W.
  void scores(matrix_view<const T, Space> x, matrix_view<T, Space> out) {
    require(classes() > 0, "continua::analytic::analytic_classifier::scores",
            "no class has been learned yet");
    rls_.predict(x, out);
  }

  // Predicted labels (host) of the rows of x: the best-scoring class that has learned rows.
  std::vector<std::int32_t> predict(matrix_view<const T, Space> x) {
    constexpr std::string_view context = "continua::analytic::analytic_classifier::predict";
    require(std::any_of(counts_.begin(), counts_.end(), [](auto n) { return n > 0; }), context,
            "no class has learned rows: nothing to predict");
    buffer<T, Space> s(x.rows() * classes());
    scores(x, detail::view(s, x.rows(), classes()));
    return argmax(s.to_host(), x.rows());
  }

  // Labels of score rows (n x classes, host, row-major) by this head's column order.
  std::vector<std::int32_t> argmax(const std::vector<T>& host_scores, std::size_t rows) const {
    const std::size_t k = classes();
    std::vector<std::int32_t> out(rows);
    for (std::size_t i = 0; i < rows; ++i) {
      std::size_t best = k;
      for (std::size_t c = 0; c < k; ++c)
        if (counts_[c] > 0 && (best == k || host_scores[i * k + c] > host_scores[i * k + best]))
          best = c;
      out[i] = labels_[best];
    }
    return out;
  }

  recursive_least_squares<T, Policy, Space>& regressor() { return rls_; }
  const recursive_least_squares<T, Policy, Space>& regressor() const { return rls_; }
  // For checkpoints: replaces the bookkeeping that goes with a restored regressor.
  void restore(std::vector<std::int32_t> labels, std::vector<std::uint64_t> counts,
               std::uint64_t samples) {
    labels_ = std::move(labels);
    counts_ = std::move(counts);
    samples_ = samples;
  }

 private:
  static std::string first_new(const detail::label_columns& map) {
    return std::to_string(map.labels[map.labels.size() - map.added]);
  }

  // Bookkeeping after the regressor accepted the change (it throws before, never after).
  void commit(detail::label_columns map, int sign) {
    labels_ = std::move(map.labels);
    counts_.resize(labels_.size(), 0);
    for (const std::uint32_t c : map.column_of) {
      if (sign > 0)
        ++counts_[c];
      else
        --counts_[c];
    }
    samples_ = sign > 0 ? samples_ + map.column_of.size() : samples_ - map.column_of.size();
  }

  void combine(const sufficient_statistics<T, Space>& s, int sign) {
    const std::string_view context = sign > 0 ? "continua::analytic::analytic_classifier::merge"
                                              : "continua::analytic::analytic_classifier::subtract";
    require_same_size(context, "features of the statistics", s.features(), "features", features());
    auto map = detail::map_labels(context, labels_, s.labels());
    if (sign < 0) {
      require(map.added == 0, context,
              "the statistics hold a class never learned: " + first_new(map));
      for (std::size_t j = 0; j < s.classes(); ++j)
        require(s.counts()[j] <= counts_[map.column_of[j]], context,
                "class " + std::to_string(s.labels()[j]) + " would have a negative count");
    }
    // The statistics' columns placed at this head's columns.
    const std::size_t k = map.labels.size();
    buffer<T, Space> cross(features() * k);
    if (s.classes() != 0) {
      buffer<std::uint32_t, Space> columns(s.classes());
      columns.assign_from_host(map.column_of);
      for_each_index(Space{}, s.cross_buffer().size(),
                     detail::scatter_columns_fn<T>{cross.data(), s.cross_buffer().data(),
                                                   columns.data(), s.classes(), k, T(1)});
    }
    rls_.add_statistics(s.gram(), detail::view(std::as_const(cross), features(), k), T(sign));
    labels_ = std::move(map.labels);
    counts_.resize(k, 0);
    for (std::size_t j = 0; j < s.classes(); ++j) {
      auto& c = counts_[map.column_of[j]];
      c = sign > 0 ? c + s.counts()[j] : c - s.counts()[j];
    }
    samples_ = sign > 0 ? samples_ + s.samples() : samples_ - s.samples();
  }

  recursive_least_squares<T, Policy, Space> rls_;
  std::vector<std::int32_t> labels_;
  std::vector<std::uint64_t> counts_;
  std::uint64_t samples_ = 0;
};

}  // namespace continua::analytic
