// Rejected: a diffusion model callable without the timestep argument handed to a sampler; the
// message says how the model must be callable, and the instantiation context names the type
// (Model = blind_model). Control: the same model taking (x, t, out) samples.
#include <cstdint>
#include <vector>

#include "continua/sample/diffusion.hpp"

namespace dif = continua::sample::diffusion;

// eps(x) = x: a model that forgot the timestep.
struct blind_model {
#ifdef CONTINUA_CONTROL
  void operator()(const std::vector<double>& x, std::int64_t, std::vector<double>& out) const {
    out = x;
  }
#else
  void operator()(const std::vector<double>& x, std::vector<double>& out) const { out = x; }
#endif
};

int main() {
  const dif::ddim sampler(dif::noise_schedule{}, dif::make_timesteps(1000, 10));
  std::vector<double> x(4, 0.5), scratch(4);
  sampler.sample(blind_model{}, x, scratch, 2);
  return x[0] < 1 ? 0 : 1;
}
