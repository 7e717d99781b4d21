// Kernel layer: for_each_index visits every index once; transform_reduce and the named
// reductions agree with long-double references computed independently from the same data;
// copy and axpy match their elementwise definitions and refuse mismatched sizes.
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <limits>

#include "containers.hpp"

namespace {

using namespace continua_test;

const std::size_t sizes[] = {0, 1, 7, 1000, 100003};

long double ref_sum(const std::vector<double>& a) {
  long double s = 0;
  for (double x : a) s += x;
  return s;
}
long double ref_dot(const std::vector<double>& a, const std::vector<double>& b) {
  long double s = 0;
  for (std::size_t i = 0; i < a.size(); ++i) s += static_cast<long double>(a[i]) * b[i];
  return s;
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

struct mark_index {
  float* out;
  CONTINUA_HD void operator()(std::size_t i) const { out[i] += static_cast<float>(i % 1024) + 1; }
};

struct index_value {
  CONTINUA_HD std::size_t operator()(std::size_t i) const { return (i * 7919) % 100003; }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(kernel)

BOOST_AUTO_TEST_CASE_TEMPLATE(for_each_index_visits_every_index_exactly_once, C, tensor_types) {
  for (std::size_t n : sizes) {
    C out = make<C>::from(std::vector<double>(n, 0.0));
    using T = continua::value_t<C>;
    if constexpr (std::is_same_v<T, float>) {
      continua::for_each_index(continua::memory_space_t<C>{}, n, mark_index{continua::data(out)});
      const auto h = to_host(out);
      for (std::size_t i = 0; i < n; ++i)
        BOOST_REQUIRE_MESSAGE(h[i] == static_cast<double>(i % 1024) + 1,
                              "n=" << n << " index " << i << " visited " << h[i]);
    }
  }
}

BOOST_AUTO_TEST_CASE_TEMPLATE(triad_matches_scalar_loop, C, tensor_types) {
  using T = continua::value_t<C>;
  for (std::size_t n : sizes) {
    const auto bv = pseudo_random(n, 1), cv = pseudo_random(n, 2);
    C a = make<C>::from(std::vector<double>(n, 0.0));
    const C b = make<C>::from(bv), c = make<C>::from(cv);
    const T s = T(0.75);
    continua::for_each_index(continua::memory_space_t<C>{}, n,
                             triad<T>{continua::data(a), continua::data(b), continua::data(c), s});
    const auto h = to_host(a);
    for (std::size_t i = 0; i < n; ++i) {
      const T expect = T(bv[i]) + s * T(cv[i]);
      BOOST_REQUIRE_SMALL(h[i] - double(expect), 4.0 * std::numeric_limits<T>::epsilon());
    }
  }
}

BOOST_AUTO_TEST_CASE_TEMPLATE(named_reductions_match_long_double_reference, C, tensor_types) {
  using T = continua::value_t<C>;
  for (std::size_t n : sizes) {
    const C x = make<C>::from(pseudo_random(n, 3));
    const C y = make<C>::from(pseudo_random(n, 4));
    // References from the values as stored (after rounding to T), accumulated in long double.
    const auto xh = to_host(x), yh = to_host(y);
    const long double s = ref_sum(xh), d = ref_dot(xh, yh), q = ref_dot(xh, xh);
    long double m = 0, abs_sum = 0, abs_dot = 0;
    for (std::size_t i = 0; i < n; ++i) {
      m = std::max<long double>(m, std::fabs(xh[i]));
      abs_sum += std::fabs(xh[i]);
      abs_dot += std::fabs(xh[i] * yh[i]);
    }
    BOOST_REQUIRE_SMALL(double(continua::sum(x)) - double(s), reduction_tolerance(n, abs_sum));
    BOOST_REQUIRE_SMALL(double(continua::dot(x, y)) - double(d), reduction_tolerance(n, abs_dot));
    BOOST_REQUIRE_SMALL(double(continua::squared_norm(x)) - double(q), reduction_tolerance(n, q));
    BOOST_REQUIRE_EQUAL(double(continua::max_abs(x)), double(m));
    static_assert(
        std::is_same_v<decltype(continua::sum(continua::as_span(x))), continua::accumulator_t<T>>);
  }
}

BOOST_AUTO_TEST_CASE_TEMPLATE(transform_reduce_with_min_and_max, C, tensor_types) {
  using Space = continua::memory_space_t<C>;
  for (std::size_t n : sizes) {
    std::size_t lo = std::numeric_limits<std::size_t>::max(), hi = 0;
    for (std::size_t i = 0; i < n; ++i) {
      lo = std::min(lo, index_value{}(i));
      hi = std::max(hi, index_value{}(i));
    }
    BOOST_TEST(continua::transform_reduce(Space{}, n, std::numeric_limits<std::size_t>::max(),
                                          index_value{}, continua::minimum{}) == lo);
    BOOST_TEST(continua::transform_reduce(Space{}, n, std::size_t{0}, index_value{},
                                          continua::maximum{}) == hi);
  }
}

BOOST_AUTO_TEST_CASE(parameter_set_reductions_treat_all_tensors_as_one_vector) {
  const auto av = pseudo_random(1000, 5), bv = pseudo_random(40000, 6), cv = pseudo_random(3, 7);
  std::vector<float> a(av.begin(), av.end());
  Eigen::VectorXd b = make<Eigen::VectorXd>::from(bv);
  xt::xarray<float> c = make<xt::xarray<float>>::from(cv);
  const auto set = std::tie(a, b, c);

  std::vector<double> all;
  for (float v : a) all.push_back(v);
  for (double v : bv) all.push_back(v);
  for (float v : c) all.push_back(v);
  long double abs_all = 0;
  for (double v : all) abs_all += std::fabs(v);
  const long double sq = ref_dot(all, all);
  BOOST_REQUIRE_SMALL(continua::sum(set) - double(ref_sum(all)),
                      reduction_tolerance(all.size(), abs_all));
  BOOST_REQUIRE_SMALL(continua::squared_norm(set) - double(sq),
                      reduction_tolerance(all.size(), sq));
  BOOST_REQUIRE_SMALL(continua::dot(set, set) - double(sq), reduction_tolerance(all.size(), sq));
  BOOST_TEST(continua::total_size(set) == all.size());

  std::vector<std::vector<double>> range{bv, av, cv};
  std::vector<double> flat;
  for (const auto& t : range) flat.insert(flat.end(), t.begin(), t.end());
  long double abs_flat = 0;
  for (double v : flat) abs_flat += std::fabs(v);
  BOOST_REQUIRE_SMALL(continua::sum(range) - double(ref_sum(flat)),
                      reduction_tolerance(flat.size(), abs_flat));
  BOOST_TEST(continua::tensor_count(range) == 3u);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(copy_and_axpy_match_the_elementwise_definition, C, tensor_types) {
  for (std::size_t n : sizes) {
    const auto xv = pseudo_random(n, 3);
    const auto yv = pseudo_random(n, 4);
    const C x = make<C>::from(xv);
    C y = make<C>::from(yv);
    using T = continua::value_t<C>;
    const T alpha = T(-0.75);
    continua::axpy(alpha, x, y);
    const auto after_axpy = to_host(y);
    for (std::size_t i = 0; i < n; ++i) {
      const T expected = static_cast<T>(yv[i]) + alpha * static_cast<T>(xv[i]);
      BOOST_REQUIRE_SMALL(double(after_axpy[i] - expected),
                          4 * double(std::numeric_limits<T>::epsilon()));
    }
    continua::copy(x, y);
    const auto after_copy = to_host(y);
    for (std::size_t i = 0; i < n; ++i) BOOST_REQUIRE_EQUAL(after_copy[i], static_cast<T>(xv[i]));
  }
}

BOOST_AUTO_TEST_CASE(copy_and_axpy_refuse_mismatched_sizes_and_leave_the_destination) {
  const std::vector<double> x{1, 2, 3};
  std::vector<double> y{5, 6};
  BOOST_CHECK_THROW(continua::copy(x, y), continua::size_mismatch);
  BOOST_CHECK_THROW(continua::axpy(2.0, x, y), continua::size_mismatch);
  BOOST_TEST(y == (std::vector<double>{5, 6}), boost::test_tools::per_element());
  // An rvalue view is a valid destination.
  std::vector<double> z(3, 0.0);
  continua::copy(x, continua::as_span(z));
  BOOST_TEST(z == x, boost::test_tools::per_element());
}

#if CONTINUA_TEST_THRUST
BOOST_AUTO_TEST_CASE(device_parameter_sets_mix_with_host_tensors) {
  const auto v = pseudo_random(50000, 8);
  thrust::device_vector<float> d = make<thrust::device_vector<float>>::from(v);
  std::vector<float> h(v.begin(), v.end());
  BOOST_REQUIRE_CLOSE(continua::squared_norm(std::tie(d, h)), 2 * continua::squared_norm(h), 1e-12);
}
#endif

BOOST_AUTO_TEST_SUITE_END()
