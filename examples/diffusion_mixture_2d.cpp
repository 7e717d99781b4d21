// Diffusion samplers on a 2-D Gaussian mixture whose exact noise prediction is known in closed
// form (the noisy marginal of a Gaussian mixture is a Gaussian mixture): DDPM, DDIM, DPM-Solver++
// and BDIA at 5 to 1000 steps, sample quality as the sliced Wasserstein-2 distance to exact draws
// of the mixture, an SVG plot of it against the step count, and a BDIA inversion round trip.
//
//   diffusion_mixture_2d [out.svg]      (default diffusion_mixture_2d.svg)
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "continua/core/random.hpp"
#include "continua/sample/diffusion.hpp"

namespace dif = continua::sample::diffusion;

namespace {

struct component {
  double w, mx, my, s;  // weight, mean, isotropic standard deviation
};
const component mixture[] = {{0.5, -2.0, 0.0, 0.5}, {0.3, 2.0, 1.0, 0.3}, {0.2, 0.0, -2.5, 0.7}};

// eps*(x, t) = -sqrt(1 - abar) grad log p_t(x) with p_t = sum_k w_k N(a mu_k, (a^2 s_k^2 + b^2) I):
// eps* = b sum_k r_k(x) (x - a mu_k) / v_k, r_k the posterior weights. Rows of (x, y).
struct mixture_eps {
  const dif::noise_schedule* sched;
  void operator()(const std::vector<double>& x, std::int64_t t, std::vector<double>& out) const {
    const double ab = sched->alpha_bar(t), a = std::sqrt(ab), b = std::sqrt(1 - ab);
    for (std::size_t i = 0; i + 1 < x.size(); i += 2) {
      double logw[3], vk[3], top = -1e300;
      for (int k = 0; k < 3; ++k) {
        const component& c = mixture[k];
        vk[k] = a * a * c.s * c.s + b * b;
        const double dx = x[i] - a * c.mx, dy = x[i + 1] - a * c.my;
        logw[k] = std::log(c.w) - std::log(vk[k]) - 0.5 * (dx * dx + dy * dy) / vk[k];
        top = std::max(top, logw[k]);
      }
      double z = 0, ex = 0, ey = 0;
      for (int k = 0; k < 3; ++k) {
        const double r = std::exp(logw[k] - top);
        z += r;
        ex += r * (x[i] - a * mixture[k].mx) / vk[k];
        ey += r * (x[i + 1] - a * mixture[k].my) / vk[k];
      }
      out[i] = b * ex / z;
      out[i + 1] = b * ey / z;
    }
  }
};

// n exact draws of the mixture (Philox: component from a uniform, then a normal pair).
std::vector<double> exact_draws(std::size_t n, std::uint64_t seed) {
  std::vector<double> u(n), z(2 * n), x(2 * n);
  continua::fill_uniform(u, {.seed = seed, .stream = 0});
  continua::fill_normal(z, {.seed = seed, .stream = 1});
  for (std::size_t i = 0; i < n; ++i) {
    int k = 0;
    for (double acc = mixture[0].w; k < 2 && u[i] >= acc; acc += mixture[++k].w) {
    }
    x[2 * i] = mixture[k].mx + mixture[k].s * z[2 * i];
    x[2 * i + 1] = mixture[k].my + mixture[k].s * z[2 * i + 1];
  }
  return x;
}

// Sliced Wasserstein-2 between two equal-size 2-D samples over 64 fixed directions.
double sliced_w2(const std::vector<double>& p, const std::vector<double>& q) {
  const std::size_t n = p.size() / 2;
  double total = 0;
  std::vector<double> a(n), b(n);
  for (int d = 0; d < 64; ++d) {
    const double th = 3.14159265358979323846 * (d + 0.5) / 64, c = std::cos(th), s = std::sin(th);
    for (std::size_t i = 0; i < n; ++i) {
      a[i] = c * p[2 * i] + s * p[2 * i + 1];
      b[i] = c * q[2 * i] + s * q[2 * i + 1];
    }
    std::sort(a.begin(), a.end());
    std::sort(b.begin(), b.end());
    double w = 0;
    for (std::size_t i = 0; i < n; ++i) w += (a[i] - b[i]) * (a[i] - b[i]);
    total += w / static_cast<double>(n);
  }
  return std::sqrt(total / 64);
}

void write_svg(const std::string& path, const std::vector<std::size_t>& steps,
               const std::vector<std::vector<double>>& curves,
               const std::vector<std::string>& names, double floor) {
  const double W = 640, H = 400, L = 70, R = 150, T = 20, B = 50;
  double lo = floor, hi = floor;
  for (const auto& c : curves)
    for (double v : c) lo = std::min(lo, v), hi = std::max(hi, v);
  const double llo = std::log10(lo) - 0.1, lhi = std::log10(hi) + 0.1;
  auto X = [&](double n) {
    return L + (W - L - R) * (std::log10(n) - std::log10(double(steps.front()))) /
                   (std::log10(double(steps.back())) - std::log10(double(steps.front())));
  };
  auto Y = [&](double v) { return T + (H - T - B) * (lhi - std::log10(v)) / (lhi - llo); };
  const char* colours[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728"};
  std::ofstream f(path);
  f << "<svg xmlns='http://www.w3.org/2000/svg' width='" << W << "' height='" << H
    << "' font-family='sans-serif' font-size='12'>\n<rect width='100%' height='100%' "
       "fill='white'/>\n";
  f << "<line x1='" << L << "' y1='" << H - B << "' x2='" << W - R << "' y2='" << H - B
    << "' stroke='black'/><line x1='" << L << "' y1='" << T << "' x2='" << L << "' y2='" << H - B
    << "' stroke='black'/>\n";
  for (std::size_t n : steps)
    f << "<text x='" << X(double(n)) << "' y='" << H - B + 16 << "' text-anchor='middle'>" << n
      << "</text>\n";
  for (int e = int(std::ceil(llo)); e <= int(std::floor(lhi)); ++e)
    f << "<text x='" << L - 6 << "' y='" << Y(std::pow(10.0, e)) + 4 << "' text-anchor='end'>1e"
      << e << "</text>\n";
  f << "<text x='" << (L + W - R) / 2 << "' y='" << H - 8
    << "' text-anchor='middle'>steps</text>\n<text x='14' y='" << (T + H - B) / 2
    << "' transform='rotate(-90 14," << (T + H - B) / 2
    << ")' text-anchor='middle'>sliced W2 to the mixture</text>\n";
  f << "<line x1='" << L << "' y1='" << Y(floor) << "' x2='" << W - R << "' y2='" << Y(floor)
    << "' stroke='gray' stroke-dasharray='4 3'/><text x='" << W - R + 6 << "' y='" << Y(floor) + 4
    << "' fill='gray'>two exact samples</text>\n";
  for (std::size_t c = 0; c < curves.size(); ++c) {
    f << "<polyline fill='none' stroke='" << colours[c] << "' stroke-width='2' points='";
    for (std::size_t i = 0; i < steps.size(); ++i)
      if (curves[c][i] > 0) f << X(double(steps[i])) << "," << Y(curves[c][i]) << " ";
    f << "'/>\n<text x='" << W - R + 6 << "' y='" << T + 16 * (c + 1) << "' fill='" << colours[c]
      << "'>" << names[c] << "</text>\n";
  }
  f << "</svg>\n";
}

}  // namespace

int main(int argc, char** argv) {
  const std::string svg = argc > 1 ? argv[1] : "diffusion_mixture_2d.svg";
  const dif::noise_schedule sched;  // linear betas 1e-4 .. 0.02, T = 1000
  const mixture_eps model{&sched};
  const std::size_t n = 2000;
  const std::vector<double> truth = exact_draws(n, 1), truth2 = exact_draws(n, 2);
  const double floor = sliced_w2(truth2, truth);
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
    sw[0][j] = sliced_w2(x, truth);
    x = xT;
    dif::ddim(sched, ts).sample(model, x, scratch, n);
    sw[1][j] = sliced_w2(x, truth);
    x = xT;
    dif::dpm_solver(sched, ts).sample(model, x, scratch, prev, n);
    sw[2][j] = sliced_w2(x, truth);
    x = xT;
    dif::bdia(sched, ts, {.gamma = 0.5}).sample(model, x, prev, scratch, n);
    sw[3][j] = sliced_w2(x, truth);
    std::printf("%6zu %10.4f %10.4f %18.4f %18.4f\n", steps[j], sw[0][j], sw[1][j], sw[2][j],
                sw[3][j]);
  }
  write_svg(svg, steps, sw, names, floor);
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
