// Errors: messages name the context, the argument and the sizes; NaN/Inf detection finds the
// first bad element on every backend.
#include <boost/test/unit_test.hpp>
#include <limits>
#include <tuple>
#include <vector>

#include "containers.hpp"

using namespace continua_test;
using float_types = std::tuple<float, double>;

BOOST_AUTO_TEST_SUITE(errors)

BOOST_AUTO_TEST_CASE(size_mismatch_names_both_arguments) {
  try {
    continua::require_same_size("sgd.update", "params", 10, "grads", 9);
    BOOST_FAIL("expected size_mismatch");
  } catch (const continua::size_mismatch& e) {
    BOOST_TEST(std::string(e.what()) ==
               "sgd.update: size mismatch: params has 10 elements but grads has 9");
    BOOST_TEST(e.first_size() == 10u);
    BOOST_TEST(e.second_size() == 9u);
  }
  BOOST_CHECK_NO_THROW(continua::require_same_size("x", "a", 3, "b", 3));
}

BOOST_AUTO_TEST_CASE(options_errors_name_field_and_value) {
  try {
    continua::require_option(false, "adam", "b1", 1.5, "must lie in [0, 1)");
    BOOST_FAIL("expected invalid_argument");
  } catch (const continua::invalid_argument& e) {
    BOOST_TEST(std::string(e.what()) == "adam: option 'b1' = 1.5 is invalid: must lie in [0, 1)");
  }
  // The hierarchy lets callers catch the standard types.
  BOOST_CHECK_THROW(continua::require(false, "ctx", "msg"), std::invalid_argument);
  BOOST_CHECK_THROW(continua::require_same_size("c", "a", 1, "b", 2), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(is_finite_classifies_special_values) {
  BOOST_TEST(continua::is_finite(1.0f));
  BOOST_TEST(continua::is_finite(-0.0));
  BOOST_TEST(continua::is_finite(std::numeric_limits<double>::max()));
  BOOST_TEST(continua::is_finite(std::numeric_limits<float>::denorm_min()));
  BOOST_TEST(!continua::is_finite(std::numeric_limits<float>::infinity()));
  BOOST_TEST(!continua::is_finite(-std::numeric_limits<double>::infinity()));
  BOOST_TEST(!continua::is_finite(std::numeric_limits<float>::quiet_NaN()));
  BOOST_TEST(!continua::is_finite(std::numeric_limits<double>::signaling_NaN()));
}

// The host fast path (largest exponent field, issue 14) against is_finite element by element:
// every special value at the first, the middle (either side of it) and the last place, on sizes
// around the vector width and the OpenMP threshold; finite extremes (largest, smallest denormal,
// -0) never count.
BOOST_AUTO_TEST_CASE_TEMPLATE(host_check_finds_every_special_value_anywhere, T, float_types) {
  using lim = std::numeric_limits<T>;
  const std::vector<T> specials = {lim::quiet_NaN(), -lim::quiet_NaN(), lim::signaling_NaN(),
                                   lim::infinity(), -lim::infinity()};
  const std::vector<T> extremes = {lim::max(),         lim::lowest(), lim::denorm_min(),
                                   -lim::denorm_min(), lim::min(),    T(-0.0)};
  for (const std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{7}, std::size_t{17},
                              std::size_t{64}, std::size_t{40001}}) {
    std::vector<T> x(n);
    for (std::size_t i = 0; i < n; ++i) x[i] = extremes[i % extremes.size()];
    BOOST_TEST(continua::all_finite(x));
    BOOST_TEST(!continua::find_non_finite(continua::as_span(x)).has_value());
    if (n == 0) continue;
    // n / 2 +- 1: either side of the boundary between two threads' shares.
    for (const std::size_t at :
         {std::size_t{0}, n / 2 - (n > 1 ? 1 : 0), n / 2, n / 2 + (n > 2 ? 1 : 0), n - 1})
      for (const T bad : specials) {
        std::vector<T> y = x;
        y[at] = bad;
        BOOST_TEST_INFO("n " << n << ", at " << at << ", value " << bad);
        BOOST_TEST(!continua::all_finite(y));
        const auto found = continua::find_non_finite(continua::as_span(y));
        BOOST_TEST((found.has_value() && *found == at));
      }
  }
}

// The host check reads each thread's share as four interleaved sub-ranges in 1 KiB blocks plus a
// remainder: a NaN or Inf placed every 97 elements (fewer than a block holds) lands in every
// block of every sub-range and in the remainder, below and above the OpenMP threshold.
BOOST_AUTO_TEST_CASE_TEMPLATE(host_check_finds_a_special_value_in_every_block, T, float_types) {
  using lim = std::numeric_limits<T>;
  for (const std::size_t n : {std::size_t{6221}, std::size_t{100003}}) {
    std::vector<T> x(n, T(0.5));
    BOOST_TEST(continua::all_finite(x));
    for (std::size_t at = 0; at < n; at += 97) {
      x[at] = (at / 97) % 2 == 0 ? lim::quiet_NaN() : -lim::infinity();
      BOOST_TEST_INFO("n " << n << ", at " << at);
      BOOST_TEST(!continua::all_finite(x));
      x[at] = T(0.5);
    }
    x[n - 1] = lim::infinity();
    BOOST_TEST(!continua::all_finite(x));
  }
}

BOOST_AUTO_TEST_CASE_TEMPLATE(find_non_finite_reports_first_bad_index, C, tensor_types) {
  using T = continua::value_t<C>;
  const std::size_t n = 70001;
  std::vector<double> v = pseudo_random(n, 9);
  const C clean = make<C>::from(v);
  BOOST_TEST(!continua::find_non_finite(continua::as_span(clean)).has_value());
  v[60000] = std::numeric_limits<double>::infinity();
  v[54321] = std::numeric_limits<double>::quiet_NaN();
  const C c = make<C>::from(v);
  const auto bad = continua::find_non_finite(continua::as_span(c));
  BOOST_REQUIRE(bad.has_value());
  BOOST_TEST(*bad == 54321u);
  BOOST_TEST(!continua::all_finite(c));
  try {
    continua::require_finite("adam.update", "grads", c);
    BOOST_FAIL("expected non_finite_error");
  } catch (const continua::non_finite_error& e) {
    BOOST_TEST(e.index() == 54321u);
    BOOST_TEST(std::string(e.what()).find("grads contains NaN or Inf") != std::string::npos);
  }
  (void)sizeof(T);
}

BOOST_AUTO_TEST_CASE(require_finite_names_tensor_in_a_set) {
  std::vector<float> a(4, 1.f);
  std::vector<float> b(4, 1.f);
  b[2] = std::numeric_limits<float>::infinity();
  try {
    continua::require_finite("ctx", "params", std::tie(a, b));
    BOOST_FAIL("expected non_finite_error");
  } catch (const continua::non_finite_error& e) {
    BOOST_TEST(std::string(e.what()) == "ctx: params[1] contains NaN or Inf (first at element 2)");
  }
}

BOOST_AUTO_TEST_SUITE_END()
