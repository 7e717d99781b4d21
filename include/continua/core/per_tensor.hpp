// Per-tensor state for a parameter set: one Slot<value_type, memory_space> per tensor, stored in
// the same shape as the set (single object, std::tuple, or std::vector), addressed by the indices
// for_each_tensor hands out.
#pragma once

#include <cstddef>
#include <ranges>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "continua/core/parameter_set.hpp"
#include "continua/core/tensor.hpp"

namespace continua {

namespace detail {
template <class P, template <class, class> class Slot>
struct per_tensor_impl;

template <class P, template <class, class> class Slot>
requires tensor<P>
struct per_tensor_impl<P, Slot> {
  using type = Slot<value_t<P>, memory_space_t<P>>;
};

template <class... Ts, template <class, class> class Slot>
struct per_tensor_impl<std::tuple<Ts...>, Slot> {
  using type = std::tuple<Slot<value_t<Ts>, memory_space_t<Ts>>...>;
};

template <class P, template <class, class> class Slot>
requires tensor_range<P>
struct per_tensor_impl<P, Slot> {
  using tensor_type = std::remove_cvref_t<std::ranges::range_reference_t<P>>;
  using type = std::vector<Slot<value_t<tensor_type>, memory_space_t<tensor_type>>>;
};
}  // namespace detail

// One Slot<value, space> per tensor of P, shaped like P: a single Slot for a tensor, a std::tuple
// for a tuple, a std::vector for a range.
template <parameter_set P, template <class, class> class Slot>
using per_tensor_t = typename detail::per_tensor_impl<std::remove_cvref_t<P>, Slot>::type;

// Builds per-tensor state: make(tensor) must return the Slot for that tensor.
template <template <class, class> class Slot, parameter_set P, class Make>
per_tensor_t<P, Slot> make_per_tensor(const P& p, Make&& make) {
  if constexpr (tensor<P>) {
    return make(p);
  } else if constexpr (tensor_tuple<P>) {
    return std::apply([&](const auto&... t) { return per_tensor_t<P, Slot>{make(t)...}; }, p);
  } else {
    per_tensor_t<P, Slot> out;
    out.reserve(tensor_count(p));
    for (const auto& t : p) out.push_back(make(t));
    return out;
  }
}

// The slot of tensor `index` (an index from for_each_tensor / for_each_tensor_pair).
template <class C, class Index>
decltype(auto) slot_at(C& slots, Index index) {
  using D = std::remove_cvref_t<C>;
  if constexpr (requires { std::tuple_size<D>::value; } && !std::is_same_v<Index, std::size_t>) {
    return std::get<Index::value>(slots);
  } else if constexpr (requires {
                         slots[std::size_t{0}];
                         typename D::allocator_type;
                       }) {
    return slots[static_cast<std::size_t>(index)];
  } else {
    return (slots);
  }
}

// Calls f(k, slot) for every slot of per-tensor state, k counting from 0 in tensor order.
template <class Slots, class F>
void for_each_slot(Slots& slots, F&& f) {
  using D = std::remove_cvref_t<Slots>;
  if constexpr (requires { typename D::allocator_type; }) {
    for (std::size_t k = 0; k < slots.size(); ++k) f(k, slots[k]);
  } else if constexpr (requires { std::tuple_size<D>::value; }) {
    [&]<std::size_t... K>(std::index_sequence<K...>) { (f(K, std::get<K>(slots)), ...); }
    (std::make_index_sequence<std::tuple_size_v<D>>{});
  } else {
    f(std::size_t{0}, slots);
  }
}

// The number of per-tensor slots.
template <class Slots>
std::size_t slot_count(const Slots& slots) {
  std::size_t n = 0;
  for_each_slot(slots, [&](std::size_t, const auto&) { ++n; });
  return n;
}

}  // namespace continua
