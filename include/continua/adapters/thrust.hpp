// Thrust adapter: thrust::host_vector is a host tensor, thrust::device_vector a device tensor, and
// the device_space kernel backend runs loops with thrust::for_each / thrust::transform_reduce on
// the configured Thrust device system (CUDA under nvcc, or OpenMP/CPP when so configured). Under
// CUDA the loops run on this thread's continua stream (continua/core/cuda_stream.hpp).
#pragma once

#include <thrust/device_vector.h>
#include <thrust/execution_policy.h>
#include <thrust/for_each.h>
#include <thrust/host_vector.h>
#include <thrust/iterator/counting_iterator.h>
#include <thrust/iterator/transform_iterator.h>
#include <thrust/reduce.h>
#include <cstddef>
#include <type_traits>
#include <vector>

#include "continua/core/buffer.hpp"
#include "continua/core/kernel.hpp"
#include "continua/core/tensor.hpp"

// The CUDA-only paths (a stream, no sync after a loop, cached reduction temporaries) need nvcc and
// Thrust's CUDA system; the OpenMP/CPP device systems keep the portable thrust::device policy.
#if defined(__CUDACC__) && THRUST_DEVICE_SYSTEM == THRUST_DEVICE_SYSTEM_CUDA
#define CONTINUA_DETAIL_THRUST_CUDA 1
#include <thrust/system/cuda/execution_policy.h>

#include "continua/core/cuda_stream.hpp"
#else
#define CONTINUA_DETAIL_THRUST_CUDA 0
#endif

namespace continua {

namespace detail {
// thrust's vector data() dereferences front(), undefined for an empty vector: null instead.
template <class V>
auto* raw_data(V& v) {
  return v.empty() ? nullptr : thrust::raw_pointer_cast(v.data());
}
}  // namespace detail

// thrust::host_vector of float or double: a rank-1 host tensor.
template <class T, class Alloc>
requires std::is_floating_point_v<T>
struct tensor_traits<thrust::host_vector<T, Alloc>> {
  using value_type = T;
  using memory_space = host_space;
  static T* data(thrust::host_vector<T, Alloc>& v) { return detail::raw_data(v); }
  static const T* data(const thrust::host_vector<T, Alloc>& v) { return detail::raw_data(v); }
  static std::size_t size(const thrust::host_vector<T, Alloc>& v) { return v.size(); }
  static extents shape(const thrust::host_vector<T, Alloc>& v) { return make_extents(v.size()); }
};

// thrust::device_vector of float or double: a rank-1 device tensor.
template <class T, class Alloc>
requires std::is_floating_point_v<T>
struct tensor_traits<thrust::device_vector<T, Alloc>> {
  using value_type = T;
  using memory_space = device_space;
  static T* data(thrust::device_vector<T, Alloc>& v) { return detail::raw_data(v); }
  static const T* data(const thrust::device_vector<T, Alloc>& v) { return detail::raw_data(v); }
  static std::size_t size(const thrust::device_vector<T, Alloc>& v) { return v.size(); }
  static extents shape(const thrust::device_vector<T, Alloc>& v) { return make_extents(v.size()); }
};

// Device-resident state buffers for device tensors.
template <class T>
class buffer<T, device_space> {
 public:
  using value_type = T;
  using memory_space = device_space;

  buffer() = default;
  explicit buffer(std::size_t n, T value = T(0)) : v_(n, value) {}

  T* data() { return detail::raw_data(v_); }
  const T* data() const { return detail::raw_data(v_); }
  std::size_t size() const { return v_.size(); }
  std::vector<T> to_host() const {
    thrust::host_vector<T> h = v_;
    return std::vector<T>(h.begin(), h.end());
  }
  void assign_from_host(const std::vector<T>& values) {
    v_ = thrust::host_vector<T>(values.begin(), values.end());
  }

 private:
  thrust::device_vector<T> v_;
};

namespace detail {
// Adapts an index functor to Thrust's element-wise calling convention.
template <class F>
struct index_caller {
  F f;
  CONTINUA_HD void operator()(std::size_t i) const { f(i); }
};
template <class Map, class T>
struct index_mapper {
  Map map;
  CONTINUA_HD T operator()(std::size_t i) const { return map(i); }
};
}  // namespace detail

#if CONTINUA_DETAIL_THRUST_CUDA
namespace detail {
// raise_if's flag: one device int per host thread and device, armed (zeroed on the stream) by the
// first raise_if after a take, read back through pinned memory by take_raised.
class raised_flag {
 public:
  explicit raised_flag(int device) {
    check_cuda_runtime(cudaDeviceGetAttribute(&sms_, cudaDevAttrMultiProcessorCount, device),
                       "cudaDeviceGetAttribute(multiprocessors)");
    check_cuda_runtime(cudaMalloc(&device_, sizeof(int)), "cudaMalloc(raised flag)");
    check_cuda_runtime(cudaMallocHost(&host_, sizeof(int)), "cudaMallocHost(raised flag)");
  }
  raised_flag(const raised_flag&) = delete;
  raised_flag& operator=(const raised_flag&) = delete;
  ~raised_flag() {
    // Status ignored: at thread or process exit the CUDA context may already be gone.
    cudaFree(device_);
    cudaFreeHost(host_);
  }
  int* arm(cudaStream_t stream) {
    if (!armed_) {
      check_cuda_runtime(cudaMemsetAsync(device_, 0, sizeof(int), stream), "cudaMemsetAsync(flag)");
      armed_ = true;
    }
    return device_;
  }
  bool take(cudaStream_t stream) {
    if (!armed_) return false;
    armed_ = false;
    check_cuda_runtime(cudaMemcpyAsync(host_, device_, sizeof(int), cudaMemcpyDeviceToHost, stream),
                       "cudaMemcpyAsync(flag)");
    check_cuda_runtime(cudaStreamSynchronize(stream), "cudaStreamSynchronize(flag)");
    return *host_ != 0;
  }
  int multiprocessors() const noexcept { return sms_; }

 private:
  int sms_ = 1;
  int* device_ = nullptr;
  int* host_ = nullptr;
  bool armed_ = false;
};

// Sets *flag when pred(i) holds for some i. A read-only pass wants several independent loads in
// flight per thread (Thrust's for_each, with a store in the body, read at about half the copy
// bandwidth on an H200): each thread tests four coalesced indices a grid stride apart per round.
// Every hit writes the same 1, so the unordered writes agree.
template <class Pred>
__global__ void raise_kernel(std::size_t n, Pred pred, int* flag) {
  const std::size_t stride = std::size_t(gridDim.x) * blockDim.x;
  std::size_t i = std::size_t(blockIdx.x) * blockDim.x + threadIdx.x;
  bool hit = false;
  for (; i + 3 * stride < n; i += 4 * stride) {
    const bool a = pred(i), b = pred(i + stride), c = pred(i + 2 * stride),
               d = pred(i + 3 * stride);
    hit = hit || a || b || c || d;
  }
  for (; i < n; i += stride) hit = hit || pred(i);
  if (hit) *flag = 1;
}

// Thrust's temporary storage for reductions, which by default is a cudaMalloc/cudaFree pair per
// call: one grow-only block per host thread and device instead (Thrust's reduce asks for one
// temporary at a time; a second request while the block is out gets its own allocation).
class reduce_temporaries {
 public:
  using value_type = char;

  explicit reduce_temporaries(int device) : device_(device) {}
  reduce_temporaries(const reduce_temporaries&) = delete;
  reduce_temporaries& operator=(const reduce_temporaries&) = delete;
  // At thread exit: free on the block's own device (status ignored, the context may be gone).
  ~reduce_temporaries() { cudaSetDevice(device_); }

  void bind(cudaStream_t stream) noexcept { stream_ = stream; }

  char* allocate(std::ptrdiff_t bytes) {
    const auto n = static_cast<std::size_t>(bytes);
    if (!in_use_) {
      char* p = static_cast<char*>(scratch_.acquire(n, stream_));
      in_use_ = true;
      return p;
    }
    void* p = nullptr;
    check_cuda_runtime(cudaMalloc(&p, n), "cudaMalloc(reduction temporaries)");
    return static_cast<char*>(p);
  }

  // Called from Thrust's temporary-array destructor, so it must not throw; a failure here means
  // the context is already lost and the next CUDA call reports it.
  void deallocate(char* p, std::size_t /*bytes*/) noexcept {
    if (in_use_ && p == scratch_.block()) {
      in_use_ = false;
      scratch_.release_noexcept(stream_);
    } else {
      cudaFree(p);
    }
  }

 private:
  int device_;
  stream_scratch scratch_;  // destroyed after the destructor's body has selected device_
  cudaStream_t stream_ = nullptr;
  bool in_use_ = false;
};
}  // namespace detail
#endif

// Device loops through Thrust on the continua stream (CUDA), or Thrust's OpenMP/TBB device backend.
template <>
struct kernel_backend<device_space> {
  // Under CUDA, per call: for_each_index neither synchronises nor allocates (it queues one kernel
  // on the continua stream); transform_reduce synchronises that stream to return its result (Thrust
  // waits for the stream, then copies the value back) and allocates nothing once this thread's
  // temporaries on the device have grown to the size.
  template <class F>
  static void for_each_index(std::size_t n, const F& f) {
    if (n == 0) return;
    thrust::counting_iterator<std::size_t> first(0);
#if CONTINUA_DETAIL_THRUST_CUDA
    thrust::for_each(thrust::cuda::par_nosync.on(cuda_stream()), first, first + n,
                     detail::index_caller<F>{f});
#else
    thrust::for_each(thrust::device, first, first + n, detail::index_caller<F>{f});
#endif
  }

  // Deferred any-of (see kernel_backend<host_space>). Under CUDA raise_if queues one kernel and
  // neither waits nor allocates; take_raised waits for the stream once, however many raise_if
  // calls came before it.
  template <class Pred>
  static void raise_if(std::size_t n, const Pred& pred) {
#if CONTINUA_DETAIL_THRUST_CUDA
    if (n == 0) return;
    auto& ctx = detail::per_thread_device_context<detail::raised_flag>();
    const cudaStream_t stream = cuda_stream();
    int* flag = ctx.arm(stream);
    constexpr unsigned threads = 256;
    const std::size_t wanted = (n + threads - 1) / threads;
    const std::size_t cap = std::size_t(ctx.multiprocessors()) * 8;  // enough to fill the GPU
    const auto blocks = static_cast<unsigned>(wanted < cap ? wanted : cap);
    detail::raise_kernel<<<blocks, threads, 0, stream>>>(n, pred, flag);
    detail::check_cuda_runtime(cudaGetLastError(), "raise_kernel");
#else
    if (raised()) return;
    raised() = transform_reduce(n, 0, detail::pred_as_int<Pred>{pred}, maximum{}) != 0;
#endif
  }
  static bool take_raised() {
#if CONTINUA_DETAIL_THRUST_CUDA
    return detail::per_thread_device_context<detail::raised_flag>().take(cuda_stream());
#else
    const bool r = raised();
    raised() = false;
    return r;
#endif
  }

  template <class T, class Map, class Reduce>
  static T transform_reduce(std::size_t n, T init, const Map& map, const Reduce& reduce) {
    if (n == 0) return init;
    thrust::counting_iterator<std::size_t> first(0);
    auto values = thrust::make_transform_iterator(first, detail::index_mapper<Map, T>{map});
#if CONTINUA_DETAIL_THRUST_CUDA
    const cudaStream_t stream = cuda_stream();
    auto& temporaries = detail::per_thread_device_context<detail::reduce_temporaries>();
    temporaries.bind(stream);
    return thrust::reduce(thrust::cuda::par(temporaries).on(stream), values, values + n, init,
                          reduce);
#else
    return thrust::reduce(thrust::device, values, values + n, init, reduce);
#endif
  }

#if !CONTINUA_DETAIL_THRUST_CUDA
 private:
  static bool& raised() {
    thread_local bool flag = false;
    return flag;
  }
#endif
};

}  // namespace continua
