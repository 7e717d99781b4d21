// What the 2-D diffusion examples share: an isotropic Gaussian mixture with its exact noise
// prediction and exact draws, the sliced Wasserstein-2 distance between two samples, and an SVG
// line plot over a log step axis. The noisy marginal of a Gaussian mixture is the mixture of
// N(a mu_k, (a^2 s_k^2 + b^2) I), which gives eps* = -b grad log p_t in closed form.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

#include "continua/core/random.hpp"

namespace continua_examples {

// One isotropic component: weight, mean (mx, my), standard deviation s.
struct mixture_component {
  double w, mx, my, s;
};

// eps*(x, t) = b sum_k r_k(x) (x - a mu_k) / v_k with v_k = a^2 s_k^2 + b^2 and r_k the posterior
// weights, for rows (x, y) of xs at alpha-bar ab (a = sqrt(ab), b = sqrt(1 - ab)).
inline void mixture_epsilon(const std::vector<mixture_component>& mix, double ab, double px,
                            double py, double& ex_out, double& ey_out) {
  const double a = std::sqrt(ab), b = std::sqrt(1 - ab);
  auto log_weight = [&](const mixture_component& c, double v) {
    const double dx = px - a * c.mx, dy = py - a * c.my;
    return std::log(c.w) - std::log(v) - 0.5 * (dx * dx + dy * dy) / v;
  };
  double top = -1e300;  // two passes (max, then the weights): no allocation per point
  for (const mixture_component& c : mix)
    top = std::max(top, log_weight(c, a * a * c.s * c.s + b * b));
  double z = 0, ex = 0, ey = 0;
  for (const mixture_component& c : mix) {
    const double v = a * a * c.s * c.s + b * b, r = std::exp(log_weight(c, v) - top);
    z += r;
    ex += r * (px - a * c.mx) / v;
    ey += r * (py - a * c.my) / v;
  }
  ex_out = b * ex / z;
  ey_out = b * ey / z;
}

// n exact draws (rows (x, y)) of the mixture: component from a Philox uniform, then a normal pair.
inline std::vector<double> mixture_draws(const std::vector<mixture_component>& mix, std::size_t n,
                                         std::uint64_t seed) {
  std::vector<double> u(n), z(2 * n), x(2 * n);
  continua::fill_uniform(u, {.seed = seed, .stream = 0});
  continua::fill_normal(z, {.seed = seed, .stream = 1});
  for (std::size_t i = 0; i < n; ++i) {
    std::size_t k = 0;
    for (double acc = mix[0].w; k + 1 < mix.size() && u[i] >= acc; acc += mix[++k].w) {
    }
    x[2 * i] = mix[k].mx + mix[k].s * z[2 * i];
    x[2 * i + 1] = mix[k].my + mix[k].s * z[2 * i + 1];
  }
  return x;
}

// Sliced Wasserstein-2 between two equal-size 2-D samples (rows (x, y)) over 64 fixed directions.
template <class P, class Q>
double sliced_w2(const std::vector<P>& p, const std::vector<Q>& q) {
  const std::size_t n = p.size() / 2;
  double total = 0;
  std::vector<double> a(n), b(n);
  for (int d = 0; d < 64; ++d) {
    const double th = 3.14159265358979323846 * (d + 0.5) / 64, c = std::cos(th), s = std::sin(th);
    for (std::size_t i = 0; i < n; ++i) {
      a[i] = c * double(p[2 * i]) + s * double(p[2 * i + 1]);
      b[i] = c * double(q[2 * i]) + s * double(q[2 * i + 1]);
    }
    std::sort(a.begin(), a.end());
    std::sort(b.begin(), b.end());
    double w = 0;
    for (std::size_t i = 0; i < n; ++i) w += (a[i] - b[i]) * (a[i] - b[i]);
    total += w / static_cast<double>(n);
  }
  return std::sqrt(total / 64);
}

// One line of a plot: its values at the plot's step counts (<= 0: not drawn).
struct plot_curve {
  std::string name, colour;
  bool dashed = false;
  std::vector<double> values;
};

// Curves against the step count, both axes logarithmic, with a grey reference line at `floor`
// (labelled floor_label) and the legend on the right.
inline void write_step_plot(const std::string& path, const std::vector<std::size_t>& steps,
                            const std::vector<plot_curve>& curves, const std::string& y_label,
                            double floor, const std::string& floor_label) {
  const double W = 680, H = 400, L = 70, R = 190, T = 20, B = 50;
  double lo = floor, hi = floor;
  for (const auto& c : curves)
    for (double v : c.values)
      if (v > 0) lo = std::min(lo, v), hi = std::max(hi, v);
  const double llo = std::log10(lo) - 0.1, lhi = std::log10(hi) + 0.1;
  auto X = [&](double n) {
    return L + (W - L - R) * (std::log10(n) - std::log10(double(steps.front()))) /
                   (std::log10(double(steps.back())) - std::log10(double(steps.front())));
  };
  auto Y = [&](double v) { return T + (H - T - B) * (lhi - std::log10(v)) / (lhi - llo); };
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
  // Ticks at 1, 2, 5 per decade, so a narrow range still has labels.
  for (int e = int(std::floor(llo)); e <= int(std::ceil(lhi)); ++e)
    for (double m : {1.0, 2.0, 5.0}) {
      const double v = m * std::pow(10.0, e), lv = std::log10(v);
      if (lv < llo || lv > lhi) continue;
      f << "<text x='" << L - 6 << "' y='" << Y(v) + 4 << "' text-anchor='end'>" << v
        << "</text>\n";
    }
  f << "<text x='" << (L + W - R) / 2 << "' y='" << H - 8
    << "' text-anchor='middle'>steps</text>\n<text x='14' y='" << (T + H - B) / 2
    << "' transform='rotate(-90 14," << (T + H - B) / 2 << ")' text-anchor='middle'>" << y_label
    << "</text>\n";
  f << "<line x1='" << L << "' y1='" << Y(floor) << "' x2='" << W - R << "' y2='" << Y(floor)
    << "' stroke='gray' stroke-dasharray='4 3'/><text x='" << W - R + 6 << "' y='" << Y(floor) + 4
    << "' fill='gray'>" << floor_label << "</text>\n";
  for (std::size_t c = 0; c < curves.size(); ++c) {
    f << "<polyline fill='none' stroke='" << curves[c].colour << "' stroke-width='2'"
      << (curves[c].dashed ? " stroke-dasharray='6 4'" : "") << " points='";
    for (std::size_t i = 0; i < steps.size(); ++i)
      if (curves[c].values[i] > 0) f << X(double(steps[i])) << "," << Y(curves[c].values[i]) << " ";
    f << "'/>\n<text x='" << W - R + 6 << "' y='" << T + 16 * (c + 1) << "' fill='"
      << curves[c].colour << "'>" << curves[c].name << "</text>\n";
  }
  f << "</svg>\n";
}

}  // namespace continua_examples
