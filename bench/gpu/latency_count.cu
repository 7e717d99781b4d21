// Counts CUDA runtime calls that allocate or block the host per optimizer step and per analytic
// update, through the cuda_call_counter shim (LD_PRELOAD=libcuda_call_counter.so). Prints CSV:
// operation, calls, then per call: mallocs, frees, device/stream/event syncs, synchronous copies,
// asynchronous copies. Exit 77 without a GPU, 2 without the shim.
#include <cuda_runtime.h>
#include <dlfcn.h>
#include <thrust/device_vector.h>

#include <array>
#include <cstdio>
#include <span>
#include <vector>

#include "continua/adapters/thrust.hpp"
#include "continua/analytic/classifier.hpp"
#include "continua/core/random.hpp"
#include "continua/optim.hpp"

namespace {

namespace o = continua::optim;
namespace an = continua::analytic;
using continua::device_space;
using counts = std::array<unsigned long long, 7>;
using count_fn = void (*)(unsigned long long*);

count_fn counter = nullptr;

counts read() {
  counts c{};
  counter(c.data());
  return c;
}

template <class F>
void measure(const char* operation, int calls, F&& f) {
  f();  // warm-up: handles, first allocations
  cudaDeviceSynchronize();
  const counts before = read();
  for (int i = 0; i < calls; ++i) f();
  const counts after = read();
  std::printf("%s,%d", operation, calls);
  for (std::size_t k = 0; k < before.size(); ++k)
    std::printf(",%.2f", double(after[k] - before[k]) / calls);
  std::printf("\n");
}

template <class T>
thrust::device_vector<T> random_vector(std::size_t n, std::uint64_t stream) {
  thrust::device_vector<T> v(n);
  continua::fill_normal(v, continua::philox_key{11, stream});
  return v;
}

}  // namespace

int main() {
  int devices = 0;
  if (cudaGetDeviceCount(&devices) != cudaSuccess || devices == 0) {
    std::printf("skipped: no CUDA device\n");
    return 77;
  }
  counter = reinterpret_cast<count_fn>(dlsym(RTLD_DEFAULT, "continua_cuda_call_counts"));
  if (counter == nullptr) {
    std::fprintf(stderr, "latency_count: run with LD_PRELOAD=libcuda_call_counter.so\n");
    return 2;
  }
  std::printf(
      "operation,calls,mallocs,frees,device_syncs,stream_syncs,event_syncs,sync_copies,"
      "async_copies\n");

  // An optimizer step over a parameter set of 8 tensors (a small model's layers).
  constexpr std::size_t tensors = 8, each = 1 << 16;
  std::vector<thrust::device_vector<float>> params, grads;
  for (std::size_t i = 0; i < tensors; ++i) {
    params.push_back(random_vector<float>(each, 2 * i));
    grads.push_back(random_vector<float>(each, 2 * i + 1));
  }
  for (const auto policy : {o::nan_policy::throw_error, o::nan_policy::propagate}) {
    auto opt = o::adam({.lr = 1e-3});
    opt.with_nan_policy(policy);
    auto s = opt.init(params);
    measure(policy == o::nan_policy::propagate ? "adam_step_8_tensors_no_nan_check"
                                               : "adam_step_8_tensors",
            20, [&] { opt.step(params, grads, s); });
  }
  auto clipped =
      o::chain(o::clip_by_global_norm(1.0), o::scale_by_adam(), o::scale_by_learning_rate(1e-3));
  auto cs = clipped.init(params);
  measure("clip_adam_step_8_tensors", 20, [&] { clipped.step(params, grads, cs); });

  // Analytic updates: one batch of 256 rows, 512 features, 10 classes.
  constexpr std::size_t rows = 256, d = 512;
  const auto x = random_vector<float>(rows * d, 100);
  std::vector<std::int32_t> labels(rows);
  for (std::size_t i = 0; i < rows; ++i) labels[i] = std::int32_t(i % 10);
  const continua::matrix_view<const float, device_space> xv(thrust::raw_pointer_cast(x.data()),
                                                            rows, d);
  an::analytic_classifier<float, an::woodbury, device_space> w({.gamma = 1.0}, d);
  measure("woodbury_fit_256x512", 10, [&] { w.fit(xv, labels); });
  an::analytic_classifier<float, an::cholesky, device_space> c({.gamma = 1.0}, d);
  measure("cholesky_fit_256x512", 10, [&] { c.fit(xv, labels); });
  measure("cholesky_fit_and_weights_256x512", 10, [&] {
    c.fit(xv, labels);
    (void)c.weights();
  });
  return 0;
}
