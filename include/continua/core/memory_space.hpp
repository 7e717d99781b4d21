// Memory spaces: where a tensor's elements live, which decides where kernels run.
#pragma once

#include <type_traits>

namespace continua {

// Memory the host CPU dereferences directly (std containers, Eigen, xtensor, thrust::host_vector).
struct host_space {};
// Memory owned by the Thrust device system (thrust::device_vector): a CUDA GPU under nvcc, or
// host memory driven by Thrust's OpenMP/CPP backend when that is the configured device system.
struct device_space {};

// True for memory spaces. A new space (e.g. an instrumented one in tests) specialises this, a
// kernel_backend and a buffer.
template <class S>
inline constexpr bool is_memory_space_v =
    std::is_same_v<S, host_space> || std::is_same_v<S, device_space>;

}  // namespace continua
