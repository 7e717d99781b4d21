// test_package for the continua Conan recipe: reductions over std, Eigen and xtensor data.
// Inputs are small integers, so every expected value is exact in double.
#include <cstdio>
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
void check_equal(const char* what, double got, double expected) {
  const bool ok = got == expected;
  std::printf("%-36s %s (got %.17g, expected %.17g)\n", what, ok ? "ok  " : "FAIL", got, expected);
  if (!ok) ++failures;
}
}  // namespace

int main() {
  std::vector<double> v{1, 2, 3, 4};
  check_equal("sum(std::vector 1..4) = 10", continua::sum(v), 10.0);
  check_equal("dot(v, v) = 30", continua::dot(v, v), 30.0);
  check_equal("sum(span of 2..3) = 5", continua::sum(continua::as_span(v).subspan(1, 2)), 5.0);
#if CONTINUA_WITH_EIGEN
  Eigen::Vector3f e(1.0f, -2.0f, 4.0f);
  check_equal("squared_norm(Eigen::Vector3f) = 21", continua::squared_norm(e), 21.0);
#endif
#if CONTINUA_WITH_XTENSOR
  xt::xtensor<double, 1> x({3});
  x(0) = 0.5;
  x(1) = 1.5;
  x(2) = -4.0;
  check_equal("max_abs(xt::xtensor) = 4", continua::max_abs(x), 4.0);
#endif
#if CONTINUA_WITH_EIGEN && CONTINUA_WITH_BLAS
  std::vector<double> a{1, 2, 3, 4}, c(4);  // links only with the package's BLAS/LAPACK
  continua::linalg::gemm(continua::matrix_view<const double>(a.data(), 2, 2),
                         continua::matrix_view<const double>(a.data(), 2, 2),
                         continua::matrix_view<double>(c.data(), 2, 2));
  check_equal("BLAS gemm: (A A)(1, 1) = 22", c[3], 22.0);
#endif
  std::printf("eigen %d, xtensor %d, zlib %d, mpi %d, cuda %d, openmp %d, blas %d\n",
              CONTINUA_WITH_EIGEN, CONTINUA_WITH_XTENSOR, CONTINUA_WITH_ZLIB, CONTINUA_WITH_MPI,
              CONTINUA_WITH_CUDA, CONTINUA_WITH_OPENMP, CONTINUA_WITH_BLAS);
  std::printf("%s\n", failures == 0 ? "test_package: all checks passed" : "test_package: FAILED");
  return failures == 0 ? 0 : 1;
}
