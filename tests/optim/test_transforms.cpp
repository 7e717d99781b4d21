// Transformations against their published update rules, chain fusion (one pass over memory),
// schedules against closed forms, parameter sets of mixed types, bad input and NaN policies.
#include <Eigen/Core>
#include <array>
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <numbers>
#include <vector>

#include "continua/adapters/eigen.hpp"
#include "continua/optim.hpp"

namespace o = continua::optim;

// An instrumented memory space: host memory whose kernel backend counts passes and elements.
struct counting_space {};
template <>
inline constexpr bool continua::is_memory_space_v<counting_space> = true;

namespace {
struct pass_counter {
  std::size_t loops = 0, reductions = 0, elements = 0;
};
pass_counter counter;
}  // namespace

template <>
struct continua::kernel_backend<counting_space> {
  template <class F>
  static void for_each_index(std::size_t n, const F& f) {
    ++counter.loops;
    counter.elements += n;
    kernel_backend<host_space>::for_each_index(n, f);
  }
  template <class T, class Map, class Reduce>
  static T transform_reduce(std::size_t n, T init, const Map& map, const Reduce& reduce) {
    ++counter.reductions;
    return kernel_backend<host_space>::transform_reduce(n, init, map, reduce);
  }
};

template <class T>
class continua::buffer<T, counting_space> {
 public:
  buffer() = default;
  explicit buffer(std::size_t n, T v = T(0)) : v_(n, v) {}
  T* data() { return v_.data(); }
  const T* data() const { return v_.data(); }
  std::size_t size() const { return v_.size(); }

 private:
  std::vector<T> v_;
};

struct counted_vector {
  std::vector<float> v;
};
template <>
struct continua::tensor_traits<counted_vector> {
  using value_type = float;
  using memory_space = counting_space;
  static float* data(counted_vector& c) { return c.v.data(); }
  static const float* data(const counted_vector& c) { return c.v.data(); }
  static std::size_t size(const counted_vector& c) { return c.v.size(); }
  static continua::extents shape(const counted_vector& c) {
    return continua::make_extents(c.v.size());
  }
};

BOOST_AUTO_TEST_SUITE(fusion)

BOOST_AUTO_TEST_CASE(four_elementwise_transforms_run_as_one_pass) {
  const std::size_t n = 1000;
  counted_vector p{std::vector<float>(n, 1.f)}, g{std::vector<float>(n, 0.5f)};
  auto opt = o::chain(o::clip_by_value(1.0), o::scale_by_adam(), o::add_decayed_weights(1e-2),
                      o::scale_by_learning_rate(o::cosine_schedule(1e-3, 100)));
  opt.with_nan_policy(o::nan_policy::propagate);
  auto state = opt.init(p);
  counter = {};
  opt.update(g, state, p);
  BOOST_TEST(counter.loops == 1u);
  BOOST_TEST(counter.elements == n);
  BOOST_TEST(counter.reductions == 0u);
  // step() fuses params += update into the same pass.
  counter = {};
  opt.step(p, g, state);
  BOOST_TEST(counter.loops == 1u);
  BOOST_TEST(counter.elements == n);
  // The NaN check is one read-only reduction, no extra write pass.
  opt.with_nan_policy(o::nan_policy::throw_error);
  counter = {};
  opt.step(p, g, state);
  BOOST_TEST(counter.loops == 1u);
  BOOST_TEST(counter.reductions == 1u);
}

BOOST_AUTO_TEST_CASE(global_norm_clipping_starts_a_new_pass) {
  counted_vector p{std::vector<float>(100, 1.f)}, g{std::vector<float>(100, 3.f)};
  auto opt = o::chain(o::scale_by_adam(), o::clip_by_global_norm(1.0), o::scale(-1.0));
  opt.with_nan_policy(o::nan_policy::propagate);
  auto state = opt.init(p);
  counter = {};
  opt.update(g, state, p);
  BOOST_TEST(counter.loops == 2u);       // adam | clip + scale
  BOOST_TEST(counter.reductions == 1u);  // the norm of adam's output
  double norm = 0;
  for (float x : g.v) norm += double(x) * x;
  BOOST_TEST(std::sqrt(norm) == 1.0, boost::test_tools::tolerance(1e-6));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(update_rules)

BOOST_AUTO_TEST_CASE(lion_follows_published_rule) {
  // Chen et al. 2023, Alg. 2: c = b1 m + (1 - b1) g; p -= lr (sign(c) + wd p); m = b2 m + (1-b2) g.
  const double lr = 0.01, wd = 0.1, b1 = 0.9, b2 = 0.99;
  std::vector<double> p{0.5, -1.0, 2.0, 0.0}, ref = p, m(4, 0.0);
  auto opt = o::lion({.lr = lr, .b1 = b1, .b2 = b2, .weight_decay = wd});
  auto s = opt.init(p);
  for (int t = 0; t < 20; ++t) {
    std::vector<double> g(4);
    for (std::size_t i = 0; i < 4; ++i) g[i] = std::sin(1.3 * t + double(i)) + 0.1 * ref[i];
    std::vector<double> gc = g;
    opt.step(p, gc, s);
    for (std::size_t i = 0; i < 4; ++i) {
      const double c = b1 * m[i] + (1 - b1) * g[i];
      const double sg = c > 0 ? 1.0 : (c < 0 ? -1.0 : 0.0);
      ref[i] -= lr * (sg + wd * ref[i]);
      m[i] = b2 * m[i] + (1 - b2) * g[i];
    }
  }
  for (std::size_t i = 0; i < 4; ++i)
    BOOST_TEST(p[i] == ref[i], boost::test_tools::tolerance(1e-14));
}

BOOST_AUTO_TEST_CASE(sign_sgd_moves_each_coordinate_by_lr) {
  std::vector<float> p{1.f, 1.f, 1.f}, g{-3.f, 0.f, 1e-30f};
  auto opt = o::sign_sgd(0.25);
  auto s = opt.init(p);
  opt.step(p, g, s);
  BOOST_TEST(p[0] == 1.25f);
  BOOST_TEST(p[1] == 1.f);
  BOOST_TEST(p[2] == 0.75f);
}

BOOST_AUTO_TEST_CASE(mixed_tuple_of_tensor_types_equals_separate_runs) {
  // Adam is elementwise: one step over (std::vector<float>, Eigen::VectorXd) equals two runs.
  std::vector<float> a{0.1f, -0.2f, 0.3f};
  Eigen::VectorXd b = Eigen::VectorXd::LinSpaced(5, -1, 1);
  std::vector<float> ga{1.f, 2.f, -3.f};
  Eigen::VectorXd gb = Eigen::VectorXd::Constant(5, 0.7);
  std::vector<float> a2 = a, ga2 = ga;
  Eigen::VectorXd b2 = b, gb2 = gb;
  auto opt = o::adam({.lr = 0.1});
  auto set = std::tie(a, b);
  auto s = opt.init(set);
  auto grads = std::tie(ga, gb);
  opt.step(set, grads, s);
  auto sa = opt.init(a2);
  opt.step(a2, ga2, sa);
  auto sb = opt.init(b2);
  opt.step(b2, gb2, sb);
  for (std::size_t i = 0; i < 3; ++i) BOOST_TEST(a[i] == a2[i]);
  for (Eigen::Index i = 0; i < 5; ++i) BOOST_TEST(b(i) == b2(i));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(schedules)

BOOST_AUTO_TEST_CASE(closed_forms) {
  using boost::test_tools::tolerance;
  BOOST_TEST(o::constant_schedule(0.3)(1000) == 0.3);
  BOOST_TEST(o::step_schedule(1.0, 10, 0.5)(25) == 0.25);
  BOOST_TEST(o::exponential_schedule(2.0, 10, 0.5)(5) == 2.0 * std::sqrt(0.5), tolerance(1e-15));
  BOOST_TEST(o::exponential_schedule(2.0, 10, 0.5, true)(15) == 1.0);
  const o::cosine_schedule cos(1.0, 100, 0.1);
  BOOST_TEST(cos(0) == 1.0, tolerance(1e-15));
  BOOST_TEST(cos(50) == 0.55, tolerance(1e-15));
  BOOST_TEST(cos(100) == 0.1, tolerance(1e-15));
  BOOST_TEST(cos(1000) == 0.1, tolerance(1e-15));
  const auto wc = o::warmup_cosine_schedule(1.0, 10, 110);
  BOOST_TEST(wc(0) == 0.0);
  BOOST_TEST(wc(5) == 0.5, tolerance(1e-15));
  BOOST_TEST(wc(10) == 1.0, tolerance(1e-15));
  BOOST_TEST(wc(60) == 0.5, tolerance(1e-15));
  const o::cyclical_schedule cyc(0.1, 1.1, 10);
  BOOST_TEST(cyc(0) == 0.1, tolerance(1e-15));
  BOOST_TEST(cyc(5) == 0.6, tolerance(1e-15));
  BOOST_TEST(cyc(10) == 1.1, tolerance(1e-15));
  BOOST_TEST(cyc(15) == 0.6, tolerance(1e-15));
  BOOST_TEST(cyc(20) == 0.1, tolerance(1e-15));
  const o::damped_cosine_schedule damped(1.0, 10, 0.5);
  BOOST_TEST(damped(0) == 1.0, tolerance(1e-15));
  BOOST_TEST(damped(10) == 0.5, tolerance(1e-15));
  BOOST_TEST(damped(25) == 0.125, tolerance(1e-15));
  BOOST_TEST(o::inverse_time_schedule(1.0, 0.5)(2) == 0.5);
}

BOOST_AUTO_TEST_CASE(learning_rate_follows_schedule_by_step) {
  std::vector<double> p{0.0}, g{1.0};
  auto opt = o::chain(o::scale_by_learning_rate(o::step_schedule(1.0, 2, 0.5)));
  auto s = opt.init(p);
  const double expected[] = {-1.0, -2.0, -2.5, -3.0, -3.25};
  for (double e : expected) {
    std::vector<double> gc = g;
    opt.step(p, gc, s);
    BOOST_TEST(p[0] == e);
  }
}

BOOST_AUTO_TEST_CASE(bad_schedule_options) {
  BOOST_CHECK_THROW(o::cosine_schedule(1.0, 0), continua::invalid_argument);
  BOOST_CHECK_THROW(o::step_schedule(1.0, 10, -1.0), continua::invalid_argument);
  BOOST_CHECK_THROW(o::warmup_cosine_schedule(1.0, 10, 5), continua::invalid_argument);
  BOOST_CHECK_THROW(o::constant_schedule(NAN), continua::invalid_argument);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(bad_input)

template <class State>
std::vector<float> adam_moments(const State& s) {
  const auto& slots = std::get<1>(s).slots;
  std::vector<float> out(slots.mu.data(), slots.mu.data() + slots.mu.size());
  out.insert(out.end(), slots.nu.data(), slots.nu.data() + slots.nu.size());
  out.push_back(float(std::get<1>(s).scalars.count));
  return out;
}

BOOST_AUTO_TEST_CASE(bad_options_name_the_field) {
  BOOST_CHECK_THROW(o::adam({.lr = -1e-3}), continua::invalid_argument);
  BOOST_CHECK_THROW(o::adam({.b1 = 1.0}), continua::invalid_argument);
  BOOST_CHECK_THROW(o::adam({.b2 = -0.1}), continua::invalid_argument);
  BOOST_CHECK_THROW(o::sgd({.momentum = 1.5}), continua::invalid_argument);
  BOOST_CHECK_THROW(o::sgd({.lr = 0.1, .nesterov = true}), continua::invalid_argument);
  BOOST_CHECK_THROW(o::clip_by_global_norm(0.0), continua::invalid_argument);
  BOOST_CHECK_THROW(o::add_decayed_weights(-1.0), continua::invalid_argument);
  try {
    o::adam({.b1 = 1.5});
  } catch (const continua::invalid_argument& e) {
    BOOST_TEST(std::string(e.what()).find("'b1' = 1.5") != std::string::npos);
  }
}

BOOST_AUTO_TEST_CASE(mismatched_sizes_leave_params_and_state_untouched) {
  std::vector<float> p(4, 1.f), g(4, 0.5f);
  auto opt = o::adam({.lr = 0.1});
  auto s = opt.init(p);
  opt.step(p, g, s);
  const auto p_before = p;
  const auto m_before = adam_moments(s);
  std::vector<float> short_g(3, 0.5f);
  BOOST_CHECK_THROW(opt.step(p, short_g, s), continua::size_mismatch);
  BOOST_TEST(p == p_before);
  BOOST_TEST(adam_moments(s) == m_before);
  // A state built for other params is rejected too.
  std::vector<float> other(5, 1.f), other_g(5, 1.f);
  BOOST_CHECK_THROW(opt.step(other, other_g, s), continua::size_mismatch);
  BOOST_TEST(adam_moments(s) == m_before);
}

BOOST_AUTO_TEST_CASE(nan_gradients_throw_or_skip_leaving_state_untouched) {
  std::vector<float> p(100000, 1.f), g(100000, 0.5f);
  auto opt = o::adam({.lr = 0.1});
  auto s = opt.init(p);
  opt.step(p, g, s);
  const auto p_before = p;
  const auto m_before = adam_moments(s);
  std::vector<float> bad(100000, 0.5f);
  bad[77777] = std::numeric_limits<float>::quiet_NaN();
  BOOST_CHECK_THROW(opt.step(p, bad, s), continua::non_finite_error);
  BOOST_TEST(p == p_before);
  BOOST_TEST(adam_moments(s) == m_before);
  opt.with_nan_policy(o::nan_policy::skip_step);
  bad[5] = std::numeric_limits<float>::infinity();
  BOOST_TEST(!opt.step(p, bad, s));
  BOOST_TEST(p == p_before);
  BOOST_TEST(adam_moments(s) == m_before);
}

BOOST_AUTO_TEST_SUITE_END()
