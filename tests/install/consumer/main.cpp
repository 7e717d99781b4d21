// Consumer of the installed continua package: core reductions over std, Eigen and xtensor data.
// Expected values are closed forms on integer-valued data, so they are exact in double.
#include <cstdio>
#include <tuple>
#include <vector>

#include <continua/core.hpp>
#if CONTINUA_WITH_EIGEN
#include <Eigen/Core>
#include <continua/adapters/eigen.hpp>
#endif
#if CONTINUA_WITH_EIGEN && CONTINUA_WITH_BLAS
#include <continua/core/linalg.hpp>
#endif
#if CONTINUA_WITH_XTENSOR
#include <continua/adapters/xtensor.hpp>
#include <xtensor/xtensor.hpp>
#endif

namespace {

int failures = 0;

void check(bool ok, const char* what, double got, double expected) {
  std::printf("%-44s %s (got %.17g, expected %.17g)\n", what, ok ? "ok  " : "FAIL", got, expected);
  if (!ok) ++failures;
}
void check_equal(const char* what, double got, double expected) {
  check(got == expected, what, got, expected);
}

struct twice {
  const float* x;
  float* y;
  CONTINUA_HD void operator()(std::size_t i) const { y[i] = 2.0f * x[i]; }
};

}  // namespace

int main() {
  // Above CONTINUA_OMP_MIN_SIZE, so the OpenMP loop runs where the package enables it.
  constexpr std::size_t n = 100'000;
  std::vector<float> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<float>(i + 1);
  const double nd = static_cast<double>(n);

  check_equal("sum(std::vector) = n(n+1)/2", continua::sum(v), nd * (nd + 1) / 2);
  check_equal("dot(v, v) = n(n+1)(2n+1)/6", continua::dot(v, v), nd * (nd + 1) * (2 * nd + 1) / 6);
  check_equal("max_abs(v) = n", continua::max_abs(v), nd);

  // A span is a view: a slice of v, and a kernel writing through a span into another vector.
  const auto s = continua::as_span(v).subspan(10, 5);  // values 11..15
  check_equal("sum(span slice 11..15) = 65", continua::sum(s), 65.0);
  std::vector<float> w(n);
  continua::for_each_index(continua::host_space{}, n, twice{v.data(), w.data()});
  check_equal("for_each_index: sum(2v) = n(n+1)", continua::sum(continua::as_span(w)),
              nd * (nd + 1));

  bool threw = false;
  try {
    std::vector<float> shorter(n - 1);
    (void)continua::dot(v, shorter);
  } catch (const continua::size_mismatch&) {
    threw = true;
  }
  check(threw, "dot of unequal sizes throws size_mismatch", threw, 1);

#if CONTINUA_WITH_EIGEN
  Eigen::MatrixXd m(3, 4);
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 4; ++j) m(i, j) = i + 10.0 * j;
  // sum_{i<3, j<4} (i + 10 j) = 4*(0+1+2) + 3*10*(0+1+2+3) = 12 + 180.
  check_equal("sum(Eigen::MatrixXd) = 192", continua::sum(m), 192.0);
  // One vector over a mixed parameter set: sum of squares of both tensors.
  double m_sq = 0;
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 4; ++j) m_sq += (i + 10.0 * j) * (i + 10.0 * j);
  check_equal("squared_norm(tie(vector, Eigen))", continua::squared_norm(std::tie(v, m)),
              nd * (nd + 1) * (2 * nd + 1) / 6 + m_sq);
#else
  std::printf("Eigen part of the package is off: Eigen checks not compiled\n");
#endif

#if CONTINUA_WITH_EIGEN && CONTINUA_WITH_BLAS
  // Links only when the package's config carries BLAS/LAPACK: the facade calls dgemm_/dpotrf_.
  std::vector<double> a{4, 2, 2, 3}, c(4);  // symmetric, row-major
  continua::linalg::gemm(continua::matrix_view<const double>(a.data(), 2, 2),
                         continua::matrix_view<const double>(a.data(), 2, 2),
                         continua::matrix_view<double>(c.data(), 2, 2));
  check_equal("BLAS gemm: (A A)(0, 0) = 20", c[0], 20.0);
  continua::linalg::cholesky_factor(continua::matrix_view<double>(a.data(), 2, 2));
  check_equal("LAPACK potrf: L(0, 0) = 2", a[0], 2.0);
#else
  std::printf("BLAS backend of the package is off: BLAS checks not compiled\n");
#endif

#if CONTINUA_WITH_XTENSOR
  xt::xtensor<double, 2> x({2, 3});
  for (std::size_t i = 0; i < 2; ++i)
    for (std::size_t j = 0; j < 3; ++j) x(i, j) = static_cast<double>(3 * i + j + 1);  // 1..6
  check_equal("sum(xt::xtensor 1..6) = 21", continua::sum(x), 21.0);
#else
  std::printf("xtensor part of the package is off: xtensor checks not compiled\n");
#endif

  std::printf("%s\n", failures == 0 ? "consumer: all checks passed" : "consumer: FAILED");
  return failures == 0 ? 0 : 1;
}
