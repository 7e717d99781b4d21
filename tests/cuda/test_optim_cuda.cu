// continua::optim on the GPU: the fused Adam/AdamW/RMSprop/momentum chains instantiated on
// thrust::device_vector by nvcc, compared with the same chains on host std::vector (the host path
// is checked against torch in tests/optim). Exits 77 without a CUDA device.
#include <thrust/device_vector.h>
#include <thrust/host_vector.h>

#include <cmath>
#include <vector>

#include "continua/adapters/thrust.hpp"
#include "continua/optim.hpp"
#include "cuda_check.hpp"

namespace o = continua::optim;

namespace {

template <class T, class Chain>
void compare_host_and_device(const char* label, const Chain& chain, double tol) {
  const std::size_t n = 1 << 20;
  std::vector<T> p_host(n), g_host(n);
  for (std::size_t i = 0; i < n; ++i) p_host[i] = T(std::sin(0.001 * double(i)));
  thrust::device_vector<T> p_dev(p_host.begin(), p_host.end());
  auto s_host = chain.init(p_host);
  auto s_dev = chain.init(p_dev);
  for (int t = 0; t < 20; ++t) {
    for (std::size_t i = 0; i < n; ++i) g_host[i] = T(std::cos(0.37 * t + 0.002 * double(i)));
    thrust::device_vector<T> g_dev(g_host.begin(), g_host.end());
    std::vector<T> g_copy = g_host;
    chain.step(p_host, g_copy, s_host);
    chain.step(p_dev, g_dev, s_dev);
  }
  thrust::host_vector<T> back = p_dev;
  double worst = 0, scale = 0;
  for (std::size_t i = 0; i < n; ++i) {
    worst = std::fmax(worst, std::fabs(double(back[i]) - double(p_host[i])));
    scale = std::fmax(scale, std::fabs(double(p_host[i])));
  }
  std::printf("%s: max |device - host| / max |host| = %.3g\n", label, worst / scale);
  CONTINUA_CHECK_CLOSE(worst / scale, 0.0, tol);
}

}  // namespace

int main() {
  continua_cuda_test::skip_without_device();
  // Device and host round differently only where the compiler contracts to FMA.
  compare_host_and_device<float>("adam float", o::adam({.lr = 1e-2}), 1e-5);
  compare_host_and_device<double>("adam double", o::adam({.lr = 1e-2}), 1e-12);
  compare_host_and_device<float>("adamw amsgrad", o::adamw({.lr = 1e-2, .amsgrad = true}), 1e-5);
  compare_host_and_device<double>("rmsprop centered",
                                  o::rmsprop({.momentum = 0.5, .centered = true}), 1e-12);
  // Lion is left out: a sign taken of a value within an ulp of zero may flip between FMA-contracted
  // device code and host code, moving that coordinate by 2 lr.
  compare_host_and_device<double>(
      "clip + nesterov + cosine",
      o::chain(o::clip_by_global_norm(10.0), o::trace({.decay = 0.9, .nesterov = true}),
               o::scale_by_learning_rate(o::cosine_schedule(0.1, 100))),
      1e-12);
  return continua_cuda_test::exit_code("test_optim_cuda");
}
