// The kernel layer on a CUDA device: for_each_index, transform_reduce and the named reductions
// over thrust::device_vector (single tensors and mixed parameter sets) agree with host loops.
#include <thrust/device_vector.h>
#include <thrust/host_vector.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <tuple>
#include <vector>

#include "continua/adapters/thrust.hpp"
#include "continua/core.hpp"
#include "cuda_check.hpp"

namespace {

using continua_cuda_test::pseudo_random;

template <class T>
thrust::device_vector<T> to_device(const std::vector<T>& h) {
  return thrust::device_vector<T>(h.begin(), h.end());
}

template <class T>
std::vector<T> to_host(const thrust::device_vector<T>& d) {
  thrust::host_vector<T> h = d;
  return std::vector<T>(h.begin(), h.end());
}

// Error bound of any summation order in double: (n + 1) eps sum|terms| (Higham, Ch. 4).
double reduction_tolerance(std::size_t n, long double sum_of_abs_terms) {
  return static_cast<double>(n + 1) * std::numeric_limits<double>::epsilon() *
         static_cast<double>(sum_of_abs_terms);
}

template <class T>
struct triad {
  T* a;
  const T* b;
  const T* c;
  T s;
  CONTINUA_HD void operator()(std::size_t i) const { a[i] = b[i] + s * c[i]; }
};

struct index_value {
  CONTINUA_HD std::size_t operator()(std::size_t i) const { return (i * 7919) % 100003; }
};

const std::size_t sizes[] = {0, 1, 7, 1000, (std::size_t{1} << 20) + 3};

template <class T>
void check_for_each_index() {
  for (const std::size_t n : sizes) {
    const auto b = pseudo_random<T>(n, 1), c = pseudo_random<T>(n, 2);
    thrust::device_vector<T> da(n, T(0));
    const auto db = to_device(b), dc = to_device(c);
    const T s = T(0.75);
    continua::for_each_index(
        continua::memory_space_t<thrust::device_vector<T>>{}, n,
        triad<T>{continua::data(da), continua::data(db), continua::data(dc), s});
    const auto a = to_host(da);
    // One rounded product and one rounded sum (or a single fused rounding on the device).
    for (std::size_t i = 0; i < n; ++i) {
      const double expect = static_cast<double>(b[i]) + 0.75 * static_cast<double>(c[i]);
      const double tol = 2.0 * std::numeric_limits<T>::epsilon() *
                         (std::fabs(static_cast<double>(b[i])) + std::fabs(0.75 * c[i]));
      CONTINUA_CHECK_CLOSE(a[i], expect, tol);
    }
  }
}

void check_transform_reduce() {
  for (const std::size_t n : sizes) {
    std::size_t ref_sum = 0, ref_max = 0, ref_min = std::numeric_limits<std::size_t>::max();
    for (std::size_t i = 0; i < n; ++i) {
      const std::size_t v = (i * 7919) % 100003;
      ref_sum += v;
      ref_max = v > ref_max ? v : ref_max;
      ref_min = v < ref_min ? v : ref_min;
    }
    const continua::device_space dev{};
    CONTINUA_CHECK(continua::transform_reduce(dev, n, std::size_t{0}, index_value{},
                                              continua::plus{}) == ref_sum);
    CONTINUA_CHECK(continua::transform_reduce(dev, n, std::size_t{0}, index_value{},
                                              continua::maximum{}) == ref_max);
    CONTINUA_CHECK(continua::transform_reduce(dev, n, std::numeric_limits<std::size_t>::max(),
                                              index_value{}, continua::minimum{}) == ref_min);
    // init takes part in the reduction exactly once.
    CONTINUA_CHECK(continua::transform_reduce(dev, n, std::size_t{5}, index_value{},
                                              continua::plus{}) == ref_sum + 5);
  }
}

template <class T>
void check_named_reductions() {
  for (const std::size_t n : sizes) {
    const auto x = pseudo_random<T>(n, 3), y = pseudo_random<T>(n, 4);
    const auto dx = to_device(x), dy = to_device(y);
    long double s = 0, abs_s = 0, d = 0, abs_d = 0, q = 0;
    T m = 0;
    for (std::size_t i = 0; i < n; ++i) {
      const long double xi = x[i], yi = y[i];
      s += xi;
      abs_s += xi < 0 ? -xi : xi;
      d += xi * yi;
      abs_d += xi * yi < 0 ? -(xi * yi) : xi * yi;
      q += xi * xi;
      const T a = x[i] < 0 ? -x[i] : x[i];
      m = a > m ? a : m;
    }
    // The span overloads (result in accumulator_t<T>) and the tensor overloads (double).
    CONTINUA_CHECK_CLOSE(continua::sum(continua::as_span(dx)), s, reduction_tolerance(n, abs_s));
    CONTINUA_CHECK_CLOSE(continua::sum(dx), s, reduction_tolerance(n, abs_s));
    CONTINUA_CHECK_CLOSE(continua::dot(continua::as_span(dx), continua::as_span(dy)), d,
                         reduction_tolerance(n, abs_d));
    CONTINUA_CHECK_CLOSE(continua::dot(dx, dy), d, reduction_tolerance(n, abs_d));
    CONTINUA_CHECK_CLOSE(continua::squared_norm(dx), q, reduction_tolerance(n, q));
    CONTINUA_CHECK(continua::max_abs(continua::as_span(dx)) == m);
    CONTINUA_CHECK(continua::max_abs(dx) == static_cast<double>(m));
  }
}

template <class T>
void check_find_non_finite() {
  const std::size_t n = (std::size_t{1} << 20) + 3;
  auto x = pseudo_random<T>(n, 5);
  const auto clean = to_device(x);
  CONTINUA_CHECK(!continua::find_non_finite(continua::as_span(clean)).has_value());
  CONTINUA_CHECK(continua::all_finite(clean));
  // The first bad index wins whatever its kind, wherever the device threads run.
  x[n - 1] = std::numeric_limits<T>::quiet_NaN();
  x[777777] = -std::numeric_limits<T>::infinity();
  x[4321] = std::numeric_limits<T>::infinity();
  const auto dx = to_device(x);
  const auto bad = continua::find_non_finite(continua::as_span(dx));
  CONTINUA_CHECK(bad.has_value() && *bad == 4321);
  CONTINUA_CHECK(!continua::all_finite(dx));
  bool threw = false;
  try {
    continua::require_finite("test", "x", dx);
  } catch (const continua::non_finite_error&) {
    threw = true;
  }
  CONTINUA_CHECK(threw);
}

// A mixed float/double tuple of device vectors, a tuple mixing host and device tensors, and a
// range of device vectors are each reduced as one long vector.
void check_parameter_sets() {
  const std::size_t n1 = 100003, n2 = 4099;
  const auto xf = pseudo_random<float>(n1, 6), yf = pseudo_random<float>(n1, 8);
  const auto xd = pseudo_random<double>(n2, 7), yd = pseudo_random<double>(n2, 9);
  auto dxf = to_device(xf), dyf = to_device(yf);
  auto dxd = to_device(xd), dyd = to_device(yd);

  long double s = 0, abs_s = 0, d = 0, abs_d = 0, q = 0;
  double m = 0;
  auto add = [&](long double xi, long double yi) {
    s += xi;
    abs_s += xi < 0 ? -xi : xi;
    d += xi * yi;
    abs_d += xi * yi < 0 ? -(xi * yi) : xi * yi;
    q += xi * xi;
    const double a = static_cast<double>(xi < 0 ? -xi : xi);
    m = a > m ? a : m;
  };
  for (std::size_t i = 0; i < n1; ++i) add(xf[i], yf[i]);
  for (std::size_t i = 0; i < n2; ++i) add(xd[i], yd[i]);
  const std::size_t n = n1 + n2;

  const auto xs = std::tie(dxf, dxd);
  const auto ys = std::tie(dyf, dyd);
  CONTINUA_CHECK(continua::total_size(xs) == n);
  CONTINUA_CHECK_CLOSE(continua::sum(xs), s, reduction_tolerance(n, abs_s));
  CONTINUA_CHECK_CLOSE(continua::dot(xs, ys), d, reduction_tolerance(n, abs_d));
  CONTINUA_CHECK_CLOSE(continua::squared_norm(xs), q, reduction_tolerance(n, q));
  CONTINUA_CHECK(continua::max_abs(xs) == m);
  CONTINUA_CHECK(continua::all_finite(xs));

  // Host float tensor beside a device double tensor: each runs in its own space.
  const auto mixed = std::tie(xf, dxd);
  CONTINUA_CHECK_CLOSE(continua::sum(mixed), s, reduction_tolerance(n, abs_s));

  std::vector<thrust::device_vector<float>> range;
  long double rs = 0, abs_rs = 0;
  for (std::uint64_t k = 0; k < 3; ++k) {
    const auto h = pseudo_random<float>(1000 * (k + 1) + k, 10 + k);
    for (float v : h) {
      rs += v;
      abs_rs += v < 0 ? -v : v;
    }
    range.push_back(to_device(h));
  }
  CONTINUA_CHECK_CLOSE(continua::sum(range), rs, reduction_tolerance(6003, abs_rs));

  // Pairwise sizes are checked before any kernel runs; the message names the tensor index.
  thrust::device_vector<double> short_d(n2 - 1, 1.0);
  bool threw = false;
  try {
    (void)continua::dot(xs, std::tie(dyf, short_d));
  } catch (const continua::size_mismatch& e) {
    threw = e.first_size() == n2 && e.second_size() == n2 - 1;
  }
  CONTINUA_CHECK(threw);
}

}  // namespace

int main() {
  continua_cuda_test::skip_without_device();
  check_for_each_index<float>();
  check_for_each_index<double>();
  check_transform_reduce();
  check_named_reductions<float>();
  check_named_reductions<double>();
  check_find_non_finite<float>();
  check_find_non_finite<double>();
  check_parameter_sets();
  return continua_cuda_test::exit_code("test_kernel_cuda");
}
