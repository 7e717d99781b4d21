// Bayesian logistic regression on two Fashion-MNIST classes (T-shirt/top vs Shirt): posterior
// draws from continua's MCMC kernels (NUTS, HMC, MALA with Stan's warm-up) against the MAP fit by
// continua::optim. Per method: seconds (warm-up + draws), ESS per second and per gradient
// evaluation of the sampling phase, R-hat, test accuracy and expected calibration error of the
// posterior predictive. Features: examples/common/two_class_fashion.hpp (50 dimensions).
//   bayesian_logistic [dataset_dir] [draws] [methods: nuts,hmc,mala,sgld]
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include "common/two_class_fashion.hpp"
#include "continua/core/random.hpp"
#include "continua/core/std_tensors.hpp"
#include "continua/io/fashion_mnist.hpp"
#include "continua/optim.hpp"
#include "continua/sample/diagnostics.hpp"
#include "continua/sample/mcmc.hpp"
#include "continua/sample/targets.hpp"

namespace s = continua::sample;
namespace o = continua::optim;

namespace {

using continua_examples::two_class_data;
constexpr std::size_t dim = two_class_data::dim;

// Posterior predictive p(y = 1 | x) averaged over weight draws (rows of `w`, dim each).
std::vector<double> predictive(const two_class_data& d, const std::vector<double>& w,
                               std::size_t draws) {
  std::vector<double> p(d.n, 0.0);
  for (std::size_t k = 0; k < draws; ++k)
    for (std::size_t i = 0; i < d.n; ++i) {
      double z = 0;
      for (std::size_t j = 0; j < dim; ++j) z += d.x[i * dim + j] * w[k * dim + j];
      p[i] += 1.0 / (1.0 + std::exp(-z));
    }
  for (double& v : p) v /= static_cast<double>(draws);
  return p;
}

double accuracy(const two_class_data& d, const std::vector<double>& p) {
  std::size_t right = 0;
  for (std::size_t i = 0; i < d.n; ++i) right += (p[i] > 0.5) == (d.y[i] > 0.5);
  return static_cast<double>(right) / static_cast<double>(d.n);
}

// Expected calibration error over 15 equal-width bins of the predicted class's confidence.
double calibration_error(const two_class_data& d, const std::vector<double>& p) {
  constexpr int bins = 15;
  std::vector<double> conf(bins, 0), hit(bins, 0), count(bins, 0);
  for (std::size_t i = 0; i < d.n; ++i) {
    const double c = std::max(p[i], 1 - p[i]);
    const int b = std::min(bins - 1, static_cast<int>(c * bins));
    conf[b] += c;
    hit[b] += (p[i] > 0.5) == (d.y[i] > 0.5);
    count[b] += 1;
  }
  double ece = 0;
  for (int b = 0; b < bins; ++b)
    if (count[b] > 0) ece += std::abs(hit[b] - conf[b]) / static_cast<double>(d.n);
  return ece;
}

struct run_result {
  std::vector<double> draws;  // chains x draws x dim
  double seconds = 0;
  double gradient_evaluations = 0;
  double acceptance = 0;
};

// Counts gradient evaluations (one per chain per call) around the real target.
struct counting_target {
  s::targets::logistic_regression<double>* inner;
  double* evaluations;
  void operator()(continua::matrix_view<const double> w, continua::span<double> e,
                  continua::matrix_view<double> g) {
    (*inner)(w, e, g);
    *evaluations += static_cast<double>(w.rows());
  }
};

// Stan's warm-up (dual averaging to `target_acceptance`, windowed diagonal mass), then `draws`
// kept steps; gradient evaluations are counted in the sampling phase, as NumPyro reports them.
template <class Kernel>
run_result run_kernel(Kernel kernel, s::targets::logistic_regression<double>& target,
                      const std::vector<double>& start, std::size_t chains, std::size_t warmup,
                      std::size_t draws, double target_acceptance) {
  run_result r;
  double evaluations = 0;
  counting_target counted{&target, &evaluations};
  const auto t0 = std::chrono::steady_clock::now();
  auto st = kernel.init(continua::as_matrix(start, chains, dim), counted);
  const continua::philox_key key{2026, 1};
  s::window_adaptation adapt({.num_steps = warmup, .target_acceptance = target_acceptance});
  while (!adapt.done()) {
    kernel.step(st, counted, key);
    adapt.update(st);
  }
  evaluations = 0;
  r.draws.assign(chains * draws * dim, 0.0);
  for (std::size_t t = 0; t < draws; ++t) {
    r.acceptance += s::mean_acceptance(kernel.step(st, counted, key));
    const auto pos = st.position.to_host();
    for (std::size_t c = 0; c < chains; ++c)
      std::copy_n(pos.begin() + c * dim, dim, r.draws.begin() + (c * draws + t) * dim);
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  r.gradient_evaluations = evaluations;
  r.acceptance /= static_cast<double>(draws);
  return r;
}

// The minibatch energy SGLD needs: each call draws `batch` training rows per chain (Philox,
// with replacement) and returns (n / batch) times their negative log likelihood plus the prior,
// an unbiased estimate of U and of its gradient.
struct minibatch_logistic {
  const two_class_data* data;
  std::size_t batch;
  std::uint64_t calls = 0;
  double* evaluations;
  void operator()(continua::matrix_view<const double> w, continua::span<double> e,
                  continua::matrix_view<double> g) {
    const double scale = static_cast<double>(data->n) / static_cast<double>(batch);
    for (std::size_t c = 0; c < w.rows(); ++c) {
      double u = 0;
      for (std::size_t j = 0; j < dim; ++j) {
        g(c, j) = w(c, j);  // prior N(0, I)
        u += 0.5 * w(c, j) * w(c, j);
      }
      for (std::size_t b = 0; b < batch; ++b) {
        const std::uint64_t draw = (calls * w.rows() + c) * batch + b;
        const auto i = static_cast<std::size_t>(continua::uniform_draw<double>({2026, 77}, draw) *
                                                static_cast<double>(data->n));
        const double* x = data->x.data() + i * dim;
        double z = 0;
        for (std::size_t j = 0; j < dim; ++j) z += x[j] * w(c, j);
        u += scale * (std::log1p(std::exp(-std::abs(z))) + std::max(z, 0.0) - data->y[i] * z);
        const double r = scale * (1.0 / (1.0 + std::exp(-z)) - data->y[i]);
        for (std::size_t j = 0; j < dim; ++j) g(c, j) += r * x[j];
      }
      e[c] = u;
    }
    ++calls;
    *evaluations +=
        static_cast<double>(w.rows()) * static_cast<double>(batch) / static_cast<double>(data->n);
  }
};

// SGLD with a constant step on minibatches: `warmup` burn-in steps, then `draws` kept steps.
// Gradient evaluations are counted in full-data equivalents (batch / n per call and chain).
run_result run_sgld(const two_class_data& train, const std::vector<double>& start,
                    std::size_t chains, std::size_t warmup, std::size_t draws, double step) {
  run_result r;
  double evaluations = 0;
  minibatch_logistic target{&train, 500, 0, &evaluations};
  const auto t0 = std::chrono::steady_clock::now();
  s::sgld kernel({.step_size = step});
  auto st = kernel.init(continua::as_matrix(start, chains, dim), target);
  const continua::philox_key key{2026, 3};
  for (std::size_t t = 0; t < warmup; ++t) kernel.step(st, target, key);
  evaluations = 0;
  r.draws.assign(chains * draws * dim, 0.0);
  for (std::size_t t = 0; t < draws; ++t) {
    r.acceptance += s::mean_acceptance(kernel.step(st, target, key));
    const auto pos = st.position.to_host();
    for (std::size_t c = 0; c < chains; ++c)
      std::copy_n(pos.begin() + c * dim, dim, r.draws.begin() + (c * draws + t) * dim);
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  r.gradient_evaluations = evaluations;
  r.acceptance /= static_cast<double>(draws);
  return r;
}

void report(const char* name, const run_result& r, std::size_t chains, std::size_t draws,
            const two_class_data& test) {
  double min_ess = 1e300, max_rhat = 0;
  std::vector<double> column(chains * draws);
  for (std::size_t j = 0; j < dim; ++j) {
    for (std::size_t c = 0; c < chains; ++c)
      for (std::size_t t = 0; t < draws; ++t)
        column[c * draws + t] = r.draws[(c * draws + t) * dim + j];
    min_ess = std::min(min_ess, s::ess_bulk(column, chains, draws));
    max_rhat = std::max(max_rhat, s::rhat(column, chains, draws));
  }
  const auto p = predictive(test, r.draws, chains * draws);
  std::printf("%-6s %8.2f %8.3f %10.1f %10.2f %10.5f %7.4f %9.4f %7.4f\n", name, r.seconds,
              r.acceptance, min_ess, min_ess / r.seconds, min_ess / r.gradient_evaluations,
              max_rhat, accuracy(test, p), calibration_error(test, p));
}

}  // namespace

int main(int argc, char** argv) {
  const std::string dir = argc > 1 ? argv[1] : "/usr/share/datasets/fashion-mnist";
  const std::size_t draws = argc > 2 ? std::strtoul(argv[2], nullptr, 10) : 1000;
  const std::string methods = argc > 3 ? argv[3] : "nuts,hmc,mala,sgld";
  const std::size_t chains = 4, warmup = draws;
  const auto wanted = [&](const char* m) { return methods.find(m) != std::string::npos; };
  try {
    auto train = continua_examples::pooled_two_classes(
        continua::io::load_fashion_mnist(dir, continua::io::dataset_split::train));
    auto test = continua_examples::pooled_two_classes(
        continua::io::load_fashion_mnist(dir, continua::io::dataset_split::test));
    continua_examples::standardise(train, test);
    std::printf("T-shirt/top vs Shirt: %zu training and %zu test images, %zu dimensions\n", train.n,
                test.n, dim);
    s::targets::logistic_regression<double> target(train.x, train.y, train.n, dim,
                                                   {.prior_stddev = 1.0});

    // MAP by Adam on the same energy (one "chain").
    std::vector<double> w(dim, 0.0), grad(dim), energy(1);
    o::optimizer opt(o::adam({.lr = 0.05}), w);
    const auto t0 = std::chrono::steady_clock::now();
    for (int it = 0; it < 2000; ++it) {
      target(continua::matrix_view<const double>(w.data(), 1, dim),
             continua::span<double>(energy.data(), 1),
             continua::matrix_view<double>(grad.data(), 1, dim));
      opt.step(w, grad);
    }
    const double map_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const auto p_map = predictive(test, w, 1);
    std::printf(
        "MAP (Adam, 2000 full-batch steps, %.2f s): energy %.2f, test accuracy %.4f, "
        "ECE %.4f\n\n",
        map_seconds, energy[0], accuracy(test, p_map), calibration_error(test, p_map));

    // Chains start near the MAP, jittered, as a user would after an optimiser.
    std::vector<double> start(chains * dim);
    for (std::size_t i = 0; i < start.size(); ++i)
      start[i] = w[i % dim] + 0.1 * continua::normal_draw<double>({7, 7}, i);

    std::printf("%-6s %8s %8s %10s %10s %10s %7s %9s %7s\n", "method", "seconds", "accept",
                "min ESS", "ESS/s", "ESS/grad", "R-hat", "accuracy", "ECE");
    if (wanted("nuts"))
      report("NUTS",
             run_kernel(s::nuts({.step_size = 0.01}), target, start, chains, warmup, draws, 0.8),
             chains, draws, test);
    if (wanted("hmc"))
      report("HMC",
             run_kernel(s::hmc({.step_size = 0.01, .num_steps = 16, .jitter = 0.5}), target, start,
                        chains, warmup, draws, 0.8),
             chains, draws, test);
    if (wanted("mala"))
      report("MALA",
             run_kernel(s::mala({.step_size = 1e-3}), target, start, chains, warmup, draws, 0.574),
             chains, draws, test);
    if (wanted("sgld"))
      report("SGLD", run_sgld(train, start, chains, warmup, draws, 1e-4), chains, draws, test);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bayesian_logistic: %s\n", e.what());
    return 1;
  }
}
