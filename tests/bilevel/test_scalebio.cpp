// ScaleBiO on least-squares data reweighting: the w-gradient at the exact minimisers
// (theta_lambda, u*) differs from the implicit hypergradient by O(1 / lambda) (slope -1 +- 0.1
// over lambda in {10, 100, 1000}, softmax and sigmoid weights); a run puts > 90 % of the softmax
// mass on the clean source and theta reaches the bilevel solution; per-sample sigmoid weights leave
// < 10 % of the mass on 30 % corrupted samples; the state resumes bit for bit from a checkpoint and
// forged or resized checkpoints are refused; bad options, sizes and NaN are refused with the state
// unchanged.
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <limits>
#include <random>
#include <span>
#include <vector>

#include "continua/bilevel.hpp"
#include "continua/io/state.hpp"
#include "ridge.hpp"

namespace bl = continua::bilevel;
using bilevel_test::ld;
using bilevel_test::matrix;

namespace {

using vec = std::vector<double>;

// Training rows grouped into sources (per-sample weighting: one row per source) and a validation
// set: l_s(theta) = 1/(2 n_s) sum_{r in s} (a_r.theta - b_r)^2, f(theta) = 1/(2 n_v) |A_v theta -
// b_v|^2.
struct least_squares_reweighting {
  std::size_t d = 0;
  std::vector<vec> rows, val_rows;
  vec targets, val_targets;
  std::vector<std::size_t> group;  // source of each training row
  vec group_size;

  std::size_t source_count() const { return group_size.size(); }
  static double residual(const vec& a, double b, const vec& th) {
    double s = -b;
    for (std::size_t j = 0; j < a.size(); ++j) s += a[j] * th[j];
    return s;
  }
  void source_losses(const vec& th, std::span<double> out) const {
    std::fill(out.begin(), out.end(), 0.0);
    for (std::size_t r = 0; r < rows.size(); ++r) {
      const double e = residual(rows[r], targets[r], th);
      out[group[r]] += 0.5 * e * e / group_size[group[r]];
    }
  }
  void weighted_grad(const vec& th, std::span<const double> p, vec& out) const {
    out.assign(d, 0.0);
    for (std::size_t r = 0; r < rows.size(); ++r) {
      const double c = p[group[r]] * residual(rows[r], targets[r], th) / group_size[group[r]];
      for (std::size_t j = 0; j < d; ++j) out[j] += c * rows[r][j];
    }
  }
  void validation_grad(const vec& th, vec& out) const {
    out.assign(d, 0.0);
    for (std::size_t r = 0; r < val_rows.size(); ++r) {
      const double c = residual(val_rows[r], val_targets[r], th) / double(val_rows.size());
      for (std::size_t j = 0; j < d; ++j) out[j] += c * val_rows[r][j];
    }
  }

  // Closed forms in long double: H(p) = sum_s p_s A_s'A_s / n_s, c(p) = sum_s p_s A_s'b_s / n_s,
  // theta*(p) = H^-1 c, theta_lambda = (P + lambda H)^-1 (p_v + lambda c).
  void normal_equations(const vec& p, ld lambda, bool with_validation, matrix& m,
                        std::vector<ld>& rhs) const {
    m.assign(d, std::vector<ld>(d, 0));
    rhs.assign(d, 0);
    for (std::size_t r = 0; r < rows.size(); ++r) {
      const ld c = lambda * p[group[r]] / group_size[group[r]];
      for (std::size_t i = 0; i < d; ++i) {
        rhs[i] += c * rows[r][i] * targets[r];
        for (std::size_t j = 0; j < d; ++j) m[i][j] += c * rows[r][i] * rows[r][j];
      }
    }
    if (!with_validation) return;
    for (std::size_t r = 0; r < val_rows.size(); ++r) {
      const ld c = ld(1) / val_rows.size();
      for (std::size_t i = 0; i < d; ++i) {
        rhs[i] += c * val_rows[r][i] * val_targets[r];
        for (std::size_t j = 0; j < d; ++j) m[i][j] += c * val_rows[r][i] * val_rows[r][j];
      }
    }
  }
  std::vector<ld> inner_solution(const vec& p) const {
    matrix m;
    std::vector<ld> rhs;
    normal_equations(p, 1, false, m, rhs);
    return bilevel_test::solve_spd(m, rhs);
  }
  std::vector<ld> penalty_solution(const vec& p, ld lambda) const {
    matrix m;
    std::vector<ld> rhs;
    normal_equations(p, lambda, true, m, rhs);
    return bilevel_test::solve_spd(m, rhs);
  }
};

vec to_double(const std::vector<ld>& v) { return vec(v.begin(), v.end()); }
double norm(const vec& a) {
  double s = 0;
  for (double v : a) s += v * v;
  return std::sqrt(s);
}
double distance(const vec& a, const vec& b) {
  double s = 0;
  for (std::size_t i = 0; i < a.size(); ++i) s += (a[i] - b[i]) * (a[i] - b[i]);
  return std::sqrt(s);
}
vec weights_of(bl::data_weighting mode, const vec& w) {
  vec p(w.size());
  bl::data_weights(mode, w, p);
  return p;
}

// Sources s = 0 .. thetas.size() - 1 with `rows_each` Gaussian rows, targets a.theta_s (+ noise);
// validation rows follow thetas[0].
least_squares_reweighting make_sources(const std::vector<vec>& thetas, std::size_t rows_each,
                                       std::size_t val_rows, double noise, unsigned seed) {
  std::mt19937_64 gen(seed);
  std::normal_distribution<double> normal;
  least_squares_reweighting pb;
  pb.d = thetas[0].size();
  const auto row = [&] {
    vec a(pb.d);
    for (double& v : a) v = normal(gen);
    return a;
  };
  for (std::size_t s = 0; s < thetas.size(); ++s) {
    for (std::size_t r = 0; r < rows_each; ++r) {
      pb.rows.push_back(row());
      pb.targets.push_back(least_squares_reweighting::residual(pb.rows.back(), 0, thetas[s]) +
                           noise * normal(gen));
      pb.group.push_back(s);
    }
    pb.group_size.push_back(double(rows_each));
  }
  for (std::size_t r = 0; r < val_rows; ++r) {
    pb.val_rows.push_back(row());
    pb.val_targets.push_back(least_squares_reweighting::residual(pb.val_rows.back(), 0, thetas[0]) +
                             noise * normal(gen));
  }
  return pb;
}

// Closed-form hypergradient dF/dw = J_p^T dF/dp, dF/dp_s = -v' grad l_s(theta*), v = H^-1 grad f.
vec exact_hypergradient(const least_squares_reweighting& pb, bl::data_weighting mode,
                        const vec& w) {
  const vec p = weights_of(mode, w);
  const vec th = to_double(pb.inner_solution(p));
  matrix h;
  std::vector<ld> unused;
  pb.normal_equations(p, 1, false, h, unused);
  vec gf;
  pb.validation_grad(th, gf);
  const vec v = to_double(bilevel_test::solve_spd(h, std::vector<ld>(gf.begin(), gf.end())));
  vec dp(pb.source_count(), 0.0);
  for (std::size_t r = 0; r < pb.rows.size(); ++r) {
    const double e = least_squares_reweighting::residual(pb.rows[r], pb.targets[r], th);
    double va = 0;
    for (std::size_t j = 0; j < pb.d; ++j) va += v[j] * pb.rows[r][j];
    dp[pb.group[r]] -= va * e / pb.group_size[pb.group[r]];
  }
  // J_p^T dp by the definition of each weighting, written out here (not the library's pullback).
  vec out(w.size());
  if (mode == bl::data_weighting::softmax) {
    for (std::size_t i = 0; i < w.size(); ++i) {
      out[i] = 0;
      for (std::size_t s = 0; s < w.size(); ++s)
        out[i] += ((i == s ? p[s] : 0.0) - p[s] * p[i]) * dp[s];
    }
  } else {
    for (std::size_t i = 0; i < w.size(); ++i) {
      const double sg = 1 / (1 + std::exp(-w[i]));
      out[i] = sg * (1 - sg) / double(w.size()) * dp[i];
    }
  }
  return out;
}

double least_squares_slope(const vec& x, const vec& y) {
  const double mx = (x[0] + x[1] + x[2]) / 3, my = (y[0] + y[1] + y[2]) / 3;
  double num = 0, den = 0;
  for (std::size_t i = 0; i < 3; ++i) {
    num += (x[i] - mx) * (y[i] - my);
    den += (x[i] - mx) * (x[i] - mx);
  }
  return num / den;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(bilevel_scalebio)

// The w-gradient of L at theta = theta_lambda(w), u = u*(w) against the implicit hypergradient
// (implicit.hpp with a dense solve, through finite_difference_products of the adaptor; itself
// checked against the closed form): relative error ~ C / lambda.
BOOST_AUTO_TEST_CASE(w_gradient_error_is_order_one_over_lambda) {
  const auto pb = make_sources({{1, -1, 0.5}, {0, 2, -1}, {-1, 0, 1}}, 8, 10, 0.1, 51);
  const vec w{2.3, 1.8, 2.1};  // softmax is shift-invariant; sigmoids near 0.9
  for (const auto mode : {bl::data_weighting::softmax, bl::data_weighting::sigmoid}) {
    const bl::reweighting_bilevel<least_squares_reweighting> adaptor(pb, mode);
    const vec p = weights_of(mode, w);
    const vec ustar = to_double(pb.inner_solution(p));
    vec implicit(w.size());
    const auto res = bl::implicit_hypergradient(bl::finite_difference_products(adaptor), w, ustar,
                                                implicit, bl::dense_solve{});
    BOOST_TEST(res.linear.converged);
    const vec exact = exact_hypergradient(pb, mode, w);
    BOOST_TEST(distance(implicit, exact) <= 1e-6 * norm(exact));
    vec logl, loge;
    for (const double lambda : {10.0, 100.0, 1000.0}) {
      const vec th = to_double(pb.penalty_solution(p, lambda));
      vec g(w.size());
      bl::penalty_gradient(adaptor, w, th, ustar, lambda, g);
      const double err = distance(g, implicit) / norm(implicit);
      BOOST_TEST_MESSAGE((mode == bl::data_weighting::softmax ? "softmax" : "sigmoid")
                         << " lambda " << lambda << ": relative error " << err);
      logl.push_back(std::log(lambda));
      loge.push_back(std::log(err));
    }
    const double slope = least_squares_slope(logl, loge);
    BOOST_TEST_MESSAGE("slope " << slope);
    BOOST_TEST(std::abs(slope + 1) <= 0.1);
  }
}

// At theta = theta_lambda and u = u* both inner steps are at their fixed points, so the direction
// of one step is the w-gradient of L there (1e-9 relative) and w moves by -lr_w times it.
BOOST_AUTO_TEST_CASE(step_direction_is_the_penalty_gradient) {
  const auto pb = make_sources({{1, -1, 0.5}, {0, 2, -1}, {-1, 0, 1}}, 8, 10, 0.1, 52);
  const bl::scalebio solver({.lr_w = 0.1, .lambda0 = 50, .inner_steps = 3});
  auto s = solver.init({0.3, -0.2, 0.1}, vec(3, 0.0));
  const vec p = solver.weights(s);
  s.theta = to_double(pb.penalty_solution(p, 50));
  s.u = to_double(pb.inner_solution(p));
  vec expected(3), d(3);
  bl::penalty_gradient(bl::reweighting_bilevel(pb, bl::data_weighting::softmax), s.w, s.theta, s.u,
                       50.0, expected);
  const vec w0 = s.w;
  solver.step(pb, s, &d);
  BOOST_TEST(distance(d, expected) <= 1e-9 * norm(expected));
  for (std::size_t i = 0; i < 3; ++i) BOOST_TEST(std::abs(s.w[i] - (w0[i] - 0.1 * d[i])) <= 1e-15);
  BOOST_TEST(s.lambda == 50.1);
  BOOST_TEST(s.k == 1u);
}

// A clean source (targets from theta_true, as the validation set) and a corrupted one (from
// theta_true + (2, -2, 1)): ScaleBiO moves > 90 % of the softmax mass to the clean source, and
// theta ends near the bilevel solution theta*(p(w)) and near theta_true.
BOOST_AUTO_TEST_CASE(softmax_weights_find_the_clean_source) {
  const vec truth{1, -0.5, 0.25};
  const auto pb = make_sources({truth, {3, -2.5, 1.25}}, 20, 10, 0.0, 53);
  const bl::scalebio solver({.lr_theta = 0.3,
                             .lr_u = 0.3,
                             .lr_w = 2,
                             .lambda0 = 10,
                             .delta_lambda = 1,
                             .inner_steps = 5,
                             .exponent_theta = 0,
                             .exponent_u = 0,
                             .exponent_w = 0,
                             .exponent_lambda = 0});
  auto s = solver.init({0, 0}, vec(3, 0.0));
  const double d0 = distance(s.theta, truth);
  for (int k = 0; k < 400; ++k) solver.step(pb, s);
  const vec p = solver.weights(s);
  const vec bilevel_solution = to_double(pb.inner_solution(p));
  BOOST_TEST_MESSAGE("softmax: clean mass "
                     << p[0] << ", |theta - theta*(p)| " << distance(s.theta, bilevel_solution)
                     << ", |theta - theta_true| " << distance(s.theta, truth) << " (from " << d0
                     << "), lambda " << s.lambda);
  BOOST_TEST(p[0] > 0.9);
  BOOST_TEST(distance(s.theta, bilevel_solution) <= 0.05 * d0);
  BOOST_TEST(distance(s.theta, truth) <= 0.1 * d0);
}

// 60 samples, 18 (30 %) of them with targets shifted by +3, and an intercept feature, so the
// corruption biases the fit (zero-mean corruption would barely move theta*(w), and the bilevel
// objective would have little reason to drop it): per-sample sigmoid weights leave < 10 % of the
// weight mass sum_i sigmoid(w_i) on the corrupted samples.
BOOST_AUTO_TEST_CASE(sigmoid_weights_drop_corrupted_samples) {
  const vec truth{0.5, -0.5, 0.25};
  const std::size_t n = 60, corrupted = 18;
  auto pb = make_sources({truth}, n, 20, 0.05, 54);
  pb.group_size.assign(n, 1.0);  // one source per sample
  for (std::size_t r = 0; r < n; ++r) {
    pb.group[r] = r;
    pb.targets[r] += truth[0] * (1 - pb.rows[r][0]) + (r < corrupted ? 3.0 : 0.0);
    pb.rows[r][0] = 1;  // intercept
  }
  for (std::size_t r = 0; r < pb.val_rows.size(); ++r) {
    pb.val_targets[r] += truth[0] * (1 - pb.val_rows[r][0]);
    pb.val_rows[r][0] = 1;
  }
  const bl::scalebio solver({.weighting = bl::data_weighting::sigmoid,
                             .lr_theta = 0.3,
                             .lr_u = 0.3,
                             .lr_w = 60,
                             .lambda0 = 10,
                             .delta_lambda = 1,
                             .inner_steps = 5,
                             .exponent_theta = 0,
                             .exponent_u = 0,
                             .exponent_w = 0,
                             .exponent_lambda = 0});
  auto s = solver.init(vec(n, 0.0), vec(3, 0.0));
  const auto corrupted_mass = [&] {
    double bad = 0, all = 0;
    for (std::size_t i = 0; i < n; ++i) {
      const double sg = 1 / (1 + std::exp(-s.w[i]));
      all += sg;
      if (i < corrupted) bad += sg;
    }
    return bad / all;
  };
  const double m0 = corrupted_mass();
  for (int k = 0; k < 400; ++k) solver.step(pb, s);
  const double m1 = corrupted_mass();
  BOOST_TEST_MESSAGE("sigmoid: corrupted mass " << m0 << " -> " << m1 << ", |theta - theta_true| "
                                                << distance(s.theta, truth));
  BOOST_TEST(m1 < 0.1);
}

// A run checkpointed after 7 steps and resumed from the bytes continues bit for bit; forged
// states (lambda <= 0, NaN logits) and a state of other sizes are refused with the state unchanged.
BOOST_AUTO_TEST_CASE(state_round_trip_resumes_bit_identically) {
  namespace io = continua::io;
  const auto pb = make_sources({{1, -1, 0.5}, {0, 2, -1}, {-1, 0, 1}}, 8, 10, 0.1, 55);
  const bl::scalebio solver({.lr_theta = 0.3, .lr_u = 0.3, .lr_w = 1, .lambda0 = 5});
  auto s = solver.init({0, 0, 0}, vec(3, 0.0));
  for (int k = 0; k < 7; ++k) solver.step(pb, s);
  const std::vector<unsigned char> image = io::save_bytes(s);
  for (int k = 0; k < 5; ++k) solver.step(pb, s);
  auto resumed = solver.init({9, 9, 9}, vec(3, 3.0));
  io::load_bytes(image, resumed);
  BOOST_TEST(resumed.k == 7u);
  for (int k = 0; k < 5; ++k) solver.step(pb, resumed);
  BOOST_TEST(resumed.w == s.w);
  BOOST_TEST(resumed.theta == s.theta);
  BOOST_TEST(resumed.u == s.u);
  BOOST_TEST(resumed.lambda == s.lambda);
  BOOST_TEST(resumed.k == s.k);
  const auto unchanged = resumed;
  const auto refused = [&](const bl::scalebio_state<vec>& forged) {
    BOOST_CHECK_THROW(io::load_bytes(io::save_bytes(forged), resumed), continua::io_error);
    BOOST_TEST(resumed.w == unchanged.w);
    BOOST_TEST(resumed.theta == unchanged.theta);
    BOOST_TEST(resumed.u == unchanged.u);
    BOOST_TEST(resumed.lambda == unchanged.lambda);
  };
  auto forged = s;
  forged.lambda = -1;
  refused(forged);
  forged = s;
  forged.w[1] = std::numeric_limits<double>::quiet_NaN();
  refused(forged);
  forged = s;
  forged.u[0] = std::numeric_limits<double>::infinity();
  refused(forged);
  // Other sizes: four sources, or a longer model.
  auto other = solver.init({0, 0, 0, 0}, vec(3, 0.0));
  BOOST_CHECK_THROW(io::load_bytes(image, other), continua::io_error);
  BOOST_TEST(other.k == 0u);
  BOOST_TEST(other.w.size() == 4u);
  auto longer = solver.init({0, 0, 0}, vec(4, 0.0));
  BOOST_CHECK_THROW(io::load_bytes(image, longer), continua::io_error);
  BOOST_TEST(longer.theta == vec(4, 0.0));
}

namespace {
// Returns NaN losses once armed: the step must refuse without touching the state.
struct nan_losses : least_squares_reweighting {
  bool armed = false;
  void source_losses(const vec& th, std::span<double> out) const {
    least_squares_reweighting::source_losses(th, out);
    if (armed) out[0] = std::numeric_limits<double>::quiet_NaN();
  }
};
}  // namespace

BOOST_AUTO_TEST_CASE(scalebio_bad_input) {
  using continua::invalid_argument;
  BOOST_CHECK_THROW(bl::scalebio({.lr_theta = 0}), invalid_argument);
  BOOST_CHECK_THROW(bl::scalebio({.lr_u = -1}), invalid_argument);
  BOOST_CHECK_THROW(bl::scalebio({.lr_w = std::numeric_limits<double>::quiet_NaN()}),
                    invalid_argument);
  BOOST_CHECK_THROW(bl::scalebio({.lambda0 = 0}), invalid_argument);
  BOOST_CHECK_THROW(bl::scalebio({.delta_lambda = -0.1}), invalid_argument);
  BOOST_CHECK_THROW(bl::scalebio({.inner_steps = 0}), invalid_argument);
  BOOST_CHECK_THROW(bl::scalebio({.exponent_w = -1}), invalid_argument);
  BOOST_CHECK_THROW(bl::scalebio({.weighting = static_cast<bl::data_weighting>(7)}),
                    invalid_argument);
  const bl::scalebio solver({.lr_theta = 0.3, .lr_u = 0.3, .lr_w = 1});
  BOOST_CHECK_THROW(solver.init({}, vec(3, 0.0)), invalid_argument);
  BOOST_CHECK_THROW(solver.init({0, std::numeric_limits<double>::quiet_NaN()}, vec(3, 0.0)),
                    continua::non_finite_error);
  BOOST_CHECK_THROW(solver.init({0, 0}, vec{0, std::numeric_limits<double>::infinity(), 0}),
                    continua::non_finite_error);
  vec p(2);
  BOOST_CHECK_THROW(bl::data_weights(bl::data_weighting::softmax, vec{0, 1, 2}, p),
                    continua::size_mismatch);
  BOOST_CHECK_THROW(bl::data_weights(bl::data_weighting::sigmoid, vec{}, std::span<double>{}),
                    invalid_argument);
  // Large logits do not overflow the softmax.
  bl::data_weights(bl::data_weighting::softmax, vec{1000, 0}, p);
  BOOST_TEST(p[0] == 1.0);

  nan_losses pb;
  static_cast<least_squares_reweighting&>(pb) = make_sources({{1, 0, 0}, {0, 1, 0}}, 5, 5, 0, 56);
  auto s = solver.init({0, 0}, vec(3, 0.0));
  solver.step(pb, s);
  const auto before = s;
  const auto untouched = [&] {
    BOOST_TEST(s.w == before.w);
    BOOST_TEST(s.theta == before.theta);
    BOOST_TEST(s.u == before.u);
    BOOST_TEST(s.lambda == before.lambda);
    BOOST_TEST(s.k == before.k);
  };
  // Three logits for two sources.
  auto wrong = solver.init({0, 0, 0}, vec(3, 0.0));
  BOOST_CHECK_THROW(solver.step(pb, wrong), continua::size_mismatch);
  BOOST_TEST(wrong.k == 0u);
  // theta and u of different sizes; a direction of the wrong size.
  s.u.push_back(0);
  BOOST_CHECK_THROW(solver.step(pb, s), continua::size_mismatch);
  s.u.pop_back();
  vec short_direction(1);
  BOOST_CHECK_THROW(solver.step(pb, s, &short_direction), continua::size_mismatch);
  untouched();
  // NaN in the state.
  s.theta[1] = std::numeric_limits<double>::quiet_NaN();
  BOOST_CHECK_THROW(solver.step(pb, s), continua::non_finite_error);
  s.theta = before.theta;
  // The problem returns NaN losses: numerical_error, nothing changed.
  pb.armed = true;
  BOOST_CHECK_THROW(solver.step(pb, s), continua::numerical_error);
  untouched();
  pb.armed = false;
  // A fixed (unnormalised) theta step with lr L >> 2 diverges: refused, nothing changed.
  const bl::scalebio wild({.lr_theta = 50, .inner_steps = 200, .normalize_theta_step = false});
  BOOST_CHECK_THROW(wild.step(pb, s), continua::numerical_error);
  untouched();
}

BOOST_AUTO_TEST_SUITE_END()
