// DS-AL: a main analytic classifier plus a compensation stream, a second ridge regressor on
// differently activated features fitted to the main stream's residuals; scores are
// main + C * compensation. Zhuang et al., "DS-AL: A Dual-Stream Analytic Learning for
// Exemplar-Free Class-Incremental Learning", AAAI 2024 (main stream Eq. 9, C-RLS Eq. 14-16).
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "continua/analytic/class_index.hpp"
#include "continua/analytic/classifier.hpp"
#include "continua/analytic/inputs.hpp"
#include "continua/analytic/rls.hpp"

namespace continua::analytic {

// Options of dual_stream_classifier: the two streams' ridge options and the compensation
// ratio C.
struct dual_stream_options {
  rls_options main{};
  rls_options compensation{};
  double compensation_ratio = 1.0;  // C in scores = main + C * compensation

  void validate() const {
    require_option(std::isfinite(compensation_ratio), "continua::analytic::dual_stream",
                   "compensation_ratio", compensation_ratio, "must be finite");
  }
};

namespace detail {
template <class T>
struct residual_fn {
  T* y;  // one-hot targets in, residual out
  const T* scores;
  CONTINUA_HD void operator()(std::size_t i) const { y[i] -= scores[i]; }
};
template <class T>
struct add_scaled_fn {
  T* out;
  const T* extra;
  T ratio;
  CONTINUA_HD void operator()(std::size_t i) const { out[i] += ratio * extra[i]; }
};
}  // namespace detail

// DS-AL: scores = main(X) + C * compensation(X_c), the compensation stream a ridge regressor
// fitted to the main stream's residuals on differently activated features.
// Zhuang et al., "DS-AL", AAAI 2024 (Eq. 9, 14-16).
template <class T, rls_policy Policy = cholesky, class Space = host_space>
class dual_stream_classifier {
 public:
  dual_stream_classifier(dual_stream_options opt, std::size_t main_features,
                         std::size_t compensation_features)
      : opt_((opt.validate(), opt)),
        main_(opt.main, main_features),
        comp_(opt.compensation, compensation_features, 0) {}

  std::size_t classes() const { return main_.classes(); }
  const std::vector<std::int32_t>& labels() const { return main_.labels(); }
  const dual_stream_options& options() const { return opt_; }
  analytic_classifier<T, Policy, Space>& main_stream() { return main_; }
  const analytic_classifier<T, Policy, Space>& main_stream() const { return main_; }
  recursive_least_squares<T, Policy, Space>& compensation_stream() { return comp_; }
  const recursive_least_squares<T, Policy, Space>& compensation_stream() const { return comp_; }

  // Learns a batch (one call per phase reproduces the paper; smaller batches are the streaming
  // variant): the main stream fits the labels, then the compensation stream fits
  // Y - x_main W_main with the main weights after this batch. Inputs as in analytic_classifier.
  void fit(matrix_input<T, Space> x_main, matrix_input<T, Space> x_comp, label_input labels) {
    constexpr std::string_view c = "continua::analytic::dual_stream_classifier::fit";
    require_same_size(c, "rows of the compensation features", x_comp.rows(),
                      "rows of the main features", x_main.rows());
    detail::require_batch(c, x_comp, comp_.features());
    // Fit a copy of the main stream so a failure in either stream leaves both unchanged.
    analytic_classifier<T, Policy, Space> main = main_;
    main.fit(x_main, labels.values());
    const std::size_t n = x_main.rows();
    const std::size_t k = main.classes();
    // The batch's columns in the updated main stream (all known now).
    buffer<T, Space> y = one_hot<T, Space>(main.index().plan_add(c, labels));
    buffer<T, Space> s(checked_mul(n, k, c, "rows * classes"));
    main.scores(x_main, detail::view(s, n, k));
    for_each_index(Space{}, y.size(), detail::residual_fn<T>{y.data(), s.data()});
    comp_.fit(x_comp, detail::view(std::as_const(y), n, k));
    main_ = std::move(main);
  }

  // scores (n x classes, either storage order) = x_main W_main + C x_comp W_comp.
  void scores(matrix_input<T, Space> x_main, matrix_input<T, Space> x_comp,
              matrix_output<T, Space> out) const {
    require_same_size("continua::analytic::dual_stream_classifier::scores",
                      "rows of the compensation features", x_comp.rows(),
                      "rows of the main features", x_main.rows());
    main_.scores(x_main, out);
    const std::size_t k = classes();
    buffer<T, Space> extra(checked_mul(
        x_comp.rows(), k, "continua::analytic::dual_stream_classifier::scores", "rows * classes"));
    if (comp_.outputs() == k) {
      // In out's storage order, so the two add elementwise.
      comp_.predict(x_comp, matrix_view<T, Space>(extra.data(), x_comp.rows(), k, out.order()));
      for_each_index(
          Space{}, extra.size(),
          detail::add_scaled_fn<T>{out.data(), extra.data(), T(opt_.compensation_ratio)});
    }
  }

  std::vector<std::int32_t> predict(matrix_input<T, Space> x_main,
                                    matrix_input<T, Space> x_comp) const {
    const std::size_t n = x_main.rows();
    buffer<T, Space> s(checked_mul(
        n, classes(), "continua::analytic::dual_stream_classifier::predict", "rows * classes"));
    scores(x_main, x_comp, detail::view(s, n, classes()));
    return main_.argmax(s.to_host(), n);
  }

  // Checkpoints (continua::io::save / io::load): both streams, in a model with the same policy,
  // feature counts, γ of both streams and ratio C.
  static constexpr std::string_view checkpoint_kind = "analytic.dual_stream";
  static constexpr std::uint32_t checkpoint_schema = 2;
  template <class V>
  void describe_state(V& v) {
    v.expect("compensation_ratio", opt_.compensation_ratio);
    v.field("main", main_);
    v.field("compensation", comp_);
  }
  // The compensation stream has one output per class once it has been fitted, none before.
  void validate_state() const {
    if (comp_.outputs() != 0 && comp_.outputs() != classes())
      throw invalid_argument(
          "continua::analytic::dual_stream_classifier: " + std::to_string(comp_.outputs()) +
          " compensation outputs for " + std::to_string(classes()) + " classes");
  }

 private:
  dual_stream_options opt_;
  analytic_classifier<T, Policy, Space> main_;
  recursive_least_squares<T, Policy, Space> comp_;
};

}  // namespace continua::analytic
