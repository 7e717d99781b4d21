// F2SA on the strongly convex ridge problem: the penalty gradient at the exact minimisers
// (y_lambda, y*) differs from the closed-form hypergradient by O(1 / lambda), slope -1 +- 0.1 over
// lambda in {10, 100, 1000}; F2SA's two inner sequences reach those minimisers; the outer run
// lowers |grad F|; the state resumes bit for bit from a checkpoint; bad options and a diverging
// run are refused with x and the state unchanged.
#include <boost/mpl/list.hpp>
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>
#include <vector>

#include "continua/bilevel.hpp"
#include "continua/io/state.hpp"
#include "ridge.hpp"

#if CONTINUA_TEST_THRUST
#include <thrust/device_vector.h>

#include "continua/adapters/thrust.hpp"
#endif

namespace bl = continua::bilevel;
using bilevel_test::ld;
using bilevel_test::make_ridge;
using bilevel_test::matrix;
using bilevel_test::ridge_data;

namespace {

template <class T, template <class> class Vec>
struct config {
  using value = T;
  using vec = Vec<T>;
  static vec from_host(const std::vector<T>& h) { return vec(h.begin(), h.end()); }
};
template <class T>
using host_vector = std::vector<T>;
#if CONTINUA_TEST_THRUST
template <class T>
using device_vector = thrust::device_vector<T>;
using double_configs = boost::mpl::list<config<double, host_vector>, config<double, device_vector>>;
#else
using double_configs = boost::mpl::list<config<double, host_vector>>;
#endif

template <class C>
typename C::vec from_ld(const std::vector<ld>& x) {
  std::vector<typename C::value> h(x.begin(), x.end());
  return C::from_host(h);
}
template <class V>
std::vector<double> to_host(const V& v) {
  std::vector<double> h(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) h[i] = static_cast<double>(v[i]);
  return h;
}
double norm_of_difference(const std::vector<double>& a, const std::vector<ld>& b) {
  double s = 0;
  for (std::size_t i = 0; i < b.size(); ++i) s += std::pow(a[i] - double(b[i]), 2);
  return std::sqrt(s);
}

// y_lambda = argmin f + lambda g = (P + lambda H)^-1 (p + lambda q), in long double.
std::vector<ld> penalty_minimiser(const ridge_data& r, const std::vector<ld>& x, ld lambda) {
  matrix m = r.hessian(x);
  std::vector<ld> rhs(r.d);
  for (std::size_t i = 0; i < r.d; ++i) {
    rhs[i] = r.p[i] + lambda * r.q[i];
    for (std::size_t j = 0; j < r.d; ++j) m[i][j] = r.p_mat[i][j] + lambda * m[i][j];
  }
  return bilevel_test::solve_spd(m, rhs);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(bilevel_f2sa)

BOOST_AUTO_TEST_CASE_TEMPLATE(penalty_gradient_error_is_order_one_over_lambda, C, double_configs) {
  const ridge_data r = make_ridge(5, 1, 2, true, 41);
  const auto pb = bilevel_test::ridge_problem<typename C::vec>(
      r, [](const auto& h) { return C::from_host(h); });
  const std::vector<ld> x{-0.5L, 0.1L, 0.3L, -0.2L, 0.0L};
  const std::vector<ld> exact = r.hypergradient(x);
  const auto xv = from_ld<C>(x), zstar = from_ld<C>(r.inner_solution(x));
  std::vector<double> logl, loge;
  for (const ld lambda : {ld(10), ld(100), ld(1000)}) {
    const auto y = from_ld<C>(penalty_minimiser(r, x, lambda));
    auto g = xv;
    bl::penalty_gradient(pb, xv, y, zstar, double(lambda), g);
    const double err = norm_of_difference(to_host(g), exact);
    BOOST_TEST_MESSAGE("lambda " << double(lambda) << ": |grad L - grad F| = " << err);
    logl.push_back(std::log(double(lambda)));
    loge.push_back(std::log(err));
  }
  // Least-squares slope of log error against log lambda.
  const double ml = (logl[0] + logl[1] + logl[2]) / 3, me = (loge[0] + loge[1] + loge[2]) / 3;
  double num = 0, den = 0;
  for (std::size_t i = 0; i < 3; ++i) {
    num += (logl[i] - ml) * (loge[i] - me);
    den += (logl[i] - ml) * (logl[i] - ml);
  }
  const double slope = num / den;
  BOOST_TEST_MESSAGE("slope " << slope);
  BOOST_TEST(std::abs(slope + 1) <= 0.1);
}

// With constant rates and many inner steps, the direction F2SA uses is the penalty gradient at
// the exact minimisers (1e-9 relative), and x moves by -lr_outer times it.
BOOST_AUTO_TEST_CASE_TEMPLATE(inner_sequences_reach_the_minimisers, C, double_configs) {
  using V = typename C::vec;
  const ridge_data r = make_ridge(5, 1, 2, true, 42);
  const auto pb = bilevel_test::ridge_problem<V>(r, [](const auto& h) { return C::from_host(h); });
  const std::vector<ld> x{-0.5L, 0.1L, 0.3L, -0.2L, 0.0L};
  const ld lambda = 50;
  const V y_lambda = from_ld<C>(penalty_minimiser(r, x, lambda));
  const V zstar = from_ld<C>(r.inner_solution(x));
  V xv = from_ld<C>(x), expected(xv), d(xv);
  bl::penalty_gradient(pb, xv, y_lambda, zstar, double(lambda), expected);
  const bl::f2sa solver({.lr_inner = 0.5,
                         .lr_star = 0.3,
                         .lr_outer = 0.1,
                         .lambda0 = 50,
                         .inner_steps = 400,
                         .exponent_inner = 0,
                         .exponent_star = 0,
                         .normalize_inner_step = true});
  auto state = solver.init(from_ld<C>(std::vector<ld>(r.d, 0)));
  solver.step(pb, xv, state, &d);
  const auto dh = to_host(d), eh = to_host(expected);
  std::vector<ld> eld(eh.begin(), eh.end());
  double scale = 0;
  for (double v : eh) scale += v * v;
  BOOST_TEST(norm_of_difference(dh, eld) <= 1e-9 * std::sqrt(scale));
  const auto xh = to_host(xv);
  for (std::size_t i = 0; i < x.size(); ++i)
    BOOST_TEST(std::abs(xh[i] - (double(x[i]) - 0.1 * dh[i])) <= 1e-15);
  BOOST_TEST(state.lambda == 50.1);
  BOOST_TEST(state.k == 1u);
}

// The outer run with the benchmark's decaying rates (larger base steps) lowers |grad F| by 10x.
BOOST_AUTO_TEST_CASE_TEMPLATE(outer_run_lowers_the_hypergradient, C, double_configs) {
  using V = typename C::vec;
  const ridge_data r = make_ridge(5, 1, 2, true, 43);
  const auto pb = bilevel_test::ridge_problem<V>(r, [](const auto& h) { return C::from_host(h); });
  std::vector<ld> x(r.d, 0.5L);
  const auto grad_norm = [&](const std::vector<ld>& z) {
    double s = 0;
    for (ld v : r.hypergradient(z)) s += double(v * v);
    return std::sqrt(s);
  };
  const double g0 = grad_norm(x);
  V xv = from_ld<C>(x);
  const bl::f2sa solver({.lr_inner = 0.4,
                         .lr_star = 0.4,
                         .lr_outer = 1,
                         .lambda0 = 1,
                         .delta_lambda = 1,
                         .normalize_inner_step = true});
  auto state = solver.init(from_ld<C>(std::vector<ld>(r.d, 0)));
  for (int k = 0; k < 120; ++k) solver.step(pb, xv, state);
  const auto xh = to_host(xv);
  const double g1 = grad_norm(std::vector<ld>(xh.begin(), xh.end()));
  BOOST_TEST_MESSAGE("F2SA: |grad F| " << g0 << " -> " << g1 << ", lambda " << state.lambda);
  BOOST_TEST(g1 <= 0.1 * g0);
}

// A run checkpointed after 7 steps and resumed from the file continues bit for bit; a forged
// state (lambda <= 0) and a state of other sizes are refused with the state unchanged.
BOOST_AUTO_TEST_CASE_TEMPLATE(state_round_trip_resumes_bit_identically, C, double_configs) {
  using V = typename C::vec;
  namespace io = continua::io;
  const ridge_data r = make_ridge(5, 1, 2, true, 45);
  const auto pb = bilevel_test::ridge_problem<V>(r, [](const auto& h) { return C::from_host(h); });
  const bl::f2sa solver({.lr_inner = 0.4,
                         .lr_star = 0.4,
                         .lr_outer = 1,
                         .delta_lambda = 1,
                         .normalize_inner_step = true});
  V x = from_ld<C>(std::vector<ld>(r.d, 0.5L));
  auto state = solver.init(from_ld<C>(std::vector<ld>(r.d, 0)));
  for (int k = 0; k < 7; ++k) solver.step(pb, x, state);
  const std::vector<unsigned char> image = io::save_bytes(state);
  const V x_saved = x;
  for (int k = 0; k < 5; ++k) solver.step(pb, x, state);
  auto resumed = solver.init(from_ld<C>(std::vector<ld>(r.d, 3)));
  io::load_bytes(image, resumed);
  BOOST_TEST(resumed.k == 7u);
  V x2 = x_saved;
  for (int k = 0; k < 5; ++k) solver.step(pb, x2, resumed);
  BOOST_TEST(to_host(x2) == to_host(x));
  BOOST_TEST(to_host(resumed.y) == to_host(state.y));
  BOOST_TEST(to_host(resumed.z) == to_host(state.z));
  BOOST_TEST(resumed.lambda == state.lambda);
  // Forged: lambda = -1 saved through a copy, refused on load.
  auto forged = state;
  forged.lambda = -1;
  const auto bad = io::save_bytes(forged);
  const auto before = to_host(resumed.y);
  BOOST_CHECK_THROW(io::load_bytes(bad, resumed), continua::io_error);
  BOOST_TEST(resumed.lambda == state.lambda);
  BOOST_TEST(to_host(resumed.y) == before);
  // A step count at its maximum (the next step would wrap it to 0) is refused too.
  auto wrapped = state;
  wrapped.k = std::numeric_limits<std::uint64_t>::max();
  BOOST_CHECK_THROW(io::load_bytes(io::save_bytes(wrapped), resumed), continua::io_error);
  BOOST_TEST(resumed.k == state.k);
  // Another size.
  auto other = solver.init(from_ld<C>(std::vector<ld>(r.d + 1, 0)));
  BOOST_CHECK_THROW(io::load_bytes(image, other), continua::io_error);
  BOOST_TEST(other.k == 0u);
}

// g(x, y) = y^2 / 2, f(x, y) = x: every update is a product of known factors, so K default
// steps pin the step sizes and the schedule of benchmark_bilevel's F2SA solver (step_size 0.01,
// outer_ratio 1, lmbda0 1, delta_lmbda 0.1, 10 inner steps; lr_k = lr / (k + 1)^p with p = 5/7,
// 4/7, 4/7, 1/7 for y, z, x, lambda, k counted from 0, as their update_lr):
//   y_K = y_0 prod_k (1 - lr_y,k lambda_k)^10, z_K = z_0 prod_k (1 - lr_z,k)^10,
//   x_K = x_0 - sum_k lr_x,k,  lambda_K = 1 + sum_k 0.1 / (k + 1)^(1/7).
struct scalar_penalty_problem {
  using V = std::vector<double>;
  void inner_grad(const V&, const V& y, V& out) const { out = y; }
  void inner_grad_x(const V&, const V&, V& out) const { out.assign(1, 0.0); }
  void outer_grad_x(const V&, const V&, V& out) const { out.assign(1, 1.0); }
  void outer_grad_y(const V&, const V&, V& out) const { out.assign(1, 0.0); }
};

BOOST_AUTO_TEST_CASE(default_schedule_is_benchmark_bilevels) {
  using V = std::vector<double>;
  const bl::f2sa solver;
  V x{0.5};
  auto state = solver.init(V{2.0});
  long double y = 2, z = 2, xe = 0.5, lambda = 1;
  for (int k = 0; k < 25; ++k) {
    const long double k1 = k + 1;
    const long double lr_y = 0.01L / std::pow(k1, 5.0L / 7), lr_z = 0.01L / std::pow(k1, 4.0L / 7);
    y *= std::pow(1 - lr_y * lambda, 10);
    z *= std::pow(1 - lr_z, 10);
    xe -= 0.01L / std::pow(k1, 4.0L / 7);
    lambda += 0.1L / std::pow(k1, 1.0L / 7);
    solver.step(scalar_penalty_problem{}, x, state);
  }
  BOOST_TEST(state.k == 25u);
  BOOST_TEST(state.lambda == static_cast<double>(lambda), boost::test_tools::tolerance(1e-13));
  BOOST_TEST(state.y[0] == static_cast<double>(y), boost::test_tools::tolerance(1e-13));
  BOOST_TEST(state.z[0] == static_cast<double>(z), boost::test_tools::tolerance(1e-13));
  BOOST_TEST(x[0] == static_cast<double>(xe), boost::test_tools::tolerance(1e-13));
}

BOOST_AUTO_TEST_CASE(f2sa_bad_input) {
  using V = std::vector<double>;
  BOOST_CHECK_THROW(bl::f2sa({.lr_inner = 0}), continua::invalid_argument);
  BOOST_CHECK_THROW(bl::f2sa({.lambda0 = -1}), continua::invalid_argument);
  BOOST_CHECK_THROW(bl::f2sa({.delta_lambda = -1}), continua::invalid_argument);
  BOOST_CHECK_THROW(bl::f2sa({.inner_steps = 0}), continua::invalid_argument);
  const ridge_data r = make_ridge(3, 1, 2, true, 44);
  const auto pb = bilevel_test::ridge_problem<V>(r, [](const auto& h) { return h; });
  V x{0.1, 0.2, 0.3}, g(3), y(3, 0.0);
  BOOST_CHECK_THROW(bl::penalty_gradient(pb, x, y, y, 0.0, g), continua::invalid_argument);
  V short_y(2, 0.0);
  BOOST_CHECK_THROW(bl::penalty_gradient(pb, x, y, short_y, 1.0, g), continua::size_mismatch);
  // A fixed (unnormalised) y step with lambda lr L >> 2 diverges: refused, nothing changed.
  const bl::f2sa wild({.lr_inner = 1, .lambda0 = 100, .inner_steps = 200});
  auto state = wild.init(y);
  const V x0 = x;
  BOOST_CHECK_THROW(wild.step(pb, x, state), continua::numerical_error);
  BOOST_TEST(x == x0);
  BOOST_TEST(state.k == 0u);
  BOOST_TEST(state.y == y);
}

BOOST_AUTO_TEST_SUITE_END()
