// An energy-based model of a ring of 8 Gaussians trained two ways with continua::sample::ebm:
// persistent contrastive divergence (Du & Mordatch 2019) and diffusion recovery likelihood
// (Gao et al. 2021). Writes an SVG of data vs samples and prints per-mode sample fractions.
//
// The energy is a parametric mixture, E(x) = -log sum_k exp(b_k - |x - mu_k|^2 / (2 s^2)), with
// theta = (mu_k, b_k, log s): 25 numbers, its gradients in x and theta in closed form. Recovery
// likelihood learns one such energy per noise level (a ring convolved with Gaussian noise and
// scaled is again such a mixture, so each level's marginal is representable).
//
//   ebm_ring [out.svg] [iterations]
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "continua/core/random.hpp"
#include "continua/core/std_tensors.hpp"
#include "continua/optim.hpp"
#include "continua/sample/ebm.hpp"
#include "continua/sample/mcmc.hpp"

namespace s = continua::sample;
namespace ebm = continua::sample::ebm;
namespace o = continua::optim;
using continua::matrix_view;
using continua::span;

namespace {

constexpr std::size_t modes = 8;
constexpr std::size_t params = 2 * modes + modes + 1;  // mu (8 x 2), b (8), log s
constexpr double ring_radius = 2.0, ring_sd = 0.15;

// The mixture energy of one parameter vector theta (layout above).
struct mixture {
  // Responsibilities r_k, squared distances and the energy at point (x0, x1).
  static double eval(const std::vector<double>& th, double x0, double x1,
                     std::array<double, modes>& r, std::array<double, modes>& d2) {
    const double inv_var = std::exp(-2 * th[3 * modes]);
    double top = -1e300;
    for (std::size_t k = 0; k < modes; ++k) {
      const double a = x0 - th[2 * k], b = x1 - th[2 * k + 1];
      d2[k] = a * a + b * b;
      r[k] = th[2 * modes + k] - 0.5 * inv_var * d2[k];
      top = std::max(top, r[k]);
    }
    double sum = 0;
    for (auto& v : r) sum += (v = std::exp(v - top));
    for (auto& v : r) v /= sum;
    return -(top + std::log(sum));
  }

  // Energies and x-gradients of a batch: dE/dx = sum_k r_k (x - mu_k) / s^2.
  static void energy(const std::vector<double>& th, matrix_view<const double> x, span<double> e,
                     matrix_view<double> g) {
    const double inv_var = std::exp(-2 * th[3 * modes]);
    std::array<double, modes> r, d2;
    for (std::size_t c = 0; c < x.rows(); ++c) {
      e[c] = eval(th, x(c, 0), x(c, 1), r, d2);
      double g0 = 0, g1 = 0;
      for (std::size_t k = 0; k < modes; ++k) {
        g0 += r[k] * (x(c, 0) - th[2 * k]) * inv_var;
        g1 += r[k] * (x(c, 1) - th[2 * k + 1]) * inv_var;
      }
      g(c, 0) = g0;
      g(c, 1) = g1;
    }
  }

  // weight * sum_rows dE/dtheta into grads: dE/dmu_k = -r_k (x - mu_k) / s^2, dE/db_k = -r_k,
  // dE/dlog s = -sum_k r_k |x - mu_k|^2 / s^2.
  static void parameter_gradient(const std::vector<double>& th, matrix_view<const double> x,
                                 double weight, std::vector<double>& grads) {
    const double inv_var = std::exp(-2 * th[3 * modes]);
    std::array<double, modes> r, d2;
    for (std::size_t c = 0; c < x.rows(); ++c) {
      eval(th, x(c, 0), x(c, 1), r, d2);
      for (std::size_t k = 0; k < modes; ++k) {
        grads[2 * k] -= weight * r[k] * (x(c, 0) - th[2 * k]) * inv_var;
        grads[2 * k + 1] -= weight * r[k] * (x(c, 1) - th[2 * k + 1]) * inv_var;
        grads[2 * modes + k] -= weight * r[k];
        grads[3 * modes] -= weight * r[k] * d2[k] * inv_var;
      }
    }
  }
};

// One energy (persistent CD): target and energy_model at once.
struct single_energy {
  std::vector<double>* theta;
  void operator()(matrix_view<const double> x, span<double> e, matrix_view<double> g) const {
    mixture::energy(*theta, x, e, g);
  }
  void accumulate_parameter_gradient(matrix_view<const double> x, double w,
                                     std::vector<double>& grads) const {
    mixture::parameter_gradient(*theta, x, w, grads);
  }
};

// One energy per level (recovery likelihood): a level_conditional_target, and per level an
// energy_model for the CD-form gradient.
struct level_energies {
  std::vector<std::vector<double>>* theta;
  void operator()(matrix_view<const double> y, std::size_t t, span<double> e,
                  matrix_view<double> g) const {
    mixture::energy((*theta)[t], y, e, g);
  }
};
struct level_model {
  const std::vector<double>* theta;
  void accumulate_parameter_gradient(matrix_view<const double> x, double w,
                                     std::vector<double>& grads) const {
    mixture::parameter_gradient(*theta, x, w, grads);
  }
};

std::vector<double> ring_data(std::size_t n, continua::philox_key key) {
  std::vector<double> x(2 * n);
  const double pi = std::acos(-1.0);
  for (std::size_t i = 0; i < n; ++i) {
    const auto k = static_cast<std::size_t>(continua::uniform_draw<double>(key, i) * modes);
    const double angle = 2 * pi * static_cast<double>(k) / modes;
    x[2 * i] = ring_radius * std::cos(angle) + ring_sd * continua::normal_draw<double>(key, 2 * i);
    x[2 * i + 1] =
        ring_radius * std::sin(angle) + ring_sd * continua::normal_draw<double>(key, 2 * i + 1);
  }
  return x;
}

std::vector<double> initial_theta(continua::philox_key key) {
  std::vector<double> th(params, 0.0);
  for (std::size_t j = 0; j < 2 * modes; ++j) th[j] = 0.5 * continua::normal_draw<double>(key, j);
  th[3 * modes] = 0.0;  // s = 1
  return th;
}

// Fractions of samples nearest each ring mode, and of samples within 3 sd of a mode.
struct mode_report {
  std::array<double, modes> fraction{};
  double near = 0;
};
mode_report report(const std::vector<double>& x) {
  mode_report r;
  const double pi = std::acos(-1.0);
  const std::size_t n = x.size() / 2;
  for (std::size_t i = 0; i < n; ++i) {
    double best = 1e300;
    std::size_t arg = 0;
    for (std::size_t k = 0; k < modes; ++k) {
      const double angle = 2 * pi * static_cast<double>(k) / modes;
      const double a = x[2 * i] - ring_radius * std::cos(angle);
      const double b = x[2 * i + 1] - ring_radius * std::sin(angle);
      if (a * a + b * b < best) best = a * a + b * b, arg = k;
    }
    r.fraction[arg] += 1.0 / static_cast<double>(n);
    if (std::sqrt(best) < 3 * ring_sd) r.near += 1.0 / static_cast<double>(n);
  }
  return r;
}

void print_report(const char* name, const std::vector<double>& x) {
  const mode_report r = report(x);
  std::printf("%-22s within 3 sd of a mode %.3f   mode fractions", name, r.near);
  for (double f : r.fraction) std::printf(" %.3f", f);
  std::printf("\n");
}

void write_svg(const std::string& path, const std::vector<std::vector<double>>& panels,
               const std::vector<std::string>& titles) {
  std::ofstream out(path);
  const double w = 300, h = 320, scale = 60;  // 1 unit = 60 px, view [-2.5, 2.5]^2
  out << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << w * panels.size() << "\" height=\""
      << h << "\" font-family=\"sans-serif\" font-size=\"14\">\n";
  const char* colours[] = {"#0072B2", "#D55E00", "#009E73"};
  for (std::size_t p = 0; p < panels.size(); ++p) {
    const double ox = w * p + w / 2, oy = 20 + w / 2;
    out << "<rect x=\"" << w * p + 5 << "\" y=\"25\" width=\"" << w - 10 << "\" height=\"" << w - 10
        << "\" fill=\"none\" stroke=\"#999\"/>\n";
    out << "<text x=\"" << ox << "\" y=\"18\" text-anchor=\"middle\">" << titles[p] << "</text>\n";
    const auto& x = panels[p];
    for (std::size_t i = 0; i + 1 < x.size() && i < 2 * 2000; i += 2) {
      const double px = ox + scale * x[i], py = oy - scale * x[i + 1];
      if (px < w * p + 5 || px > w * (p + 1) - 5 || py < 25 || py > w + 15) continue;
      out << "<circle cx=\"" << px << "\" cy=\"" << py << "\" r=\"1.3\" fill=\"" << colours[p % 3]
          << "\" fill-opacity=\"0.5\"/>\n";
    }
  }
  out << "</svg>\n";
  if (!out) throw std::runtime_error("cannot write " + path);
}

// Persistent CD: chains from the buffer, 20 MALA steps, CD gradient, Adam.
std::vector<double> train_persistent_cd(const std::vector<double>& data, int iterations) {
  std::vector<double> theta = initial_theta({1, 0}), grads(params);
  single_energy energy{&theta};
  ebm::persistent_chains<double> buf({.capacity = 10000,
                                      .dim = 2,
                                      .reinit_probability = 0.05,
                                      .low = -3.0,
                                      .high = 3.0,
                                      .seed = {1, 1}});
  o::optimizer opt(o::adam({.lr = 0.02}), theta);
  const s::mala k({.step_size = 0.02});
  const std::size_t batch = 512, n_data = data.size() / 2;
  std::vector<double> x(2 * batch), d(2 * batch);
  for (int it = 0; it < iterations; ++it) {
    buf.draw(x);
    auto st = k.init(continua::as_matrix(x, batch, 2), energy);
    for (int j = 0; j < 20; ++j) k.step(st, energy, {1, 100 + static_cast<std::uint64_t>(it)});
    x = st.position.to_host();
    buf.write_back(x);
    for (std::size_t i = 0; i < batch; ++i) {  // a data minibatch
      const auto r = static_cast<std::size_t>(
          continua::uniform_draw<double>({1, 2}, it * batch + i) * static_cast<double>(n_data));
      d[2 * i] = data[2 * r];
      d[2 * i + 1] = data[2 * r + 1];
    }
    ebm::contrastive_divergence_gradient(energy, continua::as_matrix(d, batch, 2),
                                         continua::as_matrix(x, batch, 2), grads);
    opt.step(theta, grads);
  }
  // Samples: fresh chains from uniform noise, long MALA runs on the learned energy.
  std::vector<double> y(2 * 2000);
  continua::fill_uniform(y, {1, 3}, 0, -3.0, 3.0);
  auto st = k.init(continua::as_matrix(y, 2000, 2), energy);
  for (int j = 0; j < 2000; ++j) k.step(st, energy, {1, 4});
  std::printf("persistent CD: s = %.3f (data %.3f)\n", std::exp(theta[3 * modes]), ring_sd);
  return st.position.to_host();
}

// Recovery likelihood: 6 levels, one mixture energy per level, K = 50 conditional steps of
// s_t = b sigma_t with b = 0.15. A larger b (0.6) lets the top level's chains explode once its
// energy sharpens (the drift b^2 sigma^2 / (2 s_mix^2) passes 2), and training then runs away.
std::vector<double> train_recovery_likelihood(const std::vector<double>& data, int iterations) {
  const ebm::recovery_likelihood rl(
      {.sigmas = {0.2, 0.3, 0.45, 0.6, 0.75, 0.9}, .langevin_steps = 50, .step_coefficient = 0.15});
  const std::size_t T = rl.levels(), batch = 512, n_data = data.size() / 2;
  std::vector<std::vector<double>> theta(T);
  for (std::size_t t = 0; t < T; ++t) theta[t] = initial_theta({2, t});
  level_energies energy{&theta};
  std::vector<o::optimizer<decltype(o::adam({})), std::vector<double>>> opts;
  for (std::size_t t = 0; t < T; ++t) opts.emplace_back(o::adam({.lr = 0.02}), theta[t]);
  std::vector<double> x(2 * batch), y(2 * batch), noisy(2 * batch), samples(2 * batch),
      grads(params);
  for (int it = 0; it < iterations; ++it) {
    for (std::size_t i = 0; i < batch; ++i) {
      const auto r = static_cast<std::size_t>(
          continua::uniform_draw<double>({2, 100}, it * batch + i) * static_cast<double>(n_data));
      x[2 * i] = data[2 * r];
      x[2 * i + 1] = data[2 * r + 1];
    }
    for (std::size_t t = 0; t < T; ++t) {  // x holds x_t; diffuse to y_t and x_{t+1}
      const std::uint64_t stream = 1000 + static_cast<std::uint64_t>(it) * T + t;
      rl.diffuse(x, t, y, noisy, {3, stream});
      rl.recover(continua::as_matrix(noisy, batch, 2), t, energy,
                 continua::as_matrix(samples, batch, 2), {4, stream}, ebm::start_at_noisy{});
      level_model model{&theta[t]};
      ebm::contrastive_divergence_gradient(model, continua::as_matrix(y, batch, 2),
                                           continua::as_matrix(samples, batch, 2), grads);
      opts[t].step(theta[t], grads);
      x = noisy;
    }
  }
  std::printf("recovery likelihood: s per level");
  for (std::size_t t = 0; t < T; ++t) std::printf(" %.3f", std::exp(theta[t][3 * modes]));
  std::printf("\n");
  // Samples: x_T ~ N(0, I), then down the levels.
  std::vector<double> z(2 * 2000);
  continua::fill_normal(z, {5, 0});
  const auto refused = rl.generate(continua::as_matrix(z, 2000, 2), energy, {5, 1});
  std::printf("recovery likelihood: %zu proposals refused while generating\n", refused);
  return z;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string path = argc > 1 ? argv[1] : "ebm_ring.svg";
  const int iterations = argc > 2 ? std::atoi(argv[2]) : 400;
  try {
    const std::vector<double> data = ring_data(20000, {7, 0});
    const auto cd = train_persistent_cd(data, iterations);
    const auto rl = train_recovery_likelihood(data, iterations);
    print_report("data", data);
    print_report("persistent CD", cd);
    print_report("recovery likelihood", rl);
    write_svg(path, {data, cd, rl}, {"data", "persistent CD", "recovery likelihood"});
    std::printf("wrote %s\n", path.c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ebm_ring: %s\n", e.what());
    return 1;
  }
}
