// The regularizers on a CUDA device: EWC, SI, MAS, RWalk and L2-anchor driven through the same
// observe / consolidate / penalty / add_gradient sequence on thrust::device_vector and on
// std::vector; the host path is checked against closed forms and finite differences in
// tests/regularize, so the device must reproduce it (float, 1e-5 relative; NaN never passes).
// Exit 0 ok, 1 failure, 77 without a GPU.
#include <thrust/device_vector.h>

#include <cmath>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "continua/adapters/thrust.hpp"
#include "continua/regularize.hpp"
#include "cuda_check.hpp"

namespace {

namespace rg = continua::regularize;
constexpr std::size_t n = 1000;

std::vector<float> values(float scale, float offset) {
  std::vector<float> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = offset + scale * std::sin(0.37f * float(i) + offset);
  return v;
}

// Runs two tasks of the regularizer's life cycle on parameter type V and returns
// (penalty, gradient after add_gradient) for the final parameters.
template <template <class> class R, class V, class Observe>
std::pair<double, std::vector<float>> run(const typename R<V>::options_type& opt, Observe observe) {
  V p0(values(1.f, 0.1f)), p1(values(0.8f, 0.3f)), p2(values(1.2f, -0.2f));
  V g(values(0.5f, 0.05f)), grads(values(0.2f, 0.0f));
  R<V> reg(opt, p0);
  observe(reg, g, p1);
  reg.consolidate(p1);
  observe(reg, grads, p2);
  reg.consolidate(p2);
  V params(values(0.9f, 0.25f));
  const double penalty = reg.penalty(params);
  reg.add_gradient(params, grads);
  std::vector<float> out(n);
  thrust::copy(grads.begin(), grads.end(), out.begin());
  return {penalty, out};
}

// Float throughout. The penalty is a reduction over 1000 terms whose summation order differs on
// the device (tree) and the host (sequential), in double accumulators: well inside 1e-5 of the
// float-rounded terms. The gradient is elementwise, identical code on both sides except nvcc's
// FMA contraction: a couple of float ulps per element of O(1) values, so 1e-5 normwise leaves a
// margin of ~40x.
template <template <class> class R, class Observe>
void device_matches_host(const char* name, const typename R<std::vector<float>>::options_type& opt,
                         Observe observe) {
  const auto host = run<R, std::vector<float>>(opt, observe);
  auto dev = run<R, thrust::device_vector<float>>(opt, observe);
  CONTINUA_CHECK_CLOSE(dev.first, host.first, 1e-5 * std::fabs(host.first) + 1e-12);
  const std::string label = std::string(name) + " gradient";
  continua_cuda_test::compare_arrays(label.c_str(), dev.second, host.second, 1e-5);
  // The same comparison must not let a NaN through (issue 16: fmax dropped it).
  dev.second[n / 2] = std::numeric_limits<float>::quiet_NaN();
  CONTINUA_CHECK(!continua_cuda_test::compare_arrays(label.c_str(), dev.second, host.second, 1e-5,
                                                     continua_cuda_test::on_mismatch::quiet));
}

}  // namespace

int main() {
  continua_cuda_test::skip_without_device();
  const auto grads_only = [](auto& reg, const auto& g, const auto&) { reg.observe(g); };
  const auto with_params = [](auto& reg, const auto& g, const auto& p) { reg.observe(g, p); };
  const auto nothing = [](auto&, const auto&, const auto&) {};
  device_matches_host<rg::ewc>("ewc", {.strength = 3.0}, grads_only);
  device_matches_host<rg::ewc>(
      "online ewc", {.strength = 3.0, .mode = rg::ewc_mode::online, .decay = 0.5}, grads_only);
  device_matches_host<rg::mas>("mas", {}, grads_only);
  device_matches_host<rg::synaptic_intelligence>("si", {}, with_params);
  device_matches_host<rg::rwalk>("rwalk", {}, with_params);
  device_matches_host<rg::l2_anchor>("l2_anchor", {}, nothing);
  return continua_cuda_test::exit_code("test_regularize_cuda");
}
