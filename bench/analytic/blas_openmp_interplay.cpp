// Does the BLAS's own thread pool get in the way of continua's OpenMP regions? Alternates a
// BLAS call (dsyrk, d x d from n rows, the accumulation shape) with a small OpenMP loop (a
// continua-sized elementwise update) and times each part, against the same parts run apart.
// With a pthread OpenBLAS, its workers spin for a while after each call, so an OpenMP region
// right after one shares the cores with spinning threads; an OpenMP OpenBLAS shares libgomp's
// pool instead. Prints the library's threading model (openblas_get_parallel: 0 sequential,
// 1 pthreads, 2 OpenMP) when the BLAS is OpenBLAS. Usage: blas_openmp_interplay [d n reps].
#include <omp.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

extern "C" {
void dsyrk_(const char*, const char*, const int*, const int*, const double*, const double*,
            const int*, const double*, double*, const int*, std::size_t, std::size_t);
int openblas_get_parallel() __attribute__((weak));
int openblas_get_num_threads() __attribute__((weak));
}

namespace {

double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// An Adam-like elementwise pass over 2^18 floats: above CONTINUA_OMP_MIN_SIZE, about 0.1 ms.
void omp_region(std::vector<float>& x, const std::vector<float>& g) {
  const std::ptrdiff_t n = static_cast<std::ptrdiff_t>(x.size());
#pragma omp parallel for simd
  for (std::ptrdiff_t i = 0; i < n; ++i) x[i] = 0.999f * x[i] - 0.001f * g[i];
}

}  // namespace

int main(int argc, char** argv) {
  const int d = argc > 1 ? std::atoi(argv[1]) : 1024;
  const int n = argc > 2 ? std::atoi(argv[2]) : 256;
  const int reps = argc > 3 ? std::atoi(argv[3]) : 50;
  std::vector<double> a(std::size_t(d) * n, 0.01), c(std::size_t(d) * d, 0.0);
  std::vector<float> x(1 << 18, 1.0f), g(1 << 18, 0.5f);
  const char lo = 'L', no = 'N';
  const double one = 1;
  const auto blas = [&] { dsyrk_(&lo, &no, &d, &n, &one, a.data(), &d, &one, c.data(), &d, 1, 1); };
  std::printf("OpenMP threads %d, OpenBLAS threads %d, OpenBLAS parallel model %d\n",
              omp_get_max_threads(), openblas_get_num_threads ? openblas_get_num_threads() : -1,
              openblas_get_parallel ? openblas_get_parallel() : -1);
  blas();
  omp_region(x, g);
  double t_blas = 0, t_omp = 0, t_blas_alone = 0, t_omp_alone = 0;
  for (int r = 0; r < reps; ++r) {  // alternating, as an analytic fit beside an optimizer step
    double t0 = now();
    blas();
    double t1 = now();
    omp_region(x, g);
    double t2 = now();
    t_blas += t1 - t0;
    t_omp += t2 - t1;
  }
  for (int r = 0; r < reps; ++r) {
    const double t0 = now();
    blas();
    t_blas_alone += now() - t0;
  }
  for (int r = 0; r < reps; ++r) {
    const double t0 = now();
    omp_region(x, g);
    t_omp_alone += now() - t0;
  }
  std::printf("dsyrk d=%d n=%d: %.3f ms alternating, %.3f ms alone\n", d, n, 1e3 * t_blas / reps,
              1e3 * t_blas_alone / reps);
  std::printf("OpenMP region 2^18: %.3f ms right after a BLAS call, %.3f ms back to back\n",
              1e3 * t_omp / reps, 1e3 * t_omp_alone / reps);
  return x[0] > 0 ? 0 : 1;
}
