// Parameter groups step like separate optimizers and reject bad input without touching any group;
// the full-batch optimize() driver reaches the closed-form minimiser of a quadratic.
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <vector>

#include "continua/optim.hpp"

namespace o = continua::optim;

BOOST_AUTO_TEST_SUITE(param_groups)

BOOST_AUTO_TEST_CASE(groups_equal_separate_optimizers) {
  std::vector<float> w1{0.5f, -0.25f, 1.f}, w2{2.f, 3.f}, b{0.1f};
  std::vector<float> r1 = w1, r2 = w2, rb = b;
  o::param_groups opt(o::group(o::adamw({.lr = 1e-2, .weight_decay = 0.1}), std::tie(w1, w2)),
                      o::group(o::sgd({.lr = 0.1, .momentum = 0.9}), std::tie(b)));
  o::optimizer ref_a(o::adamw({.lr = 1e-2, .weight_decay = 0.1}), std::tie(r1, r2));
  o::optimizer ref_b(o::sgd({.lr = 0.1, .momentum = 0.9}), std::tie(rb));
  for (int t = 0; t < 10; ++t) {
    std::vector<float> g1{0.1f * t, -0.3f, 0.2f}, g2{1.f, -1.f}, gb{0.5f - 0.1f * t};
    std::vector<float> h1 = g1, h2 = g2, hb = gb;
    BOOST_REQUIRE(opt.step(std::tie(g1, g2), std::tie(gb)));
    auto ra = std::tie(r1, r2);
    auto rbs = std::tie(rb);
    ref_a.step(ra, std::tie(h1, h2));
    ref_b.step(rbs, std::tie(hb));
  }
  BOOST_TEST(w1 == r1);
  BOOST_TEST(w2 == r2);
  BOOST_TEST(b == rb);
}

BOOST_AUTO_TEST_CASE(bad_input_in_one_group_changes_no_group) {
  std::vector<double> w{1.0, 2.0}, b{3.0};
  o::param_groups opt(o::group(o::adam({.lr = 0.1}), std::tie(w)),
                      o::group(o::sgd({.lr = 0.1}), std::tie(b)));
  std::vector<double> gw{1.0, 1.0}, gb_short{}, gb_nan{std::nan("")};
  BOOST_CHECK_THROW(opt.step(std::tie(gw), std::tie(gb_short)), continua::size_mismatch);
  BOOST_CHECK_THROW(opt.step(std::tie(gw), std::tie(gb_nan)), continua::non_finite_error);
  BOOST_TEST(w == (std::vector<double>{1.0, 2.0}));
  BOOST_TEST(b == (std::vector<double>{3.0}));
  BOOST_TEST(std::get<1>(opt.get<0>().state()).scalars.count == 0);  // scale_by_adam step count
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(optimize_driver)

// f(x) = 0.5 sum d_i x_i^2 - b_i x_i, minimiser x*_i = b_i / d_i.
struct quadratic {
  std::vector<double> d, b;
  double operator()(const std::vector<double>& x, continua::buffer<double>& grad) const {
    double f = 0;
    for (std::size_t i = 0; i < x.size(); ++i) {
      f += 0.5 * d[i] * x[i] * x[i] - b[i] * x[i];
      grad.data()[i] = d[i] * x[i] - b[i];
    }
    return f;
  }
};

BOOST_AUTO_TEST_CASE(gradient_descent_reaches_closed_form_minimiser) {
  const quadratic q{{1.0, 4.0, 10.0}, {1.0, -2.0, 5.0}};
  std::vector<double> x(3, 0.0);
  const auto r =
      o::optimize(q, x, o::sgd({.lr = 0.15}), {.max_steps = 10000, .grad_norm_tol = 1e-10});
  BOOST_TEST(r.converged);
  BOOST_TEST(r.grad_norm <= 1e-10);
  for (std::size_t i = 0; i < 3; ++i)
    BOOST_TEST(x[i] == q.b[i] / q.d[i], boost::test_tools::tolerance(1e-9));
  // Slowest mode contracts by |1 - lr d_min| = 0.85 per step: about log(1e-10)/log(0.85) steps.
  BOOST_TEST(r.steps > 100);
  BOOST_TEST(r.steps < 200);
}

BOOST_AUTO_TEST_CASE(budget_and_value_tolerance) {
  const quadratic q{{1.0, 2.0}, {1.0, 1.0}};
  std::vector<double> x(2, 0.0);
  auto r = o::optimize(q, x, o::adam({.lr = 0.05}), {.max_steps = 5, .grad_norm_tol = 0});
  BOOST_TEST(!r.converged);
  BOOST_TEST(r.steps == 5);
  std::vector<double> y(2, 0.0);
  r = o::optimize(q, y, o::nesterov(0.2, 0.5),
                  {.max_steps = 100000, .grad_norm_tol = 0, .value_tol = 1e-14});
  BOOST_TEST(r.converged);
  BOOST_TEST(r.value == -0.75, boost::test_tools::tolerance(1e-10));  // f(x*) = -sum b^2/(2d)
  BOOST_CHECK_THROW(o::optimize(q, y, o::sgd({}), {.max_steps = -1}), continua::invalid_argument);
}

BOOST_AUTO_TEST_SUITE_END()
