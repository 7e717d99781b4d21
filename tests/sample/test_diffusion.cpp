// Diffusion samplers: schedules, timesteps and DDIM/DDPM loops equal diffusers' (golden values from
// tests/reference/gen_diffusion_golden.py); with the exact epsilon of Gaussian data DDIM (eta = 0)
// is the analytic affine map of x_T to 1e-12, and DDPM / DDIM sample N(m, s^2) (z-tests at
// |z| <= 3.09 per statistic, two-sided false-alarm rate 0.2% each); BDIA follows the paper's
// recursion and inverts exactly (round trip <= 1e-10 in double); the noise is the same on serial,
// OpenMP and Thrust device paths; bad input is refused with the state untouched.
#include <algorithm>
#include <boost/mpl/list.hpp>
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "../reference/diffusion/golden.hpp"
#include "continua/sample/diffusion.hpp"

#if CONTINUA_TEST_THRUST
#include <thrust/device_vector.h>

#include "continua/adapters/thrust.hpp"
#endif

namespace d = continua::sample::diffusion;
namespace g = continua_test::diffusion_golden;

namespace {

using real_types = boost::mpl::list<float, double>;

// max |a - b| / max |b|
double rel_diff(const std::vector<double>& a, const double* b, std::size_t n) {
  double diff = 0, scale = 0;
  for (std::size_t i = 0; i < n; ++i) {
    diff = std::max(diff, std::fabs(a[i] - b[i]));
    scale = std::max(scale, std::fabs(b[i]));
  }
  return diff / scale;
}

d::noise_schedule golden_schedule(int k) {
  if (k == 0) return d::noise_schedule();
  if (k == 1)
    return d::noise_schedule(
        {.beta_start = 0.00085, .beta_end = 0.012, .kind = d::beta_schedule::scaled_linear});
  return d::noise_schedule({.kind = d::beta_schedule::squaredcos_cap_v2});
}

// The golden script's model: eps(x, t) = 0.7 tanh(x) + 1e-4 t (host only).
struct tanh_model {
  template <class X, class E>
  void operator()(const X& x, std::int64_t t, E& out) const {
    for (std::size_t i = 0; i < x.size(); ++i)
      out[i] =
          static_cast<typename E::value_type>(0.7 * std::tanh(double(x[i])) + 1e-4 * double(t));
  }
};

// The exact epsilon of data N(m, s^2) (each coordinate): x_t ~ N(a m, a^2 s^2 + b^2), so
// eps*(x, t) = -b score = b (x - a m) / (a^2 s^2 + b^2), a = sqrt(abar_t), b = sqrt(1 - abar_t).
template <class T>
struct gaussian_eps_kernel {
  const T* x;
  T* out;
  T am, scale;
  CONTINUA_HD void operator()(std::size_t i) const { out[i] = scale * (x[i] - am); }
};
struct gaussian_model {
  const d::noise_schedule* sched;
  double m, s;
  int* calls = nullptr;
  template <class X, class E>
  void operator()(const X& x, std::int64_t t, E& out) const {
    using T = continua::value_t<X>;
    const double ab = sched->alpha_bar(t), a = std::sqrt(ab), b = std::sqrt(1 - ab);
    const double v = a * a * s * s + b * b;
    continua::for_each_index(continua::memory_space_t<X>{}, continua::size(x),
                             gaussian_eps_kernel<T>{continua::data(x), continua::data(out),
                                                    static_cast<T>(a * m), static_cast<T>(b / v)});
    if (calls) ++*calls;
  }
};

// The exact epsilon of a two-component Gaussian mixture (each coordinate): the noisy marginal is
// the mixture of N(a mu_j, v_j), v_j = a^2 s_j^2 + b^2, so eps*(x, t) = b sum_j r_j(x) (x - a mu_j)
// / v_j with r_j the posterior component weights. Nonlinear in x, and a model a sampler may meet.
template <class T>
struct mixture_eps_kernel {
  const T* x;
  T* out;
  double a, b, w0, mu0, v0, mu1, v1;
  CONTINUA_HD void operator()(std::size_t i) const {
    const double xi = double(x[i]);
    const double d0 = xi - a * mu0, d1 = xi - a * mu1;
    const double l0 = std::log(w0) - 0.5 * std::log(v0) - 0.5 * d0 * d0 / v0;
    const double l1 = std::log(1 - w0) - 0.5 * std::log(v1) - 0.5 * d1 * d1 / v1;
    const double r0 = 1 / (1 + std::exp(l1 - l0));
    out[i] = static_cast<T>(b * (r0 * d0 / v0 + (1 - r0) * d1 / v1));
  }
};
struct mixture_model {
  const d::noise_schedule* sched;
  double w0 = 0.3, mu0 = -1.0, s0 = 0.3, mu1 = 1.5, s1 = 0.5;
  template <class X, class E>
  void operator()(const X& x, std::int64_t t, E& out) const {
    using T = continua::value_t<X>;
    const double ab = sched->alpha_bar(t), a = std::sqrt(ab), b = std::sqrt(1 - ab);
    continua::for_each_index(
        continua::memory_space_t<X>{}, continua::size(x),
        mixture_eps_kernel<T>{continua::data(x), continua::data(out), a, b, w0, mu0,
                              a * a * s0 * s0 + b * b, mu1, a * a * s1 * s1 + b * b});
  }
};

template <class V>
std::vector<double> to_double(const V& v) {
  std::vector<double> r(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) r[i] = static_cast<double>(v[i]);
  return r;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(diffusion)

// ---------------------------------------------------------------- schedules and timesteps

BOOST_AUTO_TEST_CASE(schedules_match_diffusers) {
  const double* f64[] = {g::linear_abar_f64, g::scaled_linear_abar_f64,
                         g::squaredcos_cap_v2_abar_f64};
  const double* b32[] = {g::linear_betas_f32, g::scaled_linear_betas_f32,
                         g::squaredcos_cap_v2_betas_f32};
  const double* a32[] = {g::linear_abar_f32, g::scaled_linear_abar_f32,
                         g::squaredcos_cap_v2_abar_f32};
  for (int k = 0; k < 3; ++k) {
    const d::noise_schedule s = golden_schedule(k);
    BOOST_TEST_CONTEXT("schedule " << k) {
      // alpha-bar in double equals torch.cumprod over the float64 betas.
      BOOST_TEST(rel_diff(s.alphas_cumprod(), f64[k], 1000) <= 1e-14);
      // diffusers keeps betas and alpha-bar in float32: agreement to float32 rounding of the
      // betas (a few ulp from linspace in float32) and of 1000 products (<= 1000 * 2^-24 = 6e-5).
      for (std::size_t j = 0; j < std::size(g::sched_index); ++j) {
        const auto i = static_cast<std::size_t>(g::sched_index[j]);
        BOOST_TEST(std::fabs(s.betas()[i] - b32[k][j]) <= 4 * 0x1p-24 * s.betas()[i]);
        BOOST_TEST(std::fabs(s.alphas_cumprod()[i] - a32[k][j]) <=
                   double(i + 1) * 0x1p-24 * s.alphas_cumprod()[i]);
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(timesteps_match_diffusers_for_each_spacing_and_offset) {
  const d::timestep_spacing sp[] = {d::timestep_spacing::leading, d::timestep_spacing::trailing,
                                    d::timestep_spacing::linspace};
  for (const auto& r : g::timestep_rows) {
    BOOST_TEST_CONTEXT("spacing " << r.spacing << " steps " << r.steps << " offset " << r.offset) {
      const auto ts = d::make_timesteps(1000, std::size_t(r.steps), sp[r.spacing], r.offset);
      const std::vector<std::int64_t> want(g::timesteps_flat + r.first,
                                           g::timesteps_flat + r.first + r.count);
      BOOST_TEST(ts == want, boost::test_tools::per_element());
    }
  }
}

BOOST_AUTO_TEST_CASE(prediction_conversions_round_trip_and_match_definitions) {
  // v = a eps - b x0 and x_t = a x0 + b eps for random (x0, eps); every conversion recovers them.
  const double abar = 0.37, a = std::sqrt(abar), b = std::sqrt(1 - abar);
  std::vector<double> x0 = {0.3, -1.2, 2.0}, eps = {1.1, 0.4, -0.7}, xt(3), v(3), out(3);
  for (int i = 0; i < 3; ++i) {
    xt[i] = a * x0[i] + b * eps[i];
    v[i] = a * eps[i] - b * x0[i];
  }
  const d::prediction_type P[] = {d::prediction_type::epsilon, d::prediction_type::sample,
                                  d::prediction_type::v_prediction};
  const std::vector<double>* Q[] = {&eps, &x0, &v};
  for (int from = 0; from < 3; ++from)
    for (int to = 0; to < 3; ++to) {
      d::convert_prediction(P[from], P[to], abar, xt, *Q[from], out);
      BOOST_TEST(rel_diff(out, Q[to]->data(), 3) <= 1e-15);
    }
}

// ---------------------------------------------------------------- DDIM / DDPM against diffusers

namespace {
struct golden_case {
  const char* name;
  int schedule;
  d::timestep_spacing spacing;
  int offset;
  d::prediction_type pred;
  double eta;  // DDIM; for DDPM: 0 fixed_small, 1 fixed_large
  const double* traj;
};

// Runs the 3 x 4 golden loop step by step with the script's model and stored noise.
// Runs the 3 x 4 golden loop step by step with the script's model and stored noise, in T;
// float: to 2e-5 relative (float32 arithmetic over 10 steps of a double reference).
template <class T, class Sampler>
void check_golden_loop_in(const Sampler& sampler, const golden_case& c, double tol) {
  std::vector<T> x(g::loop_xT, g::loop_xT + 12), e(12), m(12), z(12);
  for (std::size_t i = 0; i < sampler.steps(); ++i) {
    tanh_model{}(x, sampler.timesteps()[i], e);
    d::convert_prediction(d::prediction_type::epsilon, c.pred, sampler.alpha_bar(i), x, e, m);
    z.assign(g::loop_noise + 12 * i, g::loop_noise + 12 * (i + 1));
    sampler.step_with_noise(i, x, m, z);
    BOOST_TEST_CONTEXT(c.name << " step " << i << " " << sizeof(T) * 8 << "-bit") {
      BOOST_TEST(rel_diff(to_double(x), c.traj + 12 * i, 12) <= tol);
    }
  }
}
template <class Sampler>
void check_golden_loop(const Sampler& sampler, const golden_case& c) {
  check_golden_loop_in<double>(sampler, c, 1e-12);
  check_golden_loop_in<float>(sampler, c, 2e-5);
}
}  // namespace

BOOST_AUTO_TEST_CASE(ddim_ten_step_loops_match_diffusers) {
  const golden_case cases[] = {
      {"ddim_eps", 1, d::timestep_spacing::leading, 1, d::prediction_type::epsilon, 0.0,
       g::ddim_eps},
      {"ddim_eta", 0, d::timestep_spacing::leading, 0, d::prediction_type::epsilon, 0.5,
       g::ddim_eta},
      {"ddim_v", 2, d::timestep_spacing::trailing, 0, d::prediction_type::v_prediction, 0.0,
       g::ddim_v},
      {"ddim_x0", 0, d::timestep_spacing::leading, 1, d::prediction_type::sample, 0.0, g::ddim_x0}};
  for (const auto& c : cases) {
    const d::ddim sampler(golden_schedule(c.schedule),
                          d::make_timesteps(1000, 10, c.spacing, c.offset),
                          {.eta = c.eta, .prediction = c.pred});
    check_golden_loop(sampler, c);
  }
  // The loop driver gives the same as the steps (deterministic case, epsilon model).
  const d::ddim sampler(golden_schedule(1),
                        d::make_timesteps(1000, 10, d::timestep_spacing::leading, 1));
  std::vector<double> x(g::loop_xT, g::loop_xT + 12), scratch(12);
  sampler.sample(tanh_model{}, x, scratch, 3);
  BOOST_TEST(rel_diff(x, g::ddim_eps + 12 * 9, 12) <= 1e-12);
}

BOOST_AUTO_TEST_CASE(ddpm_ten_step_loops_match_diffusers) {
  const golden_case cases[] = {{"ddpm_small", 0, d::timestep_spacing::leading, 0,
                                d::prediction_type::epsilon, 0, g::ddpm_small},
                               {"ddpm_large", 2, d::timestep_spacing::trailing, 0,
                                d::prediction_type::epsilon, 1, g::ddpm_large},
                               {"ddpm_v", 1, d::timestep_spacing::leading, 1,
                                d::prediction_type::v_prediction, 0, g::ddpm_v}};
  for (const auto& c : cases) {
    const d::ddpm sampler(
        golden_schedule(c.schedule), d::make_timesteps(1000, 10, c.spacing, c.offset),
        {.variance = c.eta == 0 ? d::ddpm_variance::fixed_small : d::ddpm_variance::fixed_large,
         .prediction = c.pred});
    check_golden_loop(sampler, c);
  }
}

BOOST_AUTO_TEST_CASE(dpm_solver_timesteps_and_loops_match_diffusers) {
  const d::timestep_spacing sp[] = {d::timestep_spacing::leading, d::timestep_spacing::trailing,
                                    d::timestep_spacing::linspace};
  for (const auto& r : g::dpm_timestep_rows) {
    BOOST_TEST_CONTEXT("spacing " << r.spacing << " steps " << r.steps << " offset " << r.offset) {
      const auto ts =
          d::make_dpm_solver_timesteps(1000, std::size_t(r.steps), sp[r.spacing], r.offset);
      const std::vector<std::int64_t> want(g::dpm_timesteps_flat + r.first,
                                           g::dpm_timesteps_flat + r.first + r.count);
      BOOST_TEST(ts == want, boost::test_tools::per_element());
    }
  }
  struct dpm_case {
    const char* name;
    int schedule;
    d::timestep_spacing spacing;
    int offset;
    d::prediction_type pred;
    std::size_t steps;
    const double* traj;
  };
  const dpm_case cases[] = {{"dpm_eps10", 0, d::timestep_spacing::linspace, 0,
                             d::prediction_type::epsilon, 10, g::dpm_eps10},
                            {"dpm_v20", 1, d::timestep_spacing::leading, 1,
                             d::prediction_type::v_prediction, 20, g::dpm_v20},
                            {"dpm_trail12", 2, d::timestep_spacing::trailing, 0,
                             d::prediction_type::epsilon, 12, g::dpm_trail12},
                            {"dpm_x0_16", 0, d::timestep_spacing::linspace, 0,
                             d::prediction_type::sample, 16, g::dpm_x0_16}};
  for (const auto& c : cases) {
    const d::dpm_solver sampler(golden_schedule(c.schedule),
                                d::make_dpm_solver_timesteps(1000, c.steps, c.spacing, c.offset),
                                {.prediction = c.pred});
    std::vector<double> x(g::loop_xT, g::loop_xT + 12), e(12), m(12),
        p(12, std::numeric_limits<double>::quiet_NaN());  // step 0 must not read it
    for (std::size_t i = 0; i < sampler.steps(); ++i) {
      tanh_model{}(x, sampler.timesteps()[i], e);
      d::convert_prediction(d::prediction_type::epsilon, c.pred, sampler.alpha_bar(i), x, e, m);
      sampler.step(i, x, m, p);
      BOOST_TEST_CONTEXT(c.name << " step " << i) {
        BOOST_TEST(rel_diff(x, c.traj + 12 * i, 12) <= 1e-12);
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(ddim_with_eta_one_is_ddpm_fixed_small) {
  // DDIM's eta = 1 step is the DDPM posterior with variance beta~ (Song et al., Sec. 4.1), so
  // TS-DDPM is time_shift_ddim with eta = 1: the coefficients agree to 1e-12.
  const d::noise_schedule sched({.kind = d::beta_schedule::squaredcos_cap_v2});
  const auto ts = d::make_timesteps(1000, 40, d::timestep_spacing::trailing);
  const d::ddim a(sched, ts, {.eta = 1.0});
  const d::ddpm b(sched, ts);
  for (std::size_t i = 0; i < ts.size(); ++i) {
    const auto &ca = a.coefficients(i), &cb = b.coefficients(i);
    BOOST_TEST_CONTEXT("step " << i) {
      BOOST_TEST(std::fabs(ca.cx - cb.cx) <= 1e-12 * std::fabs(cb.cx));
      BOOST_TEST(std::fabs(ca.cm - cb.cm) <= 1e-12 * std::fabs(cb.cm));
      // the last step's variance is 0, which DDPM clamps to 1e-20 (diffusers' rule)
      if (i + 1 < ts.size())
        BOOST_TEST(std::fabs(ca.cz - cb.cz) <= 1e-12 * std::fabs(cb.cz));
      else
        BOOST_TEST((ca.cz == 0.0 && cb.cz == 1e-10));
    }
  }
}

// ---------------------------------------------------------------- exact epsilon of Gaussian data

BOOST_AUTO_TEST_CASE(ddim_with_exact_epsilon_is_the_analytic_affine_map) {
  // eps* is affine in x, so each DDIM step is x -> k x + c with
  //   k = a_p / a + (b_p - a_p b / a) b / v,  c = -(b_p - a_p b / a) b a m / v,  v = a^2 s^2 + b^2;
  // slope and intercept of the whole loop compose these. Three x_T per coordinate check it.
  const double m = 1.5, s = 0.4;
  for (int k = 0; k < 3; ++k) {
    const d::noise_schedule sched = golden_schedule(k);
    for (std::size_t n : {5u, 50u, 200u}) {
      const d::ddim sampler(sched, d::make_timesteps(1000, n, d::timestep_spacing::trailing));
      double slope = 1, icpt = 0;
      for (std::size_t i = 0; i < n; ++i) {
        const double ab = sched.alpha_bar(sampler.timesteps()[i]);
        const double abp = i + 1 < n ? sched.alpha_bar(sampler.timesteps()[i + 1]) : 1.0;
        const double a = std::sqrt(ab), b = std::sqrt(1 - ab), ap = std::sqrt(abp),
                     bp = std::sqrt(1 - abp), v = a * a * s * s + b * b;
        const double kk = ap / a + (bp - ap * b / a) * b / v,
                     cc = -(bp - ap * b / a) * b * a * m / v;
        slope *= kk;
        icpt = kk * icpt + cc;
      }
      std::vector<double> x = {0.0, 1.0, -2.5}, scratch(3);
      sampler.sample(gaussian_model{&sched, m, s}, x, scratch, 3);
      BOOST_TEST_CONTEXT("schedule " << k << " steps " << n) {
        BOOST_TEST(std::fabs(x[0] - icpt) <= 1e-12 * std::fabs(icpt));
        BOOST_TEST(std::fabs((x[1] - x[0]) - slope) <= 1e-12 * std::fabs(icpt));
        BOOST_TEST(std::fabs(x[2] - (icpt - 2.5 * slope)) <= 1e-12 * std::fabs(icpt));
        // DDIM converges at first order to the probability-flow map, whose slope is
        // s / sqrt(v_T): |slope - s / sqrt(v_T)| <= 6 s / N (measured 2.7 to 4.7 s / N).
        const double abT = sched.alpha_bar(sampler.timesteps()[0]);
        const double flow_slope = s / std::sqrt(abT * s * s + (1 - abT));
        BOOST_TEST(std::fabs(slope - flow_slope) <= 6 * s / double(n));
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(dpm_solver_reaches_ddim_1000_accuracy_in_few_steps) {
  // Deterministic samplers with the exact epsilon of Gaussian data are affine in x_T; the exact
  // probability-flow map has slope s / sqrt(v_T) and intercept m - slope a_T m, so a sampler's
  // error is |intercept - flow intercept| + |slope - flow slope|. DPM-Solver++(2M) at 50 steps is
  // at least as accurate as DDIM at 1000 (measured 1.39e-3 vs 1.49e-3), at 25 steps at least twice
  // as accurate as DDIM at 25 (1.8e-2 vs 5.4e-2), and its error falls at second order (20 -> 40
  // steps: at least 3x smaller; measured 7.7x). The floor is the last step, which (as in
  // diffusers) jumps from the last timestep to the x0 prediction.
  const double m = 1.5, s = 0.4;
  const d::noise_schedule sched;
  const gaussian_model gm{&sched, m, s};
  auto error = [&](const auto& sampler, auto&& run) {
    std::vector<double> x = {0.0, 1.0}, scratch(2);
    run(sampler, x, scratch);
    const double abT = sched.alpha_bar(sampler.timesteps()[0]);
    const double vT = abT * s * s + 1 - abT;
    const double slope = s / std::sqrt(vT), icpt = m - slope * std::sqrt(abT) * m;
    return std::fabs(x[0] - icpt) + std::fabs((x[1] - x[0]) - slope);
  };
  auto run_ddim = [&](const d::ddim& sp, std::vector<double>& x, std::vector<double>& sc) {
    sp.sample(gm, x, sc, 2);
  };
  auto run_dpm = [&](const d::dpm_solver& sp, std::vector<double>& x, std::vector<double>& sc) {
    std::vector<double> p(2);
    sp.sample(gm, x, sc, p, 2);
  };
  const auto ts = [](std::size_t n) {
    return d::make_dpm_solver_timesteps(1000, n, d::timestep_spacing::trailing);
  };
  const double ddim1000 = error(d::ddim(sched, ts(1000)), run_ddim);
  const double ddim25 = error(d::ddim(sched, ts(25)), run_ddim);
  const double dpm20 = error(d::dpm_solver(sched, ts(20)), run_dpm);
  const double dpm25 = error(d::dpm_solver(sched, ts(25)), run_dpm);
  const double dpm40 = error(d::dpm_solver(sched, ts(40)), run_dpm);
  const double dpm50 = error(d::dpm_solver(sched, ts(50)), run_dpm);
  BOOST_TEST_MESSAGE("flow-map error: DDIM 1000 " << ddim1000 << ", DDIM 25 " << ddim25
                                                  << ", DPM++ 20 " << dpm20 << ", 25 " << dpm25
                                                  << ", 40 " << dpm40 << ", 50 " << dpm50);
  BOOST_TEST(dpm50 <= ddim1000);
  BOOST_TEST(dpm25 <= ddim25 / 2);
  BOOST_TEST(dpm40 <= dpm20 / 3);
}

BOOST_AUTO_TEST_CASE(dpm_solver_on_the_mixture_needs_far_fewer_steps_than_ddim) {
  // The deterministic samplers all integrate the probability-flow ODE; with the exact epsilon of
  // the 1-D mixture 0.3 N(-1, 0.3^2) + 0.7 N(1.5, 0.5^2), DPM-Solver++ at 1000 steps stands for
  // the exact flow map (it moves 1.5e-5 from 500 steps, so by second order it is ~4e-6 off).
  // Over 512 starting points, the mean distance to it of DPM-Solver++ at 100 steps is at most that
  // of DDIM at 1000 steps (measured 5.5e-4 vs 1.34e-3; DDIM at 100: 1.3e-2).
  const d::noise_schedule sched;
  const mixture_model mm{&sched};
  const std::size_t n = 512;
  std::vector<double> xT(n), scratch(n), p(n);
  continua::fill_normal(xT, {.seed = 77});
  const auto ts = [](std::size_t k) {
    return d::make_dpm_solver_timesteps(1000, k, d::timestep_spacing::trailing);
  };
  auto run_dpm = [&](std::size_t k) {
    std::vector<double> x = xT;
    d::dpm_solver(sched, ts(k)).sample(mm, x, scratch, p, n);
    return x;
  };
  auto run_ddim = [&](std::size_t k) {
    std::vector<double> x = xT;
    d::ddim(sched, ts(k)).sample(mm, x, scratch, n);
    return x;
  };
  const auto ref = run_dpm(1000);
  auto mean_dist = [&](const std::vector<double>& x) {
    double s2 = 0;
    for (std::size_t i = 0; i < n; ++i) s2 += std::fabs(x[i] - ref[i]);
    return s2 / double(n);
  };
  const double ddim1000 = mean_dist(run_ddim(1000)), ddim100 = mean_dist(run_ddim(100));
  const double dpm100 = mean_dist(run_dpm(100)), dpm50 = mean_dist(run_dpm(50)),
               dpm500 = mean_dist(run_dpm(500));
  BOOST_TEST_MESSAGE("mixture, mean distance to DPM-Solver++ 1000: DDIM 1000 "
                     << ddim1000 << ", DDIM 100 " << ddim100 << ", DPM++ 50 " << dpm50 << ", 100 "
                     << dpm100 << ", 500 " << dpm500);
  BOOST_TEST(dpm100 <= ddim1000);
  BOOST_TEST(dpm500 <= 1e-4);  // the reference has converged
}

namespace {
// Moments of x_N when x_0 ~ N(0, 1) and every step is x' = cx x + cm eps*(x) + cz z with the
// exact Gaussian epsilon eps* = (b / v)(x - a m): mean' = k mean + c, var' = k^2 var + cz^2.
template <class Sampler>
std::pair<double, double> analytic_moments(const Sampler& sp, const d::noise_schedule& sched,
                                           double m, double s) {
  double mean = 0, var = 1;
  for (std::size_t i = 0; i < sp.steps(); ++i) {
    const double ab = sched.alpha_bar(sp.timesteps()[i]), a = std::sqrt(ab), b = std::sqrt(1 - ab);
    const double v = a * a * s * s + b * b;
    const auto& c = sp.coefficients(i);
    const double k = c.cx + c.cm * b / v;
    mean = k * mean - c.cm * b / v * a * m;
    var = k * k * var + c.cz * c.cz;
  }
  return {mean, var};
}

// z-scores of the sample mean and variance of x against (mean, var); the variance's MCSE comes
// from the sample fourth central moment. A correct sampler passes |z| <= 3.09 with probability
// 0.998 per statistic.
std::pair<double, double> z_scores(const std::vector<double>& x, double mean_ref, double var_ref) {
  const double n = double(x.size());
  double mean = 0;
  for (double v : x) mean += v;
  mean /= n;
  double m2 = 0, m4 = 0;
  for (double v : x) {
    const double d2 = (v - mean) * (v - mean);
    m2 += d2;
    m4 += d2 * d2;
  }
  m2 /= n;
  m4 /= n;
  return {(mean - mean_ref) / std::sqrt(m2 / n), (m2 - var_ref) / std::sqrt((m4 - m2 * m2) / n)};
}
}  // namespace

BOOST_AUTO_TEST_CASE(ddpm_and_ddim_sample_the_gaussian) {
  // Samples of N(m, s^2) = N(1.5, 0.4^2) from x_T ~ N(0, 1) with the exact epsilon, 1000 steps.
  // z-tests (|z| <= 3.09 per statistic, false alarm 0.2% each for a correct sampler):
  //  (1) all 8000 samples against the exact law of the discretised chain (analytic_moments):
  //      the implementation (coefficients, Philox noise) with no tolerance for bias;
  //  (2) the first 2000 samples against the target N(m, s^2) itself.
  // And, deterministically, (3) the chain's exact law is within the discretisation bias stated
  // here of the target (measured: DDPM and DDIM eta=1 variance -1.9%, mean -0.0006%; DDIM eta=0
  // variance -0.73%, mean -0.25%), i.e. at most 0.6 MCSE of test (2).
  const double m = 1.5, s = 0.4;
  const std::size_t n = 8000, n_target = 2000;
  const d::noise_schedule sched;
  std::vector<double> x(n), scratch(n);
  auto check = [&](const auto& sampler, std::uint64_t seed, const char* what) {
    continua::fill_normal(x, {.seed = seed, .stream = 0});
    sampler.sample(gaussian_model{&sched, m, s}, x, scratch, n, {.seed = seed, .stream = 1});
    const auto [am, av] = analytic_moments(sampler, sched, m, s);
    const auto [zm, zv] = z_scores(x, am, av);
    const auto [zm2, zv2] =
        z_scores(std::vector<double>(x.begin(), x.begin() + n_target), m, s * s);
    BOOST_TEST_MESSAGE(what << ": z vs chain law (" << zm << ", " << zv << "), z vs target (" << zm2
                            << ", " << zv2 << "), relative bias (" << (am - m) / m << ", "
                            << (av - s * s) / (s * s) << ")");
    BOOST_TEST_CONTEXT(what) {
      BOOST_TEST(std::fabs(zm) <= 3.09);
      BOOST_TEST(std::fabs(zv) <= 3.09);
      BOOST_TEST(std::fabs(zm2) <= 3.09);
      BOOST_TEST(std::fabs(zv2) <= 3.09);
      BOOST_TEST(std::fabs(am - m) <= 0.003 * m);
      BOOST_TEST(std::fabs(av - s * s) <= 0.02 * s * s);
    }
  };
  check(d::ddpm(sched, d::make_timesteps(1000, 1000)), 11, "DDPM 1000 steps");
  check(d::ddim(sched, d::make_timesteps(1000, 1000), {.eta = 1.0}), 12, "DDIM eta=1 1000 steps");
  check(d::ddim(sched, d::make_timesteps(1000, 1000)), 13, "DDIM eta=0 1000 steps");
}

BOOST_AUTO_TEST_CASE(ddpm_and_ddim_sample_the_mixture_mode_weights) {
  // Mixture 0.3 N(-1, 0.3^2) + 0.7 N(1.5, 0.5^2) with its exact epsilon, 8000 samples, 1000 steps:
  // the fraction below 0.25 is 0.3 Phi(1.25 / 0.3) + 0.7 Phi(-1.25 / 0.5) = 0.30434; binomial
  // z-test |z| <= 3.09 (false alarm 0.2%), and the sample mean (0.75) and variance (1.5145) by
  // z-tests as above.
  const d::noise_schedule sched;
  const mixture_model mm{&sched};
  const std::size_t n = 8000;
  const double p_low = 0.3 * 0.5 * std::erfc(-(1.25 / 0.3) / std::sqrt(2.0)) +
                       0.7 * 0.5 * std::erfc((1.25 / 0.5) / std::sqrt(2.0));
  const double mean = 0.3 * -1.0 + 0.7 * 1.5;
  const double var = 0.3 * (0.09 + 1.0) + 0.7 * (0.25 + 2.25) - mean * mean;
  std::vector<double> x(n), scratch(n);
  auto check = [&](const auto& sampler, std::uint64_t seed, const char* what) {
    continua::fill_normal(x, {.seed = seed, .stream = 0});
    sampler.sample(mm, x, scratch, n, {.seed = seed, .stream = 1});
    double low = 0;
    for (double v : x) low += v < 0.25 ? 1.0 : 0.0;
    low /= double(n);
    const double z_low = (low - p_low) / std::sqrt(p_low * (1 - p_low) / double(n));
    const auto [zm, zv] = z_scores(x, mean, var);
    BOOST_TEST_MESSAGE(what << ": low-mode fraction " << low << " (z " << z_low << "), z mean "
                            << zm << ", z var " << zv);
    BOOST_TEST_CONTEXT(what) {
      BOOST_TEST(std::fabs(z_low) <= 3.09);
      BOOST_TEST(std::fabs(zm) <= 3.09);
      BOOST_TEST(std::fabs(zv) <= 3.09);
    }
  };
  check(d::ddpm(sched, d::make_timesteps(1000, 1000)), 21, "mixture DDPM 1000 steps");
  check(d::ddim(sched, d::make_timesteps(1000, 1000)), 22, "mixture DDIM eta=0 1000 steps");
}

BOOST_AUTO_TEST_CASE(classifier_free_guidance_of_gaussians_is_the_shifted_gaussian) {
  // eps* of N(m, s^2) is (b / v)(x - a m): affine in m with a slope free of m, so guiding
  // N(m_u, s^2) towards N(m_c, s^2) with scale w is exactly the eps* of N(m_u + w (m_c - m_u),
  // s^2). DDIM with the guided model equals DDIM with that Gaussian's eps to 1e-12.
  const d::noise_schedule sched;
  const double s = 0.5, mu = -1.0, mc = 2.0;
  const d::ddim sampler(sched, d::make_timesteps(1000, 30));
  for (double w : {0.0, 1.0, 3.5}) {
    std::vector<double> x = {0.3, -1.2, 0.8, 2.2}, y = x, scratch(4), u(4);
    const auto model =
        d::guided(gaussian_model{&sched, mc, s}, gaussian_model{&sched, mu, s}, w, u);
    sampler.sample(model, x, scratch, 2);
    sampler.sample(gaussian_model{&sched, mu + w * (mc - mu), s}, y, scratch, 2);
    BOOST_TEST_CONTEXT("scale " << w) { BOOST_TEST(rel_diff(x, y.data(), 4) <= 1e-12); }
  }
  std::vector<double> u(3), out(4), x(4);
  BOOST_CHECK_THROW(
      d::guided(gaussian_model{&sched, mc, s}, gaussian_model{&sched, mu, s}, std::nan(""), u),
      continua::invalid_argument);
  const auto bad = d::guided(gaussian_model{&sched, mc, s}, gaussian_model{&sched, mu, s}, 2.0, u);
  BOOST_CHECK_THROW(bad(x, 10, out), continua::size_mismatch);
}

namespace {
// The exact Gaussian epsilon with one timestep per sample (row b of dim values at t[b]); host.
struct per_sample_gaussian {
  const d::noise_schedule* sched;
  double m, s;
  std::size_t dim;
  template <class X, class E>
  void operator()(const X& x, std::span<const std::int64_t> t, E& out) const {
    for (std::size_t b = 0; b < t.size(); ++b) {
      const double ab = sched->alpha_bar(t[b]), a = std::sqrt(ab), bb = std::sqrt(1 - ab);
      const double v = a * a * s * s + bb * bb;
      const double scale = bb / v, am = a * m;  // as gaussian_model, so results compare bitwise
      for (std::size_t j = b * dim; j < (b + 1) * dim; ++j) out[j] = scale * (x[j] - am);
    }
  }
};
}  // namespace

#if CONTINUA_TEST_THRUST
namespace {
template <class T>
struct per_row_affine_kernel {
  const T* x;
  T* out;
  const T* k;  // (scale, am) per row
  std::size_t dim;
  CONTINUA_HD void operator()(std::size_t i) const {
    const T* r = k + 2 * (i / dim);
    out[i] = r[0] * (x[i] - r[1]);
  }
};
// per_sample_gaussian for device vectors: the per-row scalars go to the device each call.
struct per_sample_gaussian_device {
  const d::noise_schedule* sched;
  double m, s;
  std::size_t dim;
  template <class T>
  void operator()(const thrust::device_vector<T>& x, std::span<const std::int64_t> t,
                  thrust::device_vector<T>& out) const {
    std::vector<T> k(2 * t.size());
    for (std::size_t b = 0; b < t.size(); ++b) {
      const double ab = sched->alpha_bar(t[b]), a = std::sqrt(ab), bb = std::sqrt(1 - ab);
      const double v = a * a * s * s + bb * bb;
      k[2 * b] = static_cast<T>(bb / v);
      k[2 * b + 1] = static_cast<T>(a * m);
    }
    const thrust::device_vector<T> dk(k.begin(), k.end());
    continua::for_each_index(continua::device_space{}, x.size(),
                             per_row_affine_kernel<T>{thrust::raw_pointer_cast(x.data()),
                                                      thrust::raw_pointer_cast(out.data()),
                                                      thrust::raw_pointer_cast(dk.data()), dim});
  }
};
}  // namespace

BOOST_AUTO_TEST_CASE(time_shift_on_the_device_equals_the_host) {
  const d::noise_schedule sched;
  const std::size_t batch = 3, dim = 64;
  const d::time_shift_ddim sampler(sched, d::make_timesteps(1000, 30),
                                   {.window = 30, .cutoff = 100, .eta = 0.3});
  std::vector<float> x(batch * dim), scratch(x.size());
  continua::fill_normal(x, {.seed = 41});
  thrust::device_vector<float> dx(x.begin(), x.end()), ds(x.size());
  std::vector<std::int64_t> ch, dch;
  const continua::philox_key key{.seed = 42};
  // host model computing as the device one (scale * (x - am) in float)
  auto host_model = [&](const std::vector<float>& xx, std::span<const std::int64_t> t,
                        std::vector<float>& out) {
    for (std::size_t b = 0; b < t.size(); ++b) {
      const double ab = sched.alpha_bar(t[b]), a = std::sqrt(ab), bb = std::sqrt(1 - ab);
      const double v = a * a * 0.25 + bb * bb;
      const float sc = static_cast<float>(bb / v), am = static_cast<float>(a * 0.5);
      for (std::size_t j = b * dim; j < (b + 1) * dim; ++j) out[j] = sc * (xx[j] - am);
    }
  };
  sampler.sample(host_model, x, scratch, batch, key, &ch);
  sampler.sample(per_sample_gaussian_device{&sched, 0.5, 0.5, dim}, dx, ds, batch, key, &dch);
  BOOST_TEST(ch == dch, boost::test_tools::per_element());
  BOOST_TEST(std::vector<float>(dx.begin(), dx.end()) == x, boost::test_tools::per_element());
  // TS-DPM-Solver++
  const d::time_shift_dpm_solver dpm(sched, d::make_dpm_solver_timesteps(1000, 30),
                                     {.window = 30, .cutoff = 100});
  continua::fill_normal(x, {.seed = 43});
  thrust::device_vector<float> dy(x.begin(), x.end()), dp(x.size());
  std::vector<float> hp(x.size());
  dpm.sample(host_model, x, scratch, hp, batch, &ch);
  dpm.sample(per_sample_gaussian_device{&sched, 0.5, 0.5, dim}, dy, ds, dp, batch, &dch);
  BOOST_TEST(ch == dch, boost::test_tools::per_element());
  BOOST_TEST(std::vector<float>(dy.begin(), dy.end()) == x, boost::test_tools::per_element());
}
#endif

BOOST_AUTO_TEST_CASE(time_shift_rule_window_and_cutoff) {
  const d::noise_schedule sched;
  const auto ts = d::make_timesteps(1000, 20);  // 950, 900, ..., 0
  const d::time_shift_ddim sampler(sched, ts, {.window = 20, .cutoff = 300});
  const auto& ac = sched.alphas_cumprod();
  // The chosen timestep is the brute-force argmin over the clipped window, for variances that
  // match a timestep inside, below and above the window.
  for (std::size_t i = 1; i < ts.size(); ++i) {
    for (std::int64_t target : {ts[i] - 7, ts[i] + 3, ts[i] - 40, ts[i] + 40, std::int64_t(0)}) {
      const double var = 1 - ac[static_cast<std::size_t>(std::clamp<std::int64_t>(target, 0, 999))];
      std::int64_t want = ts[i];
      if (ts[i] > 300) {
        double best = 1e300;
        for (std::int64_t s2 = std::max<std::int64_t>(0, ts[i] - 10);
             s2 <= std::min<std::int64_t>(999, ts[i] + 10); ++s2) {
          const double dd = (var - (1 - ac[std::size_t(s2)])) * (var - (1 - ac[std::size_t(s2)]));
          if (dd < best) {
            best = dd;
            want = s2;
          }
        }
      }
      BOOST_TEST_CONTEXT("step " << i << " target " << target) {
        BOOST_TEST(sampler.shifted_timestep(i, var) == want);
      }
    }
  }
  // No shift at the first step, nor at or below the cutoff.
  BOOST_TEST(sampler.shifted_timestep(0, 0.1) == ts[0]);
  BOOST_TEST(sampler.shifted_timestep(13, 0.99) == ts[13]);  // ts[13] = 300
}

BOOST_AUTO_TEST_CASE(time_shift_with_exact_epsilon_shifts_only_within_variance_noise) {
  // Data at 0 (s = 0): with the exact epsilon each step rescales x, so a sample's variance is
  // (1 - abar_t) times that of its x_T, which is 1 up to sampling noise of relative size
  // sqrt(2 / (dim - 1)). The shift must be explained by that noise: the chosen s has
  // 1 - abar_s within (1 - abar_t)(1 +- 5 sqrt(2 / (dim - 1))), or is t itself.
  const d::noise_schedule sched;
  const std::size_t batch = 4, dim = 4096;
  const d::time_shift_ddim sampler(sched, d::make_timesteps(1000, 50),
                                   {.window = 40, .cutoff = 200});
  std::vector<double> x(batch * dim), scratch(x.size());
  continua::fill_normal(x, {.seed = 31});
  std::vector<std::int64_t> chosen;
  sampler.sample(per_sample_gaussian{&sched, 0.0, 0.0, dim}, x, scratch, batch, {}, &chosen);
  const double tol = 5 * std::sqrt(2.0 / double(dim - 1));
  int shifted = 0;
  for (std::size_t i = 0; i < sampler.steps(); ++i)
    for (std::size_t b = 0; b < batch; ++b) {
      const std::int64_t t = sampler.timesteps()[i], sb = chosen[i * batch + b];
      if (sb == t) continue;
      ++shifted;
      const double want = 1 - sched.alpha_bar(t), got = 1 - sched.alpha_bar(sb);
      BOOST_TEST_CONTEXT("step " << i << " sample " << b << " t " << t << " -> " << sb) {
        BOOST_TEST(std::fabs(got - want) <= tol * want);
        BOOST_TEST(t > 200);
      }
    }
  BOOST_TEST_MESSAGE("time shift with the exact epsilon: " << shifted << " of "
                                                           << sampler.steps() * batch
                                                           << " (step, sample) pairs shifted");
  // The result is still the data (all zeros) to the precision of the last steps.
  double worst = 0;
  for (double v : x) worst = std::max(worst, std::fabs(v));
  BOOST_TEST(worst <= 1e-6);
}

BOOST_AUTO_TEST_CASE(time_shift_past_the_cutoff_is_plain_ddim_bit_for_bit) {
  const d::noise_schedule sched;
  const auto ts = d::make_timesteps(1000, 25);
  const d::time_shift_ddim shifted(sched, ts, {.window = 10, .cutoff = 1000, .eta = 0.5});
  const d::ddim plain(sched, ts, {.eta = 0.5});
  std::vector<double> x(3 * 8), y, scratch(x.size());
  continua::fill_normal(x, {.seed = 3});
  y = x;
  const continua::philox_key key{.seed = 8};
  shifted.sample(per_sample_gaussian{&sched, 1.0, 0.5, 8}, x, scratch, 3, key);
  plain.sample(gaussian_model{&sched, 1.0, 0.5}, y, scratch, 3, key);
  BOOST_TEST(x == y, boost::test_tools::per_element());
  // bad input
  std::vector<double> one(3), s3(3);
  BOOST_CHECK_THROW(shifted.sample(per_sample_gaussian{&sched, 1.0, 0.5, 1}, one, s3, 3),
                    continua::invalid_argument);  // dim 1: no variance
  BOOST_CHECK_THROW(d::time_shift_ddim(sched, ts, {.eta = 2.0}), continua::invalid_argument);
}

BOOST_AUTO_TEST_CASE(time_shift_dpm_solver_past_the_cutoff_is_dpm_solver_bit_for_bit) {
  const d::noise_schedule sched;
  for (const auto pred : {d::prediction_type::epsilon, d::prediction_type::v_prediction}) {
    const auto ts = d::make_dpm_solver_timesteps(1000, 20);
    const d::time_shift_dpm_solver shifted(sched, ts,
                                           {.window = 10, .cutoff = 1000, .prediction = pred});
    const d::dpm_solver plain(sched, ts, {.prediction = pred});
    std::vector<double> x(3 * 8), y, scratch(x.size()), p1(x.size()), p2(x.size());
    continua::fill_normal(x, {.seed = 4});
    y = x;
    std::vector<std::int64_t> chosen;
    shifted.sample(per_sample_gaussian{&sched, 1.0, 0.5, 8}, x, scratch, p1, 3, &chosen);
    plain.sample(gaussian_model{&sched, 1.0, 0.5}, y, scratch, p2, 3);
    BOOST_TEST(x == y, boost::test_tools::per_element());
    for (std::size_t i = 0; i < ts.size(); ++i)
      for (std::size_t b = 0; b < 3; ++b) BOOST_TEST(chosen[i * 3 + b] == ts[i]);
    // unshifted coefficients are dpm_solver's
    for (std::size_t i = 0; i < ts.size(); ++i) {
      const auto c = shifted.coefficients(i, ts[i], i > 0 ? ts[i - 1] : ts[i]);
      const auto& r = plain.coefficients(i);
      BOOST_TEST(c[0] == r.fx);
      BOOST_TEST(c[1] == r.fm);
      BOOST_TEST(c[2] == r.a);
      BOOST_TEST(c[3] == r.b);
      BOOST_TEST(c[4] == r.c);
    }
  }
  std::vector<double> one(3), s3(3), p3(3);
  const d::time_shift_dpm_solver shifted(sched, d::make_dpm_solver_timesteps(1000, 5));
  BOOST_CHECK_THROW(shifted.sample(per_sample_gaussian{&sched, 1.0, 0.5, 1}, one, s3, p3, 3),
                    continua::invalid_argument);  // dim 1: no variance
  std::vector<double> p4(4);
  BOOST_CHECK_THROW(shifted.sample(per_sample_gaussian{&sched, 1.0, 0.5, 1}, one, s3, p4, 1),
                    continua::size_mismatch);
}

BOOST_AUTO_TEST_CASE(time_shift_dpm_solver_with_exact_epsilon_shifts_only_within_variance_noise) {
  // As for TS-DDIM: data at 0, so with the exact epsilon x0 = 0 and each step rescales x by
  // sigma_{i+1} / sigma(s_b); a sample's variance is (1 - abar) times that of its x_T up to noise
  // of relative size sqrt(2 / (dim - 1)). Every shift must be explained by that noise (5 sigma).
  const d::noise_schedule sched;
  const std::size_t batch = 4, dim = 4096;
  const d::time_shift_dpm_solver sampler(sched, d::make_dpm_solver_timesteps(1000, 25),
                                         {.window = 40, .cutoff = 200});
  std::vector<double> x(batch * dim), scratch(x.size()), prev(x.size());
  continua::fill_normal(x, {.seed = 31});
  std::vector<std::int64_t> chosen;
  sampler.sample(per_sample_gaussian{&sched, 0.0, 0.0, dim}, x, scratch, prev, batch, &chosen);
  const double tol = 5 * std::sqrt(2.0 / double(dim - 1));
  int shifted = 0;
  for (std::size_t i = 0; i < sampler.steps(); ++i)
    for (std::size_t b = 0; b < batch; ++b) {
      const std::int64_t t = sampler.timesteps()[i], sb = chosen[i * batch + b];
      if (sb == t) continue;
      ++shifted;
      const double want = 1 - sched.alpha_bar(t), got = 1 - sched.alpha_bar(sb);
      BOOST_TEST_CONTEXT("step " << i << " sample " << b << " t " << t << " -> " << sb) {
        BOOST_TEST(std::fabs(got - want) <= tol * want);
        BOOST_TEST(t > 200);
      }
    }
  BOOST_TEST_MESSAGE("TS-DPM-Solver++ with the exact epsilon: " << shifted << " of "
                                                                << sampler.steps() * batch
                                                                << " (step, sample) pairs shifted");
  double worst = 0;
  for (double v : x) worst = std::max(worst, std::fabs(v));
  BOOST_TEST(worst <= 1e-12);  // x_N = x0 = 0 up to rounding
  // A window wider than the step spacing: consecutive shifted levels can coincide, and that step
  // stays first order instead of dividing by r = 0.
  const d::time_shift_dpm_solver wide(sched, d::make_dpm_solver_timesteps(1000, 100),
                                      {.window = 40, .cutoff = 0});
  continua::fill_normal(x, {.seed = 32});
  wide.sample(per_sample_gaussian{&sched, 0.0, 0.0, dim}, x, scratch, prev, batch, &chosen);
  int repeats = 0;
  for (std::size_t i = 1; i < wide.steps(); ++i)
    for (std::size_t b = 0; b < batch; ++b)
      repeats += chosen[i * batch + b] == chosen[(i - 1) * batch + b];
  BOOST_TEST_MESSAGE("window 40 at spacing 10: " << repeats << " repeated levels");
  BOOST_TEST(repeats > 0);
  worst = 0;
  for (double v : x) worst = std::max(worst, std::fabs(v));
  BOOST_TEST(worst <= 1e-12);
}

// ---------------------------------------------------------------- BDIA

BOOST_AUTO_TEST_CASE(bdia_follows_the_paper_recursion) {
  // Reference: z_{i-1} = gamma z_{i+1} + (1 - gamma) z_i - gamma D_back + D_fwd with
  // D(k -> j) = sqrt(abar_j) x0 + sqrt(1 - abar_j) eps - z_k, written out per element.
  const d::noise_schedule sched = golden_schedule(1);
  const auto ts = d::make_timesteps(1000, 12, d::timestep_spacing::leading, 1);
  for (double gamma : {1.0, 0.5}) {
    const d::bdia sampler(sched, ts, {.gamma = gamma});
    std::vector<double> x(g::loop_xT, g::loop_xT + 12), prev(12), scratch(12);
    sampler.sample(tanh_model{}, x, prev, scratch, 3);
    std::vector<double> zp(12), z(g::loop_xT, g::loop_xT + 12), e(12);
    for (std::size_t k = 0; k < ts.size(); ++k) {
      tanh_model{}(z, ts[k], e);
      const double ab = sched.alpha_bar(ts[k]);
      const double abf = k + 1 < ts.size() ? sched.alpha_bar(ts[k + 1]) : 1.0;
      const double abb = k > 0 ? sched.alpha_bar(ts[k - 1]) : 0.0;
      for (int j = 0; j < 12; ++j) {
        const double x0 = (z[j] - std::sqrt(1 - ab) * e[j]) / std::sqrt(ab);
        const double dfwd = std::sqrt(abf) * x0 + std::sqrt(1 - abf) * e[j] - z[j];
        const double next =
            k == 0 ? z[j] + dfwd
                   : gamma * zp[j] + (1 - gamma) * z[j] -
                         gamma * (std::sqrt(abb) * x0 + std::sqrt(1 - abb) * e[j] - z[j]) + dfwd;
        zp[j] = z[j];
        z[j] = next;
      }
    }
    BOOST_TEST(rel_diff(x, z.data(), 12) <= 1e-13);
    BOOST_TEST(rel_diff(prev, zp.data(), 12) <= 1e-13);
  }
}

BOOST_AUTO_TEST_CASE(bdia_round_trip_in_double) {
  // gamma = 1 with N <= 100 and gamma = 0.5 with N <= 20: x_T recovered to <= 1e-10 (relative to
  // max |x_T|), for a nonlinear model and for the exact Gaussian epsilon.
  const d::noise_schedule sched;
  std::vector<double> xT(64);
  continua::fill_normal(xT, {.seed = 5});
  struct cfg {
    double gamma;
    std::size_t n;
  };
  for (const cfg c : {cfg{1.0, 10}, cfg{1.0, 50}, cfg{1.0, 100}, cfg{0.5, 10}, cfg{0.5, 20}}) {
    const d::bdia sampler(sched, d::make_timesteps(1000, c.n, d::timestep_spacing::trailing),
                          {.gamma = c.gamma});
    for (int model = 0; model < 2; ++model) {
      std::vector<double> x = xT, prev(64), scratch(64);
      const gaussian_model gm{&sched, 1.5, 0.4};
      if (model == 0) {
        sampler.sample(mixture_model{&sched}, x, prev, scratch, 16);
        sampler.invert(mixture_model{&sched}, x, prev, scratch, 16, 1e-10);
      } else {
        sampler.sample(gm, x, prev, scratch, 16);
        sampler.invert(gm, x, prev, scratch, 16, 1e-10);
      }
      const double err = rel_diff(x, xT.data(), 64);
      BOOST_TEST_MESSAGE("BDIA gamma " << c.gamma << " N " << c.n << " model " << model
                                       << ": round-trip error " << err);
      BOOST_TEST_CONTEXT("gamma " << c.gamma << " N " << c.n << " model " << model) {
        BOOST_TEST(err <= 1e-10);
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(bdia_error_growth_is_bracketed_by_the_condition_estimate) {
  // Past the guaranteed range the round-trip error grows like gamma^-N: it stays within
  // [0.01, 10] x condition_estimate() x unit roundoff (2^-53) for N = 20 .. 50, gamma = 0.5.
  const d::noise_schedule sched;
  std::vector<double> xT(64);
  continua::fill_normal(xT, {.seed = 6});
  for (std::size_t n : {20u, 30u, 40u, 50u}) {
    const d::bdia sampler(sched, d::make_timesteps(1000, n, d::timestep_spacing::trailing),
                          {.gamma = 0.5});
    std::vector<double> x = xT, prev(64), scratch(64);
    sampler.sample(mixture_model{&sched}, x, prev, scratch, 16);
    sampler.invert(mixture_model{&sched}, x, prev, scratch, 16, 1.0);
    const double err = rel_diff(x, xT.data(), 64);
    const double bound = sampler.condition_estimate() * 0x1p-53;
    BOOST_TEST_MESSAGE("BDIA gamma 0.5 N " << n << ": error " << err << ", gamma^-N u " << bound);
    // measured err / bound: 0.25 to 0.35 at N = 20 .. 50
    BOOST_TEST(err <= 10 * bound);
    BOOST_TEST(err >= 0.01 * bound);
  }
}

BOOST_AUTO_TEST_CASE(bdia_float32_inversion_refused_when_ill_conditioned) {
  const d::noise_schedule sched;
  const d::bdia sampler(sched, d::make_timesteps(1000, 20), {.gamma = 0.5});
  BOOST_TEST(sampler.condition_estimate() == std::ldexp(1.0, 20));
  std::vector<float> x(8, 0.5f), prev(8, 0.25f), scratch(8);
  const auto x0 = x, p0 = prev;
  int calls = 0;
  const gaussian_model gm{&sched, 1.0, 1.0, &calls};
  try {
    sampler.invert(gm, x, prev, scratch, 2, 1e-3);  // 2^20 * 6e-8 = 0.063 > 1e-3
    BOOST_FAIL("float32 inversion with gamma^-N * 6e-8 > tolerance was not refused");
  } catch (const continua::invalid_argument& e) {
    BOOST_TEST(std::string(e.what()).find("gamma^-N") != std::string::npos);
    BOOST_TEST(std::string(e.what()).find("float32") != std::string::npos);
  }
  BOOST_TEST(calls == 0);
  BOOST_TEST(x == x0);
  BOOST_TEST(prev == p0);
  // gamma = 1 in float32: allowed at 1e-4, and the round trip delivers it.
  const d::bdia ok(sched, d::make_timesteps(1000, 20), {.gamma = 1.0});
  std::vector<float> y = {0.3f, -1.0f, 2.0f, 0.1f}, yT = y, q(4), sc(4);
  ok.sample(gm, y, q, sc, 2);
  ok.invert(gm, y, q, sc, 2, 1e-4);
  for (int i = 0; i < 4; ++i) BOOST_TEST(std::fabs(y[i] - yT[i]) <= 1e-4 * 2.0);
}

// ---------------------------------------------------------------- reproducibility and backends

namespace {
// The scalar reference of one affine step: the same expression, elementwise, with normal_draw.
template <class T>
void reference_ddpm(const d::ddpm& sampler, const gaussian_model& gm, std::vector<T>& x,
                    continua::philox_key key) {
  std::vector<T> e(x.size());
  for (std::size_t i = 0; i < sampler.steps(); ++i) {
    gm(x, sampler.timesteps()[i], e);
    const auto& c = sampler.coefficients(i);
    for (std::size_t j = 0; j < x.size(); ++j) {
      const T z = c.cz == 0.0 ? T(0) : continua::normal_draw<T>(key, i * x.size() + j);
      x[j] = c.cz == 0.0 ? T(c.cx) * x[j] + T(c.cm) * e[j]
                         : T(c.cx) * x[j] + T(c.cm) * e[j] + T(c.cz) * z;
    }
  }
}
}  // namespace

BOOST_AUTO_TEST_CASE_TEMPLATE(same_seed_same_samples_on_every_backend, T, real_types) {
  // Bit-identical to the scalar reference (sampler coefficients, continua::normal_draw) in this
  // build (serial or OpenMP host loops), and, under Thrust, on the device too.
  const d::noise_schedule sched;
  const d::ddpm sampler(sched, d::make_timesteps(1000, 50));
  const gaussian_model gm{&sched, 1.5, 0.4};
  const continua::philox_key key{.seed = 99, .stream = 3};
  std::vector<T> x0(3 * 37);
  continua::fill_normal(x0, {.seed = 98});
  std::vector<T> ref = x0, host = x0, scratch(x0.size());
  reference_ddpm(sampler, gm, ref, key);
  sampler.sample(gm, host, scratch, 3, key);
  BOOST_TEST(host == ref, boost::test_tools::per_element());
  // BDIA: sample then invert, host
  const d::bdia bd(sched, d::make_timesteps(1000, 20), {.gamma = 0.9});
  std::vector<T> bx = x0, bp(x0.size());
  bd.sample(gm, bx, bp, scratch, 3);
  std::vector<T> bx_s = bx, bp_s = bp;
  bd.invert(gm, bx, bp, scratch, 3, 1e-2);
#if CONTINUA_TEST_THRUST
  thrust::device_vector<T> dx(x0.begin(), x0.end()), ds(x0.size());
  sampler.sample(gm, dx, ds, 3, key);
  const std::vector<T> back(dx.begin(), dx.end());
  BOOST_TEST(back == ref, boost::test_tools::per_element());
  const d::ddim eta(sched, d::make_timesteps(1000, 25), {.eta = 0.7});
  std::vector<T> hx = x0;
  thrust::device_vector<T> dx2(x0.begin(), x0.end());
  eta.sample(gm, hx, scratch, 3, key);
  eta.sample(gm, dx2, ds, 3, key);
  BOOST_TEST(std::vector<T>(dx2.begin(), dx2.end()) == hx, boost::test_tools::per_element());
  thrust::device_vector<T> dbx(x0.begin(), x0.end()), dbp(x0.size());
  bd.sample(gm, dbx, dbp, ds, 3);
  BOOST_TEST(std::vector<T>(dbx.begin(), dbx.end()) == bx_s, boost::test_tools::per_element());
  BOOST_TEST(std::vector<T>(dbp.begin(), dbp.end()) == bp_s, boost::test_tools::per_element());
  bd.invert(gm, dbx, dbp, ds, 3, 1e-2);
  BOOST_TEST(std::vector<T>(dbx.begin(), dbx.end()) == bx, boost::test_tools::per_element());
  // classifier-free guidance on the device
  std::vector<T> gx = x0, gu(x0.size());
  thrust::device_vector<T> dgx(x0.begin(), x0.end()), dgu(x0.size());
  const gaussian_model other{&sched, -0.5, 0.4};
  eta.sample(d::guided(gm, other, 2.5, gu), gx, scratch, 3, key);
  eta.sample(d::guided(gm, other, 2.5, dgu), dgx, ds, 3, key);
  BOOST_TEST(std::vector<T>(dgx.begin(), dgx.end()) == gx, boost::test_tools::per_element());
  const d::dpm_solver dpm(sched, d::make_dpm_solver_timesteps(1000, 15));
  std::vector<T> px = x0, pp(x0.size());
  dpm.sample(gm, px, scratch, pp, 3);
  thrust::device_vector<T> dpx(x0.begin(), x0.end()), dpp(x0.size());
  dpm.sample(gm, dpx, ds, dpp, 3);
  BOOST_TEST(std::vector<T>(dpx.begin(), dpx.end()) == px, boost::test_tools::per_element());
#endif
}

// ---------------------------------------------------------------- bad input

BOOST_AUTO_TEST_CASE(model_nan_is_reported_with_step_and_sample_and_nothing_overwritten) {
  const d::noise_schedule sched;
  const d::ddpm sampler(sched, d::make_timesteps(1000, 10));
  const gaussian_model gm{&sched, 0.0, 1.0};
  // NaN in sample 2 (elements 4, 5 of batch 4 x 2) at the 4th call (step 3).
  int calls = 0;
  auto bad = [&](const std::vector<double>& x, std::int64_t t, std::vector<double>& out) {
    gm(x, t, out);
    if (calls++ == 3) out[5] = std::numeric_limits<double>::quiet_NaN();
  };
  std::vector<double> x0(8);
  continua::fill_normal(x0, {.seed = 1});
  std::vector<double> x = x0, scratch(8), want = x0, e(8);
  for (std::size_t i = 0; i < 3; ++i) {
    gm(want, sampler.timesteps()[i], e);
    sampler.step(i, want, e, {.seed = 4});
  }
  try {
    sampler.sample(bad, x, scratch, 4, {.seed = 4});
    BOOST_FAIL("NaN from the model was not reported");
  } catch (const continua::non_finite_error& err) {
    const std::string msg = err.what();
    BOOST_TEST_MESSAGE(msg);
    BOOST_TEST(msg.find("step 3") != std::string::npos);
    BOOST_TEST(msg.find("sample 2") != std::string::npos);
    BOOST_TEST(msg.find("timestep 600") != std::string::npos);
    BOOST_TEST(err.index() == 5u);
  }
  BOOST_TEST(x == want);  // the state passed to the failing call, untouched by the NaN
  // Per-step: a NaN model output leaves x unchanged.
  std::vector<double> y = x0, m(8, 0.1);
  m[2] = std::numeric_limits<double>::infinity();
  BOOST_CHECK_THROW(sampler.step(0, y, m), continua::non_finite_error);
  BOOST_TEST(y == x0);
  // BDIA too.
  const d::bdia bd(sched, d::make_timesteps(1000, 10));
  std::vector<double> p(8, 7.0);
  BOOST_CHECK_THROW(bd.step(1, y, p, m), continua::non_finite_error);
  BOOST_TEST(y == x0);
  BOOST_TEST(p == std::vector<double>(8, 7.0));
  // DPM-Solver++ too, per step and in the loop (the multistep state untouched by the bad step).
  const d::dpm_solver dpm(sched, d::make_dpm_solver_timesteps(1000, 10));
  BOOST_CHECK_THROW(dpm.step(0, y, m, p), continua::non_finite_error);
  BOOST_TEST(y == x0);
  BOOST_TEST(p == std::vector<double>(8, 7.0));
  calls = 0;
  std::vector<double> z = x0, zp(8);
  try {
    dpm.sample(bad, z, scratch, zp, 4);
    BOOST_FAIL("NaN from the model was not reported by dpm_solver");
  } catch (const continua::non_finite_error& err) {
    BOOST_TEST(std::string(err.what()).find("step 3") != std::string::npos);
    BOOST_TEST(std::string(err.what()).find("sample 2") != std::string::npos);
  }
}

BOOST_AUTO_TEST_CASE(bad_schedules_steps_eta_gamma_and_sizes_are_refused) {
  using E = continua::invalid_argument;
  BOOST_CHECK_THROW(d::noise_schedule({.num_train_timesteps = 0}), E);
  BOOST_CHECK_THROW(d::noise_schedule({.beta_start = 0.0}), E);
  BOOST_CHECK_THROW(d::noise_schedule({.beta_end = 1.5}), E);
  BOOST_CHECK_THROW(d::noise_schedule({.beta_end = std::nan("")}), E);
  BOOST_CHECK_THROW(
      d::noise_schedule({.kind = d::beta_schedule::squaredcos_cap_v2, .max_beta = 1.0}), E);
  BOOST_CHECK_THROW(d::make_timesteps(1000, 0), E);
  BOOST_CHECK_THROW(d::make_timesteps(1000, 1001), E);
  BOOST_CHECK_THROW(d::make_timesteps(1000, 10, d::timestep_spacing::leading, -1), E);
  const d::noise_schedule sched;
  BOOST_CHECK_THROW(d::ddim(sched, {}), E);
  BOOST_CHECK_THROW(d::ddim(sched, {10, 20}), E);
  BOOST_CHECK_THROW(d::ddim(sched, {10, 10}), E);
  BOOST_CHECK_THROW(d::ddpm(sched, {1000, 500}), E);
  BOOST_CHECK_THROW(d::ddpm(sched, {5, -1}), E);
  // leading spacing with offset 1 and N = T yields timestep 1000 (as in diffusers): refused here.
  BOOST_CHECK_THROW(d::ddim(sched, d::make_timesteps(1000, 1000, d::timestep_spacing::leading, 1)),
                    E);
  BOOST_CHECK_THROW(d::ddim(sched, {500}, {.eta = -0.1}), E);
  BOOST_CHECK_THROW(d::ddim(sched, {500}, {.eta = 1.5}), E);
  BOOST_CHECK_THROW(d::ddim(sched, {500}, {.eta = std::nan("")}), E);
  BOOST_CHECK_THROW(d::bdia(sched, {500, 100}, {.gamma = 0.0}), E);
  BOOST_CHECK_THROW(d::bdia(sched, {500, 100}, {.gamma = 1.5}), E);
  // Sizes and batch, state untouched.
  const d::ddim sampler(sched, {500, 100});
  const gaussian_model gm{&sched, 0.0, 1.0};
  std::vector<double> x = {1, 2, 3, 4, 5, 6}, x0 = x, small(5), s6(6);
  BOOST_CHECK_THROW(sampler.sample(gm, x, small, 2), continua::size_mismatch);
  BOOST_CHECK_THROW(sampler.sample(gm, x, s6, 4), E);
  BOOST_CHECK_THROW(sampler.sample(gm, x, s6, 0), E);
  BOOST_CHECK_THROW(sampler.step(2, x, s6), E);
  BOOST_CHECK_THROW(sampler.step(0, x, small), continua::size_mismatch);
  std::vector<double> xn = x;
  xn[1] = std::nan("");
  BOOST_CHECK_THROW(sampler.sample(gm, xn, s6, 2), continua::non_finite_error);
  BOOST_TEST(x == x0);
  const d::bdia bd(sched, {500});
  std::vector<double> p(6);
  BOOST_CHECK_THROW(bd.invert(gm, x, p, s6, 2, 1e-6), E);  // one step: nothing to invert
  BOOST_CHECK_THROW(bd.invert(gm, x, x, s6, 2, 1e-6), E);
  BOOST_CHECK_THROW(bd.step(0, x, p, small), continua::size_mismatch);
  BOOST_CHECK_THROW(bd.invert_step(0, x, p, s6), E);
  BOOST_CHECK_THROW(d::make_dpm_solver_timesteps(1000, 0), E);
  BOOST_CHECK_THROW(d::dpm_solver(sched, {3, 7}), E);
  const d::dpm_solver dpm(sched, {500, 100});
  BOOST_CHECK_THROW(dpm.sample(gm, x, s6, small, 2), continua::size_mismatch);
  BOOST_CHECK_THROW(dpm.step(2, x, s6, p), E);
  BOOST_TEST(x == x0);
}

BOOST_AUTO_TEST_SUITE_END()
