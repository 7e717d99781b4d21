// The CUDA stream continua queues device work on (Thrust loops, cuBLAS/cuSOLVER, its kernels and
// copies), chosen per host thread, and the per-device scratch that work reuses. Needs the CUDA
// runtime headers (any host compiler); nothing here launches a kernel.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace continua {

namespace detail {
inline cudaStream_t& thread_cuda_stream() noexcept {
  // 0 is the default stream: what every call used before the stream became settable.
  thread_local cudaStream_t stream = nullptr;
  return stream;
}
}  // namespace detail

// The stream this host thread's continua calls run on: 0 (the default stream) unless set.
inline cudaStream_t cuda_stream() noexcept { return detail::thread_cuda_stream(); }

// Runs this host thread's later continua calls on `stream` (0: the default stream again). The
// stream must belong to the device current at each call. Calls return without waiting for the
// stream except where a result comes back to the host (a reduction, Cholesky's success, SVD's
// convergence); synchronise the stream before reading outputs by other means.
inline void set_cuda_stream(cudaStream_t stream) noexcept { detail::thread_cuda_stream() = stream; }

// Sets this thread's continua stream for a scope and restores the previous one on exit.
class cuda_stream_guard {
 public:
  explicit cuda_stream_guard(cudaStream_t stream) noexcept : previous_(cuda_stream()) {
    set_cuda_stream(stream);
  }
  cuda_stream_guard(const cuda_stream_guard&) = delete;
  cuda_stream_guard& operator=(const cuda_stream_guard&) = delete;
  ~cuda_stream_guard() { set_cuda_stream(previous_); }

 private:
  cudaStream_t previous_;
};

namespace detail {

inline void check_cuda_runtime(cudaError_t e, const char* call) {
  if (e != cudaSuccess)
    throw std::runtime_error(std::string("continua (CUDA): ") + call + " failed: " +
                             cudaGetErrorName(e) + " (" + cudaGetErrorString(e) + ")");
}

inline int current_cuda_device() {
  int device = 0;
  check_cuda_runtime(cudaGetDevice(&device), "cudaGetDevice");
  return device;
}

// One Context per host thread and device, built on first use with that device current (library
// handles bind to the device current at creation), so a thread that switches devices gets the
// right one. Destroyed when the thread exits.
template <class Context>
Context& per_thread_device_context() {
  thread_local std::vector<std::unique_ptr<Context>> contexts;
  const int device = current_cuda_device();
  const auto slot = static_cast<std::size_t>(device);
  if (contexts.size() <= slot) contexts.resize(slot + 1);
  if (!contexts[slot]) contexts[slot] = std::make_unique<Context>(device);
  return *contexts[slot];
}

// Grow-only device memory reused across calls, so steady-state calls neither cudaMalloc nor
// cudaFree (both synchronise the device). Work on a stream may still use the block after the host
// returns: each use ends by recording an event, the next use makes its stream wait for that event
// (a device-side dependency, no host sync), and growing waits for it on the host before freeing.
class stream_scratch {
 public:
  stream_scratch() = default;
  stream_scratch(const stream_scratch&) = delete;
  stream_scratch& operator=(const stream_scratch&) = delete;
  ~stream_scratch() {
    // Status ignored: at thread or process exit the CUDA context may already be gone.
    if (block_ != nullptr) cudaFree(block_);
    if (done_ != nullptr) cudaEventDestroy(done_);
  }

  // At least `bytes` bytes that work queued on `stream` may use until release(stream).
  void* acquire(std::size_t bytes, cudaStream_t stream) {
    if (done_ == nullptr)
      check_cuda_runtime(cudaEventCreateWithFlags(&done_, cudaEventDisableTiming),
                         "cudaEventCreateWithFlags");
    if (bytes > size_) {
      // An event never recorded counts as complete, so the first growth does not wait.
      check_cuda_runtime(cudaEventSynchronize(done_), "cudaEventSynchronize(scratch)");
      if (block_ != nullptr) {
        void* old = block_;
        block_ = nullptr;
        size_ = 0;
        check_cuda_runtime(cudaFree(old), "cudaFree(scratch)");
      }
      check_cuda_runtime(cudaMalloc(&block_, bytes), "cudaMalloc(scratch)");
      size_ = bytes;
      // Once per growth: cuSOLVER's gesvd copies parts of its workspace to the host before
      // writing them (compute-sanitizer initcheck reports it), so the block starts defined.
      check_cuda_runtime(cudaMemsetAsync(block_, 0, bytes, stream), "cudaMemsetAsync(scratch)");
    } else if (recorded_) {
      // Always, not only when the stream differs: a destroyed stream's handle can be reused.
      check_cuda_runtime(cudaStreamWaitEvent(stream, done_, 0), "cudaStreamWaitEvent(scratch)");
    }
    return block_;
  }

  // The last work that uses the block has been queued on `stream`.
  void release(cudaStream_t stream) {
    check_cuda_runtime(cudaEventRecord(done_, stream), "cudaEventRecord(scratch)");
    recorded_ = true;
  }

  // For destructors: release without throwing (a failure here means the context is lost).
  void release_noexcept(cudaStream_t stream) noexcept {
    if (cudaEventRecord(done_, stream) == cudaSuccess) recorded_ = true;
  }

  void* block() const noexcept { return block_; }

 private:
  void* block_ = nullptr;
  std::size_t size_ = 0;
  cudaEvent_t done_ = nullptr;
  bool recorded_ = false;
};

// A use of stream_scratch from acquire to release; releases on scope exit if an error leaves
// work queued that still reads the block.
class scratch_lease {
 public:
  scratch_lease(stream_scratch& scratch, std::size_t bytes, cudaStream_t stream)
      : scratch_(scratch),
        stream_(stream),
        p_(static_cast<char*>(scratch.acquire(bytes, stream))) {}
  scratch_lease(const scratch_lease&) = delete;
  scratch_lease& operator=(const scratch_lease&) = delete;
  ~scratch_lease() {
    if (!released_) scratch_.release_noexcept(stream_);
  }
  char* get() const noexcept { return p_; }
  void release() {
    released_ = true;
    scratch_.release(stream_);
  }

 private:
  stream_scratch& scratch_;
  cudaStream_t stream_;
  char* p_;
  bool released_ = false;
};

}  // namespace detail
}  // namespace continua
