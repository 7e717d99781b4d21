// core/linalg: the BLAS/LAPACK backend against the Eigen backend, called directly on the same
// column-major data in float and double. Each pair must agree within the sum of the two computed
// results' rounding-error bounds (Higham, "Accuracy and Stability of Numerical Algorithms", 2nd
// ed.: Thm 3.5 products, Thm 8.5 substitution, Thm 10.3 Cholesky), report the same failing Cholesky
// pivot and restore the input bit for bit. Compiled only where BLAS is linked (CONTINUA_WITH_BLAS).
#include <boost/test/unit_test.hpp>

#include "continua/core/linalg.hpp"

#if CONTINUA_WITH_BLAS
#include <algorithm>
#include <boost/mpl/list.hpp>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "../common/linalg_reference.hpp"

namespace {

using continua::linalg::detail::blas_backend;
using continua::linalg::detail::eigen_backend;
using ld = long double;
using continua_test::linalg_reference::eps;
using continua_test::linalg_reference::lmat;
using continua_test::linalg_reference::random_matrix;
using continua_test::linalg_reference::spd;

using types = boost::mpl::list<float, double>;

// Column-major storage of an lmat, rounded to T.
template <class T>
std::vector<T> col_major(const lmat& m) {
  std::vector<T> v(m.rows * m.cols);
  for (std::size_t i = 0; i < m.rows; ++i)
    for (std::size_t j = 0; j < m.cols; ++j) v[j * m.rows + i] = static_cast<T>(m(i, j));
  return v;
}

// Largest |x - y| / bound over the elements; infinite when either side is not finite.
template <class T>
ld worst(const std::vector<T>& x, const std::vector<T>& y, const std::vector<ld>& bound) {
  ld r = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    if (!std::isfinite(x[i]) || !std::isfinite(y[i])) return std::numeric_limits<ld>::infinity();
    const ld d = std::fabs(static_cast<ld>(x[i]) - static_cast<ld>(y[i]));
    r = std::max(r, d == 0 ? ld(0) : d / bound[i]);
  }
  return r;
}

// gamma_k = k u / (1 - k u), the constant of the rounding-error bounds.
template <class T>
ld gamma(std::size_t k) {
  const ld ku = static_cast<ld>(k) * eps<T>() / 2;
  return ku / (1 - ku);
}

// Twice the bound gamma_{k+2}(|alpha||op(A)||op(B)| + |beta||C|) of one computed
// alpha op(A) op(B) + beta C, column-major over C's m x n elements: two results differ by at most
// this.
template <class T>
std::vector<ld> product_bound(const lmat& a, bool ta, const lmat& b, bool tb, const lmat& c,
                              ld alpha, ld beta) {
  const std::size_t m = c.rows, n = c.cols, k = ta ? a.rows : a.cols;
  std::vector<ld> bound(m * n);
  for (std::size_t i = 0; i < m; ++i)
    for (std::size_t j = 0; j < n; ++j) {
      ld s = 0;
      for (std::size_t p = 0; p < k; ++p)
        s += std::fabs(ta ? a(p, i) : a(i, p)) * std::fabs(tb ? b(j, p) : b(p, j));
      bound[j * m + i] =
          2 * gamma<T>(k + 2) * (std::fabs(alpha) * s + std::fabs(beta) * std::fabs(c(i, j)));
    }
  return bound;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(linalg_backends)

// C = alpha op(A) op(B) + beta C: both results lie within gamma_{k+2}(|alpha||A||B| + |beta||C|)
// of the exact one, so they differ by at most twice that.
BOOST_AUTO_TEST_CASE_TEMPLATE(gemm_agrees_with_eigen_for_every_transpose, T, types) {
  const std::size_t m = 37, n = 29, k = 41;
  const T alpha = T(1.5), beta = T(-0.5);
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      const lmat a = random_matrix(ta ? k : m, ta ? m : k, 1);
      const lmat b = random_matrix(tb ? n : k, tb ? k : n, 2);
      const lmat c = random_matrix(m, n, 3);
      const auto av = col_major<T>(a), bv = col_major<T>(b), cv = col_major<T>(c);
      std::vector<T> ce = cv, cb = cv;
      eigen_backend::gemm(ta, tb, m, n, k, alpha, av.data(), bv.data(), beta, ce.data());
      blas_backend::gemm(ta, tb, m, n, k, alpha, av.data(), bv.data(), beta, cb.data());
      const auto bound = product_bound<T>(a, ta, b, tb, c, alpha, beta);
      BOOST_TEST(worst(ce, cb, bound) <= 1, "gemm " << ta << tb);
    }
}

// beta == 0 must not read C (a NaN there stays out of the result) and k == 0 gives beta C.
BOOST_AUTO_TEST_CASE_TEMPLATE(gemm_zero_beta_and_empty_inner_dimension, T, types) {
  const std::size_t m = 5, n = 4, k = 3;
  const auto av = col_major<T>(random_matrix(m, k, 4)), bv = col_major<T>(random_matrix(k, n, 5));
  std::vector<T> ce(m * n, std::numeric_limits<T>::quiet_NaN()), cb = ce;
  eigen_backend::gemm(false, false, m, n, k, T(1), av.data(), bv.data(), T(0), ce.data());
  blas_backend::gemm(false, false, m, n, k, T(1), av.data(), bv.data(), T(0), cb.data());
  for (std::size_t i = 0; i < m * n; ++i) {
    BOOST_TEST(std::isfinite(cb[i]));
    BOOST_TEST(std::fabs(ld(cb[i]) - ld(ce[i])) <= 2 * gamma<T>(k) * k);
  }
  std::vector<T> c0(m * n, T(2));
  blas_backend::gemm(false, false, m, n, 0, T(1), av.data(), bv.data(), T(3), c0.data());
  for (T x : c0) BOOST_TEST(x == T(6));
}

// syrk of either triangle, then mirror, stores both triangles, exactly equal, and agrees with
// Eigen within the product bound.
BOOST_AUTO_TEST_CASE_TEMPLATE(syrk_agrees_with_eigen_and_is_symmetric, T, types) {
  const std::size_t n = 33, k = 20;
  const T alpha = T(0.75), beta = T(2);
  for (bool upper : {false, true})
    for (bool trans : {false, true}) {
      const lmat a = random_matrix(trans ? k : n, trans ? n : k, 6);
      lmat c = random_matrix(n, n, 7);
      for (std::size_t i = 0; i < n; ++i)
        for (std::size_t j = 0; j < i; ++j) c(j, i) = c(i, j);
      const auto av = col_major<T>(a), cv = col_major<T>(c);
      std::vector<T> ce = cv, cb = cv;
      eigen_backend::syrk(upper, trans, n, k, alpha, av.data(), beta, ce.data());
      eigen_backend::mirror(upper, n, ce.data());
      blas_backend::syrk(upper, trans, n, k, alpha, av.data(), beta, cb.data());
      blas_backend::mirror(upper, n, cb.data());
      // op(A) op(A)^T is the product with B = A and the other transpose.
      const auto bound = product_bound<T>(a, trans, a, !trans, c, alpha, beta);
      for (std::size_t i = 0; i < n; ++i)
        for (std::size_t j = 0; j < n; ++j) {
          BOOST_TEST(cb[j * n + i] == cb[i * n + j]);
          BOOST_TEST(ce[j * n + i] == ce[i * n + j]);
        }
      BOOST_TEST(worst(ce, cb, bound) <= 1, "syrk upper " << upper << " trans " << trans);
    }
}

// Both factors of an SPD A are within the Cholesky backward-error bound of L (Thm 10.3 gives
// |ΔA| <= gamma_{n+1} |L||Lᵀ|; the factors themselves are compared through L Lᵀ against A).
BOOST_AUTO_TEST_CASE_TEMPLATE(cholesky_factors_reconstruct_like_eigen, T, types) {
  const std::size_t n = 48;
  const lmat a = spd(n, 8);
  for (bool upper : {false, true}) {
    const auto av = col_major<T>(a);
    std::vector<T> le = av, lb = av;
    BOOST_TEST(eigen_backend::cholesky(upper, n, le.data(), static_cast<T*>(nullptr)) == -1);
    std::vector<T> work(n * n);
    BOOST_TEST(blas_backend::cholesky(upper, n, lb.data(), work.data()) == -1);
    // The other strict triangle is zero, as in the Eigen backend.
    for (std::size_t i = 0; i < n; ++i)
      for (std::size_t j = 0; j < n; ++j)
        if (upper ? i > j : i < j) BOOST_TEST(lb[j * n + i] == T(0));
    // Reconstruct A from each factor: |F Fᵀ - A| <= gamma_{n+1} |F||Fᵀ| elementwise.
    for (const auto* f : {&le, &lb}) {
      ld excess = 0;
      for (std::size_t i = 0; i < n; ++i)
        for (std::size_t j = 0; j < n; ++j) {
          ld s = 0, sa = 0;
          for (std::size_t p = 0; p < n; ++p) {
            // L(i, p) for lower; for upper A = UᵀU, so U(p, i).
            const ld fi = upper ? ld((*f)[i * n + p]) : ld((*f)[p * n + i]);
            const ld fj = upper ? ld((*f)[j * n + p]) : ld((*f)[p * n + j]);
            s += fi * fj;
            sa += std::fabs(fi * fj);
          }
          const ld want = static_cast<ld>(static_cast<T>(a(i, j)));
          excess = std::max(excess, std::fabs(s - want) / (gamma<T>(n + 1) * sa));
        }
      BOOST_TEST(excess <= 1, "cholesky upper " << upper);
    }
  }
}

// Not positive definite: the same 0-based pivot as Eigen, for a negative, a NaN and an infinite
// pivot, in either triangle, and the input restored bit for bit.
BOOST_AUTO_TEST_CASE_TEMPLATE(cholesky_failure_index_and_restore_match_eigen, T, types) {
  const std::size_t n = 12;
  const ld values[] = {-1, std::numeric_limits<ld>::quiet_NaN(),
                       std::numeric_limits<ld>::infinity(), 0};
  for (ld bad : values)
    for (std::size_t pivot : {std::size_t(0), std::size_t(5), n - 1})
      for (bool upper : {false, true}) {
        lmat a = spd(n, 9);
        a(pivot, pivot) = bad;
        const auto av = col_major<T>(a);
        std::vector<T> ae = av, ab = av, work(n * n);
        const auto fe = eigen_backend::cholesky(upper, n, ae.data(), static_cast<T*>(nullptr));
        const auto fb = blas_backend::cholesky(upper, n, ab.data(), work.data());
        BOOST_TEST(fb == fe, "bad " << double(bad) << " at " << pivot << " upper " << upper);
        BOOST_TEST(fb >= 0);
        BOOST_TEST(fb <= static_cast<std::ptrdiff_t>(pivot));
        BOOST_TEST(std::memcmp(ab.data(), av.data(), av.size() * sizeof(T)) == 0);
        // Without caller workspace too.
        std::vector<T> an = av;
        BOOST_TEST(blas_backend::cholesky(upper, n, an.data(), static_cast<T*>(nullptr)) == fe);
        BOOST_TEST(std::memcmp(an.data(), av.data(), av.size() * sizeof(T)) == 0);
      }
}

// op(T) X = B and X op(T) = B for every side, triangle and transpose: both solutions are
// within the substitution bound, compared through the residual |op(T) X - B| <= gamma_n |op(T)||X|.
BOOST_AUTO_TEST_CASE_TEMPLATE(trsm_agrees_with_eigen_for_every_mode, T, types) {
  const std::size_t m = 19, n = 7;
  for (bool right : {false, true})
    for (bool upper : {false, true})
      for (bool trans : {false, true}) {
        const std::size_t order = right ? n : m;
        lmat t = random_matrix(order, order, 10);
        for (std::size_t i = 0; i < order; ++i) {
          t(i, i) = 2 + std::fabs(t(i, i));
          for (std::size_t j = 0; j < order; ++j)
            if (upper ? i > j : i < j) t(i, j) = 1e30L;  // the unread triangle must not matter
        }
        const auto tv = col_major<T>(t), bv = col_major<T>(random_matrix(m, n, 11));
        std::vector<T> xe = bv, xb = bv;
        eigen_backend::trsm(right, upper, trans, m, n, tv.data(), xe.data());
        blas_backend::trsm(right, upper, trans, m, n, tv.data(), xb.data());
        // op(T)(r, c) over the read triangle only.
        const auto opt = [&](std::size_t r, std::size_t c) -> ld {
          const std::size_t i = trans ? c : r, j = trans ? r : c;
          return (upper ? i <= j : i >= j) ? ld(tv[j * order + i]) : ld(0);
        };
        for (const auto* x : {&xe, &xb}) {
          ld excess = 0;
          for (std::size_t i = 0; i < m; ++i)
            for (std::size_t j = 0; j < n; ++j) {
              ld s = 0, sa = 0;
              for (std::size_t p = 0; p < order; ++p) {
                const ld term =
                    right ? ld((*x)[p * m + i]) * opt(p, j) : opt(i, p) * ld((*x)[j * m + p]);
                s += term;
                sa += std::fabs(term);
              }
              excess = std::max(
                  excess, std::fabs(s - ld(bv[j * m + i])) / (gamma<T>(order + 1) * sa + eps<T>()));
            }
          BOOST_TEST(excess <= 1,
                     "trsm right " << right << " upper " << upper << " trans " << trans);
        }
      }
}

// Thin SVD, tall and wide: equal singular values (within c n u ||A||_2, Golub & Van Loan 8.6),
// U diag(s) Vᵀ reconstructs A for both output orders, and the singular vectors match Eigen's up
// to sign (the values are well separated for these random matrices).
BOOST_AUTO_TEST_CASE_TEMPLATE(svd_agrees_with_eigen_up_to_signs, T, types) {
  const std::pair<std::size_t, std::size_t> shapes[] = {{23, 9}, {9, 23}};
  for (const auto& [m, n] : shapes)
    for (bool row_major : {false, true}) {
      const std::size_t k = std::min(m, n);
      const auto av = col_major<T>(random_matrix(m, n, 12));
      std::vector<T> se(k), sb(k), ue(m * k), ub(m * k), ve(n * k), vb(n * k);
      eigen_backend::svd(m, n, av.data(), se.data(), ue.data(), row_major, ve.data(), row_major);
      blas_backend::svd(m, n, av.data(), sb.data(), ub.data(), row_major, vb.data(), row_major);
      const ld tol = 10 * static_cast<ld>(std::max(m, n)) * eps<T>() * ld(se[0]);
      for (std::size_t i = 0; i < k; ++i) BOOST_TEST(std::fabs(ld(sb[i]) - ld(se[i])) <= tol);
      const auto at = [&](const std::vector<T>& f, std::size_t rows, std::size_t i, std::size_t j) {
        return ld(row_major ? f[i * k + j] : f[j * rows + i]);
      };
      ld recon = 0;
      for (std::size_t i = 0; i < m; ++i)
        for (std::size_t j = 0; j < n; ++j) {
          ld s = 0;
          for (std::size_t p = 0; p < k; ++p) s += at(ub, m, i, p) * ld(sb[p]) * at(vb, n, j, p);
          recon = std::max(recon, std::fabs(s - ld(av[j * m + i])));
        }
      BOOST_TEST(recon <= tol);
      // Each singular vector is determined to about u ||A|| / gap (Davis-Kahan); the gaps of these
      // fixed random matrices are far above 1/1000 of ||A||, so |<u_blas, u_eigen>| is 1 within
      // the tolerance below.
      const ld vec_tol = 1000 * static_cast<ld>(std::max(m, n)) * eps<T>();
      for (std::size_t p = 0; p < k; ++p) {
        ld du = 0, dv = 0;
        for (std::size_t i = 0; i < m; ++i) du += at(ub, m, i, p) * at(ue, m, i, p);
        for (std::size_t j = 0; j < n; ++j) dv += at(vb, n, j, p) * at(ve, n, j, p);
        BOOST_TEST(std::fabs(std::fabs(du) - 1) <= vec_tol, "u column " << p);
        BOOST_TEST(std::fabs(du * dv - 1) <= 2 * vec_tol, "sign pairing of column " << p);
      }
      std::vector<T> only(k);  // values only
      blas_backend::svd(m, n, av.data(), only.data(), static_cast<T*>(nullptr), false,
                        static_cast<T*>(nullptr), false);
      for (std::size_t i = 0; i < k; ++i) BOOST_TEST(std::fabs(ld(only[i]) - ld(se[i])) <= tol);
    }
}

BOOST_AUTO_TEST_SUITE_END()

#endif  // CONTINUA_WITH_BLAS
