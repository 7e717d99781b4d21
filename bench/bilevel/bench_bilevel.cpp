// Hypergradient of a ridge problem with per-feature penalties: implicit differentiation by
// conjugate gradient, Neumann series and dense Cholesky (bilevel/implicit.hpp), each checked
// against the closed form (Woodbury) and reported as counters. Pedregosa, "Hyperparameter
// optimization with approximate gradient", ICML 2016; Lorraine et al., AISTATS 2020 (Neumann).
//
// Inner g(x, w) = |A w - b|^2 / 2n + sum_j exp(x_j) w_j^2 / 2 (A: n = 1000 rows, d columns);
// outer f(w) = |A_v w - b_v|^2 / 2m (m = 200). With H = A^T A / n + diag(exp x),
// dF/dx = -exp(x) * w * v, H v = A_v^T (A_v w - b_v) / m. w* is computed once, exactly; the
// timing covers one hypergradient (adjoint solve from zero and the cross product). The peer is
// bench/peers/jaxopt_ridge.py (the same problem through jaxopt's implicit differentiation).
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstddef>
#include <memory>
#include <vector>

#include "continua/bilevel.hpp"
#include "continua/core/linalg.hpp"
#include "continua/core/random.hpp"
#include "continua/core/span.hpp"
#include "continua/core/std_tensors.hpp"

namespace {

namespace bl = continua::bilevel;
using continua::matrix_view;
using continua::linalg::op;
using vec = std::vector<double>;

constexpr std::size_t rows = 1000, val_rows = 200;

// out (r) = M (r x d) v, or out (d) = Mᵀ u when transposed.
void matvec(const vec& m, std::size_t r, std::size_t d, const vec& v, vec& out) {
  continua::linalg::gemm(matrix_view<const double>(m.data(), r, d),
                         matrix_view<const double>(v.data(), d, 1),
                         matrix_view<double>(out.data(), r, 1));
}
void matvec_t(const vec& m, std::size_t r, std::size_t d, const vec& u, vec& out) {
  continua::linalg::gemm(op::transpose, op::none, 1.0, matrix_view<const double>(m.data(), r, d),
                         matrix_view<const double>(u.data(), r, 1), 0.0,
                         matrix_view<double>(out.data(), d, 1));
}

// The ridge bilevel problem (members of bilevel_problem, docs/bilevel.md).
struct ridge_problem {
  std::size_t d;
  vec a, b, av, bv;  // A (rows x d), b, A_v (val_rows x d), b_v
  mutable vec r, rv;

  explicit ridge_problem(std::size_t dim)
      : d(dim), a(rows * dim), b(rows), av(val_rows * dim), bv(val_rows), r(rows), rv(val_rows) {
    // Philox streams: A, A_v ~ N(0, 1); targets from a common w_true ~ N(0, 1/d) plus noise.
    continua::fill_normal(a, continua::philox_key{2026, 0});
    continua::fill_normal(av, continua::philox_key{2026, 1});
    vec w_true(d);
    continua::fill_normal(w_true, continua::philox_key{2026, 2}, 0, 0.0, 1 / std::sqrt(double(d)));
    matvec(a, rows, d, w_true, b);
    matvec(av, val_rows, d, w_true, bv);
    vec noise(rows + val_rows);
    continua::fill_normal(noise, continua::philox_key{2026, 3}, 0, 0.0, 0.5);
    for (std::size_t i = 0; i < rows; ++i) b[i] += noise[i];
    for (std::size_t i = 0; i < val_rows; ++i) bv[i] += noise[rows + i];
  }
  void inner_grad(const vec& x, const vec& w, vec& out) const {
    matvec(a, rows, d, w, r);
    for (std::size_t i = 0; i < rows; ++i) r[i] = (r[i] - b[i]) / double(rows);
    matvec_t(a, rows, d, r, out);
    for (std::size_t j = 0; j < d; ++j) out[j] += std::exp(x[j]) * w[j];
  }
  void outer_grad_x(const vec&, const vec&, vec& out) const { out.assign(d, 0.0); }
  void outer_grad_y(const vec&, const vec& w, vec& out) const {
    matvec(av, val_rows, d, w, rv);
    for (std::size_t i = 0; i < val_rows; ++i) rv[i] = (rv[i] - bv[i]) / double(val_rows);
    matvec_t(av, val_rows, d, rv, out);
  }
  void inner_hvp(const vec& x, const vec&, const vec& v, vec& out) const {
    matvec(a, rows, d, v, r);
    for (std::size_t i = 0; i < rows; ++i) r[i] /= double(rows);
    matvec_t(a, rows, d, r, out);
    for (std::size_t j = 0; j < d; ++j) out[j] += std::exp(x[j]) * v[j];
  }
  void inner_cross(const vec& x, const vec& w, const vec& v, vec& out) const {
    for (std::size_t j = 0; j < d; ++j) out[j] = std::exp(x[j]) * w[j] * v[j];
  }

  // H^-1 rhs by Woodbury: L^-1 rhs - L^-1 Aᵀ (n I + A L^-1 Aᵀ)^-1 A L^-1 rhs, L = diag(exp x).
  vec solve(const vec& x, const vec& rhs) const {
    vec linv(d), scaled(rows * d), k(rows * rows), t(d), u(rows), out(d);
    for (std::size_t j = 0; j < d; ++j) linv[j] = std::exp(-x[j]);
    for (std::size_t i = 0; i < rows; ++i)
      for (std::size_t j = 0; j < d; ++j) scaled[i * d + j] = a[i * d + j] * std::sqrt(linv[j]);
    continua::linalg::syrk(op::none, 1.0, matrix_view<const double>(scaled.data(), rows, d), 0.0,
                           matrix_view<double>(k.data(), rows, rows));
    for (std::size_t i = 0; i < rows; ++i) {
      k[i * rows + i] += double(rows);
      for (std::size_t j = 0; j < i; ++j) k[j * rows + i] = k[i * rows + j];  // both triangles
    }
    continua::linalg::cholesky_factor(matrix_view<double>(k.data(), rows, rows));
    for (std::size_t j = 0; j < d; ++j) t[j] = linv[j] * rhs[j];
    matvec(a, rows, d, t, u);
    continua::linalg::cholesky_solve(matrix_view<const double>(k.data(), rows, rows),
                                     matrix_view<double>(u.data(), rows, 1));
    matvec_t(a, rows, d, u, out);
    for (std::size_t j = 0; j < d; ++j) out[j] = t[j] - linv[j] * out[j];
    return out;
  }
};

// A problem, its hyperparameters, the exact inner solution and the exact hypergradient.
struct fixture {
  ridge_problem pb;
  vec x, w, reference;
  double lipschitz = 0;
  explicit fixture(std::size_t d) : pb(d), x(d) {
    continua::fill_normal(x, continua::philox_key{2026, 4}, 0, std::log(0.1), 0.5);
    vec c(d), gy(d), zero(d, 0.0);
    pb.inner_grad(x, zero, c);  // = -Aᵀ b / n
    for (double& v : c) v = -v;
    w = pb.solve(x, c);
    pb.outer_grad_y(x, w, gy);
    const vec v = pb.solve(x, gy);
    reference.resize(d);
    for (std::size_t j = 0; j < d; ++j) reference[j] = -std::exp(x[j]) * w[j] * v[j];
    // Largest eigenvalue of H by 50 power iterations, 5 % margin (Neumann's step 1 / L).
    vec p(d, 1 / std::sqrt(double(d))), q(d);
    double lambda = 0;
    for (int it = 0; it < 50; ++it) {
      pb.inner_hvp(x, w, p, q);
      double n2 = 0;
      for (double e : q) n2 += e * e;
      lambda = std::sqrt(n2);  // |H p| with |p| = 1
      for (std::size_t j = 0; j < d; ++j) p[j] = q[j] / lambda;
    }
    lipschitz = 1.05 * lambda;
  }
  double error(const vec& g) const {
    double e = 0, n = 0;
    for (std::size_t j = 0; j < g.size(); ++j) {
      e += (g[j] - reference[j]) * (g[j] - reference[j]);
      n += reference[j] * reference[j];
    }
    return std::sqrt(e / n);
  }
};

const fixture& fixture_for(std::size_t d) {
  static std::vector<std::unique_ptr<fixture>> cache;
  for (const auto& f : cache)
    if (f->pb.d == d) return *f;
  cache.push_back(std::make_unique<fixture>(d));
  return *cache.back();
}

template <class Solver>
void run(benchmark::State& state, const Solver& solver) {
  const fixture& f = fixture_for(static_cast<std::size_t>(state.range(0)));
  vec grad(f.x.size());
  bl::hypergradient_result r;
  for (auto _ : state) {
    r = bl::implicit_hypergradient(f.pb, f.x, f.w, grad, solver);
    benchmark::DoNotOptimize(grad.data());
  }
  state.counters["rel_error"] = f.error(grad);
  state.counters["products"] = double(r.linear.iterations);
  state.counters["converged"] = r.linear.converged ? 1 : 0;
}

void cg(benchmark::State& state) { run(state, bl::conjugate_gradient({.rtol = 1e-10})); }
void neumann(benchmark::State& state) {
  const fixture& f = fixture_for(static_cast<std::size_t>(state.range(0)));
  run(state, bl::neumann_series({.alpha = 1 / f.lipschitz, .max_iterations = 1000}));
}
void dense(benchmark::State& state) { run(state, bl::dense_solve()); }

}  // namespace

BENCHMARK(cg)->Arg(2000)->Arg(10000)->Unit(benchmark::kMillisecond);
BENCHMARK(neumann)->Arg(2000)->Arg(10000)->Unit(benchmark::kMillisecond)->Iterations(1);
BENCHMARK(dense)->Arg(2000)->Unit(benchmark::kMillisecond)->Iterations(1);
BENCHMARK_MAIN();
