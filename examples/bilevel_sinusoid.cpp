// bilevel_sinusoid: few-shot sinusoid regression with the meta-learners of continua::bilevel
// (MAML, first-order MAML, Reptile, iMAML). The benchmark of Finn, Abbeel & Levine, "Model-Agnostic
// Meta-Learning", ICML 2017, sec. 5.1; Nichol, Achiam & Schulman, "On First-Order Meta-Learning
// Algorithms", 2018 (Reptile); Rajeswaran et al., "Meta-Learning with Implicit Gradients",
// NeurIPS 2019 (iMAML).
//
// Tasks: y = A sin(x - phi), A ~ U[0.1, 5], phi ~ U[0, pi], x ~ U[-5, 5]; K = 10 support shots
// (the adaptation loss) and 10 query shots (the meta-training loss), all drawn from Philox.
// Model: a linear head on fixed random tanh features of x (analytic::random_features, 40
// features and a constant), so the task loss is quadratic and its Hessian-vector product exact.
// Meta-training: Adam on the initialisation theta with the averaged meta-gradient of a batch of
// tasks (bilevel::average_meta_gradient). Meta-test: 1000 new tasks, theta adapted by k gradient
// steps on the K support shots, mean squared error on 100 points of [-5, 5].
//
// Usage: bilevel_sinusoid [--iterations N] [--seed S]
#include <array>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <numbers>
#include <string_view>
#include <vector>

#include "continua/analytic/random_features.hpp"
#include "continua/bilevel.hpp"
#include "continua/core/error.hpp"
#include "continua/core/random.hpp"
#include "continua/core/span.hpp"
#include "continua/core/std_tensors.hpp"
#include "continua/optim/aliases.hpp"
#include "continua/optim/optimizer.hpp"

namespace {

namespace bl = continua::bilevel;
using continua::matrix_view;
using params = std::vector<double>;

constexpr std::size_t shots = 10;
constexpr std::size_t features = 40;
constexpr std::size_t dim = features + 1;  // with the constant feature
constexpr double inner_lr = 0.9;

struct settings {
  std::size_t iterations = 3000;
  std::size_t meta_batch = 10;
  std::uint64_t seed = 7;
};

settings parse_args(int argc, char** argv) {
  settings s;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    const bool has_value = i + 1 < argc;
    if (arg == "--iterations" && has_value) {
      s.iterations = std::strtoull(argv[++i], nullptr, 10);
    } else if (arg == "--seed" && has_value) {
      s.seed = std::strtoull(argv[++i], nullptr, 10);
    } else {
      throw continua::invalid_argument("usage: bilevel_sinusoid [--iterations N] [--seed S]");
    }
  }
  if (s.iterations == 0) throw continua::invalid_argument("--iterations must be positive");
  return s;
}

// phi(x) = [tanh(w x + b) / sqrt(features), 1 / sqrt(features)]: |phi|^2 <= 1 + 1/40, so each
// task loss has curvature at most 2 (1 + 1/40) and inner_lr = 0.9 is a stable step.
struct feature_map {
  continua::analytic::random_features<double, continua::analytic::tanh_activation> layer;
  explicit feature_map(std::uint64_t seed)
      : layer({.inputs = 1,
               .outputs = features,
               .seed = seed,
               .weight_scale = 1.5,
               .bias_scale = 3.0}) {}
  std::vector<double> operator()(const std::vector<double>& x) const {
    std::vector<double> h(x.size() * features), out(x.size() * dim);
    layer.transform(matrix_view<const double>(x.data(), x.size(), 1),
                    matrix_view<double>(h.data(), x.size(), features));
    const double s = 1 / std::sqrt(double(features));
    for (std::size_t i = 0; i < x.size(); ++i) {
      for (std::size_t j = 0; j < features; ++j) out[i * dim + j] = s * h[i * features + j];
      out[i * dim + features] = s;
    }
    return out;
  }
};

// Mean squared error of the linear head on rows phi (n x dim): value and gradient.
double mse(const std::vector<double>& phi, const std::vector<double>& y, const params& p,
           params* grad) {
  const std::size_t n = y.size();
  if (grad != nullptr) grad->assign(dim, 0.0);
  double loss = 0;
  for (std::size_t i = 0; i < n; ++i) {
    double r = -y[i];
    for (std::size_t j = 0; j < dim; ++j) r += phi[i * dim + j] * p[j];
    loss += r * r;
    if (grad != nullptr)
      for (std::size_t j = 0; j < dim; ++j) (*grad)[j] += 2 * r * phi[i * dim + j] / double(n);
  }
  return loss / double(n);
}

// A sinusoid task: support shots for adaptation (grad, hvp), query shots for the meta-loss.
struct sinusoid_task {
  double amplitude = 1, phase = 0;
  std::vector<double> support_phi, support_y, query_phi, query_y;

  // Members of the meta_task concepts (docs/bilevel.md).
  void grad(const params& p, params& out) const { mse(support_phi, support_y, p, &out); }
  void query_grad(const params& p, params& out) const { mse(query_phi, query_y, p, &out); }
  // The support loss is quadratic: H v = 2/K Phiᵀ Phi v.
  void hvp(const params&, const params& v, params& out) const {
    out.assign(dim, 0.0);
    for (std::size_t i = 0; i < shots; ++i) {
      double pv = 0;
      for (std::size_t j = 0; j < dim; ++j) pv += support_phi[i * dim + j] * v[j];
      for (std::size_t j = 0; j < dim; ++j)
        out[j] += 2 * pv * support_phi[i * dim + j] / double(shots);
    }
  }
};

// Task `index` of a Philox stream: amplitude, phase, then K support and K query abscissae.
sinusoid_task make_task(const feature_map& phi, std::uint64_t seed, std::uint64_t stream,
                        std::uint64_t index) {
  std::vector<double> u(2 + 2 * shots);
  continua::fill_uniform(u, continua::philox_key{seed, stream}, index * 64);
  sinusoid_task t;
  t.amplitude = 0.1 + 4.9 * u[0];
  t.phase = std::numbers::pi * u[1];
  std::vector<double> xs(shots), xq(shots);
  for (std::size_t i = 0; i < shots; ++i) {
    xs[i] = -5 + 10 * u[2 + i];
    xq[i] = -5 + 10 * u[2 + shots + i];
    t.support_y.push_back(t.amplitude * std::sin(xs[i] - t.phase));
    t.query_y.push_back(t.amplitude * std::sin(xq[i] - t.phase));
  }
  t.support_phi = phi(xs);
  t.query_phi = phi(xq);
  return t;
}

// Adam on theta with the learner's averaged meta-gradient over fresh task batches.
template <class Learner>
params meta_train(const Learner& learner, const feature_map& phi, const settings& cfg, double lr) {
  params theta(dim, 0.0), g(dim);
  continua::optim::optimizer adam(continua::optim::adam({.lr = lr}), theta);
  std::vector<sinusoid_task> batch(cfg.meta_batch);
  for (std::size_t it = 0; it < cfg.iterations; ++it) {
    for (std::size_t b = 0; b < cfg.meta_batch; ++b)
      batch[b] = make_task(phi, cfg.seed, 1, it * cfg.meta_batch + b);
    bl::average_meta_gradient(learner, batch, theta, g);
    adam.step(theta, g);
  }
  return theta;
}

// Meta-test MSE on a 100-point grid after k = 0, 1, 5, 10 support steps at inner_lr, averaged
// over 1000 tasks of a stream used by no training run.
std::array<double, 4> meta_test(const params& theta, const feature_map& phi, std::uint64_t seed) {
  constexpr std::array<std::size_t, 4> ks{0, 1, 5, 10};
  std::array<double, 4> err{};
  std::vector<double> grid(100);
  for (std::size_t i = 0; i < grid.size(); ++i) grid[i] = -5 + 10 * (double(i) + 0.5) / 100;
  const std::vector<double> grid_phi = phi(grid);
  constexpr std::size_t tasks = 1000;
  for (std::size_t n = 0; n < tasks; ++n) {
    const sinusoid_task t = make_task(phi, seed, 2, n);
    std::vector<double> grid_y(grid.size());
    for (std::size_t i = 0; i < grid.size(); ++i)
      grid_y[i] = t.amplitude * std::sin(grid[i] - t.phase);
    params p = theta, g;
    std::size_t done = 0;
    for (std::size_t e = 0; e < ks.size(); ++e) {
      for (; done < ks[e]; ++done) {
        t.grad(p, g);
        for (std::size_t j = 0; j < dim; ++j) p[j] -= inner_lr * g[j];
      }
      err[e] += mse(grid_phi, grid_y, p, nullptr) / double(tasks);
    }
  }
  return err;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const settings cfg = parse_args(argc, argv);
    const feature_map phi(cfg.seed);
    std::printf(
        "Sinusoid few-shot regression: K = %zu shots, %zu tanh random features + constant, "
        "inner lr %.2f, %zu meta-iterations x %zu tasks (seed %llu)\n",
        shots, features, inner_lr, cfg.iterations, cfg.meta_batch,
        static_cast<unsigned long long>(cfg.seed));
    std::printf("meta-test MSE over 1000 tasks after k support steps:\n");
    std::printf("%-26s %-9s %-9s %-9s %-9s %s\n", "learner", "k=0", "k=1", "k=5", "k=10", "time");
    const auto report = [&](const char* name, const params& theta, double seconds) {
      const auto e = meta_test(theta, phi, cfg.seed);
      std::printf("%-26s %-9.4f %-9.4f %-9.4f %-9.4f %.1f s\n", name, e[0], e[1], e[2], e[3],
                  seconds);
    };
    const auto timed = [&](const char* name, const auto& learner, double lr) {
      const auto t0 = std::chrono::steady_clock::now();
      const params theta = meta_train(learner, phi, cfg, lr);
      report(name, theta,
             std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    };
    report("no meta-training (theta=0)", params(dim, 0.0), 0.0);
    const bl::meta_options five{.inner_steps = 5, .inner_lr = inner_lr};
    timed("MAML (k=5)", bl::maml{five}, 0.01);
    timed("FOMAML (k=5)", bl::fomaml{five}, 0.01);
    timed("Reptile (k=5)", bl::reptile{five}, 0.01);
    timed("iMAML (lambda=1, CG)",
          bl::imaml<>{{.lambda = 1.0, .inner_steps = 20, .inner_lr = inner_lr},
                      bl::conjugate_gradient({.rtol = 1e-8, .max_iterations = 50})},
          0.01);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bilevel_sinusoid: %s\n", e.what());
    return 1;
  }
}
