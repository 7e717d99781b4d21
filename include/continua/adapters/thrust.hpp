// Thrust adapter: thrust::host_vector is a host tensor, thrust::device_vector a device tensor, and
// the device_space kernel backend runs loops with thrust::for_each / thrust::transform_reduce on
// the configured Thrust device system (CUDA under nvcc, or OpenMP/CPP when so configured).
#pragma once

#include <thrust/device_vector.h>
#include <thrust/execution_policy.h>
#include <thrust/for_each.h>
#include <thrust/host_vector.h>
#include <thrust/iterator/counting_iterator.h>
#include <thrust/iterator/transform_iterator.h>
#include <thrust/reduce.h>
#include <cstddef>
#include <type_traits>
#include <vector>

#include "continua/core/buffer.hpp"
#include "continua/core/kernel.hpp"
#include "continua/core/tensor.hpp"

namespace continua {

namespace detail {
// thrust's vector data() dereferences front(), undefined for an empty vector: null instead.
template <class V>
auto* raw_data(V& v) {
  return v.empty() ? nullptr : thrust::raw_pointer_cast(v.data());
}
}  // namespace detail

template <class T, class Alloc>
requires std::is_floating_point_v<T>
struct tensor_traits<thrust::host_vector<T, Alloc>> {
  using value_type = T;
  using memory_space = host_space;
  static T* data(thrust::host_vector<T, Alloc>& v) { return detail::raw_data(v); }
  static const T* data(const thrust::host_vector<T, Alloc>& v) { return detail::raw_data(v); }
  static std::size_t size(const thrust::host_vector<T, Alloc>& v) { return v.size(); }
  static extents shape(const thrust::host_vector<T, Alloc>& v) { return make_extents(v.size()); }
};

template <class T, class Alloc>
requires std::is_floating_point_v<T>
struct tensor_traits<thrust::device_vector<T, Alloc>> {
  using value_type = T;
  using memory_space = device_space;
  static T* data(thrust::device_vector<T, Alloc>& v) { return detail::raw_data(v); }
  static const T* data(const thrust::device_vector<T, Alloc>& v) { return detail::raw_data(v); }
  static std::size_t size(const thrust::device_vector<T, Alloc>& v) { return v.size(); }
  static extents shape(const thrust::device_vector<T, Alloc>& v) { return make_extents(v.size()); }
};

// Device-resident state buffers for device tensors.
template <class T>
class buffer<T, device_space> {
 public:
  using value_type = T;
  using memory_space = device_space;

  buffer() = default;
  explicit buffer(std::size_t n, T value = T(0)) : v_(n, value) {}

  T* data() { return detail::raw_data(v_); }
  const T* data() const { return detail::raw_data(v_); }
  std::size_t size() const { return v_.size(); }
  std::vector<T> to_host() const {
    thrust::host_vector<T> h = v_;
    return std::vector<T>(h.begin(), h.end());
  }
  void assign_from_host(const std::vector<T>& values) {
    v_ = thrust::host_vector<T>(values.begin(), values.end());
  }

 private:
  thrust::device_vector<T> v_;
};

namespace detail {
// Adapts an index functor to Thrust's element-wise calling convention.
template <class F>
struct index_caller {
  F f;
  CONTINUA_HD void operator()(std::size_t i) const { f(i); }
};
template <class Map, class T>
struct index_mapper {
  Map map;
  CONTINUA_HD T operator()(std::size_t i) const { return map(i); }
};
}  // namespace detail

template <>
struct kernel_backend<device_space> {
  template <class F>
  static void for_each_index(std::size_t n, const F& f) {
    if (n == 0) return;
    thrust::counting_iterator<std::size_t> first(0);
    thrust::for_each(thrust::device, first, first + n, detail::index_caller<F>{f});
  }

  template <class T, class Map, class Reduce>
  static T transform_reduce(std::size_t n, T init, const Map& map, const Reduce& reduce) {
    if (n == 0) return init;
    thrust::counting_iterator<std::size_t> first(0);
    auto values = thrust::make_transform_iterator(first, detail::index_mapper<Map, T>{map});
    return thrust::reduce(thrust::device, values, values + n, init, reduce);
  }
};

}  // namespace continua
