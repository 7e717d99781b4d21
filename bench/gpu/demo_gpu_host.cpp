// The host instance of the demo_gpu pipeline, compiled by the C++ compiler (OpenMP, Eigen).
#include "demo_gpu_pipeline.hpp"

namespace demo_gpu {

result run_host(const data& train, const data& test, const std::vector<float>& mean,
                const std::vector<float>& sd) {
  return run<continua::host_space, std::vector<float>>(train, test, mean, sd, [] {});
}

}  // namespace demo_gpu
