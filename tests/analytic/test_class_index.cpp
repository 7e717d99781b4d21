// class_index, the one owner of the analytic family's class bookkeeping: planning changes maps
// labels to columns and validates without touching the index; apply() installs; errors name the
// offending label, and their messages are built only when a check fails.
#include <boost/test/unit_test.hpp>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "continua/analytic/class_index.hpp"
#include "continua/analytic/classifier.hpp"
#include "continua/analytic/statistics.hpp"
#include "reference.hpp"

namespace an = continua::analytic;
using continua::matrix_view;

namespace {

// The message of the invalid_argument f throws ("" when it throws none).
template <class F>
std::string message_of(F&& f) {
  try {
    f();
  } catch (const continua::invalid_argument& e) {
    return e.what();
  }
  return "";
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(analytic_class_index)

BOOST_AUTO_TEST_CASE(a_batch_keeps_known_columns_and_appends_new_labels_in_order_of_arrival) {
  an::class_index index;
  const std::vector<std::int32_t> first{4, 1, 4, 7};
  auto change = index.plan_add("test", first);
  // Planning changes nothing.
  BOOST_TEST(index.classes() == 0u);
  BOOST_TEST(change.labels() == (std::vector<std::int32_t>{4, 1, 7}));
  BOOST_TEST(change.columns() == (std::vector<std::uint32_t>{0, 1, 0, 2}));
  BOOST_TEST(change.added() == 3u);
  index.apply(std::move(change));
  BOOST_TEST(index.counts() == (std::vector<std::uint64_t>{2, 1, 1}));
  BOOST_TEST(index.samples() == 4u);
  const std::vector<std::int32_t> second{7, 0, 1};
  const auto next = index.plan_add("test", second);
  BOOST_TEST(next.labels() == (std::vector<std::int32_t>{4, 1, 7, 0}));
  BOOST_TEST(next.columns() == (std::vector<std::uint32_t>{2, 3, 1}));
  BOOST_TEST(next.added() == 1u);
  BOOST_TEST(*index.find(7) == 2u);
  BOOST_TEST(!index.find(0).has_value());
  // One-hot targets follow the planned columns.
  const auto y = an::one_hot<double>(next).to_host();
  BOOST_TEST(y == (std::vector<double>{0, 0, 1, 0, 0, 0, 0, 1, 0, 1, 0, 0}));
}

// The regression that issue 10 found: unlearn/subtract built "a label was never learned: <first
// new label>" before checking, reading one label past the end when every label was known. The
// analytic suites build with _GLIBCXX_ASSERTIONS, so such a read aborts the test.
BOOST_AUTO_TEST_CASE(removing_rows_whose_labels_are_all_known_reads_nothing_past_the_end) {
  an::class_index index({3, 5}, {2, 1}, 3);
  const std::vector<std::int32_t> known{5, 3};
  const auto change = index.plan_remove("test", known);
  BOOST_TEST(change.added() == 0u);
  BOOST_TEST(change.counts() == (std::vector<std::uint64_t>{1, 0}));
  BOOST_TEST(change.samples() == 1u);
  // Through the classifier, with every label known (the exact path of the bug).
  const auto s = analytic_test::make_data(30, 3, 2, 4);
  an::analytic_classifier<double> head({.gamma = 1.0}, 3);
  head.fit(matrix_view<const double>(s.x.data(), 30, 3), s.labels);
  head.unlearn(matrix_view<const double>(s.x.data(), 4, 3), std::span(s.labels).first(4));
  BOOST_TEST(head.samples() == 26u);
  an::sufficient_statistics<double> part(3);
  part.add(matrix_view<const double>(s.x.data() + 12, 5, 3), std::span(s.labels).subspan(4, 5));
  head.subtract(part);
  BOOST_TEST(head.samples() == 21u);
}

BOOST_AUTO_TEST_CASE(bad_changes_name_the_offending_label_and_leave_the_index_unchanged) {
  const an::class_index index({3, 5}, {2, 1}, 3);
  const auto before = index;
  const std::vector<std::int32_t> unknown{5, 9};
  const std::string never = message_of([&] { (void)index.plan_remove("ctx", unknown); });
  BOOST_TEST(contains(never, "ctx: label 9 at row 1 was never learned"), never);
  const std::vector<std::int32_t> too_many{5, 5};
  const std::string many = message_of([&] { (void)index.plan_remove("ctx", too_many); });
  BOOST_TEST(contains(many, "class 5 has 1 learned rows, cannot remove 2"), many);
  const std::vector<std::int32_t> negative{1, -4};
  const std::string neg = message_of([&] { (void)index.plan_add("ctx", negative); });
  BOOST_TEST(contains(neg, "label -4 at row 1 is negative"), neg);
  const an::class_index other({9}, {1}, 1);
  const std::string foreign = message_of([&] { (void)index.plan_subtract("ctx", other); });
  BOOST_TEST(contains(foreign, "class 9, which was never learned"), foreign);
  const an::class_index bigger({3}, {3}, 3);
  const std::string over = message_of([&] { (void)index.plan_subtract("ctx", bigger); });
  BOOST_TEST(contains(over, "class 3 has 2 learned rows, cannot remove 3"), over);
  BOOST_TEST((index == before));
  BOOST_TEST(message_of([&] { (void)index.column("ctx", 4); }) ==
             "ctx: unknown label 4 (2 classes are known)");
}

BOOST_AUTO_TEST_CASE(a_change_applies_only_to_the_state_it_was_planned_on) {
  an::class_index index;
  const std::vector<std::int32_t> batch{1, 2};
  auto first = index.plan_add("test", batch);
  auto stale = index.plan_add("test", batch);
  index.apply(std::move(first));
  BOOST_CHECK_THROW(index.apply(std::move(stale)), continua::invalid_argument);
  an::class_index elsewhere;
  BOOST_CHECK_THROW(elsewhere.apply(index.plan_add("test", batch)), continua::invalid_argument);
  BOOST_TEST(index.samples() == 2u);
  BOOST_TEST(elsewhere.samples() == 0u);
}

BOOST_AUTO_TEST_CASE(a_restored_index_must_be_consistent) {
  BOOST_CHECK_THROW(an::class_index({1, 2}, {1}, 1), continua::size_mismatch);
  BOOST_CHECK_THROW(an::class_index({1, 1}, {1, 1}, 2), continua::invalid_argument);
  BOOST_CHECK_THROW(an::class_index({1, -2}, {1, 1}, 2), continua::invalid_argument);
  BOOST_CHECK_THROW(an::class_index({1, 2}, {1, 1}, 3), continua::invalid_argument);
  BOOST_CHECK_NO_THROW(an::class_index({2, 1}, {0, 1}, 1));
}

BOOST_AUTO_TEST_CASE(statistics_align_to_another_label_order_by_value) {
  // Target order {5, 3, 9}; the other index holds {9, 5}: its column 0 goes to 2, column 1 to 0.
  const an::class_index target(std::vector<std::int32_t>{5, 3, 9});
  const an::class_index other({9, 5}, {4, 6}, 10);
  const auto aligned = target.plan_merge("test", other);
  BOOST_TEST(aligned.columns() == (std::vector<std::uint32_t>{2, 0}));
  BOOST_TEST(aligned.counts() == (std::vector<std::uint64_t>{6, 0, 4}));
  BOOST_TEST(aligned.added() == 0u);
  // Two rows of a d x 2 matrix in the other's order, scattered (times -2) into d x 3.
  continua::buffer<double> src(4), dst(6, 1.0);
  src.assign_from_host({10, 20, 30, 40});
  an::scatter_columns(aligned, src, 2, dst, -2.0);
  BOOST_TEST(dst.to_host() == (std::vector<double>{-39, 1, -19, -79, 1, -59}));
  continua::buffer<double> wrong(5);
  BOOST_CHECK_THROW(an::scatter_columns(aligned, src, 2, wrong), continua::size_mismatch);
}

BOOST_AUTO_TEST_SUITE_END()
