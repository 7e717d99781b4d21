// The kernel layer: every elementwise loop and reduction in continua runs through
// for_each_index / transform_reduce, which pick the host loop or the Thrust device loop by space.
#pragma once

#include <cstddef>
#include <limits>
#include <type_traits>
#include <vector>

#include "continua/config.hpp"
#include "continua/core/memory_space.hpp"
#include "continua/core/threads.hpp"

#if CONTINUA_WITH_OPENMP
#include <omp.h>
#endif

namespace continua {

// Reduction operators. Each names its identity so partial results can start from it.
// plus: a + b; identity 0.
struct plus {
  template <class T>
  static constexpr T identity() {
    return T(0);
  }
  template <class T>
  CONTINUA_HD constexpr T operator()(const T& a, const T& b) const {
    return a + b;
  }
};

// max(a, b); identity: the lowest finite value of T.
struct maximum {
  template <class T>
  static constexpr T identity() {
    return std::numeric_limits<T>::lowest();
  }
  template <class T>
  CONTINUA_HD constexpr T operator()(const T& a, const T& b) const {
    return a < b ? b : a;
  }
};

// min(a, b); identity: the largest finite value of T.
struct minimum {
  template <class T>
  static constexpr T identity() {
    return std::numeric_limits<T>::max();
  }
  template <class T>
  CONTINUA_HD constexpr T operator()(const T& a, const T& b) const {
    return b < a ? b : a;
  }
};

namespace detail {
// pred(i) as 0/1, for raise_if's max-reduction.
template <class Pred>
struct pred_as_int {
  Pred pred;
  CONTINUA_HD int operator()(std::size_t i) const { return pred(i) ? 1 : 0; }
};
}  // namespace detail

// Where loops over a memory space run. host_space is defined here; the device_space
// specialisation comes with continua/adapters/thrust.hpp.
template <class Space>
struct kernel_backend;

// Host loops: an OpenMP parallel loop from CONTINUA_OMP_MIN_SIZE elements up when built with
// OpenMP and not already inside a parallel region, on at most as many threads as the caller's
// CPU affinity mask holds (detail::host_threads); a plain loop otherwise.
template <>
struct kernel_backend<host_space> {
  template <class F>
  static void for_each_index(std::size_t n, const F& f_in) {
    // Each thread works on its own copy of the functor: a local whose address never escapes, so
    // its members live in registers and branches on them are hoisted out of the loop. Through a
    // shared reference, a float store to the data may alias a float member and every member is
    // reloaded per element (measured: RMSprop 3x, a clip+Adam chain 9x slower).
#if CONTINUA_WITH_OPENMP
    if (const int threads = detail::host_threads(double(n), double(CONTINUA_OMP_MIN_SIZE));
        threads > 1) {
      const auto count = static_cast<std::ptrdiff_t>(n);
#pragma omp parallel num_threads(threads)
      {
        const F f = f_in;
#pragma omp for simd schedule(static)
        for (std::ptrdiff_t i = 0; i < count; ++i) f(static_cast<std::size_t>(i));
      }
      return;
    }
#endif
    const F f = f_in;
    CONTINUA_SIMD
    for (std::size_t i = 0; i < n; ++i) f(i);
  }

  // Deferred any-of: raise_if records whether pred(i) holds for some i in [0, n); take_raised
  // returns whether any raise_if since the last take did, and clears. On the device this lets a
  // check over many tensors wait for the GPU once (all_finite); here it is a plain reduction.
  template <class Pred>
  static void raise_if(std::size_t n, const Pred& pred) {
    if (raised()) return;
    raised() = transform_reduce(n, 0, detail::pred_as_int<Pred>{pred}, maximum{}) != 0;
  }
  static bool take_raised() {
    const bool r = raised();
    raised() = false;
    return r;
  }

  template <class T, class Map, class Reduce>
  static T transform_reduce(std::size_t n, T init, const Map& map, const Reduce& reduce) {
#if CONTINUA_WITH_OPENMP
    if (const int threads = detail::host_threads(double(n), double(CONTINUA_OMP_MIN_SIZE));
        threads > 1) {
      // One partial per thread, combined in thread order: a fixed thread count gives a
      // reproducible result.
      std::vector<T> parts(static_cast<std::size_t>(threads), Reduce::template identity<T>());
#pragma omp parallel num_threads(threads)
      {
        const std::size_t threads = static_cast<std::size_t>(omp_get_num_threads());
        const std::size_t t = static_cast<std::size_t>(omp_get_thread_num());
        parts[t] = serial_reduce(n * t / threads, n * (t + 1) / threads, map, reduce,
                                 Reduce::template identity<T>());
      }
      T total = init;
      for (const T& part : parts) total = reduce(total, part);
      return total;
    }
#endif
    return serial_reduce(0, n, map, reduce, init);
  }

 private:
  static bool& raised() {
    thread_local bool flag = false;
    return flag;
  }

  template <class T, class Map, class Reduce>
  static T serial_reduce(std::size_t begin, std::size_t end, const Map& map_in,
                         const Reduce& reduce, T acc) {
    // A local copy: members reached through a reference may alias the simd reduction's private
    // accumulators as far as g++ can tell, which turns contiguous loads into gathers (7x slower).
    const Map map = map_in;
    if constexpr (std::is_same_v<Reduce, plus> && std::is_arithmetic_v<T>) {
#if defined(_OPENMP) || defined(_OPENMP_SIMD)
#pragma omp simd reduction(+ : acc)
#endif
      for (std::size_t i = begin; i < end; ++i) acc += map(i);
    } else if constexpr (std::is_same_v<Reduce, maximum> && std::is_arithmetic_v<T>) {
#if defined(_OPENMP) || defined(_OPENMP_SIMD)
#pragma omp simd reduction(max : acc)
#endif
      for (std::size_t i = begin; i < end; ++i) {
        const T v = map(i);
        acc = acc < v ? v : acc;
      }
    } else {
      for (std::size_t i = begin; i < end; ++i) acc = reduce(acc, map(i));
    }
    return acc;
  }
};

// Calls f(i) for every i in [0, n), in any order and possibly concurrently. f must be
// CONTINUA_HD (callable on the device) when Space is device_space.
template <class Space, class F>
void for_each_index(Space, std::size_t n, const F& f) {
  static_assert(is_memory_space_v<Space>,
                "continua::for_each_index: first argument must be "
                "continua::host_space{} or continua::device_space{}");
  kernel_backend<Space>::for_each_index(n, f);
}

// reduce(init, map(0), ..., map(n-1)) in an unspecified grouping; Reduce is plus, maximum,
// minimum or any associative operator with a static identity<T>().
template <class Space, class T, class Map, class Reduce>
T transform_reduce(Space, std::size_t n, T init, const Map& map, const Reduce& reduce) {
  static_assert(is_memory_space_v<Space>,
                "continua::transform_reduce: first argument must be "
                "continua::host_space{} or continua::device_space{}");
  return kernel_backend<Space>::template transform_reduce<T>(n, init, map, reduce);
}

}  // namespace continua
