// NaN/Inf detection over tensors and parameter sets, on host or device.
#pragma once

#include <bit>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string_view>
#include <type_traits>

#include "continua/config.hpp"
#include "continua/core/error.hpp"
#include "continua/core/kernel.hpp"
#include "continua/core/parameter_set.hpp"
#include "continua/core/span.hpp"

namespace continua {

// True for finite x. Written with arithmetic rather than std::isfinite so it is the same
// function on host and device: x - x is 0 for finite x and NaN for NaN and +-Inf.
template <class T>
CONTINUA_HD constexpr bool is_finite(T x) {
  const T d = x - x;
  return d == d;
}

namespace detail {
template <class T>
struct first_non_finite_map {
  const T* x;
  std::size_t none;
  CONTINUA_HD std::size_t operator()(std::size_t i) const { return is_finite(x[i]) ? none : i; }
};
}  // namespace detail

namespace detail {

template <class T>
concept ieee_float = std::same_as<T, float> || std::same_as<T, double>;

// Largest exponent field (the bits of `exponent`) over x[0, n). An integer max is exact and
// associative, so the loop vectorises without -ffast-math.
template <class U, ieee_float T>
U exponent_max(const T* x, std::size_t n, U exponent) {
  const auto count = static_cast<std::ptrdiff_t>(n);
  U m = 0;
#if defined(_OPENMP) || defined(_OPENMP_SIMD)
#pragma omp simd reduction(max : m)
#endif
  for (std::ptrdiff_t i = 0; i < count; ++i) {
    const U e = std::bit_cast<U>(x[i]) & exponent;
    m = m < e ? e : m;
  }
  return m;
}

// exponent_max over x[0, n) read as four sub-ranges at once, 1 KiB of each in turn: one
// sequential stream per thread read at about 21 GB/s on two threads here, four at about 25
// (bench_optim continua_finite_check; the hardware prefetchers keep more lines in flight for
// several streams). The order of the reads does not change the result.
template <class U, ieee_float T>
U exponent_max_streams(const T* x, std::size_t n, U exponent) {
  constexpr std::size_t streams = 4, block = 1024 / sizeof(T);
  const std::size_t len = n / (streams * block) * block;  // per stream, whole blocks
  U m = 0;
  for (std::size_t i = 0; i < len; i += block)
    for (std::size_t s = 0; s < streams; ++s) {
      const U e = exponent_max(x + s * len + i, block, exponent);
      m = m < e ? e : m;
    }
  const U rest = exponent_max(x + streams * len, n - streams * len, exponent);
  return m < rest ? rest : m;
}

// Whether x[0, n) on the host holds a NaN or an Inf, at memory speed: the largest exponent field
// is all ones exactly when some element is non-finite. The data is read once (the per-element
// predicate reduced as 0/1 ran at about a third of the copy bandwidth: issue 14). No early exit:
// the common case is all finite, where one would only add a branch per block.
template <ieee_float T>
bool host_has_non_finite(const T* x, std::size_t n) {
  using U = std::conditional_t<sizeof(T) == 4, std::uint32_t, std::uint64_t>;
  constexpr U exponent = static_cast<U>(sizeof(T) == 4 ? 0x7f800000ull : 0x7ff0000000000000ull);
#if CONTINUA_WITH_OPENMP
  if (n >= CONTINUA_OMP_MIN_SIZE && !omp_in_parallel()) {
    U m = 0;
#pragma omp parallel reduction(max : m)
    {
      const auto parts = static_cast<std::size_t>(omp_get_num_threads());
      const auto part = static_cast<std::size_t>(omp_get_thread_num());
      const std::size_t begin = n * part / parts, end = n * (part + 1) / parts;
      m = exponent_max_streams(x + begin, end - begin, exponent);
    }
    return m == exponent;
  }
#endif
  return exponent_max_streams(x, n, exponent) == exponent;
}

}  // namespace detail

// Index of the first NaN/Inf element, or nullopt when all are finite.
template <class T, class Space>
std::optional<std::size_t> find_non_finite(span<T, Space> x) {
  using V = std::remove_const_t<T>;
  // Host floats: the fast any-test first; the index search runs only when there is one to find.
  if constexpr (std::is_same_v<Space, host_space> && detail::ieee_float<V>)
    if (!detail::host_has_non_finite(x.data(), x.size())) return std::nullopt;
  const std::size_t none = std::numeric_limits<std::size_t>::max();
  const std::size_t first = transform_reduce(
      Space{}, x.size(), none, detail::first_non_finite_map<V>{x.data(), none}, minimum{});
  if (first == none) return std::nullopt;
  return first;
}

namespace detail {
// raise_if/take_raised are optional in a kernel backend (a user's memory space may lack them).
template <class Space, class Pred>
concept deferred_any_backend = requires(std::size_t n, const Pred& pred) {
  kernel_backend<Space>::raise_if(n, pred);
  { kernel_backend<Space>::take_raised() } -> std::same_as<bool>;
};

template <class T>
struct non_finite_at {
  const T* x;
  CONTINUA_HD bool operator()(std::size_t i) const { return !is_finite(x[i]); }
};
}  // namespace detail

// One read of every element; for device tensors, one wait for the device per set rather than
// one per tensor (the tests are queued and their flag read once).
template <parameter_set P>
bool all_finite(const P& p) {
  // Set only for the spaces the set holds, so a host-only set never names the device backend.
  bool (*take_host)() = nullptr;
  bool (*take_other)() = nullptr;
  bool bad = false;
  for_each_tensor(p, [&](std::size_t, const auto& t) {
    const auto x = as_span(t);
    using S = typename std::remove_cvref_t<decltype(x)>::memory_space;
    using V = typename std::remove_cvref_t<decltype(x)>::value_type;
    const detail::non_finite_at<V> pred{x.data()};
    if constexpr (std::is_same_v<S, host_space> && detail::ieee_float<V>) {
      bad = bad || detail::host_has_non_finite(x.data(), x.size());
    } else if constexpr (detail::deferred_any_backend<S, detail::non_finite_at<V>>) {
      kernel_backend<S>::raise_if(x.size(), pred);
      (std::is_same_v<S, host_space> ? take_host : take_other) = &kernel_backend<S>::take_raised;
    } else {
      bad = bad || find_non_finite(x).has_value();
    }
  });
  // Both are taken, so neither flag stays raised for the next check.
  const bool host_bad = take_host != nullptr && take_host();
  const bool other_bad = take_other != nullptr && take_other();
  return !bad && !host_bad && !other_bad;
}

// Throws non_finite_error naming the context, the set (and tensor index when it has several)
// and the first bad element.
template <parameter_set P>
void require_finite(std::string_view context, std::string_view name, const P& p) {
  const bool several = tensor_count(p) > 1;
  for_each_tensor(p, [&](std::size_t k, const auto& t) {
    if (const auto bad = find_non_finite(as_span(t)))
      throw non_finite_error(
          context, several ? std::string(name) + "[" + std::to_string(k) + "]" : std::string(name),
          *bad);
  });
}

}  // namespace continua
