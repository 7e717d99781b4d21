// The host instance of the demo_gpu pipeline, compiled by the C++ compiler (OpenMP, Eigen).
#include "demo_gpu_pipeline.hpp"

namespace demo_gpu {

result run_host(const data& train, const data& test,
                const continua_examples::pixel_moments& moments) {
  return run<continua::host_space, std::vector<float>>(train, test, moments, [] {});
}

}  // namespace demo_gpu
