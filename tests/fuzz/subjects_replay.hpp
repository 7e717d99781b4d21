// Replay-buffer subjects for the loader target and the seed corpus: the reservoir buffer and the
// class-balanced buffer, each past capacity (so the reservoir decisions and the per-class
// evictions have run) and after a sample.
#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <vector>

#include "continua/sample/class_balanced_buffer.hpp"
#include "continua/sample/reservoir_buffer.hpp"
#include "fuzz.hpp"

namespace continua_fuzz {

namespace replay_subjects {

namespace s = continua::sample;

constexpr std::size_t dim = 2;

// n rows of `dim` features and labels from 0..classes-1, starting at `first`.
template <class T>
std::vector<T> features(std::size_t first, std::size_t n) {
  std::vector<T> x(n * dim);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = static_cast<T>(0.25 * double(first * dim + i));
  return x;
}
inline std::vector<std::int32_t> labels(std::size_t first, std::size_t n, int classes) {
  std::vector<std::int32_t> y(n);
  for (std::size_t i = 0; i < n; ++i) y[i] = static_cast<std::int32_t>((first + i) % classes);
  return y;
}

// The element type of a buffer template instance.
template <class B>
struct element_of;
template <template <class> class B, class T>
struct element_of<B<T>> {
  using type = T;
};

template <class Buffer>
Buffer filled(Buffer b, int classes) {
  using T = typename element_of<Buffer>::type;
  b.add(features<T>(0, 7), labels(0, 7, classes));
  b.add(features<T>(7, 5), labels(7, 5, classes));
  std::vector<T> x(3 * dim);
  std::vector<std::int32_t> y(3);
  b.sample_batch(x, y);
  return b;
}

// What a training loop does with a restored buffer: add a batch, draw a batch.
inline auto use_buffer = [](auto& b) {
  using T = typename element_of<std::remove_cvref_t<decltype(b)>>::type;
  b.add(features<T>(20, 3), labels(20, 3, 4));
  std::vector<T> x(2 * dim);
  std::vector<std::int32_t> y(2);
  b.sample_batch(x, y);
};

}  // namespace replay_subjects

// Calls f(name, make, use) for each replay subject.
template <class F>
void visit_replay(F&& f) {
  using namespace replay_subjects;
  f(
      "reservoir_buffer",
      [] {
        return filled(s::reservoir_buffer<float>({.capacity = 6, .feature_dim = dim, .seed = 1}),
                      3);
      },
      use_buffer);
  f(
      "class_balanced_buffer",
      [] {
        return filled(
            s::class_balanced_buffer<double>({.capacity = 6, .feature_dim = dim, .seed = 2}), 3);
      },
      use_buffer);
}

}  // namespace continua_fuzz
