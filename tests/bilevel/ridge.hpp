// The test problem of the bilevel suites: ridge regression with log-penalties x (one shared, or
// one per feature) on a training Gram matrix, and a validation least-squares outer objective,
//   g(x, w) = 1/2 w'Qw - q'w + 1/2 sum_j e^{x_j} w_j^2,   f(x, w) = 1/2 w'Pw - p'w + rho/2 |x|^2,
// on any vector type (std::vector, thrust::device_vector) through continua kernels; and its closed
// form in long double (own Cholesky, independent of continua::linalg).
#pragma once

#include <cmath>
#include <cstddef>
#include <random>
#include <vector>

#include "continua/core/kernel.hpp"
#include "continua/core/reduce.hpp"
#include "continua/core/span.hpp"
#include "continua/core/tensor.hpp"

namespace bilevel_test {

using ld = long double;
using matrix = std::vector<std::vector<ld>>;

// A d x d SPD matrix U diag(s) U' with U a random orthogonal matrix (Gram-Schmidt).
inline matrix spd_with_spectrum(const std::vector<ld>& s, std::mt19937_64& gen) {
  const std::size_t d = s.size();
  std::normal_distribution<double> normal;
  matrix u(d, std::vector<ld>(d));
  for (auto& row : u)
    for (auto& v : row) v = normal(gen);
  for (std::size_t i = 0; i < d; ++i) {  // rows orthonormal
    for (std::size_t k = 0; k < i; ++k) {
      ld proj = 0;
      for (std::size_t j = 0; j < d; ++j) proj += u[i][j] * u[k][j];
      for (std::size_t j = 0; j < d; ++j) u[i][j] -= proj * u[k][j];
    }
    ld n = 0;
    for (std::size_t j = 0; j < d; ++j) n += u[i][j] * u[i][j];
    n = std::sqrt(n);
    for (std::size_t j = 0; j < d; ++j) u[i][j] /= n;
  }
  matrix m(d, std::vector<ld>(d, 0));
  for (std::size_t i = 0; i < d; ++i)
    for (std::size_t j = 0; j < d; ++j)
      for (std::size_t k = 0; k < d; ++k) m[i][j] += u[k][i] * s[k] * u[k][j];
  return m;
}

// Solves M z = r by Cholesky in long double (M SPD).
inline std::vector<ld> solve_spd(matrix m, std::vector<ld> r) {
  const std::size_t d = r.size();
  for (std::size_t j = 0; j < d; ++j) {
    for (std::size_t k = 0; k < j; ++k) m[j][j] -= m[j][k] * m[j][k];
    m[j][j] = std::sqrt(m[j][j]);
    for (std::size_t i = j + 1; i < d; ++i) {
      for (std::size_t k = 0; k < j; ++k) m[i][j] -= m[i][k] * m[j][k];
      m[i][j] /= m[j][j];
    }
  }
  for (std::size_t i = 0; i < d; ++i) {
    for (std::size_t k = 0; k < i; ++k) r[i] -= m[i][k] * r[k];
    r[i] /= m[i][i];
  }
  for (std::size_t i = d; i-- > 0;) {
    for (std::size_t k = i + 1; k < d; ++k) r[i] -= m[k][i] * r[k];
    r[i] /= m[i][i];
  }
  return r;
}

// The problem's numbers in long double; x has 1 entry (shared penalty) or d (per feature).
struct ridge_data {
  std::size_t d = 0;
  matrix q_mat, p_mat;
  std::vector<ld> q, p;
  ld rho = 0;
  bool per_feature = false;

  std::size_t nx() const { return per_feature ? d : 1; }
  ld penalty(const std::vector<ld>& x, std::size_t j) const {
    return std::exp(per_feature ? x[j] : x[0]);
  }
  // H = Q + diag(e^x).
  matrix hessian(const std::vector<ld>& x) const {
    matrix h = q_mat;
    for (std::size_t j = 0; j < d; ++j) h[j][j] += penalty(x, j);
    return h;
  }
  std::vector<ld> inner_solution(const std::vector<ld>& x) const {
    return solve_spd(hessian(x), q);
  }
  // f(x, w).
  ld outer_value(const std::vector<ld>& x, const std::vector<ld>& w) const {
    ld v = 0;
    for (std::size_t i = 0; i < d; ++i) {
      for (std::size_t j = 0; j < d; ++j) v += 0.5L * w[i] * p_mat[i][j] * w[j];
      v -= p[i] * w[i];
    }
    for (ld xi : x) v += 0.5L * rho * xi * xi;
    return v;
  }
  // F(x) = f(x, w*(x)).
  ld objective(const std::vector<ld>& x) const { return outer_value(x, inner_solution(x)); }
  // The closed-form hypergradient rho x - diag-cross' H^-1 (P w* - p).
  std::vector<ld> hypergradient(const std::vector<ld>& x) const {
    const std::vector<ld> w = inner_solution(x);
    std::vector<ld> gy(d);
    for (std::size_t i = 0; i < d; ++i) {
      gy[i] = -p[i];
      for (std::size_t j = 0; j < d; ++j) gy[i] += p_mat[i][j] * w[j];
    }
    const std::vector<ld> v = solve_spd(hessian(x), gy);
    std::vector<ld> g(nx());
    for (std::size_t i = 0; i < nx(); ++i) g[i] = rho * x[i];
    for (std::size_t j = 0; j < d; ++j) g[per_feature ? j : 0] -= penalty(x, j) * w[j] * v[j];
    return g;
  }
  // Extreme eigenvalues of H are those of Q shifted, for a shared penalty.
};

// Q with spectrum log-spaced in [s_min, s_max], P random with spectrum in [0.5, 2].
inline ridge_data make_ridge(std::size_t d, ld s_min, ld s_max, bool per_feature, unsigned seed,
                             ld rho = 0.1L) {
  std::mt19937_64 gen(seed);
  std::normal_distribution<double> normal;
  ridge_data r;
  r.d = d;
  r.per_feature = per_feature;
  r.rho = rho;
  std::vector<ld> s(d), sp(d);
  for (std::size_t k = 0; k < d; ++k) {
    const ld t = d == 1 ? 0 : ld(k) / ld(d - 1);
    s[k] = s_min * std::pow(s_max / s_min, t);
    sp[k] = 0.5L * std::pow(4.0L, t);
  }
  r.q_mat = spd_with_spectrum(s, gen);
  r.p_mat = spd_with_spectrum(sp, gen);
  r.q.resize(d);
  r.p.resize(d);
  for (auto& v : r.q) v = normal(gen);
  for (auto& v : r.p) v = normal(gen);
  return r;
}

// Kernels of the problem (plain pointers, CONTINUA_HD, so they run on Thrust's device system).
template <class T>
struct gram_kernel {  // out_j = sum_k M_jk v_k + shift_j v_j - c_j (c may be null)
  T* out;
  const T* m;
  const T* v;
  const T* c;
  const T* logpen;  // log-penalties (null: none)
  std::size_t d;
  bool per_feature;
  CONTINUA_HD void operator()(std::size_t j) const {
    T s = 0;
    for (std::size_t k = 0; k < d; ++k) s += m[j * d + k] * v[k];
    if (c != nullptr) s -= c[j];
    if (logpen != nullptr) s += std::exp(logpen[per_feature ? j : 0]) * v[j];
    out[j] = s;
  }
};
template <class T>
struct weighted_product_kernel {  // out_j = e^{x_j} a_j b_j * scale
  T* out;
  const T* x;
  const T* a;
  const T* b;
  T scale;
  CONTINUA_HD void operator()(std::size_t j) const {
    out[j] = scale * std::exp(x[j]) * a[j] * b[j];
  }
};
template <class T>
struct scaled_copy_kernel {  // out = s * in
  T* out;
  const T* in;
  T s;
  CONTINUA_HD void operator()(std::size_t i) const { out[i] = s * in[i]; }
};
template <class T>
struct set_value_kernel {
  T* out;
  T value;
  CONTINUA_HD void operator()(std::size_t i) const { out[i] = value; }
};

// The problem on vector type V (x and w both V). Member data in V, so device problems run on the
// device. inner_grad_x is there for finite_difference_products' directional cross product.
template <class V>
struct ridge_problem {
  using T = continua::value_t<V>;
  using space = continua::memory_space_t<V>;
  std::size_t d;
  bool per_feature;
  T rho;
  V q_mat, q, p_mat, p;

  template <class Conv>
  ridge_problem(const ridge_data& r, Conv to_v)
      : d(r.d), per_feature(r.per_feature), rho(T(r.rho)) {
    std::vector<T> qm, pm, qv, pv;
    for (std::size_t i = 0; i < d; ++i) {
      for (std::size_t j = 0; j < d; ++j) {
        qm.push_back(T(r.q_mat[i][j]));
        pm.push_back(T(r.p_mat[i][j]));
      }
      qv.push_back(T(r.q[i]));
      pv.push_back(T(r.p[i]));
    }
    q_mat = to_v(qm);
    p_mat = to_v(pm);
    q = to_v(qv);
    p = to_v(pv);
  }

  void inner_grad(const V& x, const V& w, V& out) const {
    continua::for_each_index(
        space{}, d,
        gram_kernel<T>{continua::data(out), continua::data(q_mat), continua::data(w),
                       continua::data(q), continua::data(x), d, per_feature});
  }
  void inner_hvp(const V& x, const V&, const V& v, V& out) const {
    continua::for_each_index(
        space{}, d,
        gram_kernel<T>{continua::data(out), continua::data(q_mat), continua::data(v), nullptr,
                       continua::data(x), d, per_feature});
  }
  // (d/dx grad_y g)' v: per feature e^{x_j} w_j v_j; shared e^x <w, v>.
  void inner_cross(const V& x, const V& w, const V& v, V& out) const {
    weighted(x, w, v, T(1), out);
  }
  // grad_x g = e^{x_j} w_j^2 / 2 (per feature) or e^x |w|^2 / 2.
  void inner_grad_x(const V& x, const V& w, V& out) const { weighted(x, w, w, T(0.5), out); }
  void outer_grad_y(const V&, const V& w, V& out) const {
    continua::for_each_index(
        space{}, d,
        gram_kernel<T>{continua::data(out), continua::data(p_mat), continua::data(w),
                       continua::data(p), nullptr, d, per_feature});
  }
  void outer_grad_x(const V& x, const V&, V& out) const {
    continua::for_each_index(space{}, continua::size(x),
                             scaled_copy_kernel<T>{continua::data(out), continua::data(x), rho});
  }

 private:
  void weighted(const V& x, const V& a, const V& b, T scale, V& out) const {
    if (per_feature) {
      continua::for_each_index(
          space{}, d,
          weighted_product_kernel<T>{continua::data(out), continua::data(x), continua::data(a),
                                     continua::data(b), scale});
    } else {
      V xs(a);  // e^{x_0} for every j, through a broadcast of x_0
      const double x0 = continua::sum(continua::as_span(x));
      continua::for_each_index(space{}, d, set_value_kernel<T>{continua::data(xs), T(x0)});
      V prod(a);
      continua::for_each_index(
          space{}, d,
          weighted_product_kernel<T>{continua::data(prod), continua::data(xs), continua::data(a),
                                     continua::data(b), scale});
      const double s = continua::sum(continua::as_span(prod));
      continua::for_each_index(space{}, 1, set_value_kernel<T>{continua::data(out), T(s)});
    }
  }
};

// The same problem without second-order members (for finite_difference_products); with_grad_x
// keeps inner_grad_x.
template <class V, bool with_grad_x>
struct first_order_ridge {
  ridge_problem<V> pb;
  void inner_grad(const V& x, const V& w, V& out) const { pb.inner_grad(x, w, out); }
  void outer_grad_x(const V& x, const V& w, V& out) const { pb.outer_grad_x(x, w, out); }
  void outer_grad_y(const V& x, const V& w, V& out) const { pb.outer_grad_y(x, w, out); }
  void inner_grad_x(const V& x, const V& w, V& out) const requires with_grad_x {
    pb.inner_grad_x(x, w, out);
  }
};

}  // namespace bilevel_test
