// Projection methods: GPM keeps a linear layer's outputs on old inputs (projected gradients are
// orthogonal to an orthonormal basis whose rank follows the energy threshold), A-GEM's projection
// against its closed form, and refresh noise against its Philox definition and N(0, sigma^2).
// Float and double; host memory and thrust::device_vector (Thrust's OpenMP device system).
#include <unistd.h>
#include <boost/mpl/list.hpp>
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <tuple>
#include <vector>

#include "continua/core.hpp"
#include "continua/io/state.hpp"
#include "continua/regularize/agem.hpp"
#include "continua/regularize/gradient_projection.hpp"
#include "continua/regularize/refresh.hpp"
#include "forge.hpp"

#if CONTINUA_TEST_THRUST
#include <thrust/copy.h>

#include "continua/adapters/thrust.hpp"
#endif

namespace r = continua::regularize;
namespace fs = std::filesystem;
using continua::device_space;
using continua::host_space;
using continua::matrix_view;

namespace {

template <class T, class S>
struct cfg {
  using value = T;
  using space = S;
};
using configs = boost::mpl::list<cfg<float, host_space>, cfg<double, host_space>
#if CONTINUA_TEST_THRUST
                                 ,
                                 cfg<float, device_space>, cfg<double, device_space>
#endif
                                 >;

struct temp_file {
  fs::path path;
  temp_file() {
    static int counter = 0;
    path = fs::temp_directory_path() / ("continua_projection_" + std::to_string(::getpid()) + "_" +
                                        std::to_string(counter++) + ".ckpt");
  }
  ~temp_file() {
    std::error_code ec;
    fs::remove(path, ec);
  }
};

void flip_byte(const fs::path& p, std::size_t from_end) {
  std::fstream f(p, std::ios::in | std::ios::out | std::ios::binary);
  f.seekg(0, std::ios::end);
  const auto pos = static_cast<std::streamoff>(f.tellg()) - static_cast<std::streamoff>(from_end);
  f.seekg(pos);
  char c = 0;
  f.read(&c, 1);
  c = static_cast<char>(c ^ 0x5a);
  f.seekp(pos);
  f.write(&c, 1);
}

// Deterministic values in [-1, 1) from a 64-bit LCG (test data, not the library RNG).
std::vector<double> lcg(std::size_t n, std::uint64_t seed) {
  std::vector<double> v(n);
  std::uint64_t s = seed * 0x9E3779B97F4A7C15ULL + 12345;
  for (auto& x : v) {
    s = s * 6364136223846793005ULL + 1442695040888963407ULL;
    x = static_cast<double>(s >> 11) * 0x1.0p-53 * 2.0 - 1.0;
  }
  return v;
}

// Columns of a dim x k row-major matrix made orthonormal by modified Gram-Schmidt (twice), in
// double: the test's independent construction of subspaces.
std::vector<double> orthonormal_columns(std::size_t dim, std::size_t k, std::uint64_t seed) {
  std::vector<double> q = lcg(dim * k, seed);
  for (int pass = 0; pass < 2; ++pass)
    for (std::size_t j = 0; j < k; ++j) {
      for (std::size_t i = 0; i < j; ++i) {
        double d = 0;
        for (std::size_t a = 0; a < dim; ++a) d += q[a * k + i] * q[a * k + j];
        for (std::size_t a = 0; a < dim; ++a) q[a * k + j] -= d * q[a * k + i];
      }
      double nrm = 0;
      for (std::size_t a = 0; a < dim; ++a) nrm += q[a * k + j] * q[a * k + j];
      nrm = std::sqrt(nrm);
      for (std::size_t a = 0; a < dim; ++a) q[a * k + j] /= nrm;
    }
  return q;
}

// inputs (n x dim, row-major) = (U diag(s) Vᵀ)ᵀ with U = columns `cols` of q (dim x qk), V
// orthonormal n x s.size(): a representation matrix with exactly the singular values s.
std::vector<double> inputs_with_spectrum(const std::vector<double>& q, std::size_t dim,
                                         std::size_t qk, const std::vector<std::size_t>& cols,
                                         const std::vector<double>& s, std::size_t n,
                                         std::uint64_t seed) {
  const std::vector<double> v = orthonormal_columns(n, s.size(), seed);
  std::vector<double> x(n * dim, 0.0);
  for (std::size_t row = 0; row < n; ++row)
    for (std::size_t a = 0; a < dim; ++a)
      for (std::size_t j = 0; j < s.size(); ++j)
        x[row * dim + a] += q[a * qk + cols[j]] * s[j] * v[row * s.size() + j];
  return x;
}

template <class T, class S>
continua::buffer<T, S> to_buffer(const std::vector<double>& v) {
  continua::buffer<T, S> b;
  b.assign_from_host(std::vector<T>(v.begin(), v.end()));
  return b;
}

template <class T, class S>
std::vector<double> host_doubles(const continua::buffer<T, S>& b) {
  const std::vector<T> h = b.to_host();
  return {h.begin(), h.end()};
}

template <class T, class S>
std::vector<double> basis_of(const r::gradient_projection<T, S>& gpm) {
  const auto b = gpm.basis();
  continua::buffer<T, S> copy(b.size());
  continua::copy(b, copy);
  return host_doubles(copy);
}

template <class T, class S>
void consolidate(r::gradient_projection<T, S>& gpm, const std::vector<double>& x, std::size_t n) {
  auto b = to_buffer<T, S>(x);
  gpm.consolidate(matrix_view<const T, S>(b.data(), n, gpm.input_dim()));
}

// max |BᵀB - I| in double.
double orthonormality_error(const std::vector<double>& b, std::size_t dim, std::size_t k) {
  double worst = 0;
  for (std::size_t i = 0; i < k; ++i)
    for (std::size_t j = 0; j < k; ++j) {
      double d = 0;
      for (std::size_t a = 0; a < dim; ++a) d += b[a * k + i] * b[a * k + j];
      worst = std::max(worst, std::abs(d - (i == j ? 1.0 : 0.0)));
    }
  return worst;
}

// |(I - B Bᵀ) q_j| for column j of q: 0 when q_j lies in span(B).
double residual_outside(const std::vector<double>& b, std::size_t dim, std::size_t k,
                        const std::vector<double>& q, std::size_t qk, std::size_t j) {
  std::vector<double> res(dim);
  for (std::size_t a = 0; a < dim; ++a) res[a] = q[a * qk + j];
  for (std::size_t i = 0; i < k; ++i) {
    double d = 0;
    for (std::size_t a = 0; a < dim; ++a) d += b[a * k + i] * q[a * qk + j];
    for (std::size_t a = 0; a < dim; ++a) res[a] -= d * b[a * k + i];
  }
  double nrm = 0;
  for (double x : res) nrm += x * x;
  return std::sqrt(nrm);
}

template <class T>
constexpr double eps_bound(double dbl, double flt) {
  return std::is_same_v<T, double> ? dbl : flt;
}

template <class C>
C make_vec(const std::vector<double>& v) {
#if CONTINUA_TEST_THRUST
  if constexpr (std::is_same_v<continua::memory_space_t<C>, device_space>) {
    using T = continua::value_t<C>;
    std::vector<T> h(v.begin(), v.end());
    return C(h.begin(), h.end());
  }
#endif
  return C(v.begin(), v.end());
}
template <class C>
std::vector<double> read_vec(const C& c) {
  using T = continua::value_t<C>;
  if constexpr (requires { c.to_host(); }) {  // continua::buffer, host or device
    const std::vector<T> v = c.to_host();
    return {v.begin(), v.end()};
  } else {
    std::vector<T> h(continua::size(c));
#if CONTINUA_TEST_THRUST
    if constexpr (std::is_same_v<continua::memory_space_t<C>, device_space>) {
      if (!h.empty()) thrust::copy(c.begin(), c.end(), h.begin());
      return {h.begin(), h.end()};
    }
#endif
    const T* p = continua::data(c);
    return {p, p + h.size()};
  }
}
template <class P>
std::vector<double> flat(const P& p) {
  std::vector<double> out;
  continua::for_each_tensor(p, [&](auto, const auto& t) {
    const auto v = read_vec(t);
    out.insert(out.end(), v.begin(), v.end());
  });
  return out;
}

using vec_types = boost::mpl::list<std::vector<float>, std::vector<double>
#if CONTINUA_TEST_THRUST
                                   ,
                                   thrust::device_vector<float>, thrust::device_vector<double>
#endif
                                   >;
}  // namespace

BOOST_AUTO_TEST_SUITE(gradient_projection)

// Singular values 10, 5, 3, 2, 1, 0.5: cumulative energy fractions 0.718, 0.898, 0.962, 0.991,
// 0.998, 1. The kept rank is the smallest k reaching the threshold.
BOOST_AUTO_TEST_CASE_TEMPLATE(first_task_rank_follows_energy_threshold, C, configs) {
  using T = typename C::value;
  using S = typename C::space;
  const std::size_t dim = 16, n = 40;
  const auto q = orthonormal_columns(dim, 6, 1);
  const auto x = inputs_with_spectrum(q, dim, 6, {0, 1, 2, 3, 4, 5}, {10, 5, 3, 2, 1, 0.5}, n, 2);
  const std::pair<double, std::size_t> cases[] = {{0.5, 1},  {0.85, 2},  {0.95, 3},
                                                  {0.98, 4}, {0.995, 5}, {1.0, 6}};
  for (const auto& [threshold, expected] : cases) {
    r::gradient_projection<T, S> gpm({.threshold = threshold}, dim);
    consolidate(gpm, x, n);
    BOOST_TEST(gpm.rank() == expected, "threshold " << threshold);
    const auto b = basis_of(gpm);
    BOOST_TEST(orthonormality_error(b, dim, gpm.rank()) <= eps_bound<T>(1e-12, 1e-5));
    // The kept directions are the leading left singular vectors.
    for (std::size_t j = 0; j < expected; ++j)
      BOOST_TEST(residual_outside(b, dim, gpm.rank(), q, 6, j) <= eps_bound<T>(1e-9, 1e-3));
  }
  // max_rank caps the basis even at threshold 1.
  r::gradient_projection<T, S> capped({.threshold = 1.0, .max_rank = 2}, dim);
  consolidate(capped, x, n);
  BOOST_TEST(capped.rank() == 2u);
}

// Task 1 stores q0, q1, q2. Task 2's R has singular values 4 (along q0, already stored), 3, 2, 1
// along q3, q4, q5: |R|^2 = 30 of which |BᵀR|^2 = 16 is accepted, so thresholds 0.5, 0.8, 0.95
// and 1 add 0, 1, 2 and 3 directions.
BOOST_AUTO_TEST_CASE_TEMPLATE(later_tasks_add_only_what_the_basis_misses, C, configs) {
  using T = typename C::value;
  using S = typename C::space;
  const std::size_t dim = 12, n = 30;
  const auto q = orthonormal_columns(dim, 6, 3);
  const auto x1 = inputs_with_spectrum(q, dim, 6, {0, 1, 2}, {3, 2, 1}, n, 4);
  const auto x2 = inputs_with_spectrum(q, dim, 6, {0, 3, 4, 5}, {4, 3, 2, 1}, n, 5);
  const std::pair<double, std::size_t> cases[] = {{0.5, 0}, {0.8, 1}, {0.95, 2}, {1.0, 3}};
  for (const auto& [threshold, added] : cases) {
    // Task 1 at threshold 1 keeps q0, q1, q2; its basis is moved into an object whose
    // threshold is the one under test (load keeps the loading object's options).
    r::gradient_projection<T, S> first({.threshold = 1.0}, dim);
    consolidate(first, x1, n);
    BOOST_TEST(first.rank() == 3u);
    temp_file f;
    continua::io::save(f.path, first);
    r::gradient_projection<T, S> second({.threshold = threshold}, dim);
    continua::io::load(f.path, second);
    BOOST_TEST(second.tasks() == 1u);
    consolidate(second, x2, n);
    BOOST_TEST(second.rank() == 3u + added, "threshold " << threshold);
    const auto b = basis_of(second);
    BOOST_TEST(orthonormality_error(b, dim, second.rank()) <= eps_bound<T>(1e-12, 1e-5));
    for (std::size_t j = 0; j < 3 + added; ++j)
      BOOST_TEST(residual_outside(b, dim, second.rank(), q, 6, j) <= eps_bound<T>(1e-9, 1e-3));
  }
  // threshold_increment: 0.75 for task 1 (keeps q0, q1: 13/14 >= 0.75 > 9/14), then 0.95.
  r::gradient_projection<T, S> inc({.threshold = 0.75, .threshold_increment = 0.2}, dim);
  consolidate(inc, x1, n);
  BOOST_TEST(inc.rank() == 2u);
  BOOST_TEST(inc.current_threshold() == 0.95, boost::test_tools::tolerance(1e-12));
  consolidate(inc, x2, n);
  // Task 2 with basis {q0, q1}: accepted 16 of 30; 0.95 * 30 = 28.5 needs 16 + 9 + 4 = 29.
  BOOST_TEST(inc.rank() == 4u);
  BOOST_TEST(inc.current_threshold() == 1.0);  // capped
}

// ||G B|| <= tol ||G|| after projection, and the projection equals G - G B Bᵀ computed in double.
BOOST_AUTO_TEST_CASE_TEMPLATE(projected_gradients_are_orthogonal_to_the_basis, C, configs) {
  using T = typename C::value;
  using S = typename C::space;
  const std::size_t dim = 48, n = 64, out = 7;
  r::gradient_projection<T, S> gpm({.threshold = 0.9}, dim);
  for (std::uint64_t task = 0; task < 3; ++task) consolidate(gpm, lcg(n * dim, 10 + task), n);
  const std::size_t k = gpm.rank();
  BOOST_TEST_REQUIRE(k > 10u);
  BOOST_TEST_REQUIRE(k < dim);
  const auto b = basis_of(gpm);
  BOOST_TEST(orthonormality_error(b, dim, k) <= eps_bound<T>(1e-12, 1e-5));

  const auto g0 = lcg(out * dim, 99);
  auto g = to_buffer<T, S>(g0);
  const std::vector<double> gt = host_doubles(g);  // G as rounded to T
  gpm.project(matrix_view<T, S>(g.data(), out, dim));
  const auto gp = host_doubles(g);
  double gnorm = 0, gb_norm = 0, worst = 0;
  for (double v : gt) gnorm += v * v;
  for (std::size_t i = 0; i < out; ++i) {
    std::vector<double> gb(k, 0.0);
    for (std::size_t j = 0; j < k; ++j) {
      double d = 0, dp = 0;
      for (std::size_t a = 0; a < dim; ++a) {
        d += gt[i * dim + a] * b[a * k + j];
        dp += gp[i * dim + a] * b[a * k + j];
      }
      gb[j] = d;
      gb_norm += dp * dp;
    }
    for (std::size_t a = 0; a < dim; ++a) {
      double expect = gt[i * dim + a];
      for (std::size_t j = 0; j < k; ++j) expect -= gb[j] * b[a * k + j];
      worst = std::max(worst, std::abs(expect - gp[i * dim + a]));
    }
  }
  // float: the basis and G carry 2^-24 relative rounding; over dim = 48 terms that is ~1e-6.
  BOOST_TEST(std::sqrt(gb_norm) <= eps_bound<T>(1e-6, 1e-5) * std::sqrt(gnorm));
  BOOST_TEST(worst <= eps_bound<T>(1e-12, 1e-5));
  // A column-major gradient is projected the same way.
  std::vector<double> gcm(out * dim);
  for (std::size_t i = 0; i < out; ++i)
    for (std::size_t a = 0; a < dim; ++a) gcm[a * out + i] = gt[i * dim + a];
  auto gc = to_buffer<T, S>(gcm);
  gpm.project(matrix_view<T, S>(gc.data(), out, dim, continua::layout::col_major));
  const auto gcp = host_doubles(gc);
  for (std::size_t i = 0; i < out; ++i)
    for (std::size_t a = 0; a < dim; ++a)
      BOOST_TEST(std::abs(gcp[a * out + i] - gp[i * dim + a]) <= eps_bound<T>(1e-13, 1e-6));
}

// A linear layer y = W x trained on task 2 by projected gradient descent keeps its outputs on
// task-1 inputs; unprojected training moves them a lot. Task-2 inputs overlap task 1's subspace.
BOOST_AUTO_TEST_CASE_TEMPLATE(linear_layer_keeps_old_task_outputs, C, configs) {
  using T = typename C::value;
  using S = typename C::space;
  const std::size_t dim = 20, out = 5, n = 120;
  const auto q = orthonormal_columns(dim, 12, 7);  // q0..q5: task 1, q6..q11: new directions
  const auto coef1 = lcg(n * 6, 8);
  const auto coef2 = lcg(n * 12, 9);
  std::vector<double> x1(n * dim, 0.0), x2(n * dim, 0.0);
  for (std::size_t row = 0; row < n; ++row)
    for (std::size_t a = 0; a < dim; ++a) {
      for (std::size_t j = 0; j < 6; ++j) x1[row * dim + a] += q[a * 12 + j] * coef1[row * 6 + j];
      for (std::size_t j = 0; j < 12; ++j) x2[row * dim + a] += q[a * 12 + j] * coef2[row * 12 + j];
    }
  const auto w0 = lcg(out * dim, 10);
  const auto w_star = lcg(out * dim, 11);  // task-2 targets y = W* x
  const auto outputs = [&](const std::vector<double>& w, const std::vector<double>& x) {
    std::vector<double> y(n * out, 0.0);
    for (std::size_t row = 0; row < n; ++row)
      for (std::size_t o = 0; o < out; ++o)
        for (std::size_t a = 0; a < dim; ++a) y[row * out + o] += w[o * dim + a] * x[row * dim + a];
    return y;
  };
  const auto y_old = outputs(w0, x1);
  const auto y2 = outputs(w_star, x2);

  const auto train = [&](bool project) {
    r::gradient_projection<T, S> gpm({.threshold = 1.0}, dim);
    consolidate(gpm, x1, n);
    BOOST_TEST(gpm.rank() == 6u);
    std::vector<double> w = w0;
    for (int step = 0; step < 300; ++step) {
      // G = (1/n) sum (W x - y) xᵀ of the squared loss on task 2, computed in double.
      const auto y = outputs(w, x2);
      std::vector<double> gd(out * dim, 0.0);
      for (std::size_t row = 0; row < n; ++row)
        for (std::size_t o = 0; o < out; ++o)
          for (std::size_t a = 0; a < dim; ++a)
            gd[o * dim + a] += (y[row * out + o] - y2[row * out + o]) * x2[row * dim + a] / n;
      auto g = to_buffer<T, S>(gd);
      if (project) gpm.project(matrix_view<T, S>(g.data(), out, dim));
      const auto gp = host_doubles(g);
      for (std::size_t i = 0; i < w.size(); ++i) w[i] -= 0.5 * gp[i];
    }
    return w;
  };
  const auto drift = [&](const std::vector<double>& w) {
    const auto y = outputs(w, x1);
    double d = 0, scale = 0;
    for (std::size_t i = 0; i < y.size(); ++i) {
      d = std::max(d, std::abs(y[i] - y_old[i]));
      scale = std::max(scale, std::abs(y_old[i]));
    }
    return d / scale;
  };
  const auto loss2 = [&](const std::vector<double>& w) {
    const auto y = outputs(w, x2);
    double l = 0;
    for (std::size_t i = 0; i < y.size(); ++i) l += (y[i] - y2[i]) * (y[i] - y2[i]);
    return l / static_cast<double>(n);
  };
  const auto w_gpm = train(true);
  const auto w_plain = train(false);
  BOOST_TEST_MESSAGE("GPM drift " << drift(w_gpm) << ", unprojected drift " << drift(w_plain)
                                  << ", task-2 loss " << loss2(w0) << " -> " << loss2(w_gpm));
  // With projection every step is orthogonal to span(q0..q5): outputs on task 1 move only by
  // rounding (300 steps of T-rounded gradients).
  BOOST_TEST(drift(w_gpm) <= eps_bound<T>(1e-10, 1e-4));
  BOOST_TEST(drift(w_plain) >= 0.2);
  // ... and task 2 is still learned in the complement (loss well below its start).
  BOOST_TEST(loss2(w_gpm) < 0.6 * loss2(w0));
}

BOOST_AUTO_TEST_CASE_TEMPLATE(bad_input_is_rejected_and_state_kept, C, configs) {
  using T = typename C::value;
  using S = typename C::space;
  using gpm_t = r::gradient_projection<T, S>;
  BOOST_CHECK_THROW(gpm_t({.threshold = 0.0}, 4), continua::invalid_argument);
  BOOST_CHECK_THROW(gpm_t({.threshold = 1.5}, 4), continua::invalid_argument);
  BOOST_CHECK_THROW(gpm_t({.threshold = std::nan("")}, 4), continua::invalid_argument);
  BOOST_CHECK_THROW(gpm_t({.threshold_increment = -0.1}, 4), continua::invalid_argument);
  BOOST_CHECK_THROW(gpm_t({.max_rank = 5}, 4), continua::invalid_argument);
  BOOST_CHECK_THROW(gpm_t({}, 0), continua::invalid_argument);
  try {
    gpm_t({.threshold = 2.0}, 4);
  } catch (const continua::invalid_argument& e) {
    BOOST_TEST(std::string(e.what()).find("threshold") != std::string::npos);
  }

  const std::size_t dim = 8, n = 10;
  gpm_t gpm({.threshold = 0.9}, dim);
  consolidate(gpm, lcg(n * dim, 1), n);
  const auto before = basis_of(gpm);
  const std::size_t rank = gpm.rank();
  auto wrong = to_buffer<T, S>(lcg(n * (dim + 1), 2));
  BOOST_CHECK_THROW(gpm.consolidate(matrix_view<const T, S>(wrong.data(), n, dim + 1)),
                    continua::size_mismatch);
  auto nan_in = lcg(n * dim, 3);
  nan_in[17] = std::numeric_limits<double>::quiet_NaN();
  auto bad = to_buffer<T, S>(nan_in);
  BOOST_CHECK_THROW(gpm.consolidate(matrix_view<const T, S>(bad.data(), n, dim)),
                    continua::non_finite_error);
  BOOST_CHECK_THROW(gpm.consolidate(matrix_view<const T, S>(bad.data(), 0, dim)),
                    continua::invalid_argument);
  BOOST_TEST(gpm.rank() == rank);
  BOOST_TEST(gpm.tasks() == 1u);
  BOOST_TEST(basis_of(gpm) == before);
  auto g = to_buffer<T, S>(lcg(3 * (dim - 1), 4));
  const auto g_before = host_doubles(g);
  BOOST_CHECK_THROW(gpm.project(matrix_view<T, S>(g.data(), 3, dim - 1)), continua::size_mismatch);
  BOOST_TEST(host_doubles(g) == g_before);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(save_load_round_trip_and_corruption, C, configs) {
  using T = typename C::value;
  using S = typename C::space;
  const std::size_t dim = 10, n = 15;
  r::gradient_projection<T, S> gpm({.threshold = 0.95}, dim);
  consolidate(gpm, lcg(n * dim, 21), n);
  consolidate(gpm, lcg(n * dim, 22), n);
  temp_file f;
  continua::io::save(f.path, gpm);
  r::gradient_projection<T, S> other({.threshold = 0.95}, dim);
  continua::io::load(f.path, other);
  BOOST_TEST(other.rank() == gpm.rank());
  BOOST_TEST(other.tasks() == 2u);
  const auto a = basis_of(gpm), b = basis_of(other);
  BOOST_TEST(std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0);
  // The same next task gives the same basis bit for bit.
  consolidate(gpm, lcg(n * dim, 23), n);
  consolidate(other, lcg(n * dim, 23), n);
  const auto a3 = basis_of(gpm), b3 = basis_of(other);
  BOOST_TEST_REQUIRE(a3.size() == b3.size());
  BOOST_TEST(std::memcmp(a3.data(), b3.data(), a3.size() * sizeof(double)) == 0);

  // Wrong input_dim, wrong element type, a damaged byte: io_error and nothing changes.
  r::gradient_projection<T, S> wrong_dim({}, dim + 1);
  BOOST_CHECK_THROW(continua::io::load(f.path, wrong_dim), continua::io_error);
  BOOST_TEST(wrong_dim.rank() == 0u);
  using U = std::conditional_t<std::is_same_v<T, float>, double, float>;
  r::gradient_projection<U, S> wrong_type({}, dim);
  BOOST_CHECK_THROW(continua::io::load(f.path, wrong_type), continua::io_error);
  BOOST_TEST(wrong_type.rank() == 0u);
  flip_byte(f.path, 9);
  const auto kept = basis_of(other);
  BOOST_CHECK_THROW(continua::io::load(f.path, other), continua::io_error);
  BOOST_TEST(basis_of(other) == kept);
  BOOST_TEST(other.tasks() == 3u);
}

// A file intact as a file but holding a basis consolidate() never builds: one entry changed so
// the columns are no longer orthonormal, a NaN entry, or more columns than the loading object's
// max_rank. Each load throws io_error naming the problem and leaves the object as it was; a
// change at rounding level (what orthonormalisation leaves) still loads.
BOOST_AUTO_TEST_CASE_TEMPLATE(forged_bases_are_refused_and_change_nothing, C, configs) {
  using T = typename C::value;
  using S = typename C::space;
  const std::size_t dim = 10, n = 15;
  r::gradient_projection<T, S> gpm({.threshold = 0.95}, dim);
  consolidate(gpm, lcg(n * dim, 21), n);
  consolidate(gpm, lcg(n * dim, 22), n);
  const std::size_t rank = gpm.rank();
  BOOST_TEST_REQUIRE(rank >= 2u);
  temp_file good, bad;
  continua::io::save(good.path, gpm);

  r::gradient_projection<T, S> other({.threshold = 0.95}, dim);
  consolidate(other, lcg(n * dim, 30), n);
  const auto kept = basis_of(other);
  const std::size_t kept_tasks = other.tasks();
  auto refused = [&](auto& target, const std::string& fragment) {
    const auto before = basis_of(target);
    const std::size_t tasks = target.tasks();
    try {
      continua::io::load(bad.path, target);
      BOOST_ERROR("no exception; expected one mentioning '" + fragment + "'");
    } catch (const continua::io_error& e) {
      BOOST_TEST_INFO("message: " << e.what());
      BOOST_TEST(std::string(e.what()).find(fragment) != std::string::npos);
    }
    BOOST_TEST(basis_of(target) == before);
    BOOST_TEST(target.tasks() == tasks);
  };

  const double b00 = basis_of(gpm)[0];
  reg_test::forge(good.path, bad.path, "basis", 0, 2.0);
  refused(other, "the basis is not orthonormal");
  reg_test::forge(good.path, bad.path, "basis", 3, std::numeric_limits<double>::quiet_NaN());
  refused(other, "basis contains NaN or Inf");
  BOOST_TEST(basis_of(other) == kept);
  BOOST_TEST(other.tasks() == kept_tasks);

  r::gradient_projection<T, S> capped({.threshold = 0.95, .max_rank = rank - 1}, dim);
  std::filesystem::copy_file(good.path, bad.path,
                             std::filesystem::copy_options::overwrite_existing);
  refused(capped, "above max_rank");
  // Issue 10: the counters agree with the basis: only consolidate() adds columns, counting a task.
  reg_test::forge(good.path, bad.path, "tasks", 0, 0.0);
  refused(other, "but tasks = 0");

  // Rounding-level change of one entry: still orthonormal to the tolerance, so it loads.
  const double nudge = 4 * static_cast<double>(std::numeric_limits<T>::epsilon());
  reg_test::forge(good.path, bad.path, "basis", 0, b00 * (1 + nudge));
  continua::io::load(bad.path, other);
  BOOST_TEST(other.rank() == rank);
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------------------------------------
BOOST_AUTO_TEST_SUITE(agem)

// g = (1, 0), g_ref = (-1, 1): g.g_ref = -1 < 0, so g - (-1 / 2) g_ref = (0.5, 0.5).
BOOST_AUTO_TEST_CASE_TEMPLATE(closed_form_in_two_dimensions, V, vec_types) {
  V params = make_vec<V>({0, 0});
  r::agem<V> guard(params);
  V g = make_vec<V>({1, 0});
  BOOST_TEST(!guard.project(g));  // no reference yet: no constraint
  guard.set_reference(make_vec<V>({-1, 1}));
  BOOST_TEST(guard.project(g));
  BOOST_TEST(read_vec(g) == (std::vector<double>{0.5, 0.5}));
  BOOST_TEST(guard.last_dot() == -1.0);
  // Non-negative dot products leave g unchanged (0 included).
  V h = make_vec<V>({1, 1});
  BOOST_TEST(!guard.project(h));  // dot 0
  BOOST_TEST(read_vec(h) == (std::vector<double>{1, 1}));
  V e = make_vec<V>({-1, 2});
  BOOST_TEST(!guard.project(e));  // dot 3
  BOOST_TEST(read_vec(e) == (std::vector<double>{-1, 2}));
}

// On mixed tuples and ranges: the result equals the flattened double formula, and afterwards
// g.g_ref >= -tiny.
BOOST_AUTO_TEST_CASE(tuples_and_ranges_match_the_flat_formula) {
  using P = std::tuple<std::vector<float>, std::vector<double>
#if CONTINUA_TEST_THRUST
                       ,
                       thrust::device_vector<float>
#endif
                       >;
  const auto make = [](std::uint64_t seed) {
    return P {
      make_vec<std::vector<float>>(lcg(37, seed)), make_vec<std::vector<double>>(lcg(11, seed + 1))
#if CONTINUA_TEST_THRUST
                                                       ,
          make_vec<thrust::device_vector<float>>(lcg(23, seed + 2))
#endif
    };
  };
  P params = make(1);
  r::agem<P> guard(params);
  for (std::uint64_t trial = 0; trial < 20; ++trial) {
    P g = make(10 + 3 * trial);
    P ref = make(200 + 3 * trial);
    guard.set_reference(ref);
    const auto gf = flat(g), rf = flat(ref);
    double d = 0, rr = 0;
    for (std::size_t i = 0; i < gf.size(); ++i) {
      d += gf[i] * rf[i];
      rr += rf[i] * rf[i];
    }
    const bool projected = guard.project(g);
    BOOST_TEST(projected == (d < 0));
    const auto out = flat(g);
    double after = 0, gn = 0;
    for (std::size_t i = 0; i < gf.size(); ++i) {
      const double expect = d < 0 ? gf[i] - (d / rr) * rf[i] : gf[i];
      BOOST_TEST(std::abs(out[i] - expect) <= 1e-6 * (1 + std::abs(expect)));
      after += out[i] * rf[i];
      gn += out[i] * out[i];
    }
    // float tensors round the projected values: |g.g_ref| after is at rounding level.
    BOOST_TEST(after >= -1e-6 * std::sqrt(gn * rr));
  }
  // A range of tensors, double: the dot product after projection is zero to 1e-12.
  std::vector<std::vector<double>> rp{lcg(5, 1), lcg(9, 2)};
  r::agem<std::vector<std::vector<double>>> rg(rp);
  std::vector<std::vector<double>> g{lcg(5, 3), lcg(9, 4)}, ref = g;
  for (auto& t : ref)
    for (auto& x : t) x = -x + 0.1;
  rg.set_reference(ref);
  BOOST_TEST(rg.project(g));
  double after = 0;
  for (std::size_t k = 0; k < 2; ++k)
    for (std::size_t i = 0; i < g[k].size(); ++i) after += g[k][i] * ref[k][i];
  BOOST_TEST(std::abs(after) <= 1e-12);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(bad_input_and_checkpoints, V, vec_types) {
  V params = make_vec<V>(lcg(6, 1));
  r::agem<V> guard(params);
  const V ref = make_vec<V>(lcg(6, 2));
  guard.set_reference(ref);
  BOOST_CHECK_THROW(guard.set_reference(make_vec<V>(lcg(5, 3))), continua::size_mismatch);
  auto nan_ref = lcg(6, 4);
  nan_ref[2] = std::numeric_limits<double>::quiet_NaN();
  BOOST_CHECK_THROW(guard.set_reference(make_vec<V>(nan_ref)), continua::non_finite_error);
  BOOST_TEST(flat(guard.reference()) == read_vec(ref));  // previous reference kept
  V g_short = make_vec<V>(lcg(7, 5));
  const auto g_short_before = read_vec(g_short);
  BOOST_CHECK_THROW(guard.project(g_short), continua::size_mismatch);
  BOOST_TEST(read_vec(g_short) == g_short_before);
  auto nan_g = lcg(6, 6);
  nan_g[4] = std::numeric_limits<double>::infinity();
  V g_bad = make_vec<V>(nan_g);
  const auto g_bad_before = read_vec(g_bad);
  BOOST_CHECK_THROW(guard.project(g_bad), continua::non_finite_error);
  BOOST_TEST(read_vec(g_bad) == g_bad_before);

  temp_file f;
  continua::io::save(f.path, guard);
  r::agem<V> other(params);
  continua::io::load(f.path, other);
  BOOST_TEST(other.has_reference());
  BOOST_TEST(flat(other.reference()) == flat(guard.reference()));
  V g1 = make_vec<V>(lcg(6, 7)), g2 = g1;
  BOOST_TEST(guard.project(g1) == other.project(g2));
  BOOST_TEST(read_vec(g1) == read_vec(g2));
  r::agem<V> fresh(params);
  flip_byte(f.path, 6);
  BOOST_CHECK_THROW(continua::io::load(f.path, fresh), continua::io_error);
  BOOST_TEST(!fresh.has_reference());
  V longer = make_vec<V>(lcg(7, 1));
  r::agem<V> wrong(longer);
  continua::io::save(f.path, guard);
  BOOST_CHECK_THROW(continua::io::load(f.path, wrong), continua::io_error);
  BOOST_TEST(!wrong.has_reference());
}

// A reference holding NaN, forged into an otherwise intact file, is refused naming it; the
// object keeps its reference and projects as before.
BOOST_AUTO_TEST_CASE_TEMPLATE(forged_non_finite_reference_is_refused, V, vec_types) {
  const V params = make_vec<V>(lcg(6, 1));
  r::agem<V> guard(params);
  guard.set_reference(make_vec<V>(lcg(6, 2)));
  temp_file good, bad;
  continua::io::save(good.path, guard);
  r::agem<V> other(params);
  other.set_reference(make_vec<V>(lcg(6, 5)));
  const auto kept = flat(other.reference());
  reg_test::forge(good.path, bad.path, "t0", 4, std::numeric_limits<double>::infinity());
  try {
    continua::io::load(bad.path, other);
    BOOST_ERROR("a reference holding Inf was loaded");
  } catch (const continua::io_error& e) {
    BOOST_TEST_INFO("message: " << e.what());
    BOOST_TEST(std::string(e.what()).find(
                   "reference[0] contains NaN or Inf (first at element 4)") != std::string::npos);
  }
  BOOST_TEST(flat(other.reference()) == kept);
  BOOST_TEST(other.has_reference());
  // The same file with the entry intact loads, and the loaded object projects like the saved one.
  continua::io::load(good.path, other);
  V g1 = make_vec<V>(lcg(6, 7)), g2 = g1;
  BOOST_TEST(guard.project(g1) == other.project(g2));
  BOOST_TEST(read_vec(g1) == read_vec(g2));
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------------------------------------
BOOST_AUTO_TEST_SUITE(refresh)

// The noise of element i is noise_std * normal_draw(seed, step, offset + i) exactly, the ascent
// is fma(rate, g, p), and the tensors of a tuple take consecutive draws.
BOOST_AUTO_TEST_CASE_TEMPLATE(noise_is_the_keyed_philox_sequence, V, vec_types) {
  using T = continua::value_t<V>;
  const r::refresh_options opt{.unlearn_rate = 0.25, .noise_std = 0.5, .seed = 42};
  const auto p0 = lcg(101, 1), g0 = lcg(101, 2);
  V p = make_vec<V>(p0);
  const V g = make_vec<V>(g0);
  r::refresh_unlearn(p, g, opt, 7);
  const auto out = read_vec(p);
  for (std::size_t i = 0; i < out.size(); ++i) {
    const T z = continua::normal_draw<T>({42, 7}, i);
    const T expect =
        std::fma(T(0.5), z, std::fma(T(0.25), static_cast<T>(g0[i]), static_cast<T>(p0[i])));
    BOOST_TEST(out[i] == static_cast<double>(expect));
  }
  // Same (seed, step): identical; another step: different noise.
  V p2 = make_vec<V>(p0);
  r::refresh_unlearn(p2, g, opt, 7);
  BOOST_TEST(read_vec(p2) == out);
  V p3 = make_vec<V>(p0);
  r::refresh_unlearn(p3, g, opt, 8);
  BOOST_TEST(read_vec(p3) != out);

  // A tuple (this type + std::vector<T>) gets the draws of the flattened vector.
  using P = std::tuple<V, std::vector<T>>;
  P tp{make_vec<V>(std::vector<double>(p0.begin(), p0.begin() + 37)),
       std::vector<T>(p0.begin() + 37, p0.end())};
  const P tg{make_vec<V>(std::vector<double>(g0.begin(), g0.begin() + 37)),
             std::vector<T>(g0.begin() + 37, g0.end())};
  r::refresh_unlearn(tp, tg, opt, 7);
  BOOST_TEST(flat(tp) == out);
}

// noise_std = sigma, unlearn_rate = 0, params 0: the result is sigma * z for n = 2^18 draws.
// Mean: |mean| <= 5 sigma / sqrt(n) (two-sided normal false-alarm rate 5.7e-7). Variance:
// (n - 1) s^2 / sigma^2 ~ chi^2(n - 1) ~ N(n - 1, 2 (n - 1)), so |s^2 / sigma^2 - 1| <=
// 5 sqrt(2 / (n - 1)) has the same false-alarm rate. Fixed seeds make the outcome deterministic;
// the rates say how unlikely a failure would be for a correct generator.
BOOST_AUTO_TEST_CASE_TEMPLATE(noise_has_the_stated_mean_and_variance, V, vec_types) {
  const double sigma = 0.5;
  const std::size_t n = std::size_t{1} << 18;
  for (std::uint64_t step : {0u, 1u, 1000u}) {
    V p = make_vec<V>(std::vector<double>(n, 0.0));
    const V g = make_vec<V>(std::vector<double>(n, 1.0));
    r::refresh_unlearn(p, g, {.unlearn_rate = 0.0, .noise_std = sigma, .seed = 3}, step);
    const auto v = read_vec(p);
    double mean = 0;
    for (double x : v) mean += x;
    mean /= static_cast<double>(n);
    double var = 0;
    for (double x : v) var += (x - mean) * (x - mean);
    var /= static_cast<double>(n - 1);
    BOOST_TEST(std::abs(mean) <= 5 * sigma / std::sqrt(static_cast<double>(n)));
    BOOST_TEST(std::abs(var / (sigma * sigma) - 1) <=
               5 * std::sqrt(2.0 / static_cast<double>(n - 1)));
  }
}

BOOST_AUTO_TEST_CASE_TEMPLATE(bad_input_leaves_params_untouched, V, vec_types) {
  const auto p0 = lcg(8, 1);
  V p = make_vec<V>(p0);
  const auto before = read_vec(p);
  const V g = make_vec<V>(lcg(8, 2));
  BOOST_CHECK_THROW(r::refresh_unlearn(p, g, {.unlearn_rate = -1.0}, 0),
                    continua::invalid_argument);
  BOOST_CHECK_THROW(r::refresh_unlearn(p, g, {.noise_std = std::nan("")}, 0),
                    continua::invalid_argument);
  BOOST_CHECK_THROW(r::refresh_unlearn(p, make_vec<V>(lcg(9, 2)), {}, 0), continua::size_mismatch);
  auto bad = lcg(8, 3);
  bad[5] = std::numeric_limits<double>::quiet_NaN();
  BOOST_CHECK_THROW(r::refresh_unlearn(p, make_vec<V>(bad), {}, 0), continua::non_finite_error);
  BOOST_TEST(read_vec(p) == before);
}

BOOST_AUTO_TEST_SUITE_END()
