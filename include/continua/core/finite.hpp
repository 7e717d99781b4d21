// NaN/Inf detection over tensors and parameter sets, on host or device.
#pragma once

#include <cstddef>
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

// Index of the first NaN/Inf element, or nullopt when all are finite.
template <class T, class Space>
std::optional<std::size_t> find_non_finite(span<T, Space> x) {
  using V = std::remove_const_t<T>;
  const std::size_t none = std::numeric_limits<std::size_t>::max();
  const std::size_t first = transform_reduce(
      Space{}, x.size(), none, detail::first_non_finite_map<V>{x.data(), none}, minimum{});
  if (first == none) return std::nullopt;
  return first;
}

template <parameter_set P>
bool all_finite(const P& p) {
  bool ok = true;
  for_each_tensor(
      p, [&](std::size_t, const auto& t) { ok = ok && !find_non_finite(as_span(t)).has_value(); });
  return ok;
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
