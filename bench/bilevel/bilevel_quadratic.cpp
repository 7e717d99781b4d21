// benchmark_bilevel's stochastic quadratic problem (Dagreou, Ablin, Vaiter & Moreau, NeurIPS 2022,
// github.com/benchopt/benchmark_bilevel, dataset "simulated"/"quadratic", config
// quadratics_021424): |grad h(x)|^2 (exact, closed form) against oracle calls and wall time for
// F2SA, a stochastic implicit hypergradient with CG and an unrolled hypergradient, over seeds.
// A convergence trace, so a plain program printing a table (and optionally a CSV), not Google
// Benchmark. Run: bilevel_quadratic [--n-inner N] [--n-outer N] [--seeds S] [--budget CALLS]
//                                  [--unrolled-steps K] [--hessian-batches B] [--cg-iterations M]
//                                  [--csv FILE]
//
// Problem (written here from the formulas of benchmark_bilevel's gen_matrices / simulated.py):
//   g(x, z) = 1/n sum_i 1/2 z'H_i z + 1/2 x'K_i x + x'C_i z + c_i'z + d_i'x   (inner, n_in samples)
//   f(x, z) = the same form with its own samples                            (outer, n_out samples)
// with rank-one H_i = h_i h_i', h_i ~ N(0, A^2), A = U diag(s) U' (U orthogonal from one Gaussian
// vector, s^2 log-spaced in [mu, L]); K_i = k_i k_i' the same in d_out with one eigenvalue 0;
// C_i = a_i b_i' with a_i = P diag(sigma) xi, b_i = Q xi, xi ~ N(0, I) (P, Q orthogonal, sigma
// log-spaced in [mu, L_cross]) so E C_i = P diag(sigma) Q'; c_i, d_i ~ N(0, I). Samples are kept
// as these vectors (330 doubles each), so one minibatch oracle costs O(batch * d).
// The random numbers are ours (std::mt19937_64), not JAX's: same distributions, other entries.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <numeric>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "continua/bilevel/f2sa.hpp"
#include "continua/bilevel/implicit.hpp"
#include "continua/bilevel/linear_solvers.hpp"
#include "continua/bilevel/unrolled.hpp"

namespace bl = continua::bilevel;
using vec = std::vector<double>;

namespace {

// ---- small dense helpers (row-major) ----
double dot_n(const double* a, const double* b, std::size_t n) {
  double s = 0;
  for (std::size_t i = 0; i < n; ++i) s += a[i] * b[i];
  return s;
}
void axpy_n(double a, const double* x, double* y, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) y[i] += a * x[i];
}

// An orthogonal n x n matrix by Gram-Schmidt (twice) on a Gaussian matrix (Haar distributed).
vec random_orthogonal(std::size_t n, std::mt19937_64& rng) {
  std::normal_distribution<double> N;
  vec q(n * n);
  for (auto& v : q) v = N(rng);
  for (std::size_t i = 0; i < n; ++i) {
    double* qi = &q[i * n];
    for (int pass = 0; pass < 2; ++pass)
      for (std::size_t j = 0; j < i; ++j) axpy_n(-dot_n(qi, &q[j * n], n), &q[j * n], qi, n);
    const double nr = std::sqrt(dot_n(qi, qi, n));
    for (std::size_t k = 0; k < n; ++k) qi[k] /= nr;
  }
  return q;
}

// U = I - 2 u u' / |u|^2 from one Gaussian vector: what an SVD of a single column returns.
vec householder(std::size_t n, std::mt19937_64& rng) {
  std::normal_distribution<double> N;
  vec u(n);
  for (auto& v : u) v = N(rng);
  const double uu = dot_n(u.data(), u.data(), n);
  vec m(n * n);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < n; ++j) m[i * n + j] = (i == j ? 1.0 : 0.0) - 2 * u[i] * u[j] / uu;
  return m;
}

// n values log-spaced from lo to hi (both > 0); n = 1 gives lo.
vec logspace(double lo, double hi, std::size_t n) {
  vec v(n);
  for (std::size_t i = 0; i < n; ++i) {
    const double t = n == 1 ? 0.0 : static_cast<double>(i) / static_cast<double>(n - 1);
    v[i] = std::pow(10.0, std::log10(lo) + t * (std::log10(hi) - std::log10(lo)));
  }
  return v;
}

// A = U diag(s) U', with U from householder().
vec symmetric_root(const vec& s, std::mt19937_64& rng) {
  const std::size_t n = s.size();
  const vec u = householder(n, rng);
  vec a(n * n, 0.0);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < n; ++j)
      for (std::size_t k = 0; k < n; ++k) a[i * n + j] += u[i * n + k] * s[k] * u[j * n + k];
  return a;
}

// In-place Cholesky (lower) of an n x n SPD matrix; false when not positive definite.
bool cholesky(vec& m, std::size_t n) {
  for (std::size_t j = 0; j < n; ++j) {
    double d = m[j * n + j];
    for (std::size_t k = 0; k < j; ++k) d -= m[j * n + k] * m[j * n + k];
    if (!(d > 0)) return false;
    m[j * n + j] = std::sqrt(d);
    for (std::size_t i = j + 1; i < n; ++i) {
      double s = m[i * n + j];
      for (std::size_t k = 0; k < j; ++k) s -= m[i * n + k] * m[j * n + k];
      m[i * n + j] = s / m[j * n + j];
    }
  }
  return true;
}
// Solves L L' z = b with the factor from cholesky().
vec cholesky_solve(const vec& l, std::size_t n, vec b) {
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t k = 0; k < i; ++k) b[i] -= l[i * n + k] * b[k];
    b[i] /= l[i * n + i];
  }
  for (std::size_t i = n; i-- > 0;) {
    for (std::size_t k = i + 1; k < n; ++k) b[i] -= l[k * n + i] * b[k];
    b[i] /= l[i * n + i];
  }
  return b;
}

// ---- the samples of one level and their means ----
struct level_samples {
  std::size_t n = 0, dz = 0, dx = 0;
  vec h, k, a, b, c, d;  // per sample: h (dz), k (dx), a (dx), b (dz), c (dz), d (dx)
  // Full-batch means: Hz = E h h' (dz x dz), Hx = E k k' (dx x dx), C = E a b' (dx x dz).
  vec Hz, Hx, C, cbar, dbar;
};

// gen_matrices' distributions: Hessian spectra log-spaced in [mu, L_z] (z) and {0} U [mu, L_x]
// (x), cross singular values log-spaced in [mu, L_cross].
level_samples make_level(std::size_t n, std::size_t dz, std::size_t dx, double L_z, double L_x,
                         double L_cross, double mu, std::mt19937_64& rng) {
  std::normal_distribution<double> N;
  level_samples s;
  s.n = n;
  s.dz = dz;
  s.dx = dx;
  vec sz = logspace(std::sqrt(mu), std::sqrt(L_z), dz);
  const vec Az = symmetric_root(sz, rng);
  vec sx = logspace(std::sqrt(mu), std::sqrt(L_x), dx - 1);
  sx.insert(sx.begin(), 0.0);
  const vec Ax = symmetric_root(sx, rng);
  const vec P = random_orthogonal(dx, rng), Q = random_orthogonal(dz, rng);
  const vec sigma = logspace(mu, L_cross, std::min(dx, dz));
  s.h.resize(n * dz);
  s.k.resize(n * dx);
  s.a.resize(n * dx);
  s.b.resize(n * dz);
  s.c.resize(n * dz);
  s.d.resize(n * dx);
  vec xi(dz);
  for (std::size_t i = 0; i < n; ++i) {
    for (auto& v : xi) v = N(rng);
    for (std::size_t r = 0; r < dz; ++r) s.h[i * dz + r] = dot_n(&Az[r * dz], xi.data(), dz);
    for (auto& v : xi) v = N(rng);
    for (std::size_t r = 0; r < dx; ++r) s.k[i * dx + r] = dot_n(&Ax[r * dx], xi.data(), dx);
    for (auto& v : xi) v = N(rng);
    for (std::size_t r = 0; r < dx; ++r) {
      double t = 0;
      for (std::size_t q = 0; q < sigma.size(); ++q) t += P[r * dx + q] * sigma[q] * xi[q];
      s.a[i * dx + r] = t;
    }
    for (std::size_t r = 0; r < dz; ++r) s.b[i * dz + r] = dot_n(&Q[r * dz], xi.data(), dz);
    for (std::size_t r = 0; r < dz; ++r) s.c[i * dz + r] = N(rng);
    for (std::size_t r = 0; r < dx; ++r) s.d[i * dx + r] = N(rng);
  }
  s.Hz.assign(dz * dz, 0.0);
  s.Hx.assign(dx * dx, 0.0);
  s.C.assign(dx * dz, 0.0);
  s.cbar.assign(dz, 0.0);
  s.dbar.assign(dx, 0.0);
  const double w = 1.0 / static_cast<double>(n);
  for (std::size_t i = 0; i < n; ++i) {
    const double *h = &s.h[i * dz], *k = &s.k[i * dx], *a = &s.a[i * dx], *b = &s.b[i * dz];
    for (std::size_t r = 0; r < dz; ++r) axpy_n(w * h[r], h, &s.Hz[r * dz], dz);
    for (std::size_t r = 0; r < dx; ++r) axpy_n(w * k[r], k, &s.Hx[r * dx], dx);
    for (std::size_t r = 0; r < dx; ++r) axpy_n(w * a[r], b, &s.C[r * dz], dz);
    axpy_n(w, &s.c[i * dz], s.cbar.data(), dz);
    axpy_n(w, &s.d[i * dx], s.dbar.data(), dx);
  }
  return s;
}

// Minibatches as benchmark_bilevel's sampler draws them: contiguous blocks of `batch` samples,
// visited in an order reshuffled every epoch.
class block_sampler {
 public:
  block_sampler(std::size_t n, std::size_t batch, std::uint64_t seed)
      : batch_(batch), order_(n / batch), rng_(seed) {
    std::iota(order_.begin(), order_.end(), std::size_t{0});
    std::shuffle(order_.begin(), order_.end(), rng_);
  }
  std::size_t next() {  // first sample of the next batch
    if (pos_ == order_.size()) {
      std::shuffle(order_.begin(), order_.end(), rng_);
      pos_ = 0;
    }
    return order_[pos_++] * batch_;
  }

 private:
  std::size_t batch_, pos_ = 0;
  std::vector<std::size_t> order_;
  std::mt19937_64 rng_;
};

// The stochastic problem seen by continua's solvers: every oracle call draws a fresh minibatch
// and counts one call (one pass over `batch` samples). Hessian-vector products can be pinned to
// a set of batches (freeze_hessian) so CG sees one fixed operator within a solve; each product
// then counts one call per pinned batch.
class stochastic_quadratic {
 public:
  stochastic_quadratic(const level_samples& in, const level_samples& out, std::size_t batch,
                       std::uint64_t seed)
      : in_(in), out_(out), batch_(batch), in_s_(in.n, batch, seed), out_s_(out.n, batch, ~seed) {}

  void inner_grad(const vec& x, const vec& y, vec& o) const { grad_z(in_, in_s_.next(), x, y, o); }
  void outer_grad_y(const vec& x, const vec& y, vec& o) const {
    grad_z(out_, out_s_.next(), x, y, o);
  }
  void inner_grad_x(const vec& x, const vec& y, vec& o) const {
    grad_x(in_, in_s_.next(), x, y, o);
  }
  void outer_grad_x(const vec& x, const vec& y, vec& o) const {
    grad_x(out_, out_s_.next(), x, y, o);
  }
  // (1/B sum h_i h_i') v over a fresh batch, or over the pinned batches.
  void inner_hvp(const vec&, const vec&, const vec& v, vec& o) const {
    const std::size_t dz = in_.dz;
    o.assign(dz, 0.0);
    const auto one = [&](std::size_t start, double w) {
      for (std::size_t i = start; i < start + batch_; ++i) {
        const double* h = &in_.h[i * dz];
        axpy_n(w * dot_n(h, v.data(), dz), h, o.data(), dz);
      }
      ++calls;
    };
    if (pinned_.empty()) {
      one(in_s_.next(), 1.0 / static_cast<double>(batch_));
    } else {
      const double w = 1.0 / static_cast<double>(batch_ * pinned_.size());
      for (const std::size_t s : pinned_) one(s, w);
    }
  }
  // (d/dx grad_z g)' v = 1/B sum a_i (b_i . v).
  void inner_cross(const vec&, const vec&, const vec& v, vec& o) const {
    const std::size_t dz = in_.dz, dx = in_.dx, start = in_s_.next();
    o.assign(dx, 0.0);
    const double w = 1.0 / static_cast<double>(batch_);
    for (std::size_t i = start; i < start + batch_; ++i)
      axpy_n(w * dot_n(&in_.b[i * dz], v.data(), dz), &in_.a[i * dx], o.data(), dx);
    ++calls;
  }

  void freeze_hessian(std::size_t batches) const {
    pinned_.clear();
    for (std::size_t i = 0; i < batches; ++i) pinned_.push_back(in_s_.next());
  }
  void release_hessian() const { pinned_.clear(); }

  mutable std::uint64_t calls = 0;

 private:
  // grad_z of one level over a batch: 1/B sum h (h.z) + b (a.x) + c.
  void grad_z(const level_samples& s, std::size_t start, const vec& x, const vec& z, vec& o) const {
    const std::size_t dz = s.dz, dx = s.dx;
    o.assign(dz, 0.0);
    const double w = 1.0 / static_cast<double>(batch_);
    for (std::size_t i = start; i < start + batch_; ++i) {
      const double* h = &s.h[i * dz];
      axpy_n(w * dot_n(h, z.data(), dz), h, o.data(), dz);
      axpy_n(w * dot_n(&s.a[i * dx], x.data(), dx), &s.b[i * dz], o.data(), dz);
      axpy_n(w, &s.c[i * dz], o.data(), dz);
    }
    ++calls;
  }
  // grad_x of one level over a batch: 1/B sum k (k.x) + a (b.z) + d.
  void grad_x(const level_samples& s, std::size_t start, const vec& x, const vec& z, vec& o) const {
    const std::size_t dz = s.dz, dx = s.dx;
    o.assign(dx, 0.0);
    const double w = 1.0 / static_cast<double>(batch_);
    for (std::size_t i = start; i < start + batch_; ++i) {
      const double* k = &s.k[i * dx];
      axpy_n(w * dot_n(k, x.data(), dx), k, o.data(), dx);
      axpy_n(w * dot_n(&s.b[i * dz], z.data(), dz), &s.a[i * dx], o.data(), dx);
      axpy_n(w, &s.d[i * dx], o.data(), dx);
    }
    ++calls;
  }

  const level_samples& in_;
  const level_samples& out_;
  std::size_t batch_;
  mutable block_sampler in_s_, out_s_;
  mutable std::vector<std::size_t> pinned_;
};

// The exact hypergradient of h(x) = f(x, z*(x)) from the full-batch means:
//   z* = -Hz^-1 (C' x + c),  v = Hz^-1 grad_z f(x, z*),  grad h = grad_x f(x, z*) - C v.
class exact_metric {
 public:
  exact_metric(const level_samples& in, const level_samples& out) : in_(in), out_(out), l_(in.Hz) {
    if (!cholesky(l_, in.dz)) throw std::runtime_error("inner Hessian not positive definite");
  }
  vec grad_h(const vec& x) const {
    const std::size_t dz = in_.dz, dx = in_.dx;
    vec rhs(in_.cbar);
    for (std::size_t r = 0; r < dx; ++r) axpy_n(x[r], &in_.C[r * dz], rhs.data(), dz);
    vec z = cholesky_solve(l_, dz, rhs);
    for (auto& v : z) v = -v;
    vec gz(out_.cbar);  // Hz~ z + C~' x + c~
    for (std::size_t r = 0; r < dz; ++r) gz[r] += dot_n(&out_.Hz[r * dz], z.data(), dz);
    for (std::size_t r = 0; r < dx; ++r) axpy_n(x[r], &out_.C[r * dz], gz.data(), dz);
    const vec v = cholesky_solve(l_, dz, gz);
    vec g(out_.dbar);  // Hx~ x + C~ z + d~ - C v
    for (std::size_t r = 0; r < dx; ++r)
      g[r] += dot_n(&out_.Hx[r * dx], x.data(), dx) + dot_n(&out_.C[r * dz], z.data(), dz) -
              dot_n(&in_.C[r * dz], v.data(), dz);
    return g;
  }
  double value(const vec& x) const {
    const vec g = grad_h(x);
    return dot_n(g.data(), g.data(), g.size());
  }
  // The Hessian of h (constant): J' Hz~ J + Hx~ + C~ J + (C~ J)', J = -Hz^-1 C' (dz x dx).
  // Positive definite means h has one stationary point, the minimum.
  bool value_function_convex() const {
    const std::size_t dz = in_.dz, dx = in_.dx;
    std::vector<vec> J(dx);  // columns of J
    for (std::size_t r = 0; r < dx; ++r) {
      J[r] = cholesky_solve(l_, dz,
                            vec(in_.C.begin() + static_cast<std::ptrdiff_t>(r * dz),
                                in_.C.begin() + static_cast<std::ptrdiff_t>((r + 1) * dz)));
      for (auto& v : J[r]) v = -v;
    }
    vec hess(dx * dx);
    vec t(dz);
    for (std::size_t q = 0; q < dx; ++q) {
      for (std::size_t r = 0; r < dz; ++r) t[r] = dot_n(&out_.Hz[r * dz], J[q].data(), dz);
      for (std::size_t p = 0; p < dx; ++p)
        hess[p * dx + q] = dot_n(J[p].data(), t.data(), dz) + out_.Hx[p * dx + q] +
                           dot_n(&out_.C[p * dz], J[q].data(), dz) +
                           dot_n(&out_.C[q * dz], J[p].data(), dz);
    }
    return cholesky(hess, dx);
  }

 private:
  const level_samples& in_;
  const level_samples& out_;
  vec l_;
};

// ---- the runs ----
struct sample_point {
  std::uint64_t calls;  // the checkpoint (the step that crossed it may have used a few more)
  std::uint64_t actual_calls;
  double seconds;      // wall time in the steps
  double cpu_seconds;  // process CPU time in the steps (the machine may be shared)
  double value;        // |grad h(x)|^2
};

struct method {
  std::string name;
  // Runs one outer step of the method on (pb, x); keeps its own state.
  std::function<void(const stochastic_quadratic&, vec&)> step;
};

using clock_type = std::chrono::steady_clock;

// Runs `make()`'s method until `budget` oracle calls, recording |grad h|^2 after each outer step
// whose call count crosses the next checkpoint. Only the steps are timed (not the metric).
std::vector<sample_point> run(const std::function<method()>& make, const level_samples& in,
                              const level_samples& out, const exact_metric& metric,
                              std::size_t batch, std::uint64_t seed, std::uint64_t budget,
                              const std::vector<std::uint64_t>& checkpoints) {
  stochastic_quadratic pb(in, out, batch, seed);
  method m = make();
  vec x(in.dx, -2.0);  // benchmark_bilevel's start: x = -2, z = 0
  std::vector<sample_point> trace{{0, 0, 0.0, 0.0, metric.value(x)}};
  double seconds = 0, cpu_seconds = 0;
  std::size_t next = 0;
  while (pb.calls < budget && next < checkpoints.size()) {
    const auto t0 = clock_type::now();
    const std::clock_t c0 = std::clock();
    try {
      m.step(pb, x);
    } catch (const continua::numerical_error&) {  // diverged: the trace ends here
      break;
    }
    seconds += std::chrono::duration<double>(clock_type::now() - t0).count();
    cpu_seconds += static_cast<double>(std::clock() - c0) / CLOCKS_PER_SEC;
    if (pb.calls >= checkpoints[next]) {
      const double v = metric.value(x);
      while (next < checkpoints.size() && pb.calls >= checkpoints[next]) {
        trace.push_back({checkpoints[next], pb.calls, seconds, cpu_seconds, v});
        ++next;
      }
      if (!std::isfinite(v)) break;
    }
  }
  return trace;
}

double quantile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  const double pos = q * static_cast<double>(v.size() - 1);
  const auto lo = static_cast<std::size_t>(std::floor(pos));
  const std::size_t hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (pos - static_cast<double>(lo)) * (v[hi] - v[lo]);
}

std::uint64_t parse_count(const char* s) {
  const double v = std::strtod(s, nullptr);
  if (!(v >= 1)) throw std::invalid_argument(std::string("not a positive count: ") + s);
  return static_cast<std::uint64_t>(v);
}

}  // namespace

int main(int argc, char** argv) {
  // benchmark_bilevel config/quadratics_021424.yml: d_in 100, d_out 10, mu 0.1, L 1, L_cross 0.1,
  // n_in 32768, n_out 1024, batch 64, solver seeds 1..10.
  std::size_t n_in = 32768, n_out = 1024, seeds = 10;
  std::uint64_t budget = 50000;
  // Inner SGD steps (implicit) and unrolled steps; CG's pinned Hessian batches and iterations.
  std::size_t inner_steps = 10, unrolled_steps = 10, hessian_batches = 4, cg_iterations = 10;
  std::string csv;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--n-inner")
      n_in = parse_count(argv[i + 1]);
    else if (a == "--n-outer")
      n_out = parse_count(argv[i + 1]);
    else if (a == "--seeds")
      seeds = parse_count(argv[i + 1]);
    else if (a == "--budget")
      budget = parse_count(argv[i + 1]);
    else if (a == "--unrolled-steps")
      unrolled_steps = parse_count(argv[i + 1]);
    else if (a == "--hessian-batches")
      hessian_batches = parse_count(argv[i + 1]);
    else if (a == "--cg-iterations")
      cg_iterations = parse_count(argv[i + 1]);
    else if (a == "--csv")
      csv = argv[i + 1];
    else {
      std::cerr << "unknown option " << a << "\n";
      return 2;
    }
  }
  const std::size_t d_in = 100, d_out = 10, batch = 64;
  const double mu = 0.1, L = 1.0, L_cross = 0.1;
  if (n_in < batch || n_out < batch) {
    std::cerr << "n-inner and n-outer must be >= the batch size 64\n";
    return 2;
  }

  // One dataset (benchmark_bilevel fixes the dataset seed and varies the solver seed), redrawn
  // until h is strongly convex, as their generator retries.
  std::mt19937_64 data_rng(2442);
  level_samples in, out;
  bool convex = false;
  for (int attempt = 0; attempt < 20 && !convex; ++attempt) {
    in = make_level(n_in, d_in, d_out, L, L, L_cross, mu, data_rng);
    out = make_level(n_out, d_in, d_out, L, L, L_cross, mu, data_rng);
    convex = exact_metric(in, out).value_function_convex();
  }
  if (!convex) {
    std::cerr << "could not draw a problem with a strongly convex value function\n";
    return 1;
  }
  const exact_metric metric(in, out);

  // Checkpoints: 1, 2, 5 per decade of oracle calls up to the budget.
  std::vector<std::uint64_t> checkpoints;
  for (std::uint64_t dec = 100; dec <= budget; dec *= 10)
    for (const std::uint64_t m : {1, 2, 5})
      if (m * dec <= budget) checkpoints.push_back(m * dec);

  // F2SA with continua's defaults (= benchmark_bilevel's F2SA defaults), and with the step sizes
  // of their tuned quadratic run (quadratics_021424_best_params: step_size 0.1, delta_lmbda 0.01).
  const auto f2sa_method = [&](std::string name, bl::f2sa_options o) {
    return [=] {
      auto solver = std::make_shared<bl::f2sa>(o);
      auto state = std::make_shared<bl::f2sa_state<vec>>(solver->init(vec(d_in, 0.0)));
      return method{name,
                    [=](const stochastic_quadratic& pb, vec& x) { solver->step(pb, x, *state); }};
    };
  };
  bl::f2sa_options tuned;
  tuned.lr_inner = tuned.lr_star = tuned.lr_outer = 0.1;
  tuned.delta_lambda = 0.01;
  // Implicit: 10 SGD steps (lr 0.1) on y from the last y, then CG (10 iterations) on a Hessian
  // pinned to 4 batches (256 samples, full rank; one batch of 64 rank-one terms is singular in
  // d_in = 100), adjoint warm-started across outer steps (as AmIGO warm-starts v), then
  // x -= 0.1 * hypergradient (StocBiO's tuned step sizes; constant, as theirs).
  const double lr = 0.1;
  const auto implicit_cg = [&] {
    auto y = std::make_shared<vec>(d_in, 0.0);
    auto v = std::make_shared<vec>(d_in, 0.0);
    bl::conjugate_gradient::options co;
    co.rtol = 1e-12;
    co.max_iterations = cg_iterations;
    const bl::conjugate_gradient cg(co);
    return method{"implicit-CG", [=](const stochastic_quadratic& pb, vec& x) {
                    vec g(d_in), hx(x.size());
                    for (std::size_t t = 0; t < inner_steps; ++t) {
                      pb.inner_grad(x, *y, g);
                      axpy_n(-lr, g.data(), y->data(), d_in);
                    }
                    pb.freeze_hessian(hessian_batches);
                    bl::implicit_hypergradient(pb, x, *y, hx, cg, {}, v.get());
                    pb.release_hessian();
                    axpy_n(-lr, hx.data(), x.data(), x.size());
                  }};
  };
  // Unrolled: reverse mode through 10 SGD steps (lr 0.1) from the last y (warm start); the
  // reverse sweep draws its own batches (not the forward's), an unbiased estimate of the
  // unrolled hypergradient of the mean inner problem; x -= 0.1 * hypergradient.
  const auto unrolled = [&] {
    auto y = std::make_shared<vec>(d_in, 0.0);
    auto ws = std::make_shared<bl::unrolled_workspace<vec>>();
    bl::unrolled_options uo;
    uo.steps = unrolled_steps;
    uo.learning_rate = lr;
    return method{"unrolled", [=](const stochastic_quadratic& pb, vec& x) {
                    vec hx(x.size());
                    bl::unrolled_hypergradient(pb, x, *y, hx, uo, *ws);
                    axpy_n(-lr, hx.data(), x.data(), x.size());
                  }};
  };
  const std::vector<std::function<method()>> makers = {f2sa_method("F2SA (defaults)", {}),
                                                       f2sa_method("F2SA (tuned)", tuned),
                                                       implicit_cg, unrolled};

  std::printf(
      "benchmark_bilevel quadratic: d_in %zu, d_out %zu, mu %g, n_in %zu, n_out %zu, "
      "batch %zu, %zu seeds, budget %llu oracle calls\n",
      d_in, d_out, mu, n_in, n_out, batch, seeds, static_cast<unsigned long long>(budget));
  std::printf("unrolled steps %zu, CG: %zu iterations on %zu pinned batches\n", unrolled_steps,
              cg_iterations, hessian_batches);
  std::printf("|grad h(x0)|^2 = %.4g at x0 = -2\n\n", metric.value(vec(d_out, -2.0)));
  std::ofstream csv_out;
  if (!csv.empty()) {
    csv_out.open(csv);
    csv_out << "method,seed,checkpoint_calls,oracle_calls,wall_s,cpu_s,grad_h_sq\n";
  }
  // traces[method][seed]; seeds interleaved across methods so machine load hits all alike.
  std::vector<std::vector<std::vector<sample_point>>> traces(makers.size());
  for (std::size_t s = 1; s <= seeds; ++s)
    for (std::size_t m = 0; m < makers.size(); ++m) {
      traces[m].push_back(run(makers[m], in, out, metric, batch, s, budget, checkpoints));
      if (csv_out)
        for (const auto& p : traces[m].back())
          csv_out << makers[m]().name << "," << s << "," << p.calls << "," << p.actual_calls << ","
                  << p.seconds << "," << p.cpu_seconds << "," << p.value << "\n";
    }
  std::printf("| method | oracle calls | wall s | CPU s | norm(grad h)^2 median | q1 | q3 |\n");
  std::printf("| --- | ---: | ---: | ---: | ---: | ---: | ---: |\n");
  for (std::size_t m = 0; m < makers.size(); ++m) {
    const std::string name = makers[m]().name;
    for (std::size_t c = 0; c <= checkpoints.size(); ++c) {
      std::vector<double> vals, secs, cpu;
      for (const auto& tr : traces[m])
        if (c < tr.size()) {
          vals.push_back(tr[c].value);
          secs.push_back(tr[c].seconds);
          cpu.push_back(tr[c].cpu_seconds);
        }
      if (vals.size() != traces[m].size()) continue;  // a run stopped (diverged)
      const std::uint64_t calls = c == 0 ? 0 : checkpoints[c - 1];
      std::printf("| %s | %llu | %.3f | %.3f | %.3e | %.3e | %.3e |\n", name.c_str(),
                  static_cast<unsigned long long>(calls), quantile(secs, 0.5), quantile(cpu, 0.5),
                  quantile(vals, 0.5), quantile(vals, 0.25), quantile(vals, 0.75));
    }
  }
  return 0;
}
