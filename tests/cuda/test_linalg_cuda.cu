// core/linalg on a CUDA device: every cuBLAS/cuSOLVER path, on thrust::device_vector data in
// float and double and every layout, against long-double host loops and the rounding-error
// bounds of tests/core/test_linalg.cpp (Higham, "Accuracy and Stability of Numerical
// Algorithms", 2nd ed., Thms 3.5, 8.5, 10.3, 10.4). Exit 0 ok, 1 failure, 77 without a GPU.
#include <cuda_runtime.h>
#include <thrust/device_vector.h>
#include <thrust/host_vector.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "../common/linalg_reference.hpp"
#include "continua/adapters/thrust.hpp"
#include "continua/core/linalg.hpp"

namespace {

using continua::device_space;
using continua::layout;
using continua::matrix_view;
using continua::span;
using continua::linalg::op;
using continua::linalg::triangle;
using ld = long double;
using namespace continua_test::linalg_reference;

int failures = 0;
void expect(bool ok, const std::string& what) {
  if (ok) return;
  ++failures;
  std::fprintf(stderr, "FAIL: %s\n", what.c_str());
}

// A matrix in device memory, in a given layout.
template <class T>
class dmat {
 public:
  dmat(const lmat& values, layout order) : rows_(values.rows), cols_(values.cols), order_(order) {
    std::vector<T> h(rows_ * cols_);
    for (std::size_t i = 0; i < rows_; ++i)
      for (std::size_t j = 0; j < cols_; ++j) h[index(i, j)] = static_cast<T>(values(i, j));
    d_ = thrust::device_vector<T>(h.begin(), h.end());
  }
  matrix_view<T, device_space> view() {
    return {thrust::raw_pointer_cast(d_.data()), rows_, cols_, order_};
  }
  matrix_view<const T, device_space> cview() { return view(); }
  std::vector<T> raw() const {
    thrust::host_vector<T> h = d_;
    return std::vector<T>(h.begin(), h.end());
  }
  lmat read() const {
    const std::vector<T> h = raw();
    lmat m(rows_, cols_);
    for (std::size_t i = 0; i < rows_; ++i)
      for (std::size_t j = 0; j < cols_; ++j) m(i, j) = static_cast<ld>(h[index(i, j)]);
    return m;
  }

 private:
  std::size_t index(std::size_t i, std::size_t j) const {
    return order_ == layout::row_major ? i * cols_ + j : j * rows_ + i;
  }
  std::size_t rows_, cols_;
  layout order_;
  thrust::device_vector<T> d_;
};

template <class T>
struct dvec {
  explicit dvec(std::size_t n) : d(n, T(0)) {}
  span<T, device_space> view() { return {thrust::raw_pointer_cast(d.data()), d.size()}; }
  std::vector<T> read() const {
    thrust::host_vector<T> h = d;
    return std::vector<T>(h.begin(), h.end());
  }
  thrust::device_vector<T> d;
};

template <class T>
void check_gemm(const std::string& tn) {
  const std::size_t shapes[][3] = {{1, 7, 5}, {7, 1, 5}, {6, 6, 6}, {13, 9, 17}, {33, 20, 40}};
  const T alpha = T(0.75), beta = T(-0.5);
  std::uint64_t seed = 1;
  for (const auto& sh : shapes)
    for (op oa : ops)
      for (op ob : ops) {
        const std::size_t m = sh[0], n = sh[1], k = sh[2];
        const lmat a =
            rounded<T>(random_matrix(oa == op::none ? m : k, oa == op::none ? k : m, ++seed));
        const lmat b =
            rounded<T>(random_matrix(ob == op::none ? k : n, ob == op::none ? n : k, ++seed));
        const lmat c0 = rounded<T>(random_matrix(m, n, ++seed));
        lmat want = product(apply(oa, a), apply(ob, b));
        lmat bound = product(absolute(apply(oa, a)), absolute(apply(ob, b)));
        for (std::size_t i = 0; i < want.v.size(); ++i) {
          want.v[i] = ld(alpha) * want.v[i] + ld(beta) * c0.v[i];
          bound.v[i] = ld(k + 2) * eps<T>() *
                       (std::fabs(ld(alpha)) * bound.v[i] + std::fabs(ld(beta) * c0.v[i]));
        }
        for (layout la : layouts)
          for (layout lb : layouts)
            for (layout lc : layouts) {
              dmat<T> sa(a, la), sb(b, lb), sc(c0, lc);
              continua::linalg::gemm(oa, ob, alpha, sa.cview(), sb.cview(), beta, sc.view());
              expect(worst_ratio(sc.read(), want, bound) <= 1,
                     tn + " gemm " + std::to_string(m) + "x" + std::to_string(n) + "x" +
                         std::to_string(k) + " " + name(oa) + name(ob) + " " + name(la) + name(lb) +
                         name(lc));
            }
      }
}

template <class T>
void check_syrk(const std::string& tn) {
  const std::size_t shapes[][2] = {{1, 6}, {6, 1}, {12, 7}, {7, 12}, {40, 33}};
  const T alpha = T(1.25), beta = T(0.5);
  std::uint64_t seed = 100;
  for (const auto& sh : shapes)
    for (op trans : ops) {
      const std::size_t n = sh[0], k = sh[1];
      const lmat a = rounded<T>(trans == op::transpose ? random_matrix(k, n, ++seed)
                                                       : random_matrix(n, k, ++seed));
      const lmat half = random_matrix(n, n, ++seed);
      const lmat c0 = rounded<T>(product(half, transpose(half)));
      const lmat left = trans == op::transpose ? transpose(a) : a;
      lmat want = product(left, transpose(left));
      lmat bound = product(absolute(left), transpose(absolute(left)));
      for (std::size_t i = 0; i < want.v.size(); ++i) {
        want.v[i] = ld(alpha) * want.v[i] + ld(beta) * c0.v[i];
        bound.v[i] =
            ld(k + 2) * eps<T>() * (ld(alpha) * bound.v[i] + std::fabs(ld(beta) * c0.v[i]));
      }
      for (layout la : layouts)
        for (layout lc : layouts) {
          dmat<T> sa(a, la), sc(c0, lc);
          continua::linalg::syrk(trans, alpha, sa.cview(), beta, sc.view());
          const lmat got = sc.read();
          bool symmetric = true;
          for (std::size_t i = 0; i < n; ++i)
            for (std::size_t j = 0; j < n; ++j) symmetric = symmetric && got(i, j) == got(j, i);
          const std::string ctx = tn + " syrk n=" + std::to_string(n) + " k=" + std::to_string(k) +
                                  " " + name(trans) + " " + name(la) + name(lc);
          expect(symmetric, ctx + ": triangles differ");
          expect(worst_ratio(got, want, bound) <= 1, ctx);
        }
    }
}

// Factors sl (n x n) on the device, through the workspace overload or the allocating one. Checks
// that L is lower triangular with a positive diagonal; returns L and |L| |Lᵀ|, which times
// (n + 1) eps bounds L Lᵀ - A (Higham, Thm 10.3).
template <class T>
std::pair<lmat, lmat> factor_on_device(dmat<T>& sl, bool with_workspace, std::size_t n,
                                       const std::string& ctx) {
  if (with_workspace) {
    dvec<T> work(n * n);
    continua::linalg::cholesky_factor(sl.view(), work.view());
  } else {
    continua::linalg::cholesky_factor(sl.view());
  }
  const lmat l = sl.read();
  bool shape_ok = true;
  for (std::size_t i = 0; i < n; ++i) {
    shape_ok = shape_ok && l(i, i) > 0;
    for (std::size_t j = i + 1; j < n; ++j) shape_ok = shape_ok && l(i, j) == 0;
  }
  expect(shape_ok, ctx + ": factor not lower triangular with positive diagonal");
  return {l, product(absolute(l), transpose(absolute(l)))};
}

template <class T>
void check_cholesky(const std::string& tn) {
  for (std::size_t n : {1, 5, 40, 70})
    for (std::size_t m : {1, 3}) {
      const lmat a = rounded<T>(spd(n, 200 + n));
      lmat input = a;  // the strict upper triangle is never read
      for (std::size_t i = 0; i < n; ++i)
        for (std::size_t j = i + 1; j < n; ++j) input(i, j) = std::numeric_limits<ld>::quiet_NaN();
      const lmat b = rounded<T>(random_matrix(n, m, 400 + n + m));
      for (layout ll : layouts)
        for (layout lb : layouts) {
          const std::string ctx = tn + " cholesky n=" + std::to_string(n) +
                                  " m=" + std::to_string(m) + " " + name(ll) + name(lb);
          dmat<T> sl(input, ll), sb(b, lb);
          const auto [l, llt_bound] = factor_on_device(sl, lb == layout::row_major, n, ctx);
          lmat bound = llt_bound;
          for (auto& x : bound.v) x *= ld(n + 1) * eps<T>();
          expect(worst_ratio(product(l, transpose(l)), a, bound) <= 1, ctx + ": L Lt != A");

          continua::linalg::cholesky_solve(sl.cview(), sb.view());
          const lmat x = sb.read();
          lmat rbound = product(llt_bound, absolute(x));
          for (auto& v : rbound.v) v *= ld(3 * n + 1) * eps<T>();
          expect(worst_ratio(product(a, x), b, rbound) <= 1, ctx + ": solve residual");
        }
    }
}

template <class T>
void check_triangular_solve(const std::string& tn) {
  for (std::size_t n : {1, 17, 40})
    for (triangle uplo : {triangle::lower, triangle::upper})
      for (op trans : ops) {
        const std::size_t m = 3;
        lmat t = random_matrix(n, n, 500 + n);
        for (std::size_t i = 0; i < n; ++i)
          for (std::size_t j = 0; j < n; ++j) {
            const bool kept = uplo == triangle::lower ? j <= i : j >= i;
            t(i, j) = kept ? (i == j ? 2 + std::fabs(t(i, j)) : t(i, j) / ld(n)) : 0;
          }
        t = rounded<T>(t);
        const lmat b = rounded<T>(random_matrix(n, m, 600 + n));
        const lmat ot = apply(trans, t);
        const bool lower = (uplo == triangle::lower) == (trans == op::none);
        const auto substitute = [&](const lmat& rhs) {
          lmat x = rhs;
          for (std::size_t c = 0; c < rhs.cols; ++c)
            for (std::size_t s = 0; s < n; ++s) {
              const std::size_t i = lower ? s : n - 1 - s;
              ld acc = rhs(i, c);
              for (std::size_t j = 0; j < n; ++j)
                if (lower ? j < i : j > i) acc -= ot(i, j) * x(j, c);
              x(i, c) = acc / ot(i, i);
            }
          return x;
        };
        const lmat want = substitute(b);
        const lmat inv = substitute(identity(n));
        lmat input = t;
        for (std::size_t i = 0; i < n; ++i)
          for (std::size_t j = 0; j < n; ++j)
            if (uplo == triangle::lower ? j > i : j < i)
              input(i, j) = std::numeric_limits<ld>::quiet_NaN();
        for (layout lt : layouts)
          for (layout lb : layouts) {
            dmat<T> st(input, lt), sb(b, lb);
            continua::linalg::triangular_solve(uplo, trans, st.cview(), sb.view());
            const lmat got = sb.read();
            lmat bound = product(product(absolute(inv), absolute(ot)), absolute(got));
            for (auto& v : bound.v) v *= ld(n + 1) * eps<T>();
            expect(worst_ratio(got, want, bound) <= 1,
                   tn + " triangular_solve n=" + std::to_string(n) + " " +
                       (lower ? "lower " : "upper ") + name(trans) + " " + name(lt) + name(lb));
          }
      }
}

lmat orthonormal_columns(std::size_t n, std::size_t k, std::uint64_t seed) {
  lmat q = identity(n);
  for (int r = 0; r < 3; ++r) {
    const lmat u = random_matrix(n, 1, seed + static_cast<std::uint64_t>(r));
    ld uu = 0;
    for (ld x : u.v) uu += x * x;
    lmat h = identity(n);
    for (std::size_t i = 0; i < n; ++i)
      for (std::size_t j = 0; j < n; ++j) h(i, j) -= 2 * u(i, 0) * u(j, 0) / uu;
    q = product(q, h);
  }
  lmat out(n, k);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < k; ++j) out(i, j) = q(i, j);
  return out;
}

template <class T>
void check_svd(const std::string& tn) {
  const std::size_t shapes[][2] = {{1, 6}, {6, 1}, {9, 4}, {4, 9}, {20, 13}, {13, 20}, {40, 40}};
  for (const auto& sh : shapes) {
    const std::size_t m = sh[0], n = sh[1], k = std::min(m, n);
    const ld p = 10 * ld(std::max(m, n)) * eps<T>();
    lmat d(k, k);
    for (std::size_t i = 0; i < k; ++i) d(i, i) = ld(3) / ld(1 + i);
    const lmat a = rounded<T>(product(product(orthonormal_columns(m, k, 700 + m), d),
                                      transpose(orthonormal_columns(n, k, 800 + n))));
    const ld norm_a = frobenius(a);
    for (layout la : layouts)
      for (layout lu : layouts)
        for (layout lv : layouts) {
          const std::string ctx = tn + " svd " + std::to_string(m) + "x" + std::to_string(n) + " " +
                                  name(la) + name(lu) + name(lv);
          dmat<T> sa(a, la), su(lmat(m, k), lu), sv(lmat(n, k), lv);
          dvec<T> ss(k);
          continua::linalg::svd(sa.cview(), ss.view(), su.view(), sv.view());
          const std::vector<T> s = ss.read();
          const lmat u = su.read(), v = sv.read();
          lmat sd(k, k);
          bool ok = true;
          for (std::size_t i = 0; i < k; ++i) {
            sd(i, i) = s[i];
            ok = ok && s[i] >= 0 && (i == 0 || s[i - 1] >= s[i]);
            ok = ok && std::fabs(ld(s[i]) - d(i, i)) <= p * norm_a;
          }
          expect(ok, ctx + ": singular values");
          lmat res = product(product(u, sd), transpose(v));
          for (std::size_t i = 0; i < res.v.size(); ++i) res.v[i] -= a.v[i];
          expect(frobenius(res) <= p * norm_a, ctx + ": A != U S Vt");
          lmat utu = product(transpose(u), u), vtv = product(transpose(v), v);
          for (std::size_t i = 0; i < k; ++i) {
            utu(i, i) -= 1;
            vtv(i, i) -= 1;
          }
          expect(frobenius(utu) <= p, ctx + ": U not orthonormal");
          expect(frobenius(vtv) <= p, ctx + ": V not orthonormal");
          dvec<T> s2(k);
          continua::linalg::svd(sa.cview(), s2.view());
          const std::vector<T> only = s2.read();
          for (std::size_t i = 0; i < k; ++i)
            expect(std::fabs(ld(only[i]) - d(i, i)) <= p * norm_a, ctx + ": values only");
        }
  }
}

template <class T>
void check_errors(const std::string& tn) {
  lmat a(3, 3);  // leading minors 1, -3: pivot 1 fails
  a(0, 0) = 1, a(0, 1) = 2, a(1, 0) = 2, a(1, 1) = 1, a(2, 2) = 1;
  lmat c = identity(3);  // NaN pivot
  c(1, 1) = std::numeric_limits<ld>::quiet_NaN();
  for (const lmat& bad : {a, c})
    for (layout l : layouts) {
      dmat<T> s(bad, l);
      const std::vector<T> before = s.raw();
      std::size_t pivot = 99;
      try {
        continua::linalg::cholesky_factor(s.view());
      } catch (const continua::linalg::not_positive_definite& e) {
        pivot = e.pivot();
      }
      expect(pivot == 1, tn + " non-SPD: pivot " + std::to_string(pivot) + ", expected 1");
      const std::vector<T> after = s.raw();
      expect(std::memcmp(before.data(), after.data(), before.size() * sizeof(T)) == 0,
             tn + " non-SPD: input changed");
    }
  dmat<T> a23(random_matrix(2, 3, 1), layout::row_major), c22(lmat(2, 2), layout::row_major);
  bool thrown = false;
  try {
    continua::linalg::gemm(a23.cview(), a23.cview(), c22.view());
  } catch (const continua::size_mismatch&) {
    thrown = true;
  }
  expect(thrown, tn + " gemm with mismatched shapes did not throw size_mismatch");
}

// potrf at n = 512, beyond the blocking sizes of the small cases (cuSOLVER's blocked factor
// takes other code paths there). A = Mᵀ M + n I; the residual L Lᵀ - A is held to
// (n + 1) eps |L| |Lᵀ| elementwise (Higham Thm 10.3), with the products in long double; the
// row-major layout goes through the workspace overload, the column-major one through the other.
template <class T>
void check_large_cholesky(const std::string& tn) {
  const std::size_t n = 512;
  const lmat a = rounded<T>(spd(n, 901));
  for (layout ll : layouts) {
    const std::string ctx = tn + " cholesky n=512 " + name(ll);
    dmat<T> sl(a, ll);
    auto [l, bound] = factor_on_device(sl, ll == layout::row_major, n, ctx);
    for (auto& x : bound.v) x *= ld(n + 1) * eps<T>();
    const lmat llt = product(l, transpose(l));
    const bool ok = worst_ratio(llt, a, bound) <= 1;
    if (!ok) print_first_excess(ctx, llt, a, bound);
    expect(ok, ctx + ": L Lt != A");
  }
}

template <class T>
void run_all(const std::string& tn) {
  check_large_cholesky<T>(tn);
  check_gemm<T>(tn);
  check_syrk<T>(tn);
  check_cholesky<T>(tn);
  check_triangular_solve<T>(tn);
  check_svd<T>(tn);
  check_errors<T>(tn);
}

}  // namespace

int main() {
  int devices = 0;
  if (cudaGetDeviceCount(&devices) != cudaSuccess || devices == 0) {
    std::printf("test_linalg_cuda: no CUDA device, skipped\n");
    return 77;
  }
  try {
    run_all<float>("float");
    run_all<double>("double");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "FAIL: unexpected exception: %s\n", e.what());
    return 1;
  }
  std::printf("test_linalg_cuda: %d failure(s)\n", failures);
  return failures == 0 ? 0 : 1;
}
