// multi_normalize against the definitions of Scetbon et al. 2025 (SR-Sinkhorn, Alg. 3) and SWAN's
// GradNorm: the fixed point (every row norm sqrt(n), every column norm sqrt(m), reached as a
// diagonal scaling D1 X D2), iterates equal to a naive long-double loop, the monotone decrease of
// KL(P* | X_k o X_k) that Sinkhorn-Knopp theory gives, statelessness, chains, bad input.
#include <Eigen/Core>
#include <boost/mpl/list.hpp>
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <limits>
#include <tuple>
#include <type_traits>
#include <vector>
#include <xtensor/xtensor.hpp>

#include "../core/containers.hpp"
#include "continua/optim.hpp"

namespace o = continua::optim;
using continua::layout;
using ld = long double;

namespace {

// An m x n matrix, row-major, in long double: the reference side of every comparison.
struct ref_matrix {
  std::size_t m = 0, n = 0;
  std::vector<ld> a;
  ld& operator()(std::size_t i, std::size_t j) { return a[i * n + j]; }
  ld operator()(std::size_t i, std::size_t j) const { return a[i * n + j]; }
};

ref_matrix to_ref(const std::vector<double>& v, std::size_t m, std::size_t n) {
  return {m, n, std::vector<ld>(v.begin(), v.end())};
}

// Test gradients with entries bounded away from 0 (|x| in [0.2, 1]), so X o X is positive and
// Sinkhorn-Knopp converges; the ratio of largest to smallest squared entry is at most 25, which
// bounds the contraction per iteration (Birkhoff-Hopf) by tanh(log(625)/4)^2 < 0.86.
std::vector<double> gradient(std::size_t m, std::size_t n, std::uint64_t seed) {
  auto v = continua_test::pseudo_random(m * n, seed);
  for (double& x : v) x = (x < 0 ? -1.0 : 1.0) * (0.2 + 0.8 * std::fabs(x));
  return v;
}

ld row_norm(const ref_matrix& x, std::size_t i) {
  ld s = 0;
  for (std::size_t j = 0; j < x.n; ++j) s += x(i, j) * x(i, j);
  return std::sqrt(s);
}
ld col_norm(const ref_matrix& x, std::size_t j) {
  ld s = 0;
  for (std::size_t i = 0; i < x.m; ++i) s += x(i, j) * x(i, j);
  return std::sqrt(s);
}

// Largest |norm / target - 1| over all rows (target sqrt(n)) and columns (target sqrt(m)).
double fixed_point_residual(const ref_matrix& x) {
  ld r = 0;
  const ld rt = std::sqrt(static_cast<ld>(x.n)), ct = std::sqrt(static_cast<ld>(x.m));
  for (std::size_t i = 0; i < x.m; ++i) r = std::max(r, std::fabs(row_norm(x, i) / rt - 1));
  for (std::size_t j = 0; j < x.n; ++j) r = std::max(r, std::fabs(col_norm(x, j) / ct - 1));
  return static_cast<double>(r);
}

// SR-Sinkhorn written from the formulas, with the relaxation omega applied to each factor.
void ref_sr_sinkhorn(ref_matrix& x, std::size_t iterations, ld omega = 1) {
  for (std::size_t k = 0; k < iterations; ++k) {
    for (std::size_t i = 0; i < x.m; ++i) {
      const ld f = std::pow(std::sqrt(static_cast<ld>(x.n)) / row_norm(x, i), omega);
      for (std::size_t j = 0; j < x.n; ++j) x(i, j) *= f;
    }
    for (std::size_t j = 0; j < x.n; ++j) {
      const ld f = std::pow(std::sqrt(static_cast<ld>(x.m)) / col_norm(x, j), omega);
      for (std::size_t i = 0; i < x.m; ++i) x(i, j) *= f;
    }
  }
}

double max_rel_diff(const ref_matrix& x, const ref_matrix& y) {
  ld d = 0;
  for (std::size_t k = 0; k < x.a.size(); ++k)
    d = std::max(d, std::fabs(x.a[k] - y.a[k]) / std::fabs(y.a[k]));
  return static_cast<double>(d);
}

// Y is a diagonal scaling D1 X D2 of X with positive D1, D2 iff r_ij = Y_ij / X_ij > 0 factorises:
// r_ij r_00 = r_i0 r_0j. Returns the largest relative violation (or 1 when a sign flipped).
double diagonal_scaling_defect(const ref_matrix& y, const ref_matrix& x) {
  auto r = [&](std::size_t i, std::size_t j) { return y(i, j) / x(i, j); };
  ld d = 0;
  for (std::size_t i = 0; i < x.m; ++i)
    for (std::size_t j = 0; j < x.n; ++j) {
      if (!(r(i, j) > 0)) return 1.0;
      d = std::max(d, std::fabs(r(i, j) * r(0, 0) / (r(i, 0) * r(0, j)) - 1));
    }
  return static_cast<double>(d);
}

// How each tensor type holds an m x n matrix, and which matrix_shape option it needs.
template <class C, layout L>
struct flat_case {  // a rank-1 container; the shape is given in the options
  using type = C;
  using value = continua::value_t<C>;
  static C build(const std::vector<double>& rm, std::size_t m, std::size_t n) {
    std::vector<double> flat(m * n);
    for (std::size_t i = 0; i < m; ++i)
      for (std::size_t j = 0; j < n; ++j)
        flat[L == layout::row_major ? i * n + j : j * m + i] = rm[i * n + j];
    return continua_test::make<C>::from(flat);
  }
  static ref_matrix read(const C& c, std::size_t m, std::size_t n) {
    const auto flat = continua_test::to_host(c);
    ref_matrix x{m, n, std::vector<ld>(m * n)};
    for (std::size_t i = 0; i < m; ++i)
      for (std::size_t j = 0; j < n; ++j)
        x(i, j) = flat[L == layout::row_major ? i * n + j : j * m + i];
    return x;
  }
  static o::matrix_shape shape(std::size_t m, std::size_t n) { return {m, n, L}; }
};

template <class C>
struct shaped_case {  // a rank-2 Eigen matrix or xtensor; the shape comes from the tensor
  using type = C;
  using value = continua::value_t<C>;
  static C build(const std::vector<double>& rm, std::size_t m, std::size_t n) {
    C c;
    if constexpr (std::is_base_of_v<Eigen::EigenBase<C>, C>)
      c.resize(static_cast<Eigen::Index>(m), static_cast<Eigen::Index>(n));
    else
      c = C::from_shape({m, n});
    for (std::size_t i = 0; i < m; ++i)
      for (std::size_t j = 0; j < n; ++j) c(i, j) = static_cast<value>(rm[i * n + j]);
    return c;
  }
  static ref_matrix read(const C& c, std::size_t m, std::size_t n) {
    ref_matrix x{m, n, std::vector<ld>(m * n)};
    for (std::size_t i = 0; i < m; ++i)
      for (std::size_t j = 0; j < n; ++j) x(i, j) = c(i, j);
    return x;
  }
  static o::matrix_shape shape(std::size_t, std::size_t) { return {}; }
};

using cases = boost::mpl::list<
    flat_case<std::vector<double>, layout::row_major>,
    flat_case<std::vector<float>, layout::col_major>, shaped_case<Eigen::MatrixXd>,
    shaped_case<Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>,
    shaped_case<xt::xtensor<double, 2>>, shaped_case<xt::xtensor<float, 2>>
#if CONTINUA_TEST_THRUST
    ,
    flat_case<thrust::host_vector<double>, layout::col_major>,
    flat_case<thrust::device_vector<float>, layout::row_major>,
    flat_case<thrust::device_vector<double>, layout::col_major>
#endif
    >;

struct dims {
  std::size_t m, n;
};
const dims shapes[] = {{3, 5}, {8, 8}, {17, 4}, {16, 33}, {1, 6}, {6, 1}};

// Closeness of norms at the fixed point for a matrix with longest side `len`. The iterates
// converge far below this (bound above: < 1e-19 after 300 iterations); what is left is rounding.
// Each half-step stores with relative error u (storage type) and computes its factors from sums of
// up to len squares in the accumulator (double: error len * u_acc). A noisy contraction
// e <- kappa e + noise settles at noise / (1 - kappa), kappa < 0.86 from the bound above.
template <class T>
double fixed_point_tolerance(std::size_t len) {
  const double u = std::numeric_limits<T>::epsilon() / 2;
  const double u_acc = std::numeric_limits<double>::epsilon() / 2;
  return (2 * u + static_cast<double>(len) * u_acc) / (1 - 0.86);
}

// Y = D1 X D2 holds exactly in exact arithmetic; each of the 2K half-steps adds a non-scaling
// rounding perturbation of at most u per entry that later steps never remove, and the test
// combines four entries.
template <class T>
double scaling_tolerance(std::size_t iterations) {
  return 4 * 2 * static_cast<double>(iterations) * std::numeric_limits<T>::epsilon() / 2;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(multi_normalize_fixed_point)

BOOST_AUTO_TEST_CASE_TEMPLATE(rows_and_columns_reach_their_norms, Case, cases) {
  using C = typename Case::type;
  using T = typename Case::value;
  for (const dims d : shapes) {
    BOOST_TEST_CONTEXT("shape " << d.m << " x " << d.n) {
      const auto g0 = gradient(d.m, d.n, 7 * d.m + d.n);
      C g = Case::build(g0, d.m, d.n);
      C p = g;
      // 300 iterations: the contraction bound above (< 0.86 per iteration) gives < 1e-19.
      const o::multi_normalize mn({.iterations = 300, .shapes = {Case::shape(d.m, d.n)}});
      auto state = mn.init(p);
      mn.update(g, state, p);
      const ref_matrix y = Case::read(g, d.m, d.n);
      BOOST_TEST(fixed_point_residual(y) <= fixed_point_tolerance<T>(std::max(d.m, d.n)));
      // and it is the Sinkhorn scaling of the input (unique by Sinkhorn 1967), not just any
      // matrix with those norms
      const ref_matrix x = Case::read(Case::build(g0, d.m, d.n), d.m, d.n);
      BOOST_TEST(diagonal_scaling_defect(y, x) <= scaling_tolerance<T>(300));
    }
  }
}

BOOST_AUTO_TEST_CASE_TEMPLATE(iterates_match_a_naive_long_double_loop, Case, cases) {
  using C = typename Case::type;
  using T = typename Case::value;
  const std::size_t m = 16, n = 33;
  const auto g0 = gradient(m, n, 11);
  for (const std::size_t iterations : {std::size_t{1}, std::size_t{3}}) {
    C g = Case::build(g0, m, n);
    const C p = g;
    const o::multi_normalize mn({.iterations = iterations, .shapes = {Case::shape(m, n)}});
    auto state = mn.init(p);
    mn.update(g, state, p);
    // The input as the tensor stores it (float inputs are rounded before the algorithm starts).
    ref_matrix ref = Case::read(Case::build(g0, m, n), m, n);
    ref_sr_sinkhorn(ref, iterations);
    // Each half-step rescales by a factor computed with a relative error of about n u (a sum of
    // n squares) and stores with error u: 2 * iterations half-steps of (n + 1) u, u the unit
    // roundoff of the storage type (double sums run in double, float sums also in double).
    const double u = std::numeric_limits<T>::epsilon() / 2;
    const double bound = 2.0 * static_cast<double>(iterations) *
                         (std::is_same_v<T, float> ? 2 * u : static_cast<double>(n + 1) * u);
    BOOST_TEST(max_rel_diff(Case::read(g, m, n), ref) <= bound);
  }
}

BOOST_AUTO_TEST_CASE(kl_divergence_to_the_limit_decreases_every_iteration) {
  // SR-Sinkhorn on X is Sinkhorn-Knopp on A = X o X; each half-step is the I-projection of A onto
  // an affine set containing the limit P*, so KL(P* | A_k) = KL(P* | A_k+1) + KL(A_k+1 | A_k)
  // (Csiszar 1975): the divergence to the limit never increases.
  const std::size_t m = 12, n = 20;
  const auto g0 = gradient(m, n, 5);
  ref_matrix limit = to_ref(g0, m, n);
  ref_sr_sinkhorn(limit, 400);
  BOOST_TEST(fixed_point_residual(limit) <= 1e-15);
  auto kl_to_limit = [&](const ref_matrix& x) {
    ld kl = 0;
    for (std::size_t k = 0; k < x.a.size(); ++k) {
      const ld p = limit.a[k] * limit.a[k], a = x.a[k] * x.a[k];
      kl += p * std::log(p / a) - p + a;
    }
    return static_cast<double>(kl);
  };
  double previous = kl_to_limit(to_ref(g0, m, n));
  for (std::size_t k = 1; k <= 12; ++k) {
    std::vector<double> g = g0;
    const o::multi_normalize mn({.iterations = k, .shapes = {{m, n}}});
    auto s = mn.init(g);
    mn.update(g, s, g0);
    const double kl = kl_to_limit(to_ref(g, m, n));
    BOOST_TEST_CONTEXT("iteration " << k) {
      // slack: the double iterate's own rounding (~1e-16 relative per entry, m n entries)
      BOOST_TEST(kl <= previous + 1e-13);
    }
    previous = kl;
  }
  BOOST_TEST(previous <= 1e-10);
}

BOOST_AUTO_TEST_CASE(tolerance_stops_early_and_meets_the_tolerance) {
  const std::size_t m = 9, n = 14;
  std::vector<double> g = gradient(m, n, 3);
  const o::multi_normalize_options opts{.iterations = 1000, .tolerance = 1e-9};
  const std::size_t ran = o::multi_normalize_matrix(continua::as_matrix(g, m, n), opts);
  BOOST_TEST(ran < 1000u);
  BOOST_TEST(ran > 0u);
  // stopped at the first check that passed: the residual is below the tolerance (checked in
  // double; the reference adds only long-double rounding)
  BOOST_TEST(fixed_point_residual(to_ref(g, m, n)) <= 1e-9 + 1e-14);
  // ... and one iteration earlier it was not
  if (ran > 1) {
    std::vector<double> h = gradient(m, n, 3);
    o::multi_normalize_matrix(continua::as_matrix(h, m, n), {.iterations = ran - 1});
    BOOST_TEST(fixed_point_residual(to_ref(h, m, n)) > 1e-9 - 1e-14);
  }
  // A matrix at the fixed point is left exactly as it is: zero iterations run.
  const std::vector<double> at_fixed_point = g;
  BOOST_TEST(o::multi_normalize_matrix(continua::as_matrix(g, m, n), opts) == 0u);
  BOOST_TEST(g == at_fixed_point);
}

BOOST_AUTO_TEST_CASE(relaxed_iterations_reach_the_same_fixed_point) {
  const std::size_t m = 10, n = 7;
  const auto g0 = gradient(m, n, 19);
  std::vector<double> exact = g0;
  o::multi_normalize_matrix(continua::as_matrix(exact, m, n), {.iterations = 400});
  for (const double omega : {0.5, 1.5}) {
    BOOST_TEST_CONTEXT("omega " << omega) {
      // the relaxed step is the formula f^omega: two iterations against the naive loop
      std::vector<double> g = g0;
      o::multi_normalize_matrix(continua::as_matrix(g, m, n),
                                {.iterations = 2, .relaxation = omega});
      ref_matrix ref = to_ref(g0, m, n);
      ref_sr_sinkhorn(ref, 2, omega);
      BOOST_TEST(max_rel_diff(to_ref(g, m, n), ref) <= 1e-14);
      // and it converges to the same (unique) scaling as omega = 1
      g = g0;
      const std::size_t ran =
          o::multi_normalize_matrix(continua::as_matrix(g, m, n),
                                    {.iterations = 5000, .tolerance = 1e-13, .relaxation = omega});
      BOOST_TEST(ran < 5000u);
      BOOST_TEST(max_rel_diff(to_ref(g, m, n), to_ref(exact, m, n)) <= 1e-11);
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(multi_normalize_variants)

BOOST_AUTO_TEST_CASE(swan_standardises_every_row) {
  const std::size_t m = 6, n = 11;
  const auto g0 = gradient(m, n, 23);
  std::vector<double> g = g0;
  o::multi_normalize_matrix(continua::as_matrix(g, m, n), {.variant = o::multi_norm_variant::swan});
  const ref_matrix x = to_ref(g0, m, n), y = to_ref(g, m, n);
  for (std::size_t i = 0; i < m; ++i) {
    ld mean = 0, var = 0;
    for (std::size_t j = 0; j < n; ++j) mean += x(i, j);
    mean /= n;
    for (std::size_t j = 0; j < n; ++j) var += (x(i, j) - mean) * (x(i, j) - mean);
    const ld sd = std::sqrt(var / n);
    // (x - mean) / sd in double: a few roundings of terms of size (|x| + |mean|) / sd.
    const double u = std::numeric_limits<double>::epsilon() / 2;
    ld row_mean = 0;
    for (std::size_t j = 0; j < n; ++j) {
      const ld expected = (x(i, j) - mean) / sd;
      const double bound = 8 * u * static_cast<double>((std::fabs(x(i, j)) + std::fabs(mean)) / sd);
      BOOST_TEST(std::fabs(static_cast<double>(y(i, j) - expected)) <= bound);
      row_mean += y(i, j);
    }
    BOOST_TEST(std::fabs(static_cast<double>(row_mean)) <= 1e-13);
    BOOST_TEST(static_cast<double>(row_norm(y, i)) == std::sqrt(double(n)),
               boost::test_tools::tolerance(1e-14));
  }
  // A projection: applying it again changes nothing beyond rounding.
  std::vector<double> again = g;
  o::multi_normalize_matrix(continua::as_matrix(again, m, n),
                            {.variant = o::multi_norm_variant::swan, .iterations = 7});
  // (entries of y are at most sqrt(n) in size, the row means ~1e-16: 8 roundings of sqrt(n))
  for (std::size_t k = 0; k < g.size(); ++k)
    BOOST_TEST(std::fabs(again[k] - g[k]) <= 8 * std::sqrt(double(n)) * 1.12e-16);
}

BOOST_AUTO_TEST_CASE(vectors_are_scaled_to_norm_sqrt_n) {
  std::vector<double> v{3.0, -4.0, 12.0};  // |v| = 13
  Eigen::VectorXf w(4);
  w << 1.f, -1.f, 1.f, -1.f;  // already at norm sqrt(4)
  auto grads = std::tie(v, w);
  const auto params = std::make_tuple(std::vector<double>(3), Eigen::VectorXf(4));
  const o::multi_normalize mn({.iterations = 9, .relaxation = 0.5});
  auto s = mn.init(params);
  mn.update(grads, s, params);
  const double f = std::sqrt(3.0) / 13.0;
  BOOST_TEST(v[0] == 3.0 * f, boost::test_tools::tolerance(1e-15));
  BOOST_TEST(v[1] == -4.0 * f, boost::test_tools::tolerance(1e-15));
  BOOST_TEST(v[2] == 12.0 * f, boost::test_tools::tolerance(1e-15));
  for (int i = 0; i < 4; ++i) BOOST_TEST(w(i) == (i % 2 ? -1.f : 1.f));
}

BOOST_AUTO_TEST_CASE(rank_three_tensors_are_dim0_by_the_rest) {
  xt::xtensor<double, 3> g = xt::xtensor<double, 3>::from_shape({2, 3, 4});
  const auto vals = gradient(2, 12, 29);
  std::copy(vals.begin(), vals.end(), g.begin());
  const xt::xtensor<double, 3> p = g;
  const o::multi_normalize mn({.iterations = 300});
  auto s = mn.init(p);
  mn.update(g, s, p);
  const std::vector<double> out(g.begin(), g.end());
  BOOST_TEST(fixed_point_residual(to_ref(out, 2, 12)) <= 1e-12);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(multi_normalize_protocol)

BOOST_AUTO_TEST_CASE(is_stateless) {
  using state = o::state_of<o::multi_normalize, std::vector<double>>;
  static_assert(std::is_same_v<state, o::multi_normalize::state>);
  static_assert(std::is_empty_v<state>);
  static_assert(!o::multi_normalize::elementwise);
  BOOST_TEST(std::tuple_size_v<decltype(state{}.fields())> == 0u);

  const std::size_t m = 5, n = 8;
  const o::multi_normalize mn({.iterations = 4, .shapes = {{m, n}}});
  const auto g1 = gradient(m, n, 1), g2 = gradient(m, n, 2);
  // Same input, same output, bit for bit, whatever ran before on the same state object.
  auto s = mn.init(g1);
  std::vector<double> a = g1, b = g2, c = g1;
  mn.update(a, s, g1);
  mn.update(b, s, g1);
  mn.update(c, s, g1);
  BOOST_TEST(a == c);
  auto fresh = mn.init(g1);
  std::vector<double> b_fresh = g2;
  mn.update(b_fresh, fresh, g1);
  BOOST_TEST(b == b_fresh);
}

BOOST_AUTO_TEST_CASE(composes_in_a_chain_and_as_multi_normalized_sgd) {
  // A mixed parameter set: a flat float tensor given a 4 x 6 shape, an Eigen matrix with its own
  // shape, a vector.
  const auto g0 = gradient(4, 6, 31), h0 = gradient(5, 3, 37), v0 = gradient(1, 7, 41);
  std::vector<float> g(g0.begin(), g0.end());
  Eigen::MatrixXd h(5, 3);
  for (int i = 0; i < 5; ++i)
    for (int j = 0; j < 3; ++j) h(i, j) = h0[static_cast<std::size_t>(i * 3 + j)];
  std::vector<double> v = v0;
  const auto grads0 = std::make_tuple(g, h, v);
  const o::multi_normalize_options opts{.iterations = 6, .shapes = {{4, 6}, {}, {}}};

  // the expected normalised gradients, one tensor at a time
  std::vector<float> eg = g;
  Eigen::MatrixXd eh = h;
  std::vector<double> ev = v;
  o::multi_normalize_matrix(continua::as_matrix(eg, 4, 6), opts);
  o::multi_normalize_matrix(continua::as_matrix(eh), opts);
  double vn = 0;
  for (double x : v0) vn += x * x;
  for (double& x : ev) x *= std::sqrt(7.0) / std::sqrt(vn);

  const double lr = 0.1;
  auto opt = o::chain(o::multi_normalize(opts), o::scale_by_learning_rate(lr));
  auto params = grads0;
  auto state = opt.init(params);
  auto grads = grads0;
  BOOST_TEST(opt.update(grads, state, params));
  for (std::size_t k = 0; k < 24; ++k)
    BOOST_TEST(std::get<0>(grads)[k] == static_cast<float>(-lr * eg[k]),
               boost::test_tools::tolerance(1e-6f));
  for (int i = 0; i < 15; ++i)
    BOOST_TEST(std::get<1>(grads)(i) == -lr * eh(i), boost::test_tools::tolerance(1e-14));
  for (std::size_t k = 0; k < 7; ++k)
    BOOST_TEST(std::get<2>(grads)[k] == -lr * ev[k], boost::test_tools::tolerance(1e-14));

  // the ready-made alias: params -= lr MultiNorm(g)
  auto sgd = o::multi_normalized_sgd(lr, opts);
  auto p = grads0;
  auto sgd_state = sgd.init(p);
  grads = grads0;
  BOOST_TEST(sgd.step(p, grads, sgd_state));
  for (int i = 0; i < 15; ++i)
    BOOST_TEST(std::get<1>(p)(i) == h(i) - lr * eh(i), boost::test_tools::tolerance(1e-14));
  for (std::size_t k = 0; k < 7; ++k)
    BOOST_TEST(std::get<2>(p)[k] == v0[k] - lr * ev[k], boost::test_tools::tolerance(1e-14));
  for (std::size_t k = 0; k < 24; ++k)
    BOOST_TEST(std::get<0>(p)[k] == static_cast<float>(g0[k] - lr * eg[k]),
               boost::test_tools::tolerance(1e-6f));
}

#if CONTINUA_TEST_THRUST
BOOST_AUTO_TEST_CASE(multi_normalized_sgd_steps_device_vectors) {
  const std::size_t m = 7, n = 9;
  const auto g0 = gradient(m, n, 43);
  const auto w0 = gradient(m, n, 47);
  auto g = continua_test::make<thrust::device_vector<double>>::from(g0);
  auto p = continua_test::make<thrust::device_vector<double>>::from(w0);
  auto sgd = o::multi_normalized_sgd(0.5, {.iterations = 300, .shapes = {{m, n}}});
  auto s = sgd.init(p);
  BOOST_TEST(sgd.step(p, g, s));
  const auto out = continua_test::to_host(p);
  std::vector<double> update(m * n);
  for (std::size_t k = 0; k < m * n; ++k) update[k] = (w0[k] - out[k]) / 0.5;
  BOOST_TEST(fixed_point_residual(to_ref(update, m, n)) <= 1e-12);
}
#endif

BOOST_AUTO_TEST_CASE(bad_options_are_rejected_when_built) {
  using o::multi_normalize;
  BOOST_CHECK_THROW(multi_normalize({.iterations = 0}), continua::invalid_argument);
  BOOST_CHECK_THROW(multi_normalize({.tolerance = -1e-3}), continua::invalid_argument);
  BOOST_CHECK_THROW(multi_normalize({.eps = 0.0}), continua::invalid_argument);
  BOOST_CHECK_THROW(multi_normalize({.eps = -1.0}), continua::invalid_argument);
  BOOST_CHECK_THROW(multi_normalize({.eps = std::nan("")}), continua::invalid_argument);
  BOOST_CHECK_THROW(multi_normalize({.relaxation = 0.0}), continua::invalid_argument);
  BOOST_CHECK_THROW(multi_normalize({.relaxation = 2.0}), continua::invalid_argument);
  BOOST_CHECK_THROW(multi_normalize({.variant = o::multi_norm_variant::swan, .relaxation = 0.5}),
                    continua::invalid_argument);
  BOOST_CHECK_THROW(multi_normalize({.shapes = {{0, 5}}}), continua::invalid_argument);
  BOOST_CHECK_THROW(o::multi_normalized_sgd(-1.0), continua::invalid_argument);
  try {
    multi_normalize({.iterations = 0});
  } catch (const continua::invalid_argument& e) {
    BOOST_TEST(std::string(e.what()).find("iterations") != std::string::npos);
  }
  std::vector<double> g(6, 1.0);
  BOOST_CHECK_THROW(o::multi_normalize_matrix(continua::as_matrix(g, 2, 3), {.eps = 0.0}),
                    continua::invalid_argument);
}

BOOST_AUTO_TEST_CASE(bad_shapes_throw_and_leave_grads_untouched) {
  const auto a0 = gradient(3, 4, 51), b0 = gradient(2, 5, 53);
  std::vector<double> a = a0, b = b0;
  auto grads = std::tie(a, b);
  const auto params = std::make_tuple(a0, b0);
  // the second tensor's shape is wrong: the first must not have been normalised either
  {
    const o::multi_normalize mn({.shapes = {{3, 4}, {3, 4}}});
    auto s = mn.init(params);
    BOOST_CHECK_THROW(mn.update(grads, s, params), continua::size_mismatch);
    BOOST_TEST(a == a0);
    BOOST_TEST(b == b0);
  }
  // one shape for two tensors
  {
    const o::multi_normalize mn({.shapes = {{3, 4}}});
    auto s = mn.init(params);
    BOOST_CHECK_THROW(mn.update(grads, s, params), continua::size_mismatch);
    BOOST_TEST(a == a0);
  }
  // through a chain: same error, nothing changes
  {
    auto opt = o::chain(o::multi_normalize({.shapes = {{3, 4}, {5, 5}}}), o::scale(2.0));
    auto params_copy = params;
    auto s = opt.init(params_copy);
    BOOST_CHECK_THROW(opt.step(params_copy, grads, s), continua::size_mismatch);
    BOOST_TEST(a == a0);
    BOOST_TEST(std::get<0>(params_copy) == a0);
  }
  // grads and params of different structure
  {
    const o::multi_normalize mn;
    std::vector<double> small(5);
    auto s = mn.init(small);
    BOOST_CHECK_THROW(mn.update(a, s, small), continua::size_mismatch);
    BOOST_TEST(a == a0);
  }
}

BOOST_AUTO_TEST_CASE(zero_rows_stay_finite) {
  // eps keeps a zero row zero; the other entries stay finite (no fixed point exists here).
  std::vector<double> g{0, 0, 0, 1, -2, 3};
  o::multi_normalize_matrix(continua::as_matrix(g, 2, 3), {.iterations = 20});
  for (std::size_t k = 0; k < 3; ++k) BOOST_TEST(g[k] == 0.0);
  for (double x : g) BOOST_TEST(std::isfinite(x));
}

BOOST_AUTO_TEST_SUITE_END()
