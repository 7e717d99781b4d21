// Importance penalties against independent references: naive per-task loops of the published
// formulas (float and double; vectors, mixed tuples, ranges, Thrust device vectors), central
// finite differences of penalty(), the closed-form Fisher of softmax regression, SI's path
// integral on a quadratic under gradient descent, online EWC's decay algebra by hand, and a
// penalty written by a user on the public importance_penalty base against its closed form.
#include <algorithm>
#include <boost/mpl/list.hpp>
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <filesystem>
#include <random>
#include <tuple>
#include <vector>

#include "common.hpp"
#include "continua/io/checkpoint.hpp"
#include "continua/io/state.hpp"
#include "continua/regularize/ewc.hpp"
#include "continua/regularize/importance_penalty.hpp"
#include "continua/regularize/l2_anchor.hpp"
#include "continua/regularize/mas.hpp"
#include "continua/regularize/rwalk.hpp"
#include "continua/regularize/synaptic_intelligence.hpp"
#include "references.hpp"

namespace r = continua::regularize;
using reg_test::round_trip;
using reg_test::set_io;
using reg_test::vec;

namespace {

#if CONTINUA_TEST_THRUST
using set_types =
    boost::mpl::list<std::vector<double>, std::vector<float>,
                     std::tuple<std::array<float, 5>, std::vector<double>>,
                     std::vector<std::vector<float>>, thrust::device_vector<float>,
                     std::tuple<thrust::device_vector<double>, thrust::device_vector<float>>>;
#else
using set_types = boost::mpl::list<std::vector<double>, std::vector<float>,
                                   std::tuple<std::array<float, 5>, std::vector<double>>,
                                   std::vector<std::vector<float>>>;
#endif

constexpr std::size_t n_params = 37;

// Runs three tasks of five "training steps" each (plus an unconsolidated start of a fourth)
// through the library regularizer and its reference, on identical (rounded-through-P) data, then
// compares penalty and add_gradient at an unrelated point. add_gradient must add, so the grads
// start non-zero.
template <class P, bool TwoArg, class Reg, class Ref>
void compare_with_reference(Reg& reg, Ref& ref, vec params, double tol) {
  for (int task = 0; task < 4; ++task) {
    for (int step = 0; step < 5; ++step) {
      const std::uint64_t seed = 100 + 10 * static_cast<std::uint64_t>(task) + step;
      vec g = reg_test::pseudo_random(n_params, seed);
      for (auto& x : g) x *= 1.0 + task;  // tasks of different gradient scale
      g = round_trip<P>(g);
      vec after = params;
      for (std::size_t i = 0; i < after.size(); ++i) after[i] -= 0.1 * g[i];
      after = round_trip<P>(after);
      if constexpr (TwoArg) {
        reg.observe(set_io<P>::make(g), set_io<P>::make(after));
        ref.observe(g, after);
      } else {
        reg.observe(set_io<P>::make(g));
        ref.observe(g);
      }
      params = after;
    }
    if (task < 3) {
      reg.consolidate(set_io<P>::make(params));
      ref.consolidate(params);
    }
  }
  BOOST_TEST(reg.tasks() == 3u);
  const vec q = round_trip<P>(reg_test::pseudo_random(n_params, 7));
  const vec g0 = round_trip<P>(reg_test::pseudo_random(n_params, 8));
  const double expected = ref.penalty(q);
  BOOST_TEST(expected > 0);
  BOOST_TEST(std::abs(reg.penalty(set_io<P>::make(q)) - expected) <= tol * (1 + expected));
  P grads = set_io<P>::make(g0);
  reg.add_gradient(set_io<P>::make(q), grads);
  vec want = ref.gradient(q);
  for (std::size_t i = 0; i < want.size(); ++i) want[i] += g0[i];
  BOOST_TEST(reg_test::max_rel_diff(set_io<P>::flat(grads), want) <= tol);
}

template <class P>
double tolerance() {
  return set_io<P>::has_float ? 2e-5 : 1e-12;
}

template <class P>
vec start_params() {
  return round_trip<P>(reg_test::pseudo_random(n_params, 1));
}

}  // namespace

BOOST_AUTO_TEST_SUITE(against_naive_references)

BOOST_AUTO_TEST_CASE_TEMPLATE(l2_anchor_is_half_lambda_squared_distance, P, set_types) {
  const vec p0 = start_params<P>();
  r::l2_anchor reg({.strength = 0.7}, set_io<P>::make(p0));
  reg_test::ref_l2 ref(0.7, p0);
  BOOST_TEST(reg.penalty(set_io<P>::make(p0)) == 0.0);  // nothing anchored yet
  for (int t = 0; t < 3; ++t) {
    const vec a = round_trip<P>(reg_test::pseudo_random(n_params, 50 + t));
    reg.consolidate(set_io<P>::make(a));
    ref.consolidate(a);
  }
  const vec q = round_trip<P>(reg_test::pseudo_random(n_params, 7));
  const double expected = ref.penalty(q);
  BOOST_TEST(std::abs(reg.penalty(set_io<P>::make(q)) - expected) <= tolerance<P>() * expected);
  P grads = set_io<P>::make(vec(n_params, 0.0));
  reg.add_gradient(set_io<P>::make(q), grads);
  BOOST_TEST(reg_test::max_rel_diff(set_io<P>::flat(grads), ref.gradient(q)) <= tolerance<P>());
}

BOOST_AUTO_TEST_CASE_TEMPLATE(ewc_separate_sums_one_penalty_per_task, P, set_types) {
  const vec p0 = start_params<P>();
  r::ewc reg({.strength = 3.0, .mode = r::ewc_mode::separate}, set_io<P>::make(p0));
  reg_test::ref_ewc ref(3.0, 1.0, false, p0);
  compare_with_reference<P, false>(reg, ref, p0, tolerance<P>());
}

BOOST_AUTO_TEST_CASE_TEMPLATE(ewc_online_decays_the_fisher, P, set_types) {
  const vec p0 = start_params<P>();
  r::ewc reg({.strength = 3.0, .mode = r::ewc_mode::online, .decay = 0.6}, set_io<P>::make(p0));
  reg_test::ref_ewc ref(3.0, 0.6, true, p0);
  compare_with_reference<P, false>(reg, ref, p0, tolerance<P>());
}

BOOST_AUTO_TEST_CASE_TEMPLATE(si_follows_zenke_eq_4_5, P, set_types) {
  const vec p0 = start_params<P>();
  r::synaptic_intelligence reg({.strength = 0.5, .damping = 0.1}, set_io<P>::make(p0));
  reg_test::ref_si ref(0.5, 0.1, p0);
  compare_with_reference<P, true>(reg, ref, p0, tolerance<P>());
}

BOOST_AUTO_TEST_CASE_TEMPLATE(mas_blends_mean_gradient_magnitudes, P, set_types) {
  const vec p0 = start_params<P>();
  r::mas reg({.strength = 2.0, .blend = 0.3}, set_io<P>::make(p0));
  reg_test::ref_mas ref(2.0, 0.3, p0);
  compare_with_reference<P, false>(reg, ref, p0, tolerance<P>());
}

BOOST_AUTO_TEST_CASE_TEMPLATE(rwalk_follows_chaudhry_eq_6_8, P, set_types) {
  const vec p0 = start_params<P>();
  r::rwalk reg({.strength = 0.8, .fisher_decay = 0.7, .epsilon = 1e-2}, set_io<P>::make(p0));
  reg_test::ref_rwalk ref(0.8, 0.7, 1e-2, p0);
  compare_with_reference<P, true>(reg, ref, p0, tolerance<P>());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(finite_differences)

// A double set of mixed tensor types; the penalties are quadratics, so central differences are
// exact up to rounding: |error| ~ 1e-16 * |penalty| / h.
using fd_set = std::tuple<std::array<double, 5>, std::vector<double>>;

template <class Reg>
void check_gradient_by_central_differences(const Reg& reg) {
  const vec q = reg_test::pseudo_random(n_params, 9);
  fd_set grads = set_io<fd_set>::make(vec(n_params, 0.0));
  reg.add_gradient(set_io<fd_set>::make(q), grads);
  const vec analytic = set_io<fd_set>::flat(grads);
  const double h = 1e-4;
  double worst = 0, scale = 1;
  for (std::size_t i = 0; i < n_params; ++i) {
    vec plus = q, minus = q;
    plus[i] += h;
    minus[i] -= h;
    const double fd =
        (reg.penalty(set_io<fd_set>::make(plus)) - reg.penalty(set_io<fd_set>::make(minus))) /
        (plus[i] - minus[i]);
    worst = std::max(worst, std::abs(fd - analytic[i]));
    scale = std::max(scale, std::abs(analytic[i]));
  }
  BOOST_TEST(worst / scale <= 1e-9);
  BOOST_TEST(scale > 1.0);  // the penalty is not trivially flat
}

// Three consolidated tasks, then part of a fourth (which must not change the penalty).
template <bool TwoArg, class Reg>
void train_three_tasks(Reg& reg) {
  vec params = reg_test::pseudo_random(n_params, 1);
  for (int task = 0; task < 4; ++task) {
    for (int step = 0; step < 4; ++step) {
      vec g = reg_test::pseudo_random(n_params, 200 + 10 * task + step);
      for (auto& x : g) x *= 3;
      vec after = params;
      for (std::size_t i = 0; i < n_params; ++i) after[i] -= 0.2 * g[i];
      if constexpr (TwoArg)
        reg.observe(set_io<fd_set>::make(g), set_io<fd_set>::make(after));
      else
        reg.observe(set_io<fd_set>::make(g));
      params = after;
    }
    if (task < 3) reg.consolidate(set_io<fd_set>::make(params));
  }
}

BOOST_AUTO_TEST_CASE(every_penalty_gradient_matches_central_differences) {
  const fd_set p0 = set_io<fd_set>::make(reg_test::pseudo_random(n_params, 1));
  {
    r::l2_anchor reg({.strength = 4.0}, p0);
    for (int t = 0; t < 3; ++t)
      reg.consolidate(set_io<fd_set>::make(reg_test::pseudo_random(n_params, 60 + t)));
    check_gradient_by_central_differences(reg);
  }
  for (const auto mode : {r::ewc_mode::separate, r::ewc_mode::online}) {
    r::ewc reg({.strength = 5.0, .mode = mode, .decay = 0.5}, p0);
    train_three_tasks<false>(reg);
    check_gradient_by_central_differences(reg);
  }
  {
    r::synaptic_intelligence reg({.strength = 2.0, .damping = 0.05}, p0);
    train_three_tasks<true>(reg);
    check_gradient_by_central_differences(reg);
  }
  {
    r::mas reg({.strength = 3.0, .blend = 0.5}, p0);
    train_three_tasks<false>(reg);
    check_gradient_by_central_differences(reg);
  }
  {
    r::rwalk reg({.strength = 2.0}, p0);
    train_three_tasks<true>(reg);
    check_gradient_by_central_differences(reg);
  }
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(closed_forms)

// The penalty gradient at anchor + 1 with strength 1 reads the importance (EWC: lambda F).
template <class Reg>
vec importance_probe(const Reg& reg, const vec& anchor) {
  vec q = anchor;
  for (auto& x : q) x += 1.0;
  vec g(anchor.size(), 0.0);
  reg.add_gradient(q, g);
  return g;
}

// Softmax regression p = softmax(W x), W is K x d row-major. d log p(y|x) / d W_ki =
// (1[y = k] - p_k) x_i, and E_{y~p}[(1[y=k] - p_k)^2] = p_k (1 - p_k), so the diagonal of the
// Fisher is F_ki = mean_n p_nk (1 - p_nk) x_ni^2.
struct softmax_problem {
  static constexpr std::size_t classes = 3, dim = 4;
  vec w = reg_test::pseudo_random(classes * dim, 31);
  std::vector<vec> xs;
  explicit softmax_problem(std::size_t n) {
    for (std::size_t s = 0; s < n; ++s) xs.push_back(reg_test::pseudo_random(dim, 1000 + s));
  }
  vec probabilities(const vec& x) const {
    vec z(classes, 0.0);
    double m = -1e300, total = 0;
    for (std::size_t k = 0; k < classes; ++k) {
      for (std::size_t i = 0; i < dim; ++i) z[k] += 2.0 * w[k * dim + i] * x[i];
      m = std::max(m, z[k]);
    }
    for (auto& v : z) total += (v = std::exp(v - m));
    for (auto& v : z) v /= total;
    return z;
  }
  vec log_likelihood_grad(const vec& x, const vec& p, std::size_t y, double scale) const {
    vec g(classes * dim);
    for (std::size_t k = 0; k < classes; ++k)
      for (std::size_t i = 0; i < dim; ++i)
        g[k * dim + i] = scale * ((k == y ? 1.0 : 0.0) - p[k]) * x[i];
    return g;
  }
  vec closed_form_fisher() const {
    vec f(classes * dim, 0.0);
    for (const auto& x : xs) {
      const vec p = probabilities(x);
      for (std::size_t k = 0; k < classes; ++k)
        for (std::size_t i = 0; i < dim; ++i)
          f[k * dim + i] += p[k] * (1 - p[k]) * x[i] * x[i] / static_cast<double>(xs.size());
    }
    return f;
  }
};

BOOST_AUTO_TEST_CASE(ewc_fisher_of_softmax_regression_equals_closed_form_exactly) {
  // Exact expectation over y: observing sqrt(K p_y) * grad_y for every y gives K samples per x
  // whose mean square is E_y[grad^2] / 1, i.e. mean over all N K samples = closed form.
  const softmax_problem prob(64);
  r::ewc reg({.strength = 1.0}, prob.w);
  for (const auto& x : prob.xs) {
    const vec p = prob.probabilities(x);
    for (std::size_t y = 0; y < softmax_problem::classes; ++y)
      reg.observe(prob.log_likelihood_grad(x, p, y, std::sqrt(softmax_problem::classes * p[y])));
  }
  reg.consolidate(prob.w);
  const vec fisher = importance_probe(reg, prob.w);
  BOOST_TEST(reg_test::max_rel_diff(fisher, prob.closed_form_fisher()) <= 1e-12);
}

BOOST_AUTO_TEST_CASE(ewc_fisher_with_sampled_labels_converges_to_closed_form) {
  // y ~ p(.|x) once per x. Per sample Z = (1[y=k] - p_k)^2 x_i^2 has mean p(1-p) x^2 and
  // variance x^4 (p (1-p)^4 + (1-p) p^4 - p^2 (1-p)^2), so each Fisher entry's z-score is
  // asymptotically N(0, 1). |z| < 5 for all 12 entries: false-alarm rate < 12 * 5.7e-7 < 1e-5.
  const std::size_t n = 10000;
  const softmax_problem prob(n);
  r::ewc reg({.strength = 1.0}, prob.w);
  std::mt19937_64 rng(12345);
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  vec variance(prob.w.size(), 0.0);
  for (const auto& x : prob.xs) {
    const vec p = prob.probabilities(x);
    double u = uniform(rng);
    std::size_t y = 0;
    while (y + 1 < softmax_problem::classes && u >= p[y]) u -= p[y++];
    reg.observe(prob.log_likelihood_grad(x, p, y, 1.0));
    for (std::size_t k = 0; k < softmax_problem::classes; ++k) {
      const double q = p[k], e = q * (1 - q);
      const double var_z = q * std::pow(1 - q, 4) + (1 - q) * std::pow(q, 4) - e * e;
      for (std::size_t i = 0; i < softmax_problem::dim; ++i)
        variance[k * softmax_problem::dim + i] += var_z * std::pow(x[i], 4);
    }
  }
  reg.consolidate(prob.w);
  const vec fisher = importance_probe(reg, prob.w);
  const vec expected = prob.closed_form_fisher();
  double worst_z = 0;
  for (std::size_t j = 0; j < fisher.size(); ++j)
    worst_z = std::max(worst_z, std::abs(fisher[j] - expected[j]) /
                                    (std::sqrt(variance[j]) / static_cast<double>(n)));
  BOOST_TEST(worst_z < 5.0);
}

BOOST_AUTO_TEST_CASE(online_ewc_decay_algebra_by_hand) {
  // One parameter, one sample per task: F_t = g_t^2 = 4, 1, 9; gamma = 0.5:
  // F = 0.5 * (0.5 * 4 + 1) + 9 = 10.5, anchored at the last task's params (3.0).
  r::ewc reg({.strength = 2.0, .mode = r::ewc_mode::online, .decay = 0.5}, vec{0.0});
  const double gs[] = {2.0, -1.0, 3.0}, anchors[] = {1.0, 2.0, 3.0};
  for (int t = 0; t < 3; ++t) {
    reg.observe(vec{gs[t]});
    reg.consolidate(vec{anchors[t]});
  }
  BOOST_TEST(reg.penalty(vec{5.0}) == 0.5 * 2.0 * 10.5 * 4.0);
  vec g{0.0};
  reg.add_gradient(vec{5.0}, g);
  BOOST_TEST(g[0] == 2.0 * 10.5 * 2.0);
  // Separate mode keeps every task: 1/2 lambda (4 (5-1)^2 + 1 (5-2)^2 + 9 (5-3)^2) = 64+9+36.
  r::ewc sep({.strength = 2.0}, vec{0.0});
  for (int t = 0; t < 3; ++t) {
    sep.observe(vec{gs[t]});
    sep.consolidate(vec{anchors[t]});
  }
  BOOST_TEST(sep.penalty(vec{5.0}) == 109.0, boost::test_tools::tolerance(1e-14));
}

BOOST_AUTO_TEST_CASE(si_importance_on_a_quadratic_equals_its_path_integral) {
  // f(x) = 1/2 sum a_i (x_i - c_i)^2, K gradient steps of size eta from x0: with d = x0 - c and
  // r = 1 - eta a, x_k - c = r^k d and g_k = a r^k d, so
  //   omega = sum_k g_k * eta g_k = eta a^2 d^2 (1 - r^{2K}) / (1 - r^2),
  //   Delta = x_K - x0 = -(1 - r^K) d,   Omega = omega / (Delta^2 + xi).
  // As eta -> 0 (gradient flow for time T = K eta) omega -> 1/2 a d^2 (1 - exp(-2 a T)), the
  // drop of f: the discrete sum differs by a relative O(eta a).
  const vec a{0.5, 1.0, 2.0}, c{1.0, -1.0, 0.5}, x0{0.0, 0.5, 2.0};
  const double eta = 0.01, xi = 0.1, strength = 1.0;
  const int steps = 300;
  vec x = x0;
  r::synaptic_intelligence reg({.strength = strength, .damping = xi}, x);
  for (int k = 0; k < steps; ++k) {
    vec g(3);
    for (int i = 0; i < 3; ++i) g[i] = a[i] * (x[i] - c[i]);
    for (int i = 0; i < 3; ++i) x[i] -= eta * g[i];
    reg.observe(g, x);
  }
  reg.consolidate(x);
  const vec probe = importance_probe(reg, x);  // 2 strength Omega
  for (int i = 0; i < 3; ++i) {
    const double d = x0[i] - c[i], rr = 1 - eta * a[i];
    const double omega = eta * a[i] * a[i] * d * d * (1 - std::pow(rr, 2 * steps)) / (1 - rr * rr);
    const double delta = -(1 - std::pow(rr, steps)) * d;
    BOOST_TEST(probe[i] / (2 * strength) == omega / (delta * delta + xi),
               boost::test_tools::tolerance(1e-10));
    const double flow = 0.5 * a[i] * d * d * (1 - std::exp(-2 * a[i] * eta * steps));
    BOOST_TEST(std::abs(omega - flow) <= eta * a[i] * flow);
  }
}

BOOST_AUTO_TEST_SUITE_END()

namespace {

// What a user writes on the public base: only the slot and the observe/consolidate kernels.
// Importance = the largest |g| observed during the task.
struct max_abs_options {
  double strength = 1.0;
};

template <class T, class Space>
struct max_abs_slot {
  continua::buffer<T, Space> seen, importance, anchor;
  std::size_t size() const { return anchor.size(); }
  template <class V>
  void describe_state(V& v) {
    v.field("seen", seen);
    v.field("importance", importance);
    v.field("anchor", anchor);
  }
};

template <continua::parameter_set P>
class max_abs
    : public r::importance_penalty<max_abs_options, P, max_abs_slot, "max_abs", "samples"> {
  using base = r::importance_penalty<max_abs_options, P, max_abs_slot, "max_abs", "samples">;

 public:
  max_abs(max_abs_options o, const P& params) : base(o, params, r::strength_convention::whole) {}

  void observe(const P& grads) {
    this->observe_pass("grads", grads, [](auto& s, const auto& g) {
      return [seen = s.seen.data(), gp = continua::data(g)](std::size_t i) {
        seen[i] = std::max(seen[i], std::abs(gp[i]));
      };
    });
  }

  void consolidate(const P& params) {
    this->consolidate_pass(params, "nothing observed", [](auto& s, const auto& p) {
      return [seen = s.seen.data(), w = s.importance.data(), a = s.anchor.data(),
              pp = continua::data(p)](std::size_t i) {
        w[i] = seen[i];
        a[i] = pp[i];
        seen[i] = 0;
      };
    });
  }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(public_bases)

BOOST_AUTO_TEST_CASE(a_penalty_written_on_importance_penalty_gets_quadratic_gradient_and_checks) {
  // Property: a member that defines only how it fills its slots gets, from the base,
  // penalty = strength sum_i w_i (p_i - a_i)^2 (strength_convention::whole) and
  // grads += 2 strength w (p - a), both 0 before the first consolidate; the observe and
  // consolidate checks; and a checkpoint of kind "regularize.max_abs" that restores it exactly.
  using P = std::vector<double>;
  const double strength = 0.75;
  const P p0 = reg_test::pseudo_random(n_params, 1);
  max_abs<P> reg({.strength = strength}, p0);
  BOOST_TEST(reg.penalty(p0) == 0.0);
  BOOST_CHECK_THROW(reg.consolidate(p0), continua::invalid_argument);
  BOOST_CHECK_THROW(reg.observe(P(n_params + 1, 0.0)), continua::size_mismatch);
  BOOST_CHECK_THROW(max_abs<P>({.strength = -1.0}, p0), continua::invalid_argument);

  vec w(n_params, 0.0);
  for (std::uint64_t k = 0; k < 3; ++k) {
    const P g = reg_test::pseudo_random(n_params, 10 + k);
    reg.observe(g);
    for (std::size_t i = 0; i < n_params; ++i) w[i] = std::max(w[i], std::abs(g[i]));
  }
  BOOST_TEST(reg.observed() == 3u);
  reg.consolidate(p0);
  BOOST_TEST(reg.tasks() == 1u);
  BOOST_TEST(reg.observed() == 0u);

  const P p = reg_test::pseudo_random(n_params, 2);
  double q = 0;
  for (std::size_t i = 0; i < n_params; ++i) q += w[i] * (p[i] - p0[i]) * (p[i] - p0[i]);
  BOOST_TEST(q > 0.0);
  BOOST_TEST(reg.penalty(p) == strength * q, boost::test_tools::tolerance(1e-13));
  P g(n_params, 1.0);
  reg.add_gradient(p, g);
  for (std::size_t i = 0; i < n_params; ++i)
    BOOST_TEST(g[i] == 1.0 + 2 * strength * w[i] * (p[i] - p0[i]),
               boost::test_tools::tolerance(1e-13));

  const auto path = reg_test::temp_path("max_abs.ckpt");
  continua::io::save(path, reg);
  const continua::io::checkpoint_reader rd(path);
  rd.require_kind("regularize.max_abs", 1);
  BOOST_TEST(rd.get_scalar<std::uint64_t>("samples") == 0u);
  max_abs<P> back({.strength = strength}, P(n_params, 0.0));
  continua::io::load(path, back);
  BOOST_TEST(back.tasks() == 1u);
  BOOST_TEST(back.penalty(p) == reg.penalty(p));
  std::filesystem::remove(path);
}

BOOST_AUTO_TEST_SUITE_END()
