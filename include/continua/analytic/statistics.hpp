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

#include "continua/analytic/class_index.hpp"
#include "continua/analytic/detail/matrix_ops.hpp"
#include "continua/analytic/inputs.hpp"
#include "continua/core/buffer.hpp"
#include "continua/core/error.hpp"
#include "continua/core/finite.hpp"
#include "continua/core/linalg.hpp"
#include "continua/core/span.hpp"

namespace continua::analytic {

// C, B and counts of a labelled data set; what a federated client sends and a server sums.
template <class T, class Space = host_space>
class sufficient_statistics {
 public:
  using value_type = T;
  using memory_space = Space;

  sufficient_statistics() = default;
  explicit sufficient_statistics(std::size_t features)
      : d_(features),
        c_(checked_mul(features, features, "continua::analytic::sufficient_statistics",
                       "features * features")) {
    require(features > 0, "continua::analytic::sufficient_statistics", "features must be > 0");
  }

  std::size_t features() const { return d_; }
  std::size_t classes() const { return index_.classes(); }
  std::uint64_t samples() const { return index_.samples(); }
  const std::vector<std::int32_t>& labels() const { return index_.labels(); }   // column -> label
  const std::vector<std::uint64_t>& counts() const { return index_.counts(); }  // per column
  const class_index& index() const { return index_; }
  matrix_view<const T, Space> gram() const { return detail::view(c_, d_, d_); }
  matrix_view<const T, Space> cross() const { return detail::view(b_, d_, classes()); }

  // Adds the rows x (n x features; any rank-2 tensor, see matrix_input) with their labels (any
  // integers >= 0, see label_input).
  void add(matrix_input<T, Space> x, label_input labels) {
    constexpr std::string_view context = "continua::analytic::sufficient_statistics::add";
    detail::require_batch(context, x, d_);
    require_same_size(context, "labels", labels.size(), "rows of x", x.rows());
    auto change = index_.plan_add(context, labels);
    const std::size_t k = change.classes();
    const buffer<T, Space> y = one_hot<T, Space>(change);
    // Nothing below throws for validated input.
    b_ = detail::widened(b_, d_, classes(), k);
    index_.apply(std::move(change));
    linalg::syrk(linalg::op::transpose, T(1), x, T(1), detail::view(c_, d_, d_));
    linalg::gemm(linalg::op::transpose, linalg::op::none, T(1), x, detail::view(y, x.rows(), k),
                 T(1), detail::view(b_, d_, k));
  }

  // Adds another set's statistics; labels are matched by value.
  void merge(const sufficient_statistics& other) { combine(other, T(1)); }
  // Removes statistics that were merged before (a client leaving): counts must not go negative.
  void subtract(const sufficient_statistics& other) { combine(other, T(-1)); }

  // Checkpoints (continua::io::save / io::load), into statistics with the same features.
  static constexpr std::string_view checkpoint_kind = "analytic.statistics";
  static constexpr std::uint32_t checkpoint_schema = 2;
  template <class V>
  void describe_state(V& v) {
    v.expect("features", static_cast<std::uint64_t>(d_));
    v.field("classes", index_);
    // Its shape follows the classes just read.
    v.field("gram", c_, {d_, d_});
    v.field("cross", b_, {d_, index_.classes()});
  }
  void validate_state() const {
    constexpr std::string_view c = "continua::analytic::sufficient_statistics";
    if (const auto bad = find_non_finite(span<const T, Space>(c_.data(), c_.size())))
      throw non_finite_error(c, "gram", *bad);
    if (const auto bad = find_non_finite(span<const T, Space>(b_.data(), b_.size())))
      throw non_finite_error(c, "cross", *bad);
    detail::require_symmetric_state(c, "gram", c_, d_);
  }

  // Raw access (distributed reductions).
  buffer<T, Space>& gram_buffer() { return c_; }
  buffer<T, Space>& cross_buffer() { return b_; }
  const buffer<T, Space>& gram_buffer() const { return c_; }
  const buffer<T, Space>& cross_buffer() const { return b_; }
  // Replaces the bookkeeping (checkpoints, reductions); throws invalid_argument, statistics
  // unchanged, for inconsistent bookkeeping (see class_index).
  void restore(std::vector<std::int32_t> labels, std::vector<std::uint64_t> counts,
               std::uint64_t samples) {
    restore(class_index(std::move(labels), std::move(counts), samples));
  }
  void restore(class_index index) { index_ = std::move(index); }

 private:
  void combine(const sufficient_statistics& other, T sign) {
    const std::string_view context = sign > T(0)
                                         ? "continua::analytic::sufficient_statistics::merge"
                                         : "continua::analytic::sufficient_statistics::subtract";
    require_same_size(context, "features of the other statistics", other.d_, "features", d_);
    auto change = sign > T(0) ? index_.plan_merge(context, other.index_)
                              : index_.plan_subtract(context, other.index_);
    buffer<T, Space> b = detail::widened(b_, d_, classes(), change.classes());
    scatter_columns(change, other.b_, d_, b, sign);
    detail::axpy(sign, other.c_, c_);
    b_ = std::move(b);
    index_.apply(std::move(change));
  }

  std::size_t d_ = 0;
  buffer<T, Space> c_, b_;
  class_index index_;
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
