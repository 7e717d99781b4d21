// Owning, contiguous storage in a memory space: the state buffers of stateful components
// (moments, importances, statistics). Host storage here; device storage in adapters/thrust.hpp.
#pragma once

#include <cstddef>
#include <vector>

#include "continua/core/memory_space.hpp"
#include "continua/core/tensor.hpp"

namespace continua {

// buffer<T, Space>: n elements of T living in Space, value-initialised on construction.
template <class T, class Space = host_space>
class buffer;

// Host storage: a std::vector<T>; to_host and assign_from_host copy the elements.
template <class T>
class buffer<T, host_space> {
 public:
  using value_type = T;
  using memory_space = host_space;

  buffer() = default;
  explicit buffer(std::size_t n, T value = T(0)) : v_(n, value) {}

  T* data() { return v_.data(); }
  const T* data() const { return v_.data(); }
  std::size_t size() const { return v_.size(); }
  // Host copies of the elements, and assignment from host values (for checkpoints and tests).
  std::vector<T> to_host() const { return v_; }
  void assign_from_host(const std::vector<T>& values) { v_ = values; }

 private:
  std::vector<T> v_;
};

// Makes every buffer a rank-1 tensor in its own space.
template <class T, class Space>
struct tensor_traits<buffer<T, Space>> {
  using value_type = T;
  using memory_space = Space;
  static T* data(buffer<T, Space>& b) { return b.data(); }
  static const T* data(const buffer<T, Space>& b) { return b.data(); }
  static std::size_t size(const buffer<T, Space>& b) { return b.size(); }
  static extents shape(const buffer<T, Space>& b) { return make_extents(b.size()); }
};

}  // namespace continua
