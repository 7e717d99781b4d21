// core on a user's CUDA stream and at sizes the old kernels could not reach: cuda_stream_guard
// routes Thrust loops, reductions, cuBLAS/cuSOLVER and continua's own kernels onto a non-blocking
// stream, with results equal to the default stream's; Cholesky reuses its scratch, reports the
// first bad pivot and leaves A unchanged; the NaN check over a device parameter set (one wait per
// set) neither misses a NaN in the last tensor nor leaks its flag into the next check; a wide SVD
// with 600 000 columns goes through the cuBLAS geam transposes (the former kernel stopped at
// 65535 * 8). Exit 0 ok, 1 failure, 77 without a GPU.
#include <cuda_runtime.h>
#include <thrust/device_vector.h>
#include <thrust/host_vector.h>

#include <cmath>
#include <cstdio>
#include <tuple>
#include <vector>

#include "continua/adapters/thrust.hpp"
#include "continua/core/cuda_stream.hpp"
#include "continua/core/finite.hpp"
#include "continua/core/linalg.hpp"
#include "continua/optim.hpp"
#include "cuda_check.hpp"

namespace {

using continua::device_space;
using continua::layout;
using continua::matrix_view;
using continua::span;
namespace la = continua::linalg;

struct pattern_fill {
  double* p;
  CONTINUA_HD void operator()(std::size_t i) const { p[i] = double(i % 7) - 3.0; }
};
struct square_map {
  const double* p;
  CONTINUA_HD double operator()(std::size_t i) const { return p[i] * p[i]; }
};

// A = U diag(s) Vᵀ checked by ||A||_F² = sum s², descending s, and A V = U diag(s) (double).
void wide_svd(layout ul, layout vl) {
  const std::size_t m = 3, n = 600000;
  std::vector<double> a(m * n);  // column-major
  for (std::size_t j = 0; j < n; ++j)
    for (std::size_t i = 0; i < m; ++i)
      a[i + j * m] = std::sin(0.001 * double(j) * double(i + 1)) + (i == 0 ? 0.5 : 0.0);
  double frobenius = 0;
  for (const double x : a) frobenius += x * x;
  thrust::device_vector<double> da(a.begin(), a.end()), ds(m), du(m * m), dv(n * m);
  la::svd(matrix_view<const double, device_space>(thrust::raw_pointer_cast(da.data()), m, n,
                                                  layout::col_major),
          span<double, device_space>(thrust::raw_pointer_cast(ds.data()), m),
          matrix_view<double, device_space>(thrust::raw_pointer_cast(du.data()), m, m, ul),
          matrix_view<double, device_space>(thrust::raw_pointer_cast(dv.data()), n, m, vl));
  const thrust::host_vector<double> s = ds, u = du, v = dv;
  const auto at_u = [&](std::size_t i, std::size_t k) {
    return ul == layout::row_major ? u[i * m + k] : u[i + k * m];
  };
  const auto at_v = [&](std::size_t j, std::size_t k) {
    return vl == layout::row_major ? v[j * m + k] : v[j + k * n];
  };
  double sum_s2 = 0;
  for (const double x : s) sum_s2 += x * x;
  CONTINUA_CHECK_CLOSE(sum_s2, frobenius, 1e-9 * frobenius);
  CONTINUA_CHECK(s[0] >= s[1] && s[1] >= s[2] && s[2] > 0);
  std::vector<double> av(m * m), us(m * m);
  for (std::size_t k = 0; k < m; ++k)
    for (std::size_t i = 0; i < m; ++i) {
      double sum = 0;
      for (std::size_t j = 0; j < n; ++j) sum += a[i + j * m] * at_v(j, k);
      av[i + k * m] = sum;
      us[i + k * m] = at_u(i, k) * s[k];
    }
  const char* label = ul == layout::row_major
                          ? (vl == layout::row_major ? "wide svd A V = U S (U row, V row)"
                                                     : "wide svd A V = U S (U row, V col)")
                          : (vl == layout::row_major ? "wide svd A V = U S (U col, V row)"
                                                     : "wide svd A V = U S (U col, V col)");
  continua_cuda_test::compare_arrays(label, av, us, 1e-9);
}

std::vector<double> spd(std::size_t n) {
  std::vector<double> h(n * n);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < n; ++j)
      h[i + j * n] = (i == j ? double(n) : 0.0) + 1.0 / (1.0 + double(i + j));
  return h;
}

void cholesky_on_stream(cudaStream_t stream) {
  const std::size_t n = 300;
  const std::vector<double> h = spd(n);
  thrust::device_vector<double> d(n * n);
  const matrix_view<double, device_space> a(thrust::raw_pointer_cast(d.data()), n, n,
                                            layout::col_major);
  for (int rep = 0; rep < 3; ++rep) {  // the second and third reuse the first's scratch
    thrust::copy(h.begin(), h.end(), d.begin());
    CONTINUA_CHECK(cudaDeviceSynchronize() == cudaSuccess);
    la::cholesky_factor(a);
    CONTINUA_CHECK(cudaStreamSynchronize(stream) == cudaSuccess);
    const thrust::host_vector<double> l = d;
    std::vector<double> llt, ref;
    bool upper_zero = true;
    for (std::size_t j = 0; j < n; ++j)
      for (std::size_t i = 0; i < n; ++i) {
        if (i < j) {
          upper_zero = upper_zero && l[i + j * n] == 0.0;
          continue;
        }
        if ((i + 3 * j) % 11 != 0) continue;  // a sample of the lower triangle
        double x = 0;
        for (std::size_t k = 0; k <= j; ++k) x += l[i + k * n] * l[j + k * n];
        llt.push_back(x);
        ref.push_back(h[i + j * n]);
      }
    CONTINUA_CHECK(upper_zero);
    continua_cuda_test::compare_arrays("cholesky on a stream: L Lᵀ = A", llt, ref, 1e-12);
  }
  // A NaN pivot at 5 and a negative one at 40: pivot 5 is reported and A is unchanged.
  std::vector<double> bad = h;
  bad[5 + 5 * n] = std::nan("");
  bad[40 + 40 * n] = -1.0;
  for (const std::size_t expected_pivot : {std::size_t(5), std::size_t(40)}) {
    thrust::copy(bad.begin(), bad.end(), d.begin());
    CONTINUA_CHECK(cudaDeviceSynchronize() == cudaSuccess);
    bool threw = false;
    try {
      la::cholesky_factor(a);
    } catch (const la::not_positive_definite& e) {
      threw = true;
      CONTINUA_CHECK(e.pivot() == expected_pivot);
    }
    CONTINUA_CHECK(threw);
    CONTINUA_CHECK(cudaStreamSynchronize(stream) == cudaSuccess);
    const thrust::host_vector<double> back = d;
    continua_cuda_test::compare_bits("failed cholesky leaves A unchanged", back, bad);
    bad[5 + 5 * n] = h[5 + 5 * n];  // second round: only the negative pivot remains
  }
}

void loops_on_stream(cudaStream_t stream) {
  thrust::device_vector<double> x(1 << 20);
  double* px = thrust::raw_pointer_cast(x.data());
  double expect = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double v = double(i % 7) - 3.0;
    expect += v * v;
  }
  for (int rep = 0; rep < 3; ++rep) {
    continua::for_each_index(device_space{}, x.size(), pattern_fill{px});
    const double got =
        continua::transform_reduce(device_space{}, x.size(), 0.0, square_map{px}, continua::plus{});
    CONTINUA_CHECK_CLOSE(got, expect, 0.0);  // small integers: every order sums exactly
  }
  CONTINUA_CHECK(cudaStreamSynchronize(stream) == cudaSuccess);
}

// The NaN check queues one test per tensor and waits once: a NaN in the last tensor is found, and
// the flag it raised does not make the next (clean) check fail.
void nan_check_per_set() {
  thrust::device_vector<float> a(1000, 1.f), b(1 << 20, 2.f), c(4097, 3.f);
  auto set = std::tie(a, b, c);
  CONTINUA_CHECK(continua::all_finite(set));
  c[4096] = std::nanf("");
  CONTINUA_CHECK(!continua::all_finite(set));
  CONTINUA_CHECK(!continua::all_finite(set));
  c[4096] = 3.f;
  CONTINUA_CHECK(continua::all_finite(set));
  b[0] = INFINITY;
  CONTINUA_CHECK(!continua::all_finite(set));
  b[0] = 2.f;
  CONTINUA_CHECK(continua::all_finite(set));
}

// An Adam chain stepped on the stream equals the same chain on the default stream, bit for bit.
std::vector<float> adam_steps(cudaStream_t stream) {
  continua::cuda_stream_guard guard(stream);
  namespace o = continua::optim;
  const std::size_t n = 1 << 18;
  std::vector<float> p0(n), g0(n);
  for (std::size_t i = 0; i < n; ++i) {
    p0[i] = std::sin(0.01f * float(i));
    g0[i] = std::cos(0.02f * float(i));
  }
  thrust::device_vector<float> p(p0.begin(), p0.end());
  auto opt =
      o::chain(o::clip_by_global_norm(1.0), o::scale_by_adam(), o::scale_by_learning_rate(1e-2));
  auto s = opt.init(p);
  for (int t = 0; t < 5; ++t) {
    thrust::device_vector<float> g(g0.begin(), g0.end());
    CONTINUA_CHECK(cudaDeviceSynchronize() == cudaSuccess);
    opt.step(p, g, s);
    CONTINUA_CHECK(cudaStreamSynchronize(stream) == cudaSuccess);
  }
  const thrust::host_vector<float> back = p;
  return std::vector<float>(back.begin(), back.end());
}

}  // namespace

int main() {
  continua_cuda_test::skip_without_device();
  for (const layout ul : {layout::col_major, layout::row_major})
    for (const layout vl : {layout::col_major, layout::row_major}) wide_svd(ul, vl);
  cudaStream_t stream{};
  CONTINUA_CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking) == cudaSuccess);
  {
    continua::cuda_stream_guard guard(stream);
    CONTINUA_CHECK(continua::cuda_stream() == stream);
    cholesky_on_stream(stream);
    loops_on_stream(stream);
    nan_check_per_set();
  }
  CONTINUA_CHECK(continua::cuda_stream() == nullptr);  // the guard restored the default stream
  nan_check_per_set();
  continua_cuda_test::compare_bits("adam on a user stream = adam on the default stream",
                                   adam_steps(stream), adam_steps(nullptr));
  CONTINUA_CHECK(cudaStreamDestroy(stream) == cudaSuccess);
  return continua_cuda_test::exit_code("test_stream_cuda");
}
