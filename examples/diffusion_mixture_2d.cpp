// Diffusion samplers on a 2-D Gaussian mixture whose exact noise prediction is known in closed
// form (the noisy marginal of a Gaussian mixture is a Gaussian mixture): DDPM, DDIM, DPM-Solver++
// and BDIA at 5 to 1000 steps, sample quality as the sliced Wasserstein-2 distance to exact draws
// of the mixture, an SVG plot of it against the step count, and a BDIA inversion round trip.
//
//   diffusion_mixture_2d [out.svg]      (default diffusion_mixture_2d.svg)
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "common/diffusion_2d.hpp"
#include "continua/core/random.hpp"
#include "continua/sample/diffusion.hpp"

namespace dif = continua::sample::diffusion;

namespace {

using continua_examples::mixture_component;
const std::vector<mixture_component> mixture = {
    {0.5, -2.0, 0.0, 0.5}, {0.3, 2.0, 1.0, 0.3}, {0.2, 0.0, -2.5, 0.7}};

// The exact noise prediction of the mixture (continua_examples::mixture_epsilon), rows (x, y).
struct mixture_eps {
  const dif::noise_schedule* sched;
  void operator()(const std::vector<double>& x, std::int64_t t, std::vector<double>& out) const {
    const double ab = sched->alpha_bar(t);
    for (std::size_t i = 0; i + 1 < x.size(); i += 2)
      continua_examples::mixture_epsilon(mixture, ab, x[i], x[i + 1], out[i], out[i + 1]);
  }
};

}  // namespace

int main(int argc, char** argv) {
  const std::string svg = argc > 1 ? argv[1] : "diffusion_mixture_2d.svg";
  const dif::noise_schedule sched;  // linear betas 1e-4 .. 0.02, T = 1000
  const mixture_eps model{&sched};
  const std::size_t n = 2000;
  const std::vector<double> truth = continua_examples::mixture_draws(mixture, n, 1),
                            truth2 = continua_examples::mixture_draws(mixture, n, 2);
  const double floor = continua_examples::sliced_w2(truth2, truth);
  std::vector<double> xT(2 * n), x, scratch(2 * n), prev(2 * n);
  continua::fill_normal(xT, {.seed = 3});

  const std::vector<std::size_t> steps = {5, 10, 20, 50, 100, 200, 500, 1000};
  const std::vector<std::string> names = {"DDPM", "DDIM", "DPM-Solver++(2M)", "BDIA (gamma 0.5)"};
  std::vector<std::vector<double>> sw(4, std::vector<double>(steps.size()));
  std::printf("sliced W2 to the mixture (n = %zu; two exact samples: %.4f)\n", n, floor);
  std::printf("%6s %10s %10s %18s %18s\n", "steps", "DDPM", "DDIM", "DPM-Solver++(2M)",
              "BDIA (gamma 0.5)");
  for (std::size_t j = 0; j < steps.size(); ++j) {
    const auto ts = dif::make_timesteps(1000, steps[j], dif::timestep_spacing::trailing);
    x = xT;
    dif::ddpm(sched, ts).sample(model, x, scratch, n, {.seed = 4});
    sw[0][j] = continua_examples::sliced_w2(x, truth);
    x = xT;
    dif::ddim(sched, ts).sample(model, x, scratch, n);
    sw[1][j] = continua_examples::sliced_w2(x, truth);
    x = xT;
    dif::dpm_solver(sched, ts).sample(model, x, scratch, prev, n);
    sw[2][j] = continua_examples::sliced_w2(x, truth);
    x = xT;
    dif::bdia(sched, ts, {.gamma = 0.5}).sample(model, x, prev, scratch, n);
    sw[3][j] = continua_examples::sliced_w2(x, truth);
    std::printf("%6zu %10.4f %10.4f %18.4f %18.4f\n", steps[j], sw[0][j], sw[1][j], sw[2][j],
                sw[3][j]);
  }
  const char* colours[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728"};
  std::vector<continua_examples::plot_curve> curves;
  for (std::size_t c = 0; c < 4; ++c) curves.push_back({names[c], colours[c], false, sw[c]});
  continua_examples::write_step_plot(svg, steps, curves, "sliced W2 to the mixture", floor,
                                     "two exact samples");
  std::printf("plot: %s\n", svg.c_str());

  // BDIA inversion: sample with 50 steps (gamma 1), recover x_T from the last two states.
  const dif::bdia exact(sched, dif::make_timesteps(1000, 50, dif::timestep_spacing::trailing));
  x = xT;
  exact.sample(model, x, prev, scratch, n);
  exact.invert(model, x, prev, scratch, n, 1e-10);
  double err = 0, scale = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    err = std::max(err, std::fabs(x[i] - xT[i]));
    scale = std::max(scale, std::fabs(xT[i]));
  }
  std::printf("BDIA (gamma 1, 50 steps) inversion: max |x_T - recovered| / max |x_T| = %.3g\n",
              err / scale);
  return err / scale <= 1e-10 ? 0 : 1;
}
