// LD_PRELOAD shim for the GPU kit's latency count: counts the CUDA runtime calls that allocate,
// free or block the host (device-wide, stream and event syncs, synchronous copies) and the
// asynchronous copies, then forwards each call to the real libcudart. Programs read the counts
// through continua_cuda_call_counts (looked up with dlsym, so they run without the shim too). Works
// because continua's CUDA programs link the shared runtime (CUDA_RUNTIME_LIBRARY Shared).
#include <cuda_runtime_api.h>
#include <dlfcn.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>

namespace {

enum counter {
  malloc_calls,
  free_calls,
  device_syncs,
  stream_syncs,
  event_syncs,
  sync_copies,
  async_copies,
  counter_count
};
std::atomic<unsigned long long> counts[counter_count];

template <class F>
F real(const char* name) {
  void* f = dlsym(RTLD_NEXT, name);
  if (f == nullptr) {
    std::fprintf(stderr, "cuda_call_counter: %s not found in the next library\n", name);
    std::abort();
  }
  return reinterpret_cast<F>(f);
}

void bump(counter c) { counts[c].fetch_add(1, std::memory_order_relaxed); }

}  // namespace

extern "C" {

// Fills out[0..6]: mallocs, frees, device syncs, stream syncs, event syncs, synchronous copies,
// asynchronous copies. Kernel launches are not counted: Thrust's and the libraries' launches do
// not all pass through an interposable runtime entry point (a cudaLaunchKernel wrapper saw none).
void continua_cuda_call_counts(unsigned long long* out) {
  for (int i = 0; i < counter_count; ++i) out[i] = counts[i].load(std::memory_order_relaxed);
}

cudaError_t cudaMalloc(void** p, size_t n) {
  static const auto f = real<cudaError_t (*)(void**, size_t)>("cudaMalloc");
  bump(malloc_calls);
  return f(p, n);
}
cudaError_t cudaMallocAsync(void** p, size_t n, cudaStream_t s) {
  static const auto f = real<cudaError_t (*)(void**, size_t, cudaStream_t)>("cudaMallocAsync");
  bump(malloc_calls);
  return f(p, n, s);
}
cudaError_t cudaFree(void* p) {
  static const auto f = real<cudaError_t (*)(void*)>("cudaFree");
  bump(free_calls);
  return f(p);
}
cudaError_t cudaFreeAsync(void* p, cudaStream_t s) {
  static const auto f = real<cudaError_t (*)(void*, cudaStream_t)>("cudaFreeAsync");
  bump(free_calls);
  return f(p, s);
}
cudaError_t cudaDeviceSynchronize() {
  static const auto f = real<cudaError_t (*)()>("cudaDeviceSynchronize");
  bump(device_syncs);
  return f();
}
cudaError_t cudaStreamSynchronize(cudaStream_t s) {
  static const auto f = real<cudaError_t (*)(cudaStream_t)>("cudaStreamSynchronize");
  bump(stream_syncs);
  return f(s);
}
cudaError_t cudaEventSynchronize(cudaEvent_t e) {
  static const auto f = real<cudaError_t (*)(cudaEvent_t)>("cudaEventSynchronize");
  bump(event_syncs);
  return f(e);
}
cudaError_t cudaMemcpy(void* dst, const void* src, size_t n, cudaMemcpyKind kind) {
  static const auto f =
      real<cudaError_t (*)(void*, const void*, size_t, cudaMemcpyKind)>("cudaMemcpy");
  bump(sync_copies);
  return f(dst, src, n, kind);
}
cudaError_t cudaMemcpy2D(void* dst, size_t dpitch, const void* src, size_t spitch, size_t width,
                         size_t height, cudaMemcpyKind kind) {
  static const auto f =
      real<cudaError_t (*)(void*, size_t, const void*, size_t, size_t, size_t, cudaMemcpyKind)>(
          "cudaMemcpy2D");
  bump(sync_copies);
  return f(dst, dpitch, src, spitch, width, height, kind);
}
cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t n, cudaMemcpyKind kind,
                            cudaStream_t s) {
  static const auto f =
      real<cudaError_t (*)(void*, const void*, size_t, cudaMemcpyKind, cudaStream_t)>(
          "cudaMemcpyAsync");
  bump(async_copies);
  return f(dst, src, n, kind, s);
}
}  // extern "C"
