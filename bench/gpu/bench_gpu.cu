// GPU benchmarks, each beside its physical limit or the vendor library in the same binary:
//   Adam on 2^28 float32 against a device-to-device copy (the 7-stream bandwidth floor) and a
//   hand-fused Adam kernel; Philox normal fill against the copy; the analytic accumulation
//   (syrk of a batch into XᵀX) and the whole statistics add against cuBLAS GEMM of the same shape;
//   the analytic head's fit (accumulate + Cholesky solve) in samples per second.
// Times are CUDA-event times (manual time), so asynchronous launches are counted to completion.
// Exits 77 without a CUDA device. Run: bench_gpu --benchmark_counters_tabular=true
#include <benchmark/benchmark.h>
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <thrust/device_vector.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "continua/adapters/thrust.hpp"
#include "continua/analytic/classifier.hpp"
#include "continua/analytic/statistics.hpp"
#include "continua/core/linalg.hpp"
#include "continua/core/random.hpp"
#include "continua/optim.hpp"

namespace {

namespace o = continua::optim;
using continua::device_space;
using continua::matrix_view;

void check(cudaError_t e, const char* what) {
  if (e != cudaSuccess) throw std::runtime_error(std::string(what) + ": " + cudaGetErrorString(e));
}

// Times `body` with CUDA events around it; reports the elapsed seconds as the iteration time.
class event_timer {
 public:
  event_timer() {
    check(cudaEventCreate(&start_), "cudaEventCreate");
    check(cudaEventCreate(&stop_), "cudaEventCreate");
  }
  ~event_timer() {
    cudaEventDestroy(start_);
    cudaEventDestroy(stop_);
  }
  template <class F>
  void run(benchmark::State& state, F&& body) {
    body();  // warm-up: handles, module load, Thrust temporaries
    check(cudaDeviceSynchronize(), "warm-up");
    for (auto _ : state) {
      check(cudaEventRecord(start_), "cudaEventRecord");
      body();
      check(cudaEventRecord(stop_), "cudaEventRecord");
      check(cudaEventSynchronize(stop_), "cudaEventSynchronize");
      float ms = 0;
      check(cudaEventElapsedTime(&ms, start_, stop_), "cudaEventElapsedTime");
      state.SetIterationTime(double(ms) * 1e-3);
    }
    check(cudaGetLastError(), "benchmark body");
  }

 private:
  cudaEvent_t start_{}, stop_{};
};

// Every case reports the same three counters (NaN where one does not apply): the CSV reporter
// requires every counter in every row.
struct rates {
  double bytes = std::nan("");    // per iteration, counted as read + written
  double flops = std::nan("");    // per iteration
  double samples = std::nan("");  // rows learned per iteration
};
void set_rates(benchmark::State& state, rates r) {
  const auto rate = [](double v, double unit) {
    return benchmark::Counter(v * unit, benchmark::Counter::kIsIterationInvariantRate);
  };
  state.counters["GB/s"] = rate(r.bytes, 1e-9);
  state.counters["GFLOP/s"] = rate(r.flops, 1e-9);
  state.counters["samples/s"] = rate(r.samples, 1.0);
}

template <class T>
thrust::device_vector<T> random_vector(std::size_t n, std::uint64_t stream, double mean = 0.0,
                                       double stddev = 1.0) {
  thrust::device_vector<T> v(n);
  continua::fill_normal(v, continua::philox_key{2026, stream}, 0, mean, stddev);
  return v;
}

// ---- memory bound: copy, Adam, Philox ----------------------------------------------------------

void BM_copy_d2d(benchmark::State& state) {
  const std::size_t n = std::size_t(state.range(0));
  auto src = random_vector<float>(n, 1);
  thrust::device_vector<float> dst(n);
  event_timer t;
  t.run(state, [&] {
    check(
        cudaMemcpyAsync(thrust::raw_pointer_cast(dst.data()), thrust::raw_pointer_cast(src.data()),
                        n * sizeof(float), cudaMemcpyDeviceToDevice),
        "cudaMemcpyAsync");
  });
  set_rates(state, {.bytes = 2.0 * n * sizeof(float)});
}

// The Adam step written by hand in one kernel, float4 wide: the fused loop continua aims at.
__global__ void adam_fused_kernel(float4* p, const float4* g, float4* m, float4* v, std::size_t n4,
                                  float lr_t, float b1, float b2, float eps_t) {
  for (std::size_t i = blockIdx.x * std::size_t(blockDim.x) + threadIdx.x; i < n4;
       i += std::size_t(gridDim.x) * blockDim.x) {
    float4 pp = p[i], gg = g[i], mm = m[i], vv = v[i];
    float* pe = &pp.x;
    const float* ge = &gg.x;
    float* me = &mm.x;
    float* ve = &vv.x;
#pragma unroll
    for (int k = 0; k < 4; ++k) {
      me[k] = b1 * me[k] + (1.f - b1) * ge[k];
      ve[k] = b2 * ve[k] + (1.f - b2) * ge[k] * ge[k];
      pe[k] -= lr_t * me[k] / (sqrtf(ve[k]) + eps_t);
    }
    p[i] = pp;
    m[i] = mm;
    v[i] = vv;
  }
}

void BM_adam_hand_fused(benchmark::State& state) {
  const std::size_t n = std::size_t(state.range(0));
  auto p = random_vector<float>(n, 2), g = random_vector<float>(n, 3);
  thrust::device_vector<float> m(n, 0.f), v(n, 0.f);
  int sms = 0;
  check(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, 0), "attribute");
  event_timer t;
  t.run(state, [&] {
    adam_fused_kernel<<<sms * 8, 256>>>(
        reinterpret_cast<float4*>(thrust::raw_pointer_cast(p.data())),
        reinterpret_cast<const float4*>(thrust::raw_pointer_cast(g.data())),
        reinterpret_cast<float4*>(thrust::raw_pointer_cast(m.data())),
        reinterpret_cast<float4*>(thrust::raw_pointer_cast(v.data())), n / 4, 1e-3f, 0.9f, 0.999f,
        1e-8f);
  });
  set_rates(state, {.bytes = 7.0 * n * sizeof(float)});
}

// continua's Adam chain on a device_vector; range(1) = 1 with the default NaN check, 0 without.
void BM_adam_continua(benchmark::State& state) {
  const std::size_t n = std::size_t(state.range(0));
  auto p = random_vector<float>(n, 2), g = random_vector<float>(n, 3);
  auto opt = o::adam({.lr = 1e-3});
  if (state.range(1) == 0) opt.with_nan_policy(o::nan_policy::propagate);
  auto s = opt.init(p);
  event_timer t;
  // The gradient buffer is consumed by step (it may hold intermediate updates); Adam's single
  // fused pass reads it before writing, and its values stay finite, so reusing it is fair.
  t.run(state, [&] { opt.step(p, g, s); });
  set_rates(state, {.bytes = 7.0 * n * sizeof(float)});
}

void BM_philox_normal_fill(benchmark::State& state) {
  const std::size_t n = std::size_t(state.range(0));
  thrust::device_vector<float> x(n);
  std::uint64_t offset = 0;
  event_timer t;
  t.run(state, [&] {
    continua::fill_normal(x, continua::philox_key{7, 1}, offset);
    offset += n;
  });
  set_rates(state, {.bytes = double(n) * sizeof(float)});
}

// ---- compute bound: analytic accumulation against cuBLAS GEMM ----------------------------------

cublasHandle_t bench_cublas() {
  static cublasHandle_t h = [] {
    cublasHandle_t handle{};
    if (cublasCreate(&handle) != CUBLAS_STATUS_SUCCESS) throw std::runtime_error("cublasCreate");
    return handle;
  }();
  return h;
}

// C (d x d) += XᵀX by cublas<T>gemm on X (rows x d, row-major = d x rows column-major): the
// vendor's GEMM on exactly the accumulation's shape, 2 rows d² flops.
template <class T>
void BM_cublas_gemm_xtx(benchmark::State& state) {
  const std::size_t d = std::size_t(state.range(0)), rows = std::size_t(state.range(1));
  auto x = random_vector<T>(rows * d, 4);
  thrust::device_vector<T> c(d * d, T(0));
  const T one = 1;
  const int di = int(d), ri = int(rows);
  event_timer t;
  t.run(state, [&] {
    const T* xp = thrust::raw_pointer_cast(x.data());
    T* cp = thrust::raw_pointer_cast(c.data());
    cublasStatus_t s;
    if constexpr (sizeof(T) == 4)
      s = cublasSgemm(bench_cublas(), CUBLAS_OP_N, CUBLAS_OP_T, di, di, ri, &one, xp, di, xp, di,
                      &one, cp, di);
    else
      s = cublasDgemm(bench_cublas(), CUBLAS_OP_N, CUBLAS_OP_T, di, di, ri, &one, xp, di, xp, di,
                      &one, cp, di);
    if (s != CUBLAS_STATUS_SUCCESS) throw std::runtime_error("cublas gemm");
  });
  set_rates(state, {.flops = 2.0 * double(rows) * double(d) * double(d)});
}

// continua::linalg::syrk into a full symmetric C (syrk + mirror): rows d (d + 1) flops done, but
// the rate below counts the GEMM's 2 rows d², so the two lines compare time for the same result.
template <class T>
void BM_continua_syrk_xtx(benchmark::State& state) {
  const std::size_t d = std::size_t(state.range(0)), rows = std::size_t(state.range(1));
  auto x = random_vector<T>(rows * d, 4);
  thrust::device_vector<T> c(d * d, T(0));
  const matrix_view<const T, device_space> xv(thrust::raw_pointer_cast(x.data()), rows, d);
  const matrix_view<T, device_space> cv(thrust::raw_pointer_cast(c.data()), d, d);
  event_timer t;
  t.run(state,
        [&] { continua::linalg::syrk(continua::linalg::op::transpose, T(1), xv, T(1), cv); });
  set_rates(state, {.flops = 2.0 * double(rows) * double(d) * double(d)});
}

std::vector<std::int32_t> labels_for(std::size_t rows, int classes) {
  std::vector<std::int32_t> y(rows);
  for (std::size_t i = 0; i < rows; ++i) y[i] = std::int32_t((i * 7919u) % unsigned(classes));
  return y;
}

// sufficient_statistics::add: syrk + XᵀY + label bookkeeping, samples per second.
template <class T>
void BM_statistics_add(benchmark::State& state) {
  const std::size_t d = std::size_t(state.range(0)), rows = std::size_t(state.range(1));
  auto x = random_vector<T>(rows * d, 5);
  const auto y = labels_for(rows, 10);
  continua::analytic::sufficient_statistics<T, device_space> stats(d);
  const matrix_view<const T, device_space> xv(thrust::raw_pointer_cast(x.data()), rows, d);
  event_timer t;
  t.run(state, [&] { stats.add(xv, y); });
  set_rates(state, {.flops = 2.0 * double(rows) * double(d) * double(d), .samples = double(rows)});
}

// The analytic head, cholesky policy: fit `batches` batches then read the weights (factor + solve).
template <class T>
void BM_analytic_fit(benchmark::State& state) {
  const std::size_t d = std::size_t(state.range(0)), rows = std::size_t(state.range(1));
  const std::size_t batches = 4;
  auto x = random_vector<T>(rows * d, 6);
  const auto y = labels_for(rows, 10);
  const matrix_view<const T, device_space> xv(thrust::raw_pointer_cast(x.data()), rows, d);
  event_timer t;
  t.run(state, [&] {
    continua::analytic::analytic_classifier<T, continua::analytic::cholesky, device_space> head(
        {.gamma = 1.0}, d);
    for (std::size_t b = 0; b < batches; ++b) head.fit(xv, y);
    benchmark::DoNotOptimize(head.weights().data());
  });
  set_rates(state, {.samples = double(rows * batches)});
}

constexpr std::int64_t adam_n = std::int64_t(1) << 28;

}  // namespace

BENCHMARK(BM_copy_d2d)->Arg(adam_n)->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_adam_hand_fused)->Arg(adam_n)->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_adam_continua)
    ->ArgNames({"n", "nan_check"})
    ->Args({adam_n, 1})
    ->Args({adam_n, 0})
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_philox_normal_fill)->Arg(adam_n)->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_cublas_gemm_xtx<float>)
    ->Args({8192, 8192})
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_continua_syrk_xtx<float>)
    ->Args({8192, 8192})
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_statistics_add<float>)
    ->Args({8192, 8192})
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_cublas_gemm_xtx<double>)
    ->Args({8192, 8192})
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_continua_syrk_xtx<double>)
    ->Args({8192, 8192})
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_statistics_add<double>)
    ->Args({8192, 8192})
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_analytic_fit<float>)
    ->Args({8192, 8192})
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_analytic_fit<double>)
    ->Args({8192, 8192})
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);

int main(int argc, char** argv) {
  int count = 0;
  const cudaError_t err = cudaGetDeviceCount(&count);
  if (err != cudaSuccess || count == 0) {
    std::printf("skipped: no CUDA device (%s)\n",
                err != cudaSuccess ? cudaGetErrorString(err) : "cudaGetDeviceCount returned 0");
    return 77;
  }
  cudaDeviceProp prop{};
  check(cudaGetDeviceProperties(&prop, 0), "cudaGetDeviceProperties");
  benchmark::AddCustomContext("gpu", prop.name);
  benchmark::AddCustomContext("gpu_sms", std::to_string(prop.multiProcessorCount));
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
