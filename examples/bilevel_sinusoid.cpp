// bilevel_sinusoid: few-shot sinusoid regression with the meta-learners of continua::bilevel
// (MAML, first-order MAML, Reptile, iMAML). The benchmark of Finn, Abbeel & Levine, "Model-Agnostic
// Meta-Learning", ICML 2017, sec. 5.1; Nichol, Achiam & Schulman, "On First-Order Meta-Learning
// Algorithms", 2018 (Reptile); Rajeswaran et al., "Meta-Learning with Implicit Gradients",
// NeurIPS 2019 (iMAML).
//
// Tasks: y = A sin(x - phi), A ~ U[0.1, 5], phi ~ U[0, pi], x ~ U[-5, 5]; K = 10 support shots
// (the adaptation loss) and 10 query shots (the meta-training loss), all drawn from Philox.
// Models: a linear head on fixed random tanh features of x (analytic::random_features, 40
// features and a constant; the task loss is quadratic and its Hessian-vector product exact), and
// a 1-40-1 tanh MLP (Hessian-vector product by a central difference of gradients).
// Meta-training: Adam on the initialisation theta with the averaged meta-gradient of a batch of
// tasks (bilevel::average_meta_gradient). Meta-test: 1000 new tasks, theta adapted by k gradient
// steps on the K support shots, mean squared error on 100 points of [-5, 5].
//
// Usage: bilevel_sinusoid [--iterations N] [--seed S] [--mlp-inner-lr A] [--mlp-outer-lr B]
#include <algorithm>
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
  double mlp_inner_lr = 0.02;
  double mlp_outer_lr = 0.003;
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
    } else if (arg == "--mlp-inner-lr" && has_value) {
      s.mlp_inner_lr = std::strtod(argv[++i], nullptr);
    } else if (arg == "--mlp-outer-lr" && has_value) {
      s.mlp_outer_lr = std::strtod(argv[++i], nullptr);
    } else {
      throw continua::invalid_argument(
          "usage: bilevel_sinusoid [--iterations N] [--seed S] [--mlp-inner-lr A] [--mlp-outer-lr "
          "B]");
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

// One task's draws from a Philox stream: amplitude, phase, then K support and K query abscissae.
struct task_draw {
  double amplitude = 1, phase = 0;
  std::vector<double> xs, ys, xq, yq;
  double operator()(double x) const { return amplitude * std::sin(x - phase); }
};

task_draw draw_task(std::uint64_t seed, std::uint64_t stream, std::uint64_t index) {
  std::vector<double> u(2 + 2 * shots);
  continua::fill_uniform(u, continua::philox_key{seed, stream}, index * 64);
  task_draw t;
  t.amplitude = 0.1 + 4.9 * u[0];
  t.phase = std::numbers::pi * u[1];
  for (std::size_t i = 0; i < shots; ++i) {
    t.xs.push_back(-5 + 10 * u[2 + i]);
    t.xq.push_back(-5 + 10 * u[2 + shots + i]);
    t.ys.push_back(t(t.xs.back()));
    t.yq.push_back(t(t.xq.back()));
  }
  return t;
}

// The linear model's task and grid error.
struct linear_model {
  const feature_map* phi;
  std::size_t size() const { return dim; }
  sinusoid_task task(const task_draw& d) const {
    return {d.amplitude, d.phase, (*phi)(d.xs), d.ys, (*phi)(d.xq), d.yq};
  }
  double error(const params& p, const std::vector<double>& grid,
               const std::vector<double>& grid_y) const {
    return mse((*phi)(grid), grid_y, p, nullptr);
  }
};

// A 1 -> hidden -> 1 tanh MLP, parameters (w1, b1, w2, b2) in one vector.
constexpr std::size_t hidden = 40;
constexpr std::size_t mlp_dim = 3 * hidden + 1;

double mlp_mse(const std::vector<double>& x, const std::vector<double>& y, const params& p,
               params* grad) {
  const double *w1 = p.data(), *b1 = w1 + hidden, *w2 = b1 + hidden, b2 = p[3 * hidden];
  if (grad != nullptr) grad->assign(mlp_dim, 0.0);
  double loss = 0;
  std::array<double, hidden> h{};
  for (std::size_t i = 0; i < x.size(); ++i) {
    double out = b2;
    for (std::size_t j = 0; j < hidden; ++j)
      out += w2[j] * (h[j] = std::tanh(w1[j] * x[i] + b1[j]));
    const double r = out - y[i];
    loss += r * r;
    if (grad == nullptr) continue;
    const double dr = 2 * r / double(x.size());
    double* g = grad->data();
    for (std::size_t j = 0; j < hidden; ++j) {
      const double dpre = dr * w2[j] * (1 - h[j] * h[j]);
      g[j] += dpre * x[i];
      g[hidden + j] += dpre;
      g[2 * hidden + j] += dr * h[j];
    }
    g[3 * hidden] += dr;
  }
  return loss / double(x.size());
}

// An MLP task: the support loss's Hessian-vector product by a central difference of gradients,
// step cbrt(eps) max(1, |p|_inf) / |v|_inf (balances O(h^2) truncation and O(eps/h) rounding).
struct mlp_task {
  std::vector<double> xs, ys, xq, yq;
  void grad(const params& p, params& out) const { mlp_mse(xs, ys, p, &out); }
  void query_grad(const params& p, params& out) const { mlp_mse(xq, yq, p, &out); }
  void hvp(const params& p, const params& v, params& out) const {
    double pmax = 1, vmax = 0;
    for (double e : p) pmax = std::max(pmax, std::abs(e));
    for (double e : v) vmax = std::max(vmax, std::abs(e));
    if (vmax == 0) {
      out.assign(p.size(), 0.0);
      return;
    }
    const double h = std::cbrt(2.2e-16) * pmax / vmax;
    params plus(p), minus(p), gm;
    for (std::size_t j = 0; j < p.size(); ++j) {
      plus[j] += h * v[j];
      minus[j] -= h * v[j];
    }
    mlp_mse(xs, ys, plus, &out);
    mlp_mse(xs, ys, minus, &gm);
    for (std::size_t j = 0; j < p.size(); ++j) out[j] = (out[j] - gm[j]) / (2 * h);
  }
};

struct mlp_model {
  std::size_t size() const { return mlp_dim; }
  mlp_task task(const task_draw& d) const { return {d.xs, d.ys, d.xq, d.yq}; }
  double error(const params& p, const std::vector<double>& grid,
               const std::vector<double>& grid_y) const {
    return mlp_mse(grid, grid_y, p, nullptr);
  }
};

// Adam on theta (from theta0) with the learner's averaged meta-gradient over fresh task batches:
// bilevel::meta_train with a sampler mapping a task index to its draw from Philox stream 1.
template <class Learner, class Model>
params train_meta(const Learner& learner, const Model& model, const settings& cfg, double lr,
                  const params& theta0) {
  params theta(theta0);
  continua::optim::optimizer adam(continua::optim::adam({.lr = lr}), theta);
  const auto sampler = [&](std::uint64_t i) { return model.task(draw_task(cfg.seed, 1, i)); };
  bl::meta_train_state state;
  bl::meta_train(learner, sampler, theta, state, adam,
                 {.outer_steps = cfg.iterations, .tasks_per_step = cfg.meta_batch});
  return theta;
}

// Meta-test MSE on a 100-point grid after k = 0, 1, 5, 10 support steps at step lr, averaged
// over 1000 tasks of a stream used by no training run.
template <class Model>
std::array<double, 4> meta_test(const params& theta, const Model& model, std::uint64_t seed,
                                double lr) {
  constexpr std::array<std::size_t, 4> ks{0, 1, 5, 10};
  std::array<double, 4> err{};
  std::vector<double> grid(100), grid_y(100);
  for (std::size_t i = 0; i < grid.size(); ++i) grid[i] = -5 + 10 * (double(i) + 0.5) / 100;
  constexpr std::size_t tasks = 1000;
  for (std::size_t n = 0; n < tasks; ++n) {
    const task_draw d = draw_task(seed, 2, n);
    const auto t = model.task(d);
    for (std::size_t i = 0; i < grid.size(); ++i) grid_y[i] = d(grid[i]);
    params p = theta, g;
    std::size_t done = 0;
    for (std::size_t e = 0; e < ks.size(); ++e) {
      for (; done < ks[e]; ++done) {
        t.grad(p, g);
        for (std::size_t j = 0; j < p.size(); ++j) p[j] -= lr * g[j];
      }
      err[e] += model.error(p, grid, grid_y) / double(tasks);
    }
  }
  return err;
}

// Meta-trains each learner on one model and prints its meta-test row.
template <class Model>
void compare(const char* title, const Model& model, const params& theta0, double lr,
             double outer_lr, const settings& cfg) {
  std::printf("%s, inner lr %.3g, meta-test MSE over 1000 tasks after k support steps:\n", title,
              lr);
  std::printf("%-28s %-9s %-9s %-9s %-9s %s\n", "learner", "k=0", "k=1", "k=5", "k=10", "time");
  const auto report = [&](const char* name, const params& theta, double seconds) {
    const auto e = meta_test(theta, model, cfg.seed, lr);
    std::printf("%-28s %-9.4f %-9.4f %-9.4f %-9.4f %.1f s\n", name, e[0], e[1], e[2], e[3],
                seconds);
  };
  const auto timed = [&](const char* name, const auto& learner) {
    const auto t0 = std::chrono::steady_clock::now();
    const params theta = train_meta(learner, model, cfg, outer_lr, theta0);
    report(name, theta,
           std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  };
  report("no meta-training (initial)", theta0, 0.0);
  const bl::meta_options five{.inner_steps = 5, .inner_lr = lr};
  timed("MAML (k=5)", bl::maml{five});
  timed("FOMAML (k=5)", bl::fomaml{five});
  timed("Reptile (k=5)", bl::reptile{five});
  timed("iMAML (lambda=0.2, 20 steps)",
        bl::imaml<>{{.lambda = 0.2, .inner_steps = 20, .inner_lr = lr},
                    bl::conjugate_gradient({.rtol = 1e-8, .max_iterations = 50})});
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const settings cfg = parse_args(argc, argv);
    std::printf(
        "Sinusoid few-shot regression: K = %zu shots, %zu meta-iterations x %zu tasks, Adam "
        "(seed %llu)\n",
        shots, cfg.iterations, cfg.meta_batch, static_cast<unsigned long long>(cfg.seed));
    const feature_map phi(cfg.seed);
    compare("linear head on 40 tanh random features + constant", linear_model{&phi},
            params(dim, 0.0), inner_lr, 0.01, cfg);
    // MLP start: w1 ~ N(0, 1), b1 ~ N(0, 4), w2 ~ N(0, 1/hidden), b2 = 0 (Philox streams 20-22).
    params theta0(mlp_dim, 0.0);
    std::vector<double> part(hidden);
    continua::fill_normal(part, continua::philox_key{cfg.seed, 20}, 0, 0.0, 1.0);
    std::copy(part.begin(), part.end(), theta0.begin());
    continua::fill_normal(part, continua::philox_key{cfg.seed, 21}, 0, 0.0, 2.0);
    std::copy(part.begin(), part.end(), theta0.begin() + hidden);
    continua::fill_normal(part, continua::philox_key{cfg.seed, 22}, 0, 0.0,
                          1 / std::sqrt(double(hidden)));
    std::copy(part.begin(), part.end(), theta0.begin() + 2 * hidden);
    compare("1-40-1 tanh MLP", mlp_model{}, theta0, cfg.mlp_inner_lr, cfg.mlp_outer_lr, cfg);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bilevel_sinusoid: %s\n", e.what());
    return 1;
  }
}
