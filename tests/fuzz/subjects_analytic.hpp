// Analytic-learning subjects for the loader target and the seed corpus: the classifier head with
// both RLS policies, its sufficient statistics, recursive least squares, the dual-stream (DS-AL)
// head and random features, each fitted on a few rows of 3 features and 3 classes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "continua/analytic.hpp"
#include "fuzz.hpp"

namespace continua_fuzz {

namespace analytic_subjects {

namespace a = continua::analytic;
using continua::matrix_view;

constexpr std::size_t d = 3;
// Six rows of 3 features, labels 0, 2 and 5 (not 0..k-1: the label map is part of the state).
inline const std::vector<double> x = {1.0,  0.5,  -0.25, 0.0, 2.0, 1.0,  -1.0, 0.25, 0.5,
                                      0.75, -0.5, 1.5,   2.0, 0.0, -1.0, 0.5,  1.0,  1.0};
inline const std::vector<std::int32_t> labels = {0, 2, 5, 0, 2, 5};

inline matrix_view<const double> rows(std::size_t first, std::size_t n, std::size_t cols = d) {
  return {x.data() + first * cols, n, cols};
}
inline std::span<const std::int32_t> labels_of(std::size_t first, std::size_t n) {
  return std::span(labels).subspan(first, n);
}

template <class Policy>
a::analytic_classifier<double, Policy> classifier() {
  a::analytic_classifier<double, Policy> head({.gamma = 0.5}, d);
  head.fit(rows(0, 4), labels_of(0, 4));
  head.fit(rows(4, 2), labels_of(4, 2));
  return head;
}

// Scores two rows, learns one row of a new class and one of a known class, and unlearns the
// first again: what a head does next after it is restored.
inline auto use_head = [](auto& head) {
  std::vector<double> out(2 * head.classes());
  head.scores(rows(0, 2), matrix_view<double>(out.data(), 2, head.classes()));
  const std::vector<std::int32_t> next = {7, 2};
  head.fit(rows(1, 2), next);
  const std::vector<std::int32_t> forget = {7};
  head.unlearn(rows(1, 1), forget);
};

}  // namespace analytic_subjects

// Calls f(name, make, use) for each analytic subject.
template <class F>
void visit_analytic(F&& f) {
  using namespace analytic_subjects;
  f(
      "classifier_cholesky", [] { return classifier<a::cholesky>(); }, use_head);
  f(
      "classifier_woodbury", [] { return classifier<a::woodbury>(); }, use_head);
  f(
      "statistics",
      [] {
        a::sufficient_statistics<double> s(d);
        s.add(rows(0, 5), labels_of(0, 5));
        return s;
      },
      [](auto& s) {
        const std::vector<std::int32_t> next = {9, 0};
        s.add(rows(2, 2), next);
        a::analytic_classifier<double> head({.gamma = 1.0}, d);
        head.merge(s);
        std::vector<double> out(head.classes());
        head.scores(rows(0, 1), matrix_view<double>(out.data(), 1, head.classes()));
        head.subtract(s);
      });
  f(
      "recursive_least_squares",
      [] {
        a::recursive_least_squares<double> rls({.gamma = 0.5}, d, 2);
        const std::vector<double> y = {1, 0, 0, 1, 1, 1, -1, 0};
        rls.fit(rows(0, 4), matrix_view<const double>(y.data(), 4, 2));
        return rls;
      },
      [](auto& rls) {
        std::vector<double> out(2 * rls.outputs());
        rls.predict(rows(0, 2), matrix_view<double>(out.data(), 2, rls.outputs()));
        const std::vector<double> y(2 * rls.outputs(), 0.5);
        rls.fit(rows(2, 2), matrix_view<const double>(y.data(), 2, rls.outputs()));
      });
  f(
      "dual_stream",
      [] {
        a::dual_stream_classifier<double> ds({.compensation_ratio = 0.5}, d, 2);
        ds.fit(rows(0, 4), matrix_view<const double>(x.data(), 4, 2), labels_of(0, 4));
        return ds;
      },
      [](auto& ds) {
        std::vector<double> out(2 * ds.classes());
        ds.scores(rows(0, 2), matrix_view<const double>(x.data(), 2, 2),
                  matrix_view<double>(out.data(), 2, ds.classes()));
        ds.fit(rows(2, 2), matrix_view<const double>(x.data(), 2, 2), labels_of(2, 2));
      });
  f(
      "random_features",
      [] {
        a::random_features<double> rf({.inputs = d, .outputs = 4, .seed = 3});
        const std::vector<double> mean = {0.5, -0.25, 1.0}, stddev = {2.0, 0.5, 1.0};
        rf.normalize_inputs(mean, stddev);
        return rf;
      },
      [](auto& rf) {
        std::vector<double> h(2 * rf.outputs());
        rf.transform(rows(0, 2, rf.inputs()), matrix_view<double>(h.data(), 2, rf.outputs()));
      });
  f(
      "random_features_tanh",
      [] {
        return a::random_features<double, a::tanh_activation>(
            {.inputs = d, .outputs = 2, .seed = 9});
      },
      [](auto& rf) {
        std::vector<double> h(rf.outputs());
        rf.transform(rows(1, 1, rf.inputs()), matrix_view<double>(h.data(), 1, rf.outputs()));
      });
}

}  // namespace continua_fuzz
