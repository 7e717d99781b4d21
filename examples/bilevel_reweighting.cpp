// bilevel_reweighting: learning per-sample weights against label noise on Fashion-MNIST, with
// the implicit hypergradient (conjugate gradient) of continua::bilevel. Ren et al., "Learning to
// Reweight Examples for Robust Deep Learning", ICML 2018 (the setting); the hypergradient by the
// implicit function theorem as in Pedregosa, "Hyperparameter optimization with approximate
// gradient", ICML 2016.
//
// The pipeline a user would copy:
//   1. io::load_fashion_mnist      training subset, clean validation set, test set
//   2. label noise (Philox)        a fraction of labels moved to a random other class
//   3. random_features             h = relu(W x + b), standardised pixels, Philox W, b
//   4. inner problem               softmax head y on weighted training cross-entropy,
//                                  g(s, y) = 1/n sum_i sigmoid(s_i) CE_i(y) + mu/2 |y|^2
//   5. outer problem               f(y) = mean validation cross-entropy (clean labels)
//   6. implicit_hypergradient      dF/ds by CG on H v = grad_y f, warm-started adjoint;
//                                  Adam on the weight logits s
//   7. report                      test accuracy vs unweighted, clean-only and oracle
//                                  training; weight mass left on the flipped samples
//
// Usage: bilevel_reweighting [--data DIR] [--train N] [--features D] [--noise P]...
//                            [--outer-steps T] [--seed S]
//        (default: 6000 training images, 256 features, noise 0.3 and 0.4)
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <string_view>
#include <vector>

#include "common/random_feature_split.hpp"
#include "continua/analytic/random_features.hpp"
#include "continua/bilevel.hpp"
#include "continua/core/error.hpp"
#include "continua/core/linalg.hpp"
#include "continua/core/random.hpp"
#include "continua/core/span.hpp"
#include "continua/core/std_tensors.hpp"
#include "continua/io/fashion_mnist.hpp"
#include "continua/optim/aliases.hpp"
#include "continua/optim/optimizer.hpp"

namespace {

using continua::matrix_view;
using continua::linalg::op;
namespace io = continua::io;
namespace bl = continua::bilevel;
constexpr std::size_t classes = io::fashion_mnist_classes;
using continua_examples::feature_matrix;
using continua_examples::featurise;

struct settings {
  std::string data_dir{io::fashion_mnist_default_dir};
  std::size_t train = 6000;
  std::size_t validation = 500;
  std::size_t features = 256;
  std::vector<double> noise;
  std::uint64_t seed = 13;
  std::size_t outer_steps = 60;
  std::size_t inner_steps = 25;
  double outer_lr = 0.3;
  double mu = 1e-3;  // inner L2 strength: makes g strongly convex in y
};

settings parse_args(int argc, char** argv) {
  settings s;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    const bool has_value = i + 1 < argc;
    if (arg == "--data" && has_value) {
      s.data_dir = argv[++i];
    } else if (arg == "--train" && has_value) {
      s.train = std::strtoull(argv[++i], nullptr, 10);
    } else if (arg == "--features" && has_value) {
      s.features = std::strtoull(argv[++i], nullptr, 10);
    } else if (arg == "--noise" && has_value) {
      s.noise.push_back(std::strtod(argv[++i], nullptr));
    } else if (arg == "--outer-steps" && has_value) {
      s.outer_steps = std::strtoull(argv[++i], nullptr, 10);
    } else if (arg == "--seed" && has_value) {
      s.seed = std::strtoull(argv[++i], nullptr, 10);
    } else {
      throw continua::invalid_argument(
          "usage: bilevel_reweighting [--data DIR] [--train N] [--features D] [--noise P]... "
          "[--outer-steps T] [--seed S]");
    }
  }
  if (s.noise.empty()) s.noise = {0.3, 0.4};
  if (s.train == 0 || s.features == 0 || s.outer_steps == 0)
    throw continua::invalid_argument("--train, --features and --outer-steps must be positive");
  for (double p : s.noise)
    if (!(p >= 0 && p < 0.9)) throw continua::invalid_argument("--noise must be in [0, 0.9)");
  return s;
}

// Softmax probabilities of the rows of z (n x classes), in place.
void softmax_rows(std::vector<double>& z, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) {
    double* r = z.data() + i * classes;
    const double m = *std::max_element(r, r + classes);
    double s = 0;
    for (std::size_t c = 0; c < classes; ++c) s += (r[c] = std::exp(r[c] - m));
    for (std::size_t c = 0; c < classes; ++c) r[c] /= s;
  }
}

// The softmax head on one feature matrix: probabilities, weighted gradients, Hessian products.
struct softmax_head {
  const feature_matrix* f;
  mutable std::vector<double> p, a;  // n x classes scratch

  explicit softmax_head(const feature_matrix& fm) : f(&fm), p(fm.n * classes), a(fm.n * classes) {}

  // p = softmax(H W).
  void probabilities(const std::vector<double>& w) const {
    continua::linalg::gemm(matrix_view<const double>(f->h.data(), f->n, f->d),
                           matrix_view<const double>(w.data(), f->d, classes),
                           matrix_view<double>(p.data(), f->n, classes));
    softmax_rows(p, f->n);
  }
  // out = sum_i c_i grad CE_i(W) = Hᵀ R with R_i = c_i (p_i - e_i); p must be current.
  void weighted_grad(const double* c, std::vector<double>& out) const {
    for (std::size_t i = 0; i < f->n; ++i)
      for (std::size_t k = 0; k < classes; ++k)
        a[i * classes + k] = c[i] * (p[i * classes + k] - (k == f->labels[i] ? 1.0 : 0.0));
    continua::linalg::gemm(op::transpose, op::none, 1.0,
                           matrix_view<const double>(f->h.data(), f->n, f->d),
                           matrix_view<const double>(a.data(), f->n, classes), 0.0,
                           matrix_view<double>(out.data(), f->d, classes));
  }
  // out = sum_i c_i Hess CE_i(W) V = Hᵀ U, U_i = c_i (diag(p_i) - p_i p_iᵀ) (V ᵀh_i).
  void weighted_hvp(const double* c, const std::vector<double>& v, std::vector<double>& out) const {
    continua::linalg::gemm(matrix_view<const double>(f->h.data(), f->n, f->d),
                           matrix_view<const double>(v.data(), f->d, classes),
                           matrix_view<double>(a.data(), f->n, classes));
    for (std::size_t i = 0; i < f->n; ++i) {
      double* ai = a.data() + i * classes;
      const double* pi = p.data() + i * classes;
      double pa = 0;
      for (std::size_t k = 0; k < classes; ++k) pa += pi[k] * ai[k];
      for (std::size_t k = 0; k < classes; ++k) ai[k] = c[i] * pi[k] * (ai[k] - pa);
    }
    continua::linalg::gemm(op::transpose, op::none, 1.0,
                           matrix_view<const double>(f->h.data(), f->n, f->d),
                           matrix_view<const double>(a.data(), f->n, classes), 0.0,
                           matrix_view<double>(out.data(), f->d, classes));
  }
  // Accuracy of W on these rows.
  double accuracy(const std::vector<double>& w) const {
    probabilities(w);
    std::size_t right = 0;
    for (std::size_t i = 0; i < f->n; ++i) {
      const double* r = p.data() + i * classes;
      right += std::size_t(std::max_element(r, r + classes) - r) == f->labels[i];
    }
    return double(right) / double(f->n);
  }
};

double sigmoid(double s) { return 1 / (1 + std::exp(-s)); }

// The bilevel problem: x = weight logits s (one per training sample), y = head W ((d) x classes).
// Inner g(s, W) = 1/n sum_i sigmoid(s_i) CE_i(W) + mu/2 |W|^2; outer f(W) = mean validation CE.
struct reweighting_problem {
  softmax_head train, val;
  double mu;
  mutable std::vector<double> c;  // per-sample coefficients

  reweighting_problem(const feature_matrix& tr, const feature_matrix& va, double m)
      : train(tr), val(va), mu(m), c(tr.n) {}

  void coefficients(const std::vector<double>& s) const {
    for (std::size_t i = 0; i < c.size(); ++i) c[i] = sigmoid(s[i]) / double(c.size());
  }
  // Member functions of the bilevel_problem concept (docs/bilevel.md).
  void inner_grad(const std::vector<double>& s, const std::vector<double>& w,
                  std::vector<double>& out) const {
    coefficients(s);
    train.probabilities(w);
    train.weighted_grad(c.data(), out);
    for (std::size_t j = 0; j < w.size(); ++j) out[j] += mu * w[j];
  }
  void outer_grad_x(const std::vector<double>&, const std::vector<double>&,
                    std::vector<double>& out) const {
    std::fill(out.begin(), out.end(), 0.0);  // f does not depend on the weights directly
  }
  void outer_grad_y(const std::vector<double>&, const std::vector<double>& w,
                    std::vector<double>& out) const {
    const std::vector<double> cv(val.f->n, 1.0 / double(val.f->n));
    val.probabilities(w);
    val.weighted_grad(cv.data(), out);
  }
  void inner_hvp(const std::vector<double>& s, const std::vector<double>& w,
                 const std::vector<double>& v, std::vector<double>& out) const {
    coefficients(s);
    train.probabilities(w);
    train.weighted_hvp(c.data(), v, out);
    for (std::size_t j = 0; j < w.size(); ++j) out[j] += mu * v[j];
  }
  // d/ds_i <grad_W g, v> = sigmoid'(s_i) / n <(p_i - e_i) h_iᵀ, V> = sigmoid'(s_i) / n
  // (p_i - e_i)ᵀ (Vᵀ h_i).
  void inner_cross(const std::vector<double>& s, const std::vector<double>& w,
                   const std::vector<double>& v, std::vector<double>& out) const {
    const feature_matrix& f = *train.f;
    train.probabilities(w);
    std::vector<double>& a = train.a;
    continua::linalg::gemm(matrix_view<const double>(f.h.data(), f.n, f.d),
                           matrix_view<const double>(v.data(), f.d, classes),
                           matrix_view<double>(a.data(), f.n, classes));
    for (std::size_t i = 0; i < f.n; ++i) {
      double dot = 0;
      for (std::size_t k = 0; k < classes; ++k)
        dot += (train.p[i * classes + k] - (k == f.labels[i] ? 1.0 : 0.0)) * a[i * classes + k];
      const double sg = sigmoid(s[i]);
      out[i] = sg * (1 - sg) / double(f.n) * dot;
    }
  }
};

// Heavy-ball gradient descent on the inner objective from w (warm start); the features are
// scaled so that mean |h|^2 is about 1, hence L <= 1/2 + mu and the step below is stable.
// Kept out of line: inlined into run_noise, GCC 12 reports a false -Wfree-nonheap-object on the
// scratch vectors' destructors.
[[gnu::noinline]] void train_inner(const reweighting_problem& pb, const std::vector<double>& s,
                                   std::vector<double>& w, std::size_t steps) {
  std::vector<double> g(w.size()), m(w.size(), 0.0);
  for (std::size_t t = 0; t < steps; ++t) {
    pb.inner_grad(s, w, g);
    for (std::size_t j = 0; j < w.size(); ++j) {
      m[j] = 0.9 * m[j] + g[j];
      w[j] -= 1.0 * m[j];
    }
  }
}

struct run_result {
  double unweighted, clean_only, oracle, reweighted, flipped_mass, flipped_fraction, seconds;
};

run_result run_noise(const settings& cfg, const io::labelled_images& train_images,
                     const io::labelled_images& test_images, double noise) {
  const auto t0 = std::chrono::steady_clock::now();
  // Rows: a Philox permutation of the training split; the first `train` are the noisy training
  // set, the next `validation` the clean validation set.
  const std::vector<std::size_t> order =
      continua_examples::philox_permutation(train_images.rows, cfg.seed, 10);
  const std::vector<std::size_t> train_rows(order.begin(), order.begin() + cfg.train);
  const std::vector<std::size_t> val_rows(order.begin() + cfg.train,
                                          order.begin() + cfg.train + cfg.validation);
  std::vector<std::size_t> test_rows(test_images.rows);
  for (std::size_t i = 0; i < test_rows.size(); ++i) test_rows[i] = i;

  // Random features with pixels standardised on the training subset.
  const auto rf = continua_examples::make_standardised_features(train_images, train_rows,
                                                                cfg.features, cfg.seed);
  const auto& layer = rf.layer;
  const double scale = rf.scale;
  feature_matrix tr = featurise(layer, train_images, train_rows, scale);
  const feature_matrix va = featurise(layer, train_images, val_rows, scale);
  const feature_matrix te = featurise(layer, test_images, test_rows, scale);

  // Label noise: each training label moves with probability `noise` to a uniformly drawn other
  // class (Philox streams 11 and 12).
  std::vector<double> flip(cfg.train), other(cfg.train);
  continua::fill_uniform(flip, continua::philox_key{cfg.seed, 11});
  continua::fill_uniform(other, continua::philox_key{cfg.seed, 12});
  std::vector<bool> flipped(cfg.train, false);
  std::size_t n_flipped = 0;
  for (std::size_t i = 0; i < cfg.train; ++i)
    if (flip[i] < noise) {
      const auto shift = 1 + std::min<std::size_t>(classes - 2, std::size_t(other[i] * 9));
      tr.labels[i] = std::uint8_t((tr.labels[i] + shift) % classes);
      flipped[i] = true;
      ++n_flipped;
    }

  const std::size_t dim = tr.d * classes;
  const softmax_head test_head(te);
  run_result out{};
  out.flipped_fraction = double(n_flipped) / double(cfg.train);
  const std::size_t baseline_steps = 400;

  // Baselines: the same head and inner trainer, unweighted on the noisy set, on the clean
  // validation set alone, and on the unflipped samples only (an oracle knowing the noise).
  reweighting_problem pb(tr, va, cfg.mu);
  std::vector<double> s(cfg.train, 0.0), w(dim, 0.0);
  train_inner(pb, s, w, baseline_steps);
  out.unweighted = test_head.accuracy(w);
  {
    reweighting_problem clean(va, va, cfg.mu);
    std::vector<double> sc(va.n, 0.0), wc(dim, 0.0);
    train_inner(clean, sc, wc, baseline_steps);
    out.clean_only = test_head.accuracy(wc);
    std::vector<double> so(cfg.train), wo(dim, 0.0);
    for (std::size_t i = 0; i < cfg.train; ++i) so[i] = flipped[i] ? -40.0 : 40.0;
    train_inner(pb, so, wo, baseline_steps);
    out.oracle = test_head.accuracy(wo);
  }

  // Reweighting: warm-started inner descent, implicit hypergradient by CG with the adjoint
  // carried across outer steps, Adam on the logits s.
  continua::optim::optimizer adam(continua::optim::adam({.lr = cfg.outer_lr}), s);
  std::vector<double> grad(cfg.train), adjoint(dim, 0.0);
  const bl::conjugate_gradient cg({.rtol = 1e-6, .max_iterations = 60});
  std::size_t cg_products = 0, unconverged = 0;
  for (std::size_t step = 0; step < cfg.outer_steps; ++step) {
    train_inner(pb, s, w, cfg.inner_steps);
    const auto r = bl::implicit_hypergradient(pb, s, w, grad, cg, {}, &adjoint);
    cg_products += r.linear.iterations;
    unconverged += r.linear.converged ? 0 : 1;
    adam.step(s, grad);
  }
  // The weights learned, then the head retrained with them from scratch.
  double mass = 0, mass_flipped = 0;
  for (std::size_t i = 0; i < cfg.train; ++i) {
    const double wi = sigmoid(s[i]);
    mass += wi;
    if (flipped[i]) mass_flipped += wi;
  }
  out.flipped_mass = mass_flipped / mass;
  std::fill(w.begin(), w.end(), 0.0);
  train_inner(pb, s, w, baseline_steps);
  out.reweighted = test_head.accuracy(w);
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("  CG: %zu operator products over %zu outer steps, %zu solves unconverged\n",
              cg_products, cfg.outer_steps, unconverged);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const settings cfg = parse_args(argc, argv);
    const auto train = io::load_fashion_mnist(cfg.data_dir, io::dataset_split::train);
    const auto test = io::load_fashion_mnist(cfg.data_dir, io::dataset_split::test);
    if (cfg.train + cfg.validation > train.rows)
      throw continua::invalid_argument("--train leaves no room for the validation set");
    std::printf(
        "Fashion-MNIST reweighting: %zu noisy training images, %zu clean validation images, "
        "%zu test images, %zu random ReLU features, %zu outer steps (seed %llu)\n",
        cfg.train, cfg.validation, test.rows, cfg.features, cfg.outer_steps,
        static_cast<unsigned long long>(cfg.seed));
    std::printf("%-7s %-8s %-11s %-11s %-11s %-11s %-14s %-7s\n", "noise", "flipped", "unweighted",
                "clean-only", "oracle", "reweighted", "flipped mass", "time");
    for (double noise : cfg.noise) {
      const run_result r = run_noise(cfg, train, test, noise);
      std::printf("%-7.2f %-8.3f %-11.4f %-11.4f %-11.4f %-11.4f %-14.4f %.1f s\n", noise,
                  r.flipped_fraction, r.unweighted, r.clean_only, r.oracle, r.reweighted,
                  r.flipped_mass, r.seconds);
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bilevel_reweighting: %s\n", e.what());
    return 1;
  }
}
