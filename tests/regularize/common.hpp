// Test helpers for the regularize suites: parameter sets of several shapes built from flat double
// data and read back, deterministic test data, checkpoint snapshots.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <tuple>
#include <vector>

#include <unistd.h>

#include "continua/core/parameter_set.hpp"
#include "continua/core/std_tensors.hpp"
#include "continua/io/state.hpp"

#if CONTINUA_TEST_THRUST
#include <thrust/copy.h>

#include "continua/adapters/thrust.hpp"
#endif

#include "../core/containers.hpp"

namespace reg_test {

using vec = std::vector<double>;

using continua_test::pseudo_random;

// One tensor <-> a slice of flat double data.
template <class C>
struct tensor_io;
template <class T>
struct tensor_io<std::vector<T>> {
  static std::vector<T> make(const double* v, std::size_t n) { return {v, v + n}; }
  static void read(const std::vector<T>& t, std::vector<double>& out) {
    out.insert(out.end(), t.begin(), t.end());
  }
};
template <class T, std::size_t N>
struct tensor_io<std::array<T, N>> {
  static std::array<T, N> make(const double* v, std::size_t) {
    std::array<T, N> a{};
    for (std::size_t i = 0; i < N; ++i) a[i] = static_cast<T>(v[i]);
    return a;
  }
  static void read(const std::array<T, N>& t, std::vector<double>& out) {
    out.insert(out.end(), t.begin(), t.end());
  }
};
#if CONTINUA_TEST_THRUST
template <class T>
struct tensor_io<thrust::device_vector<T>> {
  static thrust::device_vector<T> make(const double* v, std::size_t n) {
    const std::vector<T> h(v, v + n);
    return thrust::device_vector<T>(h.begin(), h.end());
  }
  static void read(const thrust::device_vector<T>& t, std::vector<double>& out) {
    thrust::host_vector<T> h = t;
    out.insert(out.end(), h.begin(), h.end());
  }
};
#endif

template <class C>
struct fixed_size : std::integral_constant<std::size_t, 0> {};
template <class T, std::size_t N>
struct fixed_size<std::array<T, N>> : std::integral_constant<std::size_t, N> {};

// A parameter set type P <-> flat double data of total size n. Tuples put the dynamic tensors
// after the fixed-size ones; ranges hold three tensors.
template <class P>
struct set_io {  // single tensor
  static P make(const std::vector<double>& v) { return tensor_io<P>::make(v.data(), v.size()); }
  static std::vector<double> flat(const P& p) {
    std::vector<double> out;
    tensor_io<P>::read(p, out);
    return out;
  }
  static constexpr bool has_float = std::is_same_v<continua::value_t<P>, float>;
};
template <class A, class B>
struct set_io<std::tuple<A, B>> {
  using P = std::tuple<A, B>;
  static P make(const std::vector<double>& v) {
    const std::size_t na = fixed_size<A>::value ? fixed_size<A>::value : v.size() / 3;
    return P{tensor_io<A>::make(v.data(), na), tensor_io<B>::make(v.data() + na, v.size() - na)};
  }
  static std::vector<double> flat(const P& p) {
    std::vector<double> out;
    tensor_io<A>::read(std::get<0>(p), out);
    tensor_io<B>::read(std::get<1>(p), out);
    return out;
  }
  static constexpr bool has_float =
      std::is_same_v<continua::value_t<A>, float> || std::is_same_v<continua::value_t<B>, float>;
};
template <class C>
struct set_io<std::vector<std::vector<C>>> {
  using P = std::vector<std::vector<C>>;
  static P make(const std::vector<double>& v) {
    const std::size_t cuts[] = {0, v.size() / 4, v.size() / 2, v.size()};
    P p;
    for (int k = 0; k < 3; ++k) p.emplace_back(v.begin() + cuts[k], v.begin() + cuts[k + 1]);
    return p;
  }
  static std::vector<double> flat(const P& p) {
    std::vector<double> out;
    for (const auto& t : p) out.insert(out.end(), t.begin(), t.end());
    return out;
  }
  static constexpr bool has_float = std::is_same_v<C, float>;
};

// Rounds flat data through P (the values the library actually sees).
template <class P>
std::vector<double> round_trip(const std::vector<double>& v) {
  return set_io<P>::flat(set_io<P>::make(v));
}

// Largest |a_i - b_i| relative to max(1, max |b_i|).
inline double max_rel_diff(const std::vector<double>& a, const std::vector<double>& b) {
  double scale = 1, d = 0;
  for (double x : b) scale = std::max(scale, std::abs(x));
  for (std::size_t i = 0; i < a.size() && i < b.size(); ++i) d = std::max(d, std::abs(a[i] - b[i]));
  return a.size() == b.size() ? d / scale : INFINITY;
}

inline std::vector<unsigned char> file_bytes(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// tmpfs when there is one: the checkpoint writer fsyncs, which costs milliseconds on a disk.
inline std::filesystem::path temp_path(const std::string& name) {
  const std::filesystem::path shm = "/dev/shm";
  const auto dir =
      std::filesystem::is_directory(shm) ? shm : std::filesystem::temp_directory_path();
  return dir / ("continua_regularize_" + std::to_string(::getpid()) + "_" + name);
}

// The complete serialised state: equal snapshots mean bit-identical state.
template <class R>
std::vector<unsigned char> snapshot(const R& r) {
  const auto path = temp_path("snapshot.ckpt");
  continua::io::save(path, r);
  auto bytes = file_bytes(path);
  std::filesystem::remove(path);
  return bytes;
}

}  // namespace reg_test
