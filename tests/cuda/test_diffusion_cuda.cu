// Diffusion samplers and data-order samplers under nvcc: DDPM, DDIM (eta > 0, guided), BDIA
// sample + invert, DPM-Solver++(2M) and the time-shift samplers on thrust::device_vector<double>,
// each against the same run on the host; the data-order samplers (host-side) compiled by nvcc's
// host pass. The model is the exact epsilon of N(m, s^2) data, a device kernel.
#include <thrust/device_vector.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <span>
#include <vector>

#include "continua/adapters/thrust.hpp"
#include "continua/core.hpp"
#include "continua/sample/diffusion.hpp"
#include "continua/sample/order.hpp"
#include "cuda_check.hpp"

namespace d = continua::sample::diffusion;

namespace {

// eps*(x, t) = b (x - a m) / (a^2 s^2 + b^2) for data N(m, s^2), a = sqrt(abar), b = sqrt(1-abar).
struct gaussian_eps_kernel {
  const double* x;
  double* out;
  double am, scale;
  CONTINUA_HD void operator()(std::size_t i) const { out[i] = scale * (x[i] - am); }
};
struct gaussian_model {
  const d::noise_schedule* sched;
  double m, s;
  double am(std::int64_t t) const { return std::sqrt(sched->alpha_bar(t)) * m; }
  double scale(std::int64_t t) const {
    const double ab = sched->alpha_bar(t);
    return std::sqrt(1 - ab) / (ab * s * s + 1 - ab);
  }
  template <class X, class E>
  void operator()(const X& x, std::int64_t t, E& out) const {
    continua::for_each_index(
        continua::memory_space_t<X>{}, continua::size(x),
        gaussian_eps_kernel{continua::data(x), continua::data(out), am(t), scale(t)});
  }
};
// One timestep per sample (time-shift samplers): rows of dim values, per-row (am, scale).
struct per_row_kernel {
  const double* x;
  double* out;
  const double* k;
  std::size_t dim;
  CONTINUA_HD void operator()(std::size_t i) const {
    const double* r = k + 2 * (i / dim);
    out[i] = r[1] * (x[i] - r[0]);
  }
};
struct per_sample_model {
  gaussian_model g;
  std::size_t dim;
  template <class X, class E>
  void operator()(const X& x, std::span<const std::int64_t> t, E& out) const {
    std::vector<double> k(2 * t.size());
    for (std::size_t b = 0; b < t.size(); ++b) k[2 * b] = g.am(t[b]), k[2 * b + 1] = g.scale(t[b]);
    continua::buffer<double, continua::memory_space_t<X>> dk(k.size());
    dk.assign_from_host(k);
    continua::for_each_index(
        continua::memory_space_t<X>{}, continua::size(x),
        per_row_kernel{continua::data(x), continua::data(out), continua::data(dk), dim});
  }
};

std::vector<double> back(const thrust::device_vector<double>& v) {
  return std::vector<double>(v.begin(), v.end());
}

// The device may contract a * x + b * y into an FMA where the host does not: agreement to a few
// ulp of the state's scale per step, far below 1e-12 for these <= 30-step runs.
constexpr double tol = 1e-12;

void check_samplers() {
  const d::noise_schedule sched;
  const gaussian_model gm{&sched, 1.5, 0.4}, other{&sched, -0.5, 0.4};
  const std::size_t batch = 4, dim = 33;
  std::vector<double> x0(batch * dim), scratch(x0.size()), aux(x0.size());
  continua::fill_normal(x0, {.seed = 5});
  const continua::philox_key key{.seed = 6, .stream = 1};
  thrust::device_vector<double> dscratch(x0.size()), daux(x0.size());
  auto fresh = [&] { return thrust::device_vector<double>(x0.begin(), x0.end()); };

  const d::ddpm ddpm(sched, d::make_timesteps(1000, 30));
  std::vector<double> h = x0;
  auto dx = fresh();
  ddpm.sample(gm, h, scratch, batch, key);
  ddpm.sample(gm, dx, dscratch, batch, key);
  continua_cuda_test::compare_arrays("ddpm", back(dx), h, tol);

  const d::ddim ddim(sched, d::make_timesteps(1000, 25), {.eta = 0.7});
  h = x0, dx = fresh();
  ddim.sample(d::guided(gm, other, 2.5, aux), h, scratch, batch, key);
  ddim.sample(d::guided(gm, other, 2.5, daux), dx, dscratch, batch, key);
  continua_cuda_test::compare_arrays("guided ddim (eta 0.7)", back(dx), h, tol);

  const d::bdia bdia(sched, d::make_timesteps(1000, 20), {.gamma = 0.9});
  h = x0, dx = fresh();
  bdia.sample(gm, h, aux, scratch, batch);
  bdia.sample(gm, dx, daux, dscratch, batch);
  continua_cuda_test::compare_arrays("bdia sample", back(dx), h, tol);
  bdia.invert(gm, dx, daux, dscratch, batch, 1e-8);
  continua_cuda_test::compare_arrays("bdia invert", back(dx), x0, 1e-10);

  const d::dpm_solver dpm(sched, d::make_dpm_solver_timesteps(1000, 15));
  h = x0, dx = fresh();
  dpm.sample(gm, h, scratch, aux, batch);
  dpm.sample(gm, dx, dscratch, daux, batch);
  continua_cuda_test::compare_arrays("dpm_solver", back(dx), h, tol);

  const per_sample_model pm{gm, dim};
  std::vector<std::int64_t> ch, dch;
  const d::time_shift_ddim ts(sched, d::make_timesteps(1000, 20),
                              {.window = 30, .cutoff = 100, .eta = 0.3});
  h = x0, dx = fresh();
  ts.sample(pm, h, scratch, batch, key, &ch);
  ts.sample(pm, dx, dscratch, batch, key, &dch);
  CONTINUA_CHECK(ch == dch);
  continua_cuda_test::compare_arrays("time_shift_ddim", back(dx), h, tol);

  const d::time_shift_dpm_solver tsd(sched, d::make_dpm_solver_timesteps(1000, 20),
                                     {.window = 30, .cutoff = 100});
  h = x0, dx = fresh();
  tsd.sample(pm, h, scratch, aux, batch, &ch);
  tsd.sample(pm, dx, dscratch, daux, batch, &dch);
  CONTINUA_CHECK(ch == dch);
  continua_cuda_test::compare_arrays("time_shift_dpm_solver", back(dx), h, tol);
}

// The data-order samplers are host-side; this instantiates them in an nvcc translation unit.
void check_order_samplers() {
  namespace s = continua::sample;
  const s::power_law_rehearsal rehearsal({.alpha = 1.0});
  const std::vector<std::uint64_t> positions = {0, 3, 7};
  std::vector<double> p(positions.size());
  rehearsal.probabilities(positions, 10, p);
  CONTINUA_CHECK_CLOSE(p[0] + p[1] + p[2], 1.0, 1e-12);
  s::learning_progress_sampler lp({.tasks = 3});
  lp.observe(1, 0.5);
  std::vector<double> q(3);
  lp.probabilities(q);
  CONTINUA_CHECK_CLOSE(q[0] + q[1] + q[2], 1.0, 1e-12);
  s::cyclical_curriculum cc({});
  cc.set_difficulty(std::vector<double>{0.3, 0.1, 0.4, 0.2});
  std::vector<std::uint64_t> items(8);
  cc.sample(items);
  for (std::uint64_t it : items) CONTINUA_CHECK(it < 4);
}

}  // namespace

int main() {
  check_order_samplers();
  continua_cuda_test::skip_without_device();
  check_samplers();
  return continua_cuda_test::exit_code("test_diffusion_cuda");
}
