// Meta-learners on quadratic tasks L_i = 1/2 (t - c_i)' A_i (t - c_i), B_i = I - alpha A_i:
// each meta-gradient equals its closed form (k steps: MAML B^k A B^k (t - c), FOMAML A B^k (t - c),
// Reptile (I - B^k)(t - c)), and meta-gradient descent reaches the fixed points of issue 13
// (MAML (sum B A B)^-1 sum B A B c, FOMAML (sum A B)^-1 sum A B c, Reptile with k steps
// (sum (I - B^k))^-1 sum (I - B^k) c) within 1e-10 in double; iMAML likewise with its proximal
// closed form.
#include <boost/mpl/list.hpp>
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <cstdint>
#include <random>
#include <type_traits>
#include <vector>

#include "../common/files.hpp"
#include "continua/bilevel/imaml.hpp"
#include "continua/bilevel/meta.hpp"
#include "continua/bilevel/meta_train.hpp"
#include "continua/io/state.hpp"
#include "continua/optim.hpp"
#include "continua/optim/serialize.hpp"
#include "ridge.hpp"

#if CONTINUA_TEST_THRUST
#include <thrust/device_vector.h>

#include "continua/adapters/thrust.hpp"
#endif

namespace bl = continua::bilevel;
using bilevel_test::ld;
using bilevel_test::matrix;

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
#else
using all_configs = boost::mpl::list<config<double, host_vector>, config<float, host_vector>>;
#endif

// A quadratic task on vector type V: grad = A t - A c, hvp = A v.
template <class V>
struct quadratic_task {
  using T = continua::value_t<V>;
  using space = continua::memory_space_t<V>;
  std::size_t d;
  V a, ac;
  void grad(const V& t, V& out) const {
    continua::for_each_index(
        space{}, d,
        bilevel_test::gram_kernel<T>{continua::data(out), continua::data(a), continua::data(t),
                                     continua::data(ac), nullptr, d, false});
  }
  void hvp(const V&, const V& v, V& out) const {
    continua::for_each_index(
        space{}, d,
        bilevel_test::gram_kernel<T>{continua::data(out), continua::data(a), continua::data(v),
                                     nullptr, nullptr, d, false});
  }
};

struct task_data {
  matrix a;
  std::vector<ld> c;
};

std::vector<task_data> make_tasks(std::size_t n, std::size_t d, unsigned seed) {
  std::mt19937_64 gen(seed);
  std::normal_distribution<double> normal;
  std::vector<task_data> tasks(n);
  for (std::size_t i = 0; i < n; ++i) {
    std::vector<ld> s(d);
    for (std::size_t k = 0; k < d; ++k) s[k] = 0.5L + 1.5L * ld(k) / ld(d - 1) + 0.1L * ld(i);
    tasks[i].a = bilevel_test::spd_with_spectrum(s, gen);
    tasks[i].c.resize(d);
    for (auto& v : tasks[i].c) v = normal(gen);
  }
  return tasks;
}

matrix mul(const matrix& x, const matrix& y) {
  const std::size_t d = x.size();
  matrix z(d, std::vector<ld>(d, 0));
  for (std::size_t i = 0; i < d; ++i)
    for (std::size_t k = 0; k < d; ++k)
      for (std::size_t j = 0; j < d; ++j) z[i][j] += x[i][k] * y[k][j];
  return z;
}
matrix identity(std::size_t d) {
  matrix z(d, std::vector<ld>(d, 0));
  for (std::size_t i = 0; i < d; ++i) z[i][i] = 1;
  return z;
}
matrix power(const matrix& x, std::size_t k) {
  matrix z = identity(x.size());
  for (std::size_t i = 0; i < k; ++i) z = mul(z, x);
  return z;
}
std::vector<ld> times(const matrix& m, const std::vector<ld>& v) {
  std::vector<ld> r(v.size(), 0);
  for (std::size_t i = 0; i < v.size(); ++i)
    for (std::size_t j = 0; j < v.size(); ++j) r[i] += m[i][j] * v[j];
  return r;
}

enum class learner { maml, fomaml, reptile };

// The per-task matrix M_i with meta-gradient M_i (t - c_i), for k steps of size alpha.
matrix task_matrix(learner l, const matrix& a, ld alpha, std::size_t k) {
  const std::size_t d = a.size();
  matrix b = identity(d);
  for (std::size_t i = 0; i < d; ++i)
    for (std::size_t j = 0; j < d; ++j) b[i][j] -= alpha * a[i][j];
  const matrix bk = power(b, k);
  if (l == learner::maml) return mul(bk, mul(a, bk));
  if (l == learner::fomaml) return mul(a, bk);
  matrix r = identity(d);
  for (std::size_t i = 0; i < d; ++i)
    for (std::size_t j = 0; j < d; ++j) r[i][j] -= bk[i][j];
  return r;
}

// Fixed point (sum M_i)^-1 sum M_i c_i.
std::vector<ld> fixed_point(learner l, const std::vector<task_data>& tasks, ld alpha,
                            std::size_t k) {
  const std::size_t d = tasks[0].c.size();
  matrix sum(d, std::vector<ld>(d, 0));
  std::vector<ld> rhs(d, 0);
  for (const auto& t : tasks) {
    const matrix m = task_matrix(l, t.a, alpha, k);
    const std::vector<ld> mc = times(m, t.c);
    for (std::size_t i = 0; i < d; ++i) {
      rhs[i] += mc[i];
      for (std::size_t j = 0; j < d; ++j) sum[i][j] += m[i][j];
    }
  }
  return bilevel_test::solve_spd(sum, rhs);
}

template <class C>
std::vector<quadratic_task<typename C::vec>> device_tasks(const std::vector<task_data>& tasks) {
  using T = typename C::value;
  std::vector<quadratic_task<typename C::vec>> out;
  for (const auto& t : tasks) {
    const std::size_t d = t.c.size();
    std::vector<T> a, ac;
    const std::vector<ld> acl = times(t.a, t.c);
    for (std::size_t i = 0; i < d; ++i) {
      for (std::size_t j = 0; j < d; ++j) a.push_back(T(t.a[i][j]));
      ac.push_back(T(acl[i]));
    }
    out.push_back({d, C::from_host(a), C::from_host(ac)});
  }
  return out;
}

template <class V>
std::vector<double> to_host(const V& v) {
  std::vector<double> h(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) h[i] = static_cast<double>(v[i]);
  return h;
}

double max_difference(const std::vector<double>& a, const std::vector<ld>& b) {
  double m = 0;
  for (std::size_t i = 0; i < b.size(); ++i) m = std::max(m, std::abs(a[i] - double(b[i])));
  return m;
}

template <class Learner, class C>
void check_learner(learner l, std::size_t k, double outer_lr, std::size_t outer_steps) {
  using T = typename C::value;
  using V = typename C::vec;
  const bool is_double = std::is_same_v<T, double>;
  const ld alpha = 0.1L;
  const auto tasks = make_tasks(4, 3, 17);
  const auto dtasks = device_tasks<C>(tasks);
  const Learner lr{{.inner_steps = k, .inner_lr = double(alpha)}};
  // The meta-gradient of one task at a random theta equals M_i (theta - c_i).
  const std::vector<ld> theta0{0.3L, -1.2L, 0.7L};
  std::vector<T> th(theta0.begin(), theta0.end());
  V theta = C::from_host(th), g(theta);
  lr.meta_gradient(dtasks[1], theta, g);
  std::vector<ld> diff(3);
  for (std::size_t i = 0; i < 3; ++i) diff[i] = ld(th[i]) - tasks[1].c[i];
  const std::vector<ld> expected = times(task_matrix(l, tasks[1].a, alpha, k), diff);
  BOOST_TEST(max_difference(to_host(g), expected) <= (is_double ? 1e-13 : 1e-5));
  // Meta-gradient descent on the average reaches the fixed point.
  for (std::size_t s = 0; s < outer_steps; ++s) {
    bl::average_meta_gradient(lr, dtasks, theta, g);
    bl::detail::set_axpby(-outer_lr, g, 1.0, theta);
  }
  const double err = max_difference(to_host(theta), fixed_point(l, tasks, alpha, k));
  BOOST_TEST_MESSAGE("fixed point error " << err);
  BOOST_TEST(err <= (is_double ? 1e-10 : 1e-5));
}

}  // namespace

BOOST_AUTO_TEST_SUITE(bilevel_meta)

// Outer steps near 2 / (m + M) for each learner's spectrum range [m, M] (tasks' A_i have
// eigenvalues in [0.5, 2.3], alpha = 0.1): contraction <= 0.6 per step, so these counts reach
// 1e-14 with margin while keeping the suite short.

BOOST_AUTO_TEST_CASE_TEMPLATE(maml_one_step_fixed_point, C, all_configs) {
  check_learner<bl::maml, C>(learner::maml, 1, 1.1, 60);
}
BOOST_AUTO_TEST_CASE_TEMPLATE(maml_three_steps_meta_gradient, C, all_configs) {
  check_learner<bl::maml, C>(learner::maml, 3, 2.1, 40);
}
BOOST_AUTO_TEST_CASE_TEMPLATE(fomaml_one_step_fixed_point, C, all_configs) {
  check_learner<bl::fomaml, C>(learner::fomaml, 1, 0.89, 70);
}
BOOST_AUTO_TEST_CASE_TEMPLATE(reptile_five_steps_fixed_point, C, all_configs) {
  check_learner<bl::reptile, C>(learner::reptile, 5, 2.1, 70);
}

// iMAML: phi* = (A + l I)^-1 (A c + l theta), so the meta-gradient is
// M (theta - c) with M = l^2 (A + l I)^-1 A (A + l I)^-1; each task's meta-gradient matches it
// (1e-12 in double) with CG reporting convergence, and meta-gradient descent reaches
// (sum M_i)^-1 sum M_i c_i within 1e-10.
BOOST_AUTO_TEST_CASE_TEMPLATE(imaml_fixed_point, C, all_configs) {
  using T = typename C::value;
  using V = typename C::vec;
  const bool is_double = std::is_same_v<T, double>;
  const ld lambda = 2;
  const auto tasks = make_tasks(4, 3, 19);
  const auto dtasks = device_tasks<C>(tasks);
  const bl::imaml<> learner{{.lambda = double(lambda), .inner_steps = 25, .inner_lr = 0.29},
                            bl::conjugate_gradient({.rtol = is_double ? 1e-13 : 1e-6})};
  std::vector<matrix> ms;
  for (const auto& t : tasks) {
    matrix shifted = t.a;
    for (std::size_t i = 0; i < 3; ++i) shifted[i][i] += lambda;
    matrix inv(3, std::vector<ld>(3));
    for (std::size_t j = 0; j < 3; ++j) {
      std::vector<ld> e(3, 0);
      e[j] = 1;
      const auto col = bilevel_test::solve_spd(shifted, e);
      for (std::size_t i = 0; i < 3; ++i) inv[i][j] = col[i];
    }
    matrix m = mul(inv, mul(t.a, inv));
    for (auto& row : m)
      for (auto& v : row) v *= lambda * lambda;
    ms.push_back(m);
  }
  const std::vector<ld> theta0{0.3L, -1.2L, 0.7L};
  std::vector<T> th(theta0.begin(), theta0.end());
  V theta = C::from_host(th), g(theta);
  const auto res = learner.meta_gradient(dtasks[2], theta, g);
  BOOST_TEST(res.converged);
  std::vector<ld> diff(3);
  for (std::size_t i = 0; i < 3; ++i) diff[i] = ld(th[i]) - tasks[2].c[i];
  BOOST_TEST(max_difference(to_host(g), times(ms[2], diff)) <= (is_double ? 1e-12 : 1e-5));
  matrix sum(3, std::vector<ld>(3, 0));
  std::vector<ld> rhs(3, 0);
  for (std::size_t t = 0; t < tasks.size(); ++t) {
    const auto mc = times(ms[t], tasks[t].c);
    for (std::size_t i = 0; i < 3; ++i) {
      rhs[i] += mc[i];
      for (std::size_t j = 0; j < 3; ++j) sum[i][j] += ms[t][i][j];
    }
  }
  const std::vector<ld> fixed = bilevel_test::solve_spd(sum, rhs);
  for (int s = 0; s < 40; ++s) {
    bl::average_meta_gradient(learner, dtasks, theta, g);
    bl::detail::set_axpby(-2.4, g, 1.0, theta);
  }
  const double err = max_difference(to_host(theta), fixed);
  BOOST_TEST_MESSAGE("iMAML fixed point error " << err);
  BOOST_TEST(err <= (is_double ? 1e-10 : 1e-5));
}

// Bad options and inputs are refused before anything is written.
BOOST_AUTO_TEST_CASE(meta_bad_input) {
  using V = std::vector<double>;
  const auto tasks = device_tasks<config<double, host_vector>>(make_tasks(2, 3, 5));
  V theta{0, 0, 0}, g{7, 7, 7}, short_g{7, 7};
  BOOST_CHECK_THROW((bl::reptile{{.inner_steps = 0}}.meta_gradient(tasks[0], theta, g)),
                    continua::invalid_argument);
  BOOST_CHECK_THROW((bl::fomaml{{.inner_lr = 0}}.meta_gradient(tasks[0], theta, g)),
                    continua::invalid_argument);
  BOOST_CHECK_THROW(bl::maml{}.meta_gradient(tasks[0], theta, short_g), continua::size_mismatch);
  V nan_theta{0, std::nan(""), 0};
  BOOST_CHECK_THROW(bl::maml{}.meta_gradient(tasks[0], nan_theta, g), continua::non_finite_error);
  BOOST_CHECK_THROW(
      (bl::reptile{{.inner_steps = 400, .inner_lr = 5}}.meta_gradient(tasks[0], theta, g)),
      continua::numerical_error);
  BOOST_CHECK_THROW((bl::imaml<>{{.lambda = 0}, {}}.meta_gradient(tasks[0], theta, g)),
                    continua::invalid_argument);
  BOOST_CHECK_THROW((bl::imaml<>{{.inner_steps = 0}, {}}.meta_gradient(tasks[0], theta, g)),
                    continua::invalid_argument);
  const std::vector<quadratic_task<V>> none;
  BOOST_CHECK_THROW(bl::average_meta_gradient(bl::fomaml{}, none, theta, g),
                    continua::invalid_argument);
  BOOST_TEST(g == (V{7, 7, 7}));
}

// meta_train over a task sampler. With 4 tasks per step from a sampler cycling through the 4
// tasks (index mod 4), each step is meta-gradient descent on their average, so Reptile (k = 5)
// reaches its fixed point within 1e-10 through optim::sgd. With 3 tasks per step the batches
// depend on the task counter: a run checkpointed after 7 steps (driver state through
// io::save_bytes, the optimizer through io::save) resumes bit for bit, while a resume that lost
// the counter ends elsewhere. A forged state, bad options and NaN are refused, nothing changed.
BOOST_AUTO_TEST_CASE(meta_train_reaches_fixed_point_and_resumes) {
  using V = std::vector<double>;
  namespace o = continua::optim;
  namespace io = continua::io;
  const auto tasks = make_tasks(4, 3, 17);
  const auto dtasks = device_tasks<config<double, host_vector>>(tasks);
  const auto sampler = [&](std::uint64_t i) { return dtasks[i % dtasks.size()]; };
  const bl::reptile rep{{.inner_steps = 5, .inner_lr = 0.1}};
  {
    V theta{0.3, -1.2, 0.7};
    o::optimizer sgd(o::sgd({.lr = 2.1}), theta);
    bl::meta_train_state state;
    std::size_t reports = 0;
    const auto last =
        bl::meta_train(rep, sampler, theta, state, sgd, {.outer_steps = 70, .tasks_per_step = 4},
                       [&](const bl::meta_step_report& r) { reports += r.step > 0 ? 1 : 0; });
    BOOST_TEST(reports == 70u);
    BOOST_TEST(last.step == 70u);
    BOOST_TEST(state.step == 70u);
    BOOST_TEST(state.next_task == 280u);
    const double err = max_difference(theta, fixed_point(learner::reptile, tasks, 0.1L, 5));
    BOOST_TEST_MESSAGE("meta_train Reptile fixed point error " << err);
    BOOST_TEST(err <= 1e-10);
  }
  const bl::meta_train_options run{.outer_steps = 11, .tasks_per_step = 3};
  const auto make_opt = [](V& t) { return o::optimizer(o::sgd({.lr = 0.5, .momentum = 0.5}), t); };
  V ta{0.3, -1.2, 0.7};
  auto oa = make_opt(ta);
  bl::meta_train_state sa;
  bl::meta_train(rep, sampler, ta, sa, oa, {.outer_steps = 7, .tasks_per_step = 3});
  continua_test::temp_dir dir;
  const auto image = io::save_bytes(sa);
  io::save(dir.path / "opt.ckpt", oa);
  const V saved = ta;
  bl::meta_train(rep, sampler, ta, sa, oa, run);
  V tb = saved;
  auto ob = make_opt(tb);
  io::load(dir.path / "opt.ckpt", ob);
  bl::meta_train_state sb;
  io::load_bytes(image, sb);
  BOOST_TEST(sb.step == 7u);
  BOOST_TEST(sb.next_task == 21u);
  bl::meta_train(rep, sampler, tb, sb, ob, run);
  BOOST_TEST(tb == ta);
  BOOST_TEST(sb.step == 18u);
  BOOST_TEST(sb.next_task == sa.next_task);
  V tc = saved;
  auto oc = make_opt(tc);
  io::load(dir.path / "opt.ckpt", oc);
  bl::meta_train_state fresh;
  bl::meta_train(rep, sampler, tc, fresh, oc, run);
  BOOST_TEST(tc != ta);
  // Impossible counters are refused on load, the target unchanged.
  bl::meta_train_state forged{.step = 9, .next_task = 4};
  BOOST_CHECK_THROW(io::load_bytes(io::save_bytes(forged), sb), continua::io_error);
  BOOST_TEST(sb.step == 18u);
  // Bad options, NaN theta, and a task whose gradient is NaN: errors, theta and state unchanged.
  const V before = tb;
  BOOST_CHECK_THROW(bl::meta_train(rep, sampler, tb, sb, ob, {.tasks_per_step = 0}),
                    continua::invalid_argument);
  V nan_theta{0, std::nan(""), 0};
  BOOST_CHECK_THROW(bl::meta_train(rep, sampler, nan_theta, sb, ob, run),
                    continua::non_finite_error);
  auto poisoned = dtasks;
  poisoned[2].ac[1] = std::nan("");
  const auto bad_sampler = [&](std::uint64_t i) { return poisoned[i % poisoned.size()]; };
  bool refused = false;
  try {
    bl::meta_train(rep, bad_sampler, tb, sb, ob, {.outer_steps = 1, .tasks_per_step = 4});
  } catch (const continua::non_finite_error&) {
    refused = true;
  } catch (const continua::numerical_error&) {
    refused = true;
  }
  BOOST_TEST(refused);
  BOOST_TEST(tb == before);
  BOOST_TEST(sb.step == 18u);
  BOOST_TEST(sb.next_task == sa.next_task);
}

BOOST_AUTO_TEST_SUITE_END()
