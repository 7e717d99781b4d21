// Gradient projections on a CUDA device, against the same calls on the host: GPM (two task
// boundaries, each an SVD plus CholeskyQR2 on cuSOLVER, then project) in float and double, its
// checkpoint across spaces; A-GEM on a mixed float/double parameter set; refresh_unlearn's
// Philox-noised ascent, which must be bit-identical. Exit 0 ok, 1 failure, 77 without a GPU.
#include <thrust/device_vector.h>
#include <thrust/host_vector.h>
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <string>
#include <tuple>
#include <vector>

#include "continua/adapters/thrust.hpp"
#include "continua/regularize/agem.hpp"
#include "continua/regularize/refresh.hpp"
#include "cuda_check.hpp"
#include "gpm_drivers.hpp"

namespace {

using continua_cuda_test::pseudo_random;

namespace rg = continua::regularize;
namespace fs = std::filesystem;
using continua::device_space;
using continua_cuda_test::compare_arrays;
using continua_cuda_test::compare_bits;

template <class T>
std::string name(const char* what) {
  return std::string(what) + (sizeof(T) == 4 ? " float" : " double");
}

template <class T>
std::vector<T> to_host(const thrust::device_vector<T>& d) {
  const thrust::host_vector<T> h = d;
  return std::vector<T>(h.begin(), h.end());
}

std::vector<unsigned char> file_bytes(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

fs::path temp_path(const std::string& tag) {
  return fs::temp_directory_path() /
         ("continua_cuda_" + std::to_string(::getpid()) + "_" + tag + ".ckpt");
}

// B Bᵀ (dim x dim) in double: the projector, which unlike B does not depend on the signs (or a
// rotation within a repeated singular value) that the two SVD backends pick for the vectors.
template <class T>
std::vector<double> projector(const std::vector<T>& b, std::size_t dim, std::size_t rank) {
  std::vector<double> p(dim * dim, 0.0);
  for (std::size_t i = 0; i < dim; ++i)
    for (std::size_t j = 0; j < dim; ++j)
      for (std::size_t k = 0; k < rank; ++k)
        p[i * dim + j] += double(b[i * rank + k]) * double(b[j * rank + k]);
  return p;
}

// Task inputs sum_k a_ik s_k q_k + 0.01 noise with a_ik = +-1 and fixed random directions q_k.
// Task 1, s = (10, 4, 2, 1): energy fractions ~0.83, 0.96, 0.99, so threshold 0.9 keeps 2.
// Task 2 reuses q_0 (already in the basis) with s = (6, 5, 3, 0.5) on q_0, q_4, q_5, q_6: the
// basis holds ~0.51, then 0.87, 0.998, so threshold 0.95 adds 2 (rank 4). Each kept singular
// value is at least twice the next, so neither rank sits near a threshold.
template <class T>
std::vector<T> task_inputs(std::size_t n, std::size_t dim, const std::vector<std::size_t>& dirs,
                           const std::vector<double>& scales, std::uint64_t seed, bool col_major) {
  std::vector<double> q(7 * dim);
  const auto raw = pseudo_random<double>(7 * dim, 99);
  for (std::size_t k = 0; k < 7; ++k) {
    double norm = 0;
    for (std::size_t j = 0; j < dim; ++j) norm += raw[k * dim + j] * raw[k * dim + j];
    for (std::size_t j = 0; j < dim; ++j) q[k * dim + j] = raw[k * dim + j] / std::sqrt(norm);
  }
  const auto signs = pseudo_random<double>(n * dirs.size(), seed);
  const auto noise = pseudo_random<double>(n * dim, seed + 1);
  std::vector<T> x(n * dim);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < dim; ++j) {
      double v = 0.01 * noise[i * dim + j];
      for (std::size_t k = 0; k < dirs.size(); ++k)
        v += (signs[i * dirs.size() + k] < 0 ? -1.0 : 1.0) * scales[k] * q[dirs[k] * dim + j];
      x[col_major ? j * n + i : i * dim + j] = T(v);
    }
  return x;
}

// Normwise tolerances for GPM: by Wedin's theorem each side's kept subspace is within (SVD
// backward error ~ dim eps |R|) / (gap to the next singular value, >= |R| / 10 here) of the
// exact one, so ~10 dim eps at worst: 8e-5 in float, 1.4e-13 in double; CholeskyQR2 adds a few
// eps. The same bound holds for the projector and for G - G B Bᵀ relative to |G|.
template <class T>
void gpm_matches_host() {
  constexpr std::size_t dim = 64, n1 = 96, n2 = 80, out = 32;
  const auto t1 = task_inputs<T>(n1, dim, {0, 1, 2, 3}, {10, 4, 2, 1}, 5, false);
  const auto t2 = task_inputs<T>(n2, dim, {0, 4, 5, 6}, {6, 5, 3, 0.5}, 7, true);
  const auto g = pseudo_random<T>(out * dim, 9);
  const fs::path saved = temp_path(name<T>("gpm_device")), resaved = temp_path(name<T>("gpm_host")),
                 again = temp_path(name<T>("gpm_device_again"));
  const auto host = gpm_drivers::host_gpm<T>(t1, n1, t2, n2, dim, g, out);
  const auto dev = gpm_drivers::gpm_run<T, device_space>(t1, n1, t2, n2, dim, g, out, saved);
  const std::string label = name<T>("gpm");
  CONTINUA_CHECK(host.rank1 == 2 && host.rank2 == 4);
  CONTINUA_CHECK(dev.rank1 == host.rank1 && dev.rank2 == host.rank2);
  if (dev.rank2 != host.rank2) return;
  const double tol = sizeof(T) == 4 ? 1e-4 : 1e-12;
  compare_arrays((label + ": projector B Bt").c_str(), projector(dev.basis, dim, dev.rank2),
                 projector(host.basis, dim, host.rank2), tol);
  compare_arrays((label + ": projected gradient").c_str(), dev.projected, host.projected, tol);

  // Device checkpoint -> host memory -> file, and back into a device memory: the same bytes.
  gpm_drivers::host_gpm_resave<T>(saved, resaved, dim);
  compare_bits((label + ": checkpoint device -> host").c_str(), file_bytes(resaved),
               file_bytes(saved));
  gpm_drivers::gpm_resave<T, device_space>(resaved, again, dim);
  compare_bits((label + ": checkpoint host -> device").c_str(), file_bytes(again),
               file_bytes(saved));
  for (const auto& p : {saved, resaved, again}) fs::remove(p);
}

// A parameter set of a float and a double tensor (odd sizes), host and device.
using host_set = std::tuple<std::vector<float>, std::vector<double>>;
using device_set = std::tuple<thrust::device_vector<float>, thrust::device_vector<double>>;
constexpr std::size_t nf = 100003, nd = 4099;

device_set upload(const host_set& h) {
  const auto& [f, d] = h;
  return {thrust::device_vector<float>(f.begin(), f.end()),
          thrust::device_vector<double>(d.begin(), d.end())};
}

// g = a r + 0.5 u for a reference r and noise u.
host_set gradient(double a, std::uint64_t seed) {
  const auto rf = pseudo_random<float>(nf, 1), uf = pseudo_random<float>(nf, seed);
  const auto rd = pseudo_random<double>(nd, 2), ud = pseudo_random<double>(nd, seed + 1);
  host_set g{std::vector<float>(nf), std::vector<double>(nd)};
  for (std::size_t i = 0; i < nf; ++i) std::get<0>(g)[i] = float(a * rf[i] + 0.5 * uf[i]);
  for (std::size_t i = 0; i < nd; ++i) std::get<1>(g)[i] = a * rd[i] + 0.5 * ud[i];
  return g;
}

// With g . g_ref < 0 both project g - (g . g_ref / |g_ref|²) g_ref. The coefficient comes from
// double reductions in different orders: for g ~ -r/2, sum|g r| / |g . r| is about 2, so it
// differs by < n eps_double * 2 = 2e-11; each element is then one multiply-subtract in T that the
// device may fuse: a few ulps of T, with |g - c r| comparable to max|g|. Hence 1e-6 for the float
// tensor and 1e-10 for the double one. With g . g_ref > 0 nothing may change: bit-identical.
void agem_matches_host() {
  const host_set ref = gradient(1.0, 3);  // r + noise
  const device_set dref = upload(ref);
  rg::agem<host_set> host(ref);
  rg::agem<device_set> dev(dref);
  host.set_reference(ref);
  dev.set_reference(dref);

  host_set g = gradient(-0.5, 11);
  device_set dg = upload(g);
  const bool host_changed = host.project(g);
  const bool dev_changed = dev.project(dg);
  CONTINUA_CHECK(host_changed && dev_changed);
  CONTINUA_CHECK_CLOSE(dev.last_dot(), host.last_dot(), 1e-12 * std::fabs(host.last_dot()));
  compare_arrays("agem violated, float tensor", to_host(std::get<0>(dg)), std::get<0>(g), 1e-6);
  compare_arrays("agem violated, double tensor", to_host(std::get<1>(dg)), std::get<1>(g), 1e-10);

  host_set keep = gradient(0.5, 13);
  device_set dkeep = upload(keep);
  CONTINUA_CHECK(!host.project(keep));
  CONTINUA_CHECK(!dev.project(dkeep));
  compare_bits("agem satisfied, float tensor", to_host(std::get<0>(dkeep)), std::get<0>(keep));
  compare_bits("agem satisfied, double tensor", to_host(std::get<1>(dkeep)), std::get<1>(keep));
}

// refresh_unlearn computes fma(noise_std, z, fma(rate, g, p)) with z from Philox and a portable
// Box-Muller: the rounding is spelled out, so host and device must agree bit for bit, across the
// float/double tensor boundary (the double tensor's draws start at offset nf) and two steps.
void refresh_is_bit_identical() {
  host_set p = gradient(0.3, 21);
  const host_set g = gradient(1.0, 23);
  device_set dp = upload(p);
  const device_set dg = upload(g);
  const rg::refresh_options opt{.unlearn_rate = 1e-2, .noise_std = 5e-3, .seed = 42};
  for (std::uint64_t step = 0; step < 2; ++step) {
    rg::refresh_unlearn(p, g, opt, step);
    rg::refresh_unlearn(dp, dg, opt, step);
  }
  compare_bits("refresh float tensor", to_host(std::get<0>(dp)), std::get<0>(p));
  compare_bits("refresh double tensor", to_host(std::get<1>(dp)), std::get<1>(p));
}

}  // namespace

int main() {
  continua_cuda_test::skip_without_device();
  try {
    gpm_matches_host<float>();
    gpm_matches_host<double>();
    agem_matches_host();
    refresh_is_bit_identical();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "unexpected exception: %s\n", e.what());
    return 1;
  }
  return continua_cuda_test::exit_code("test_projection_cuda");
}
