// The ready-made optimizers reproduce torch.optim (1.13) trajectories over 200 steps:
// max_i |p_i - p_torch_i| / max_i |p_torch_i| <= 1e-5 in float32 and <= 1e-12 in float64, at
// steps 1, 2, 10, 50, 100 and 200. Golden data: tests/reference/gen_optim_golden.py.
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <functional>

#include "continua/optim.hpp"
#include "golden.hpp"

#if CONTINUA_TEST_THRUST
#include <thrust/device_vector.h>

#include "continua/adapters/thrust.hpp"
#endif

namespace o = continua::optim;
using namespace continua_test;

namespace {

template <class T>
double normwise_relative_difference(const std::vector<T>& a, const std::vector<T>& ref) {
  double diff = 0, scale = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    diff = std::max(diff, std::fabs(double(a[i]) - double(ref[i])));
    scale = std::max(scale, std::fabs(double(ref[i])));
  }
  return diff / scale;
}

template <class T, class Vec>
std::vector<T> host_copy(const Vec& v) {
  std::vector<T> h(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) h[i] = v[i];
  return h;
}

// Runs `transformation` over the golden problem in container Vec and checks every checkpoint.
template <class T, class Vec, class Chain>
void check_against_torch(const std::string& config, const Chain& transformation, double tol) {
  const std::string dtype = std::is_same_v<T, float> ? "float32" : "float64";
  const auto in = read_inputs<T>(dtype);
  const auto golden = read_trajectories<T>(dtype, in.n).at(config);
  Vec p(in.p0.begin(), in.p0.end());
  auto state = transformation.init(p);
  double worst = 0;
  for (std::size_t t = 1; t <= in.steps; ++t) {
    const std::vector<T> ph = host_copy<T>(p);
    std::vector<T> gh(in.n);
    for (std::size_t i = 0; i < in.n; ++i) gh[i] = (ph[i] - in.target[i]) + in.noise[t - 1][i];
    Vec g(gh.begin(), gh.end());
    BOOST_REQUIRE(transformation.step(p, g, state));
    if (auto it = golden.find(t); it != golden.end()) {
      const double d = normwise_relative_difference(host_copy<T>(p), it->second);
      worst = std::max(worst, d);
      BOOST_REQUIRE_MESSAGE(d <= tol, config << " " << dtype << " step " << t
                                             << ": relative difference " << d << " > " << tol);
    }
  }
  BOOST_TEST_MESSAGE(config << " " << dtype << ": worst relative difference " << worst);
}

template <class T, class Vec>
void check_all_configs() {
  const double tol = std::is_same_v<T, float> ? 1e-5 : 1e-12;
  check_against_torch<T, Vec>("sgd", o::sgd({.lr = 0.05}), tol);
  check_against_torch<T, Vec>("sgd_momentum",
                              o::sgd({.lr = 0.05, .momentum = 0.9, .weight_decay = 1e-3}), tol);
  check_against_torch<T, Vec>(
      "sgd_nesterov", o::sgd({.lr = 0.05, .momentum = 0.9, .nesterov = true, .weight_decay = 1e-3}),
      tol);
  check_against_torch<T, Vec>("adam", o::adam({.lr = 1e-2}), tol);
  check_against_torch<T, Vec>("adam_l2", o::adam({.lr = 1e-2, .weight_decay = 1e-2}), tol);
  check_against_torch<T, Vec>("adamw", o::adamw({.lr = 1e-2, .weight_decay = 0.05}), tol);
  check_against_torch<T, Vec>("amsgrad", o::amsgrad({.lr = 1e-2}), tol);
  check_against_torch<T, Vec>("rmsprop", o::rmsprop({.lr = 1e-2}), tol);
  check_against_torch<T, Vec>(
      "rmsprop_centered",
      o::rmsprop({.lr = 1e-2, .weight_decay = 1e-3, .momentum = 0.5, .centered = true}), tol);
  check_against_torch<T, Vec>(
      "adagrad",
      o::adagrad({.lr = 0.1, .lr_decay = 1e-3, .weight_decay = 1e-3, .initial_accumulator = 0.1}),
      tol);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(torch_golden)

BOOST_AUTO_TEST_CASE(float32_matches_torch) { check_all_configs<float, std::vector<float>>(); }
BOOST_AUTO_TEST_CASE(float64_matches_torch) { check_all_configs<double, std::vector<double>>(); }

#if CONTINUA_TEST_THRUST
BOOST_AUTO_TEST_CASE(device_vectors_match_torch) {
  check_all_configs<float, thrust::device_vector<float>>();
  check_all_configs<double, thrust::device_vector<double>>();
}
#endif

BOOST_AUTO_TEST_SUITE_END()
