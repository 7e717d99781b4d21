// Test helpers: build any supported tensor type from values, read it back, and the list of tensor
// types each backend exercises.
#pragma once

#include <Eigen/Core>
#include <boost/mpl/list.hpp>
#include <cstddef>
#include <cstdint>
#include <vector>
#include <xtensor/xarray.hpp>
#include <xtensor/xtensor.hpp>

#include "continua/adapters/eigen.hpp"
#include "continua/adapters/xtensor.hpp"
#include "continua/core.hpp"

#if CONTINUA_TEST_THRUST
#include <thrust/copy.h>

#include "continua/adapters/thrust.hpp"
#endif

namespace continua_test {

// Deterministic values in [-1, 1) from a 64-bit LCG (test data, not the library RNG).
inline std::vector<double> pseudo_random(std::size_t n, std::uint64_t seed) {
  std::vector<double> v(n);
  std::uint64_t s = seed * 6364136223846793005ULL + 1442695040888963407ULL;
  for (auto& x : v) {
    s = s * 6364136223846793005ULL + 1442695040888963407ULL;
    x = static_cast<double>(s >> 11) / static_cast<double>(1ULL << 53) * 2.0 - 1.0;
  }
  return v;
}

template <class C>
struct make;

template <class T>
struct make<std::vector<T>> {
  static std::vector<T> from(const std::vector<double>& v) { return {v.begin(), v.end()}; }
};
template <class T>
struct make<Eigen::Matrix<T, Eigen::Dynamic, 1>> {
  static Eigen::Matrix<T, Eigen::Dynamic, 1> from(const std::vector<double>& v) {
    Eigen::Matrix<T, Eigen::Dynamic, 1> m(static_cast<Eigen::Index>(v.size()));
    for (std::size_t i = 0; i < v.size(); ++i) m(static_cast<Eigen::Index>(i)) = T(v[i]);
    return m;
  }
};
// A matrix with 1 row per element (n x 1) keeps any n valid while exercising the matrix path.
template <class T>
struct make<Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>> {
  static Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic> from(const std::vector<double>& v) {
    Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic> m(static_cast<Eigen::Index>(v.size()), 1);
    for (std::size_t i = 0; i < v.size(); ++i) m(static_cast<Eigen::Index>(i), 0) = T(v[i]);
    return m;
  }
};
template <class T>
struct make<xt::xarray<T>> {
  static xt::xarray<T> from(const std::vector<double>& v) {
    xt::xarray<T> a = xt::zeros<T>({v.size()});
    for (std::size_t i = 0; i < v.size(); ++i) a(i) = T(v[i]);
    return a;
  }
};
template <class T>
struct make<xt::xtensor<T, 2>> {
  static xt::xtensor<T, 2> from(const std::vector<double>& v) {
    xt::xtensor<T, 2> a = xt::zeros<T>({std::size_t{1}, v.size()});
    for (std::size_t i = 0; i < v.size(); ++i) a(0, i) = T(v[i]);
    return a;
  }
};
#if CONTINUA_TEST_THRUST
template <class T>
struct make<thrust::host_vector<T>> {
  static thrust::host_vector<T> from(const std::vector<double>& v) {
    thrust::host_vector<T> h(v.size());
    for (std::size_t i = 0; i < v.size(); ++i) h[i] = T(v[i]);
    return h;
  }
};
template <class T>
struct make<thrust::device_vector<T>> {
  static thrust::device_vector<T> from(const std::vector<double>& v) {
    return thrust::device_vector<T>(make<thrust::host_vector<T>>::from(v));
  }
};
#endif

// Element values of any tensor, copied to the host as double.
template <class C>
std::vector<double> to_host(const C& c) {
  using T = continua::value_t<C>;
  std::vector<T> tmp(continua::size(c));
#if CONTINUA_TEST_THRUST
  if constexpr (std::is_same_v<continua::memory_space_t<C>, continua::device_space>) {
    // thrust binds *result even for an empty range (UBSan: null reference)
    if (!tmp.empty()) thrust::copy(c.begin(), c.end(), tmp.begin());
    return {tmp.begin(), tmp.end()};
  }
#endif
  const T* p = continua::data(c);
  return {p, p + tmp.size()};
}

using tensor_types = boost::mpl::list<std::vector<float>, std::vector<double>, Eigen::VectorXf,
                                      Eigen::MatrixXd, xt::xarray<float>, xt::xtensor<double, 2>
#if CONTINUA_TEST_THRUST
                                      ,
                                      thrust::host_vector<float>, thrust::device_vector<float>,
                                      thrust::device_vector<double>
#endif
                                      >;

}  // namespace continua_test
