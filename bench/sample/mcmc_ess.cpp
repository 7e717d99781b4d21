// ESS per second of continua's NUTS on the targets of bench/peers/numpyro_mcmc.py, with the same
// settings (4 chains, Stan's warm-up to acceptance 0.8, the same draws) so the two can be read
// side by side:
//   gauss100  100-d Gaussian, independent coordinates, standard deviations log-spaced 1..100
//             (condition number 1e4)
//   logistic  Bayesian logistic regression, Fashion-MNIST T-shirt/top vs Shirt, 50 dimensions
//             (examples/common/two_class_fashion.hpp), prior N(0, I)
// Prints wall seconds (warm-up + draws), min bulk ESS over coordinates, ESS/s, gradient
// evaluations in the sampling phase, ESS per gradient and max R-hat.
//   mcmc_ess [warmup] [draws] [dataset_dir]
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "../../examples/common/two_class_fashion.hpp"
#include "continua/core/random.hpp"
#include "continua/core/std_tensors.hpp"
#include "continua/sample/diagnostics.hpp"
#include "continua/sample/mcmc.hpp"
#include "continua/sample/targets.hpp"

namespace s = continua::sample;

namespace {

// Counts gradient evaluations (one per chain row per call) around a target.
template <class Target>
struct counting {
  Target* inner;
  double* evaluations;
  void operator()(continua::matrix_view<const double> x, continua::span<double> e,
                  continua::matrix_view<double> g) {
    (*inner)(x, e, g);
    *evaluations += static_cast<double>(x.rows());
  }
};

template <class Target>
void run(const char* name, Target& target, std::size_t dim, std::size_t warmup, std::size_t draws) {
  constexpr std::size_t chains = 4;
  double evaluations = 0;
  counting<Target> counted{&target, &evaluations};
  std::vector<double> start(chains * dim);
  for (std::size_t i = 0; i < start.size(); ++i)
    start[i] = 0.1 * continua::normal_draw<double>({2026, 99}, i);
  const auto t0 = std::chrono::steady_clock::now();
  s::nuts kernel({.step_size = 0.1});
  auto st = kernel.init(continua::as_matrix(start, chains, dim), counted);
  s::window_adaptation adapt({.num_steps = warmup});
  const continua::philox_key key{2026, 5};
  while (!adapt.done()) {
    kernel.step(st, counted, key);
    adapt.update(st);
  }
  evaluations = 0;
  std::vector<double> kept(chains * draws * dim);
  for (std::size_t t = 0; t < draws; ++t) {
    kernel.step(st, counted, key);
    const double* p = st.position.data();
    for (std::size_t c = 0; c < chains; ++c)
      std::copy_n(p + c * dim, dim, kept.begin() + (c * draws + t) * dim);
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  double min_ess = 1e300, max_rhat = 0;
  std::vector<double> column(chains * draws);
  for (std::size_t j = 0; j < dim; ++j) {
    for (std::size_t c = 0; c < chains; ++c)
      for (std::size_t t = 0; t < draws; ++t)
        column[c * draws + t] = kept[(c * draws + t) * dim + j];
    min_ess = std::min(min_ess, s::ess_bulk(column, chains, draws));
    max_rhat = std::max(max_rhat, s::rhat(column, chains, draws));
  }
  std::printf(
      "%-9s run %7.2f s, min ESS %8.1f, ESS/s %9.2f, sampling grads %9.0f, ESS/grad %.5f, "
      "max R-hat %.4f\n",
      name, seconds, min_ess, min_ess / seconds, evaluations, min_ess / evaluations, max_rhat);
}

}  // namespace

int main(int argc, char** argv) {
  const std::size_t warmup = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 1000;
  const std::size_t draws = argc > 2 ? std::strtoul(argv[2], nullptr, 10) : 1000;
  const std::string dir = argc > 3 ? argv[3] : "/usr/share/datasets/fashion-mnist";
  try {
    std::printf("continua NUTS (max depth 10), 4 chains, %zu warmup, %zu draws\n", warmup, draws);
    constexpr std::size_t d = 100;
    std::vector<double> mean(d, 0.0), cov(d * d, 0.0);
    for (std::size_t i = 0; i < d; ++i) {
      const double sd = std::pow(10.0, 2.0 * static_cast<double>(i) / (d - 1));
      cov[i * d + i] = sd * sd;
    }
    s::targets::gaussian<double> gauss(mean, cov);
    run("gauss100", gauss, d, warmup, draws);

    auto train = continua_examples::pooled_two_classes(
        continua::io::load_fashion_mnist(dir, continua::io::dataset_split::train));
    auto test = continua_examples::pooled_two_classes(
        continua::io::load_fashion_mnist(dir, continua::io::dataset_split::test));
    continua_examples::standardise(train, test);
    constexpr std::size_t dim = continua_examples::two_class_data::dim;
    s::targets::logistic_regression<double> logistic(train.x, train.y, train.n, dim,
                                                     {.prior_stddev = 1.0});
    run("logistic", logistic, dim, warmup, draws);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mcmc_ess: %s\n", e.what());
    return 1;
  }
}
