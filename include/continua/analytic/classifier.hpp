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

#include "continua/analytic/class_index.hpp"
#include "continua/analytic/inputs.hpp"
#include "continua/analytic/rls.hpp"
#include "continua/analytic/statistics.hpp"
#include "continua/core/error.hpp"

namespace continua::analytic {

// Analytic class-incremental head: W = (XᵀX + γI)⁻¹ XᵀY over every sample seen, Y one-hot over
// the classes seen so far (columns in order of first appearance); fit, unlearn and merge keep it
// equal to the joint ridge solution. Policy (woodbury or cholesky) is the RLS update rule, T the
// scalar, Space where the statistics live. Zhuang et al., "ACIL", NeurIPS 2022; "G-ACIL", 2024.
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
  std::size_t classes() const { return index_.classes(); }
  const std::vector<std::int32_t>& labels() const { return index_.labels(); }
  const std::vector<std::uint64_t>& counts() const { return index_.counts(); }
  std::uint64_t samples() const { return index_.samples(); }
  // Labels, counts and samples together.
  const class_index& index() const { return index_; }
  const rls_options& options() const { return rls_.options(); }

  // Learns rows x (n x features; any rank-2 tensor, see matrix_input) with labels (n integers
  // >= 0 of any type, see label_input; any mix of known and new).
  void fit(matrix_input<T, Space> x, label_input labels) {
    constexpr std::string_view context = "continua::analytic::analytic_classifier::fit";
    require_same_size(context, "labels", labels.size(), "rows of x", x.rows());
    auto change = index_.plan_add(context, labels);
    const buffer<T, Space> y = one_hot<T, Space>(change);
    rls_.fit(x, detail::view(y, x.rows(), change.classes()));
    index_.apply(std::move(change));
  }

  // Forgets rows learned before: the head equals one trained without them.
  void unlearn(matrix_input<T, Space> x, label_input labels) {
    constexpr std::string_view context = "continua::analytic::analytic_classifier::unlearn";
    require_same_size(context, "labels", labels.size(), "rows of x", x.rows());
    auto change = index_.plan_remove(context, labels);
    const buffer<T, Space> y = one_hot<T, Space>(change);
    rls_.unlearn(x, detail::view(y, x.rows(), classes()));
    index_.apply(std::move(change));
  }

  // Forgets a whole class: x must be all of its learned rows (their number is checked).
  void unlearn_class(std::int32_t label, matrix_input<T, Space> x) {
    constexpr std::string_view context = "continua::analytic::analytic_classifier::unlearn_class";
    const std::size_t c = index_.column(context, label);
    if (x.rows() != counts()[c])
      throw invalid_argument(std::string(context) + ": class " + std::to_string(label) + " has " +
                             std::to_string(counts()[c]) + " learned rows but " +
                             std::to_string(x.rows()) + " were given");
    const std::vector<std::int32_t> labels(x.rows(), label);
    unlearn(x, labels);
  }

  // Adds a client's (or any data set's) statistics: equals having fitted its rows.
  void merge(const sufficient_statistics<T, Space>& s) { combine(s, +1); }
  // Removes statistics merged (or rows fitted) before: equals never having seen them.
  void subtract(const sufficient_statistics<T, Space>& s) { combine(s, -1); }

  // The column of a label; throws for a label this head never learned.
  std::size_t column(std::int32_t label) const {
    return index_.column("continua::analytic::analytic_classifier::column", label);
  }

  // W (features x classes, row-major), columns in labels() order. The view stays valid until the
  // next call that changes the head (fit, unlearn, unlearn_class, merge, subtract, restore, a
  // checkpoint load, assignment) or its destruction; copy it to keep the values. With the
  // Cholesky policy the first read after a change solves for W and caches it (so two threads must
  // not read one head's weights at the same time); it throws numerical_error, the head unchanged,
  // when the system is too ill-conditioned.
  matrix_view<const T, Space> weights() const { return rls_.weights(); }

  // scores (n x classes, either storage order) = x W.
  void scores(matrix_input<T, Space> x, matrix_output<T, Space> out) const {
    require(classes() > 0, "continua::analytic::analytic_classifier::scores",
            "no class has been learned yet");
    rls_.predict(x, out);
  }

  // Predicted labels (host) of the rows of x: the best-scoring class that has learned rows.
  std::vector<std::int32_t> predict(matrix_input<T, Space> x) const {
    constexpr std::string_view context = "continua::analytic::analytic_classifier::predict";
    require(index_.has_rows(), context, "no class has learned rows: nothing to predict");
    buffer<T, Space> s(checked_mul(x.rows(), classes(), context, "rows * classes"));
    scores(x, detail::view(s, x.rows(), classes()));
    return argmax(s.to_host(), x.rows());
  }

  // Labels of score rows (n x classes, host, row-major) by this head's column order.
  std::vector<std::int32_t> argmax(const std::vector<T>& host_scores, std::size_t rows) const {
    const std::size_t k = classes();
    const auto& n = counts();
    std::vector<std::int32_t> out(rows);
    for (std::size_t i = 0; i < rows; ++i) {
      std::size_t best = k;
      for (std::size_t c = 0; c < k; ++c)
        if (n[c] > 0 && (best == k || host_scores[i * k + c] > host_scores[i * k + best])) best = c;
      out[i] = labels()[best];
    }
    return out;
  }

  recursive_least_squares<T, Policy, Space>& regressor() { return rls_; }
  const recursive_least_squares<T, Policy, Space>& regressor() const { return rls_; }
  // For checkpoints: replaces the bookkeeping that goes with a restored regressor. Throws
  // invalid_argument (head unchanged) for inconsistent bookkeeping (see class_index).
  void restore(std::vector<std::int32_t> labels, std::vector<std::uint64_t> counts,
               std::uint64_t samples) {
    restore(class_index(std::move(labels), std::move(counts), samples));
  }
  void restore(class_index index) { index_ = std::move(index); }

  // Checkpoints (continua::io::save / io::load): labels, counts and samples, then the regressor;
  // loads into a head with the same policy, γ and features.
  static constexpr std::string_view checkpoint_kind = "analytic.classifier";
  static constexpr std::uint32_t checkpoint_schema = 2;
  template <class V>
  void describe_state(V& v) {
    v.field("classes", index_);
    v.field("regressor", rls_);
  }
  void validate_state() const {
    if (rls_.outputs() != classes())
      throw invalid_argument("continua::analytic::analytic_classifier: the regressor has " +
                             std::to_string(rls_.outputs()) + " outputs for " +
                             std::to_string(classes()) + " classes");
  }

 private:
  void combine(const sufficient_statistics<T, Space>& s, int sign) {
    const std::string_view context = sign > 0 ? "continua::analytic::analytic_classifier::merge"
                                              : "continua::analytic::analytic_classifier::subtract";
    require_same_size(context, "features of the statistics", s.features(), "features", features());
    auto change =
        sign > 0 ? index_.plan_merge(context, s.index()) : index_.plan_subtract(context, s.index());
    // The statistics' XᵀY in this head's column order.
    buffer<T, Space> cross(
        checked_mul(features(), change.classes(), context, "features * classes"));
    scatter_columns(change, s.cross_buffer(), features(), cross);
    rls_.add_statistics(s.gram(), detail::view(std::as_const(cross), features(), change.classes()),
                        T(sign));
    index_.apply(std::move(change));
  }

  recursive_least_squares<T, Policy, Space> rls_;
  class_index index_;
};

}  // namespace continua::analytic
