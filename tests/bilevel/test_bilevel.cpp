// The bilevel family against independent references: the ridge closed form (long double, own
// Cholesky), central finite differences of the true outer objective, the Neumann error bound,
// the unrolled-to-implicit rate, and exact products for the finite-difference adaptor; on
// std::vector and (thrust_omp) thrust::device_vector, in double and float.
#include <boost/mpl/list.hpp>
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <type_traits>
#include <utility>
#include <vector>

#include "continua/bilevel.hpp"
#include "continua/optim/aliases.hpp"
#include "ridge.hpp"

#if CONTINUA_TEST_THRUST
#include <thrust/device_vector.h>

#include "continua/adapters/thrust.hpp"
#endif

namespace bl = continua::bilevel;
using bilevel_test::ld;
using bilevel_test::make_ridge;
using bilevel_test::ridge_data;
using bilevel_test::ridge_problem;

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
using all_configs = boost::mpl::list<config<double, host_vector>, config<float, host_vector>,
                                     config<double, device_vector>, config<float, device_vector>>;
using double_configs = boost::mpl::list<config<double, host_vector>, config<double, device_vector>>;
#else
using all_configs = boost::mpl::list<config<double, host_vector>, config<float, host_vector>>;
using double_configs = boost::mpl::list<config<double, host_vector>>;
#endif

template <class V>
std::vector<double> to_host(const V& v) {
  std::vector<double> h(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) h[i] = static_cast<double>(v[i]);
  return h;
}

template <class C>
typename C::vec from_ld(const std::vector<ld>& x) {
  std::vector<typename C::value> h(x.begin(), x.end());
  return C::from_host(h);
}

template <class C>
ridge_problem<typename C::vec> make_problem(const ridge_data& r) {
  return ridge_problem<typename C::vec>(r, [](const auto& h) { return C::from_host(h); });
}

// max |a - b| / max |b|.
double relative_error(const std::vector<double>& a, const std::vector<ld>& b) {
  double diff = 0, scale = 0;
  for (std::size_t i = 0; i < b.size(); ++i) {
    diff = std::max(diff, std::abs(a[i] - double(b[i])));
    scale = std::max(scale, std::abs(double(b[i])));
  }
  return diff / scale;
}
double relative_error(const std::vector<double>& a, const std::vector<double>& b) {
  return relative_error(a, std::vector<ld>(b.begin(), b.end()));
}

std::vector<ld> log_penalties(std::size_t n, ld base, ld spread) {
  std::vector<ld> x(n);
  for (std::size_t i = 0; i < n; ++i) x[i] = base + spread * std::sin(ld(i + 1));
  return x;
}

// Central differences of F along each coordinate, step cbrt(eps) * max(1, |x_i|) (long double
// F, so the rounding term is far below the truncation term).
template <class F>
std::vector<ld> central_differences(const F& objective, std::vector<ld> x) {
  const ld s = std::cbrt(ld(std::numeric_limits<double>::epsilon()));
  std::vector<ld> g(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) {
    const ld xi = x[i], h = s * std::max(ld(1), std::abs(xi));
    x[i] = xi + h;
    const ld fp = objective(x);
    x[i] = xi - h;
    const ld fm = objective(x);
    x[i] = xi;
    g[i] = (fp - fm) / (2 * h);
  }
  return g;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(bilevel)

// Implicit hypergradient = closed form, CG (rtol 1e-13) and dense, shared and per-feature
// penalties, at condition numbers ~1e2 and ~1e4: 1e-8 relative in double (error ~ kappa * rtol).
BOOST_AUTO_TEST_CASE_TEMPLATE(implicit_equals_ridge_closed_form, C, all_configs) {
  using T = typename C::value;
  using V = typename C::vec;
  const bool is_double = std::is_same_v<T, double>;
  for (const ld s_min : {ld(1e-2), ld(1e-4)}) {
    if (!is_double && s_min < 1e-3) continue;  // float at kappa 1e4 has no digits left to test
    for (const bool per_feature : {false, true}) {
      const ridge_data r = make_ridge(8, s_min, 1, per_feature, 11);
      const auto pb = make_problem<C>(r);
      // tiny penalties: kappa(H) ~ 1 / s_min
      const std::vector<ld> x = log_penalties(r.nx(), std::log(s_min) - 4, 0.5);
      const std::vector<ld> ref = r.hypergradient(x);
      const V xv = from_ld<C>(x), w = from_ld<C>(r.inner_solution(x));
      const double tol = is_double ? 1e-8 : 2e-5;  // float: about kappa * eps
      {
        V g(xv);
        const auto res = bl::implicit_hypergradient(
            pb, xv, w, g,
            bl::conjugate_gradient({.rtol = is_double ? 1e-13 : 1e-6, .max_iterations = 200}));
        BOOST_TEST(res.linear.converged);
        BOOST_TEST_MESSAGE("closed form, CG, s_min "
                           << double(s_min) << " per_feature " << per_feature << ": relative error "
                           << relative_error(to_host(g), ref) << ", " << res.linear.iterations
                           << " products");
        BOOST_TEST(relative_error(to_host(g), ref) <= tol);
        BOOST_TEST(res.inner_gradient_norm <= (is_double ? 1e-8 : 1e-3));
      }
      {
        V g(xv);
        const auto res = bl::implicit_hypergradient(pb, xv, w, g, bl::dense_solve{});
        BOOST_TEST(res.linear.converged);
        BOOST_TEST(res.linear.iterations == r.d + 1);
        BOOST_TEST_MESSAGE("closed form, dense, s_min " << double(s_min) << ": relative error "
                                                        << relative_error(to_host(g), ref));
        BOOST_TEST(relative_error(to_host(g), ref) <= tol);
      }
    }
  }
}

// Every hypergradient against central differences of the true outer objective, random small
// problems, double. Implicit: F(x) = f(x, w*(x)); unrolled: F_K(x) = f(x, w_K(x)) evaluated by
// running the same inner steps in long double. FD truncation ~ h^2 |F'''| ~ 1e-10.
BOOST_AUTO_TEST_CASE_TEMPLATE(hypergradients_match_finite_differences, C, double_configs) {
  using V = typename C::vec;
  for (unsigned seed = 1; seed <= 3; ++seed) {
    const ridge_data r = make_ridge(5, 0.2, 2, true, 100 + seed);
    const auto pb = make_problem<C>(r);
    const std::vector<ld> x = log_penalties(r.nx(), -1, 0.7);
    const std::vector<ld> fd =
        central_differences([&](const auto& z) { return r.objective(z); }, x);
    const V xv = from_ld<C>(x), w = from_ld<C>(r.inner_solution(x));
    const double lmax = 2 + std::exp(-1 + 0.7);  // >= largest eigenvalue of H
    {
      V g(xv);
      bl::implicit_hypergradient(pb, xv, w, g, bl::conjugate_gradient({.rtol = 1e-12}));
      BOOST_TEST(relative_error(to_host(g), fd) <= 1e-7);
      bl::implicit_hypergradient(pb, xv, w, g, bl::dense_solve{});
      BOOST_TEST(relative_error(to_host(g), fd) <= 1e-7);
      const auto res = bl::implicit_hypergradient(
          pb, xv, w, g,
          bl::neumann_series(
              {.alpha = 1 / lmax, .max_iterations = 2000, .rtol = 1e-12, .lipschitz = lmax}));
      BOOST_TEST(res.linear.converged);
      BOOST_TEST_MESSAGE("implicit Neumann vs FD: " << relative_error(to_host(g), fd) << ", "
                                                    << res.linear.iterations << " products");
      BOOST_TEST(relative_error(to_host(g), fd) <= 1e-7);
    }
    // Unrolled, SGD and heavy ball, from w = 0.
    for (const double momentum : {0.0, 0.5}) {
      const bl::unrolled_options uo{.steps = 30, .learning_rate = 0.5 / lmax, .momentum = momentum};
      const auto unrolled_objective = [&](const std::vector<ld>& z) {
        std::vector<ld> wk(r.d, 0), m(r.d, 0);
        for (std::size_t t = 0; t < uo.steps; ++t) {
          for (std::size_t i = 0; i < r.d; ++i) {
            ld gi = -r.q[i] + r.penalty(z, i) * wk[i];
            for (std::size_t j = 0; j < r.d; ++j) gi += r.q_mat[i][j] * wk[j];
            m[i] = ld(uo.momentum) * m[i] + gi;
          }
          for (std::size_t i = 0; i < r.d; ++i) wk[i] -= ld(uo.learning_rate) * m[i];
        }
        return r.outer_value(z, wk);
      };
      const std::vector<ld> fdk = central_differences(unrolled_objective, x);
      V g(xv), w0 = from_ld<C>(std::vector<ld>(r.d, 0));
      bl::unrolled_hypergradient(pb, xv, w0, g, uo);
      BOOST_TEST_MESSAGE("unrolled momentum " << momentum
                                              << " vs FD: " << relative_error(to_host(g), fdk));
      BOOST_TEST(relative_error(to_host(g), fdk) <= 1e-7);
    }
  }
}

// The unrolled path through optim chains: Nesterov, coupled weight decay with a step schedule,
// and two stacked traces, each against central differences of the same inner run written out in
// long double from the chain's definition (update = factor(t) * traces(g + wd * w)). Then the
// checkpointed chain reproduces the plain one bit for bit, holding y and both buffers per
// checkpoint.
struct inner_rule {
  ld weight_decay = 0;
  std::vector<std::pair<ld, bool>> traces;  // (decay, nesterov), in chain order
  std::function<ld(std::size_t)> factor;    // the scale applied last at step t
};

auto unrolled_reference(const ridge_data& r, const inner_rule& rule, std::size_t steps) {
  return [&r, rule, steps](const std::vector<ld>& z) {
    std::vector<ld> wk(r.d, 0), v(r.d);
    std::vector<std::vector<ld>> m(rule.traces.size(), std::vector<ld>(r.d, 0));
    for (std::size_t t = 0; t < steps; ++t) {
      for (std::size_t i = 0; i < r.d; ++i) {
        ld gi = -r.q[i] + r.penalty(z, i) * wk[i];
        for (std::size_t j = 0; j < r.d; ++j) gi += r.q_mat[i][j] * wk[j];
        v[i] = gi + rule.weight_decay * wk[i];
      }
      for (std::size_t k = 0; k < rule.traces.size(); ++k)
        for (std::size_t i = 0; i < r.d; ++i) {
          const auto [decay, nesterov] = rule.traces[k];
          m[k][i] = decay * m[k][i] + v[i];
          v[i] = nesterov ? v[i] + decay * m[k][i] : m[k][i];
        }
      for (std::size_t i = 0; i < r.d; ++i) wk[i] += rule.factor(t) * v[i];
    }
    return r.outer_value(z, wk);
  };
}

BOOST_AUTO_TEST_CASE_TEMPLATE(unrolled_through_optim_chains_matches_finite_differences, C,
                              double_configs) {
  namespace op = continua::optim;
  using V = typename C::vec;
  const ridge_data r = make_ridge(5, 0.2, 2, true, 131);
  const auto pb = make_problem<C>(r);
  const std::vector<ld> x = log_penalties(r.nx(), -1, 0.7);
  const V xv = from_ld<C>(x);
  const double lmax = 2 + std::exp(-1 + 0.7);
  const std::size_t K = 30;
  const auto check = [&](const auto& inner, const inner_rule& rule, const char* name) {
    const std::vector<ld> fd = central_differences(unrolled_reference(r, rule, K), x);
    V g(xv), w0 = from_ld<C>(std::vector<ld>(r.d, 0));
    bl::unrolled_hypergradient(pb, xv, w0, g, inner, {.steps = K});
    BOOST_TEST_MESSAGE("unrolled " << name << " vs FD: " << relative_error(to_host(g), fd));
    BOOST_TEST(relative_error(to_host(g), fd) <= 1e-7, name);
    // Checkpointed every 7 steps: the same numbers, fewer sets.
    V g_ck(xv), w_ck = from_ld<C>(std::vector<ld>(r.d, 0));
    bl::unrolled_workspace<V> ws;
    const auto rc = bl::unrolled_hypergradient(pb, xv, w_ck, g_ck, inner,
                                               {.steps = K, .checkpoint_every = 7}, ws);
    BOOST_TEST(to_host(g_ck) == to_host(g), name);
    BOOST_TEST(to_host(w_ck) == to_host(w0), name);
    BOOST_TEST(rc.stored_iterates == 7 + 5 * (1 + rule.traces.size()), name);
  };
  const double eta = 0.4 / lmax;
  check(op::nesterov(eta, 0.6),
        {.traces = {{0.6L, true}}, .factor = [&](std::size_t) { return -ld(eta); }}, "nesterov");
  const op::step_schedule steps(1.5 * eta, 10, 0.5);
  check(op::sgd({.momentum = 0.5, .weight_decay = 0.05}, steps),
        {.weight_decay = 0.05L,
         .traces = {{0.5L, false}},
         .factor = [&](std::size_t t) { return -ld(steps(std::int64_t(t))); }},
        "sgd momentum + weight decay + step schedule");
  check(op::chain(op::trace({.decay = 0.3}), op::trace({.decay = 0.2, .nesterov = true}),
                  op::scale(-0.3 / lmax)),
        {.traces = {{0.3L, false}, {0.2L, true}},
         .factor = [&](std::size_t) { return -ld(0.3 / lmax); }},
        "two traces + scale");
  // A schedule that leaves the admissible range mid-run is refused before anything is written.
  V g(xv), w = from_ld<C>(std::vector<ld>(r.d, 1));
  const V g0(g), w_start(w);
  const auto bad = [](std::int64_t t) { return t < 20 ? 0.1 : std::nan(""); };
  BOOST_CHECK_THROW(
      bl::unrolled_hypergradient(
          pb, xv, w, g, op::chain(op::scale_by_learning_rate<decltype(bad)>(bad)), {.steps = K}),
      continua::invalid_argument);
  BOOST_TEST(to_host(w) == to_host(w_start));
  BOOST_TEST(to_host(g) == to_host(g0));
}

// Neumann with alpha = 1/L: |z_K - z*| <= |(I - alpha H)^K| |z*| = (1 - mu/L)^K |z*| (K terms
// from z = 0), and the bound is nearly attained (b along every eigenvector).
BOOST_AUTO_TEST_CASE_TEMPLATE(neumann_error_bound, C, double_configs) {
  using V = typename C::vec;
  const ridge_data r = make_ridge(6, 0.1, 1, false, 7);
  const auto pb = make_problem<C>(r);
  const std::vector<ld> x{std::log(ld(0.05))};
  const V xv = from_ld<C>(x), w = from_ld<C>(r.inner_solution(x));
  const double mu = 0.1 + 0.05, L = 1 + 0.05;
  std::vector<ld> b(r.d);
  for (std::size_t i = 0; i < r.d; ++i) b[i] = 1 + ld(i);
  const std::vector<ld> zstar = bilevel_test::solve_spd(r.hessian(x), b);
  double znorm = 0;
  for (ld v : zstar) znorm += double(v * v);
  znorm = std::sqrt(znorm);
  const V bv = from_ld<C>(b);
  const auto op = [&](const V& v, V& out) { pb.inner_hvp(xv, w, v, out); };
  for (const std::size_t K : {5u, 20u, 80u}) {
    V z = from_ld<C>(std::vector<ld>(r.d, 0));
    const auto res =
        bl::neumann_series(
            {.alpha = 1 / L, .max_iterations = K, .rtol = 0, .atol = 0, .lipschitz = L})
            .solve(op, bv, z);
    BOOST_TEST(!res.converged);  // a truncated series is reported as such
    BOOST_TEST(res.iterations == K);
    double err = 0;
    const auto zh = to_host(z);
    for (std::size_t i = 0; i < r.d; ++i) err += std::pow(zh[i] - double(zstar[i]), 2);
    err = std::sqrt(err);
    const double bound = std::pow(1 - mu / L, double(K)) * znorm;
    BOOST_TEST_MESSAGE("Neumann K " << K << ": error " << err << ", bound " << bound);
    BOOST_TEST(err <= bound * (1 + 1e-9) + 1e-14);
    BOOST_TEST(err >= 0.01 * bound);  // the slowest mode is present: the bound is the rate
  }
}

// Unrolled SGD from the inner solution w*: the hypergradient after K steps is the K-term Neumann
// approximation, so its error falls as (1 - eta mu)^K; the measured ratio between K = 100 and K =
// 140 matches the predicted rate to 1 % once the next-slowest mode has died out (K >= 100).
BOOST_AUTO_TEST_CASE_TEMPLATE(unrolled_approaches_implicit_at_predicted_rate, C, double_configs) {
  using V = typename C::vec;
  const ridge_data r = make_ridge(6, 0.1, 1, false, 9);
  const auto pb = make_problem<C>(r);
  const std::vector<ld> x{std::log(ld(0.05))};
  const std::vector<ld> exact = r.hypergradient(x);
  const V xv = from_ld<C>(x);
  const double mu = 0.15, L = 1.05, eta = 1 / L;
  const auto error_after = [&](std::size_t K) {
    V g(xv), w = from_ld<C>(r.inner_solution(x));
    bl::unrolled_hypergradient(pb, xv, w, g, {.steps = K, .learning_rate = eta});
    return std::abs(to_host(g)[0] - double(exact[0]));
  };
  const double e100 = error_after(100), e140 = error_after(140);
  const double predicted = std::pow(1 - eta * mu, 40.0);
  BOOST_TEST_MESSAGE("unrolled rate: e100 " << e100 << " e140 " << e140 << " measured ratio "
                                            << e140 / e100 << " predicted " << predicted);
  BOOST_TEST(e140 < e100);
  BOOST_TEST(std::abs(e140 / e100 / predicted - 1) <= 0.01);
}

// Checkpointing every c steps recomputes segments and gives the same numbers bit for bit (the
// same operations in the same order), with fewer sets held.
BOOST_AUTO_TEST_CASE_TEMPLATE(checkpointing_is_exact_and_smaller, C, all_configs) {
  using V = typename C::vec;
  const ridge_data r = make_ridge(5, 0.2, 2, true, 5);
  const auto pb = make_problem<C>(r);
  const V xv = from_ld<C>(log_penalties(r.nx(), -1, 0.5));
  for (const double momentum : {0.0, 0.7}) {
    V g_all(xv), g_ck(xv), w_all = from_ld<C>(std::vector<ld>(r.d, 0)), w_ck(w_all);
    const bl::unrolled_options all{.steps = 37, .learning_rate = 0.2, .momentum = momentum};
    bl::unrolled_options ck = all;
    ck.checkpoint_every = 6;
    bl::unrolled_workspace<V> ws;
    const auto ra = bl::unrolled_hypergradient(pb, xv, w_all, g_all, all);
    const auto rc = bl::unrolled_hypergradient(pb, xv, w_ck, g_ck, ck, ws);
    BOOST_TEST(to_host(g_all) == to_host(g_ck));
    BOOST_TEST(to_host(w_all) == to_host(w_ck));
    BOOST_TEST(ra.stored_iterates == 37u);
    BOOST_TEST(rc.stored_iterates == 6u + 7u * (momentum != 0 ? 2u : 1u));
    BOOST_TEST(rc.recomputed_steps == 37u - 7u);
    // A second outer step reuses the workspace: nothing more is held.
    const std::size_t held = ws.held();
    bl::unrolled_hypergradient(pb, xv, w_ck, g_ck, ck, ws);
    BOOST_TEST(ws.held() == held);
  }
}

// The adaptor's products against the exact ones: HVP and both cross-product routes (directional
// with inner_grad_x, coordinate-wise without), within 1e-7 relative in double; the actual error is
// below the reported estimate (up to a factor 10) and the estimate is small. Then the implicit
// hypergradient through the adaptor matches the closed form to 1e-6.
BOOST_AUTO_TEST_CASE_TEMPLATE(finite_difference_products_match_exact, C, all_configs) {
  using T = typename C::value;
  using V = typename C::vec;
  const bool is_double = std::is_same_v<T, double>;
  const double tol = is_double ? 1e-7 : 2e-2;
  for (const bool per_feature : {false, true}) {
    const ridge_data r = make_ridge(6, 0.1, 3, per_feature, 21);
    const auto pb = make_problem<C>(r);
    const std::vector<ld> x = log_penalties(r.nx(), -0.5, 0.5);
    const V xv = from_ld<C>(x);
    const V w = from_ld<C>(log_penalties(r.d, 0.3, 1.0));
    const V v = from_ld<C>(log_penalties(r.d, -0.2, 2.0));
    V exact_h(w), fd_h(w), exact_c(xv), fd_c(xv);
    pb.inner_hvp(xv, w, v, exact_h);
    pb.inner_cross(xv, w, v, exact_c);
    const bl::finite_difference_products with_x(bilevel_test::first_order_ridge<V, true>{pb});
    const bl::finite_difference_products without_x(bilevel_test::first_order_ridge<V, false>{pb});
    const auto eh = with_x.inner_hvp_estimate(xv, w, v, fd_h);
    const double err_h = relative_error(to_host(fd_h), to_host(exact_h));
    BOOST_TEST_MESSAGE("FD hvp: relative error " << err_h << ", estimate " << eh.error_estimate
                                                 << " (absolute), step " << eh.step);
    BOOST_TEST(err_h <= tol);
    double scale_h = 0;
    for (double e : to_host(exact_h)) scale_h = std::max(scale_h, std::abs(e));
    BOOST_TEST(err_h * scale_h <= 10 * eh.error_estimate + 1e-300);
    BOOST_TEST(eh.error_estimate <= 10 * tol * scale_h * std::sqrt(double(r.d)));
    BOOST_TEST(eh.step > 0);
    with_x.inner_cross(xv, w, v, fd_c);
    BOOST_TEST(relative_error(to_host(fd_c), to_host(exact_c)) <= tol);
    const auto ec = without_x.inner_cross_estimate(xv, w, v, fd_c);
    BOOST_TEST(relative_error(to_host(fd_c), to_host(exact_c)) <= tol);
    BOOST_TEST(ec.error_estimate > 0);
    // v = 0: exact zero, no evaluations needed.
    const V zero = from_ld<C>(std::vector<ld>(r.d, 0));
    const auto ez = with_x.inner_hvp_estimate(xv, w, zero, fd_h);
    BOOST_TEST(ez.step == 0);
    BOOST_TEST(continua::max_abs(fd_h) == 0);
    // Implicit hypergradient through the adaptor.
    const V wstar = from_ld<C>(r.inner_solution(x));
    V g(xv);
    bl::implicit_hypergradient(without_x, xv, wstar, g,
                               bl::conjugate_gradient({.rtol = is_double ? 1e-12 : 1e-5}));
    BOOST_TEST(relative_error(to_host(g), r.hypergradient(x)) <= (is_double ? 1e-6 : 5e-2));
  }
}

// Bad input: clear errors, outputs untouched.
BOOST_AUTO_TEST_CASE_TEMPLATE(bad_input_is_refused, C, all_configs) {
  using V = typename C::vec;
  const ridge_data r = make_ridge(4, 0.5, 1, true, 3);
  const auto pb = make_problem<C>(r);
  const std::vector<ld> x = log_penalties(r.nx(), -1, 0.3);
  const V xv = from_ld<C>(x), w = from_ld<C>(r.inner_solution(x));
  const V sentinel = from_ld<C>(std::vector<ld>(r.nx(), 42));
  V g(sentinel);
  // Options.
  BOOST_CHECK_THROW(bl::neumann_series({.alpha = 0}), continua::invalid_argument);
  BOOST_CHECK_THROW(bl::neumann_series({.alpha = -1}), continua::invalid_argument);
  BOOST_CHECK_THROW(bl::neumann_series({.alpha = 1, .lipschitz = 2}), continua::invalid_argument);
  BOOST_CHECK_THROW(bl::neumann_series({.max_iterations = 0}), continua::invalid_argument);
  BOOST_CHECK_THROW(bl::conjugate_gradient({.max_iterations = 0}), continua::invalid_argument);
  BOOST_CHECK_THROW(bl::conjugate_gradient({.rtol = 0, .atol = 0}), continua::invalid_argument);
  BOOST_CHECK_THROW(bl::conjugate_gradient({.rtol = std::nan("")}), continua::invalid_argument);
  BOOST_CHECK_THROW(bl::dense_solve({.rtol = -1}), continua::invalid_argument);
  V w0(w);
  BOOST_CHECK_THROW(bl::unrolled_hypergradient(pb, xv, w0, g, {.steps = 0}),
                    continua::invalid_argument);
  BOOST_CHECK_THROW(bl::unrolled_hypergradient(pb, xv, w0, g, {.learning_rate = 0}),
                    continua::invalid_argument);
  BOOST_CHECK_THROW(bl::unrolled_hypergradient(pb, xv, w0, g, {.momentum = 1}),
                    continua::invalid_argument);
  // Mismatched sizes.
  V short_g = from_ld<C>(std::vector<ld>(r.nx() + 1, 42));
  BOOST_CHECK_THROW(bl::implicit_hypergradient(pb, xv, w, short_g, bl::conjugate_gradient{}),
                    continua::size_mismatch);
  const auto op = [&](const V& v, V& out) { pb.inner_hvp(xv, w, v, out); };
  V z = from_ld<C>(std::vector<ld>(r.d + 1, 0));
  BOOST_CHECK_THROW(bl::conjugate_gradient{}.solve(op, w, z), continua::size_mismatch);
  // Non-finite input.
  std::vector<ld> bad_w = r.inner_solution(x);
  bad_w[2] = std::numeric_limits<ld>::quiet_NaN();
  const V wn = from_ld<C>(bad_w);
  BOOST_CHECK_THROW(bl::implicit_hypergradient(pb, xv, wn, g, bl::conjugate_gradient{}),
                    continua::non_finite_error);
  V wn2(wn);
  BOOST_CHECK_THROW(bl::unrolled_hypergradient(pb, xv, wn2, g), continua::non_finite_error);
  // A diverging inner iteration (learning rate far above 2 / L) is an error, not a NaN gradient.
  V w1(w);
  BOOST_CHECK_THROW(bl::unrolled_hypergradient(pb, xv, w1, g, {.steps = 2000, .learning_rate = 50}),
                    continua::numerical_error);
  BOOST_TEST(to_host(w1) == to_host(w));
  // Inner problem not solved: reported, or thrown on request.
  const V w_far = from_ld<C>(std::vector<ld>(r.d, 3));
  const auto rep = bl::implicit_hypergradient(pb, xv, w_far, g, bl::conjugate_gradient{},
                                              {.inner_tolerance = 1e-6});
  BOOST_TEST(!rep.inner_converged);
  BOOST_TEST(rep.inner_gradient_norm > 1e-6);
  g = sentinel;
  BOOST_CHECK_THROW(
      bl::implicit_hypergradient(pb, xv, w_far, g, bl::conjugate_gradient{},
                                 {.inner_tolerance = 1e-6, .throw_on_inner_failure = true}),
      continua::numerical_error);
  BOOST_TEST(to_host(g) == to_host(sentinel));
}

// Non-convergence is reported, not hidden: CG stopped early says so with the true residual,
// and throws (output untouched) when asked; Neumann with alpha L > 2 stops with `diverging`;
// the dense solve of an indefinite operator reports breakdown.
BOOST_AUTO_TEST_CASE_TEMPLATE(non_convergence_is_reported, C, all_configs) {
  using V = typename C::vec;
  const ridge_data r = make_ridge(8, 1e-3, 1, false, 4);
  const auto pb = make_problem<C>(r);
  const std::vector<ld> x{std::log(ld(1e-4))};
  const V xv = from_ld<C>(x), w = from_ld<C>(r.inner_solution(x));
  const auto op = [&](const V& v, V& out) { pb.inner_hvp(xv, w, v, out); };
  const V b = from_ld<C>(log_penalties(r.d, 1, 1));
  V z = from_ld<C>(std::vector<ld>(r.d, 0));
  const auto cg = bl::conjugate_gradient({.rtol = 1e-12, .max_iterations = 2}).solve(op, b, z);
  BOOST_TEST(!cg.converged);
  BOOST_TEST(cg.iterations == 4u);  // initial residual, 2 steps, final true residual
  BOOST_TEST(cg.residual > 1e-12 * cg.rhs_norm);
  BOOST_TEST(continua::max_abs(z) > 0);  // it moved, and says it did not arrive
  V g = from_ld<C>(std::vector<ld>(1, 42));
  BOOST_CHECK_THROW(
      bl::implicit_hypergradient(
          pb, xv, w, g, bl::conjugate_gradient({.max_iterations = 2, .throw_on_failure = true})),
      continua::numerical_error);
  BOOST_TEST(to_host(g)[0] == 42.0);
  // Thrown on request by the solver itself: the start is left as it was.
  V zt = from_ld<C>(std::vector<ld>(r.d, 0.25));
  BOOST_CHECK_THROW(
      bl::conjugate_gradient({.max_iterations = 2, .throw_on_failure = true}).solve(op, b, zt),
      continua::numerical_error);
  BOOST_CHECK_THROW(
      bl::neumann_series({.max_iterations = 3, .throw_on_failure = true}).solve(op, b, zt),
      continua::numerical_error);
  BOOST_TEST(to_host(zt) == std::vector<double>(r.d, 0.25));
  V zn = from_ld<C>(std::vector<ld>(r.d, 0));
  const auto nr = bl::neumann_series({.alpha = 2.5, .max_iterations = 500}).solve(op, b, zn);
  BOOST_TEST(nr.diverging);
  BOOST_TEST(!nr.converged);
  BOOST_TEST(nr.iterations < 500u);
  const auto negative = [&](const V& v, V& out) {
    pb.inner_hvp(xv, w, v, out);
    continua::bilevel::detail::set_scale(out, -1.0);
  };
  V zd = from_ld<C>(std::vector<ld>(r.d, 0));
  const auto dr = bl::dense_solve{}.solve(negative, b, zd);
  BOOST_TEST(dr.breakdown);
  BOOST_TEST(!dr.converged);
  BOOST_TEST(continua::max_abs(zd) == 0);
  const auto cr = bl::conjugate_gradient{}.solve(negative, b, zd);
  BOOST_TEST(cr.breakdown);
  BOOST_TEST(!cr.converged);
}

BOOST_AUTO_TEST_SUITE_END()
