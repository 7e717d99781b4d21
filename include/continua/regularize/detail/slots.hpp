// Per-tensor state slots of the regularizers: building them, checking a set or a loaded state
// against them, and running one kernel per tensor over a set and its slots (the passes every
// member is made of).
#pragma once

#include <cstddef>
#include <limits>
#include <sstream>
#include <string>
#include <string_view>
#include <type_traits>

#include "continua/config.hpp"
#include "continua/core/buffer.hpp"
#include "continua/core/error.hpp"
#include "continua/core/finite.hpp"
#include "continua/core/kernel.hpp"
#include "continua/core/parameter_set.hpp"
#include "continua/core/per_tensor.hpp"
#include "continua/core/vector_ops.hpp"

namespace continua::regularize::detail {

// A Slot<T, Space> holds one buffer per quantity of one tensor: describe_state (each buffer as
// one v.field, named as in the checkpoint: "fisher" is recorded as t<k>/fisher), size() (the
// tensor's size) and, optionally, validate_state() (what a loaded slot must hold).

// The walk make_slots runs over a slot's description: every buffer becomes n zeros.
template <class T, class Space>
struct slot_sizer {
  static constexpr bool loading = true;
  std::size_t n;
  void field(std::string_view, buffer<T, Space>& b) const { b = buffer<T, Space>(n); }
};

// Builds one Slot per tensor, every buffer of it sized like the tensor and zero.
template <template <class, class> class Slot, parameter_set P>
per_tensor_t<P, Slot> make_slots(const P& params) {
  return make_per_tensor<Slot>(params, [](const auto& t) {
    using T = value_t<decltype(t)>;
    using S = memory_space_t<decltype(t)>;
    Slot<T, S> slot;
    slot_sizer<T, S> sizer{continua::size(t)};
    slot.describe_state(sizer);
    return slot;
  });
}

template <class T>
struct bad_state_value_map {
  const T* x;
  bool nonnegative;
  std::size_t none;
  CONTINUA_HD std::size_t operator()(std::size_t i) const {
    const T v = x[i];
    return is_finite(v) && !(nonnegative && v < T(0)) ? none : i;
  }
};

// For validate_state: throws invalid_argument naming `name` and its first element that is NaN or
// Inf, or negative when `nonnegative` (a Fisher, an accumulated |g|). One pass on b's space.
template <class T, class Space>
void check_state_values(std::string_view name, const buffer<T, Space>& b, bool nonnegative) {
  const std::size_t none = std::numeric_limits<std::size_t>::max();
  const std::size_t first = transform_reduce(
      Space{}, b.size(), none, bad_state_value_map<T>{b.data(), nonnegative, none}, minimum{});
  if (first == none) return;
  // Only on the way to a refusal: the one bad value, read back from wherever b lives.
  std::ostringstream os;
  os << name << '[' << first << "] is " << b.to_host()[first] << ", but it must be finite"
     << (nonnegative ? " and >= 0" : "");
  throw invalid_argument(os.str());
}

template <class T>
struct nonzero_value_map {
  const T* x;
  std::size_t none;
  CONTINUA_HD std::size_t operator()(std::size_t i) const { return x[i] == T(0) ? none : i; }
};

// For validate_state with the counters: throws invalid_argument naming `name` and its first
// non-zero element when b must be zero, `why` saying which counter makes it so (an accumulator
// with nothing observed, an importance with no task consolidated).
template <class T, class Space>
void check_state_zero(std::string_view name, const buffer<T, Space>& b, std::string_view why) {
  const std::size_t none = std::numeric_limits<std::size_t>::max();
  const std::size_t first =
      transform_reduce(Space{}, b.size(), none, nonzero_value_map<T>{b.data(), none}, minimum{});
  if (first == none) return;
  std::ostringstream os;
  os << name << '[' << first << "] is " << b.to_host()[first] << ", but it must be 0 because "
     << why;
  throw invalid_argument(os.str());
}

inline constexpr std::string_view nothing_observed_yet =
    "the counter says nothing was observed since the last consolidate";
inline constexpr std::string_view no_task_yet = "tasks = 0: no task was consolidated";

// Out of line, and built with a stream: g++ 12 -O3 warns (-Wrestrict, falsely) on inlined
// string concatenations here.
[[noreturn]] inline void throw_slot_mismatch(std::string_view context, std::string_view name,
                                             std::size_t index, std::size_t set_size,
                                             std::size_t state_size) {
  std::ostringstream a, b;
  a << name << '[' << index << ']';
  b << "state[" << index << "] (shaped at construction)";
  throw size_mismatch(context, a.str(), set_size, b.str(), state_size);
}

// Throws size_mismatch unless the slots were built for a set shaped like `set` (named `name`).
template <parameter_set P, class Slots>
void check_slots(std::string_view context, std::string_view name, const P& set,
                 const Slots& slots) {
  if constexpr (tensor_range<P>)
    require_same_size(context, std::string(name) + " (tensor count)", tensor_count(set),
                      "state (tensor count)", slots.size());
  for_each_tensor(set, [&](auto index, const auto& t) {
    const std::size_t n = slot_at(slots, index).size();
    if (n != continua::size(t)) throw_slot_mismatch(context, name, index, continua::size(t), n);
  });
}

// An observed set (grads, params after a step) must fit the state and be finite.
template <parameter_set G, class Slots>
void check_observed(std::string_view context, std::string_view name, const G& g,
                    const Slots& slots) {
  check_slots(context, name, g, slots);
  require_finite(context, name, g);
}

// Validation shared by every add_gradient: grads pair with params, params fit the state.
template <parameter_set P, parameter_set G, class Slots>
void check_gradient_call(std::string_view context, const P& params, const G& grads,
                         const Slots& slots) {
  require_same_structure(context, "params", params, "grads", grads);
  check_slots(context, "params", params, slots);
}

// Runs `make_kernel(slot, p_tensor)` -> functor over every tensor of params, on its space.
template <parameter_set P, class Slots, class Make>
void for_each_slot_pass(const P& params, Slots& slots, Make&& make_kernel) {
  for_each_tensor(params, [&](auto index, const auto& p) {
    using Space = memory_space_t<decltype(p)>;
    auto& slot = slot_at(slots, index);
    for_each_index(Space{}, continua::size(p), make_kernel(slot, p));
  });
}

// Same, with a second set paired tensor by tensor (grads, params after a step).
template <parameter_set P, parameter_set Q, class Slots, class Make>
void for_each_slot_pass2(const P& a, const Q& b, Slots& slots, Make&& make_kernel) {
  for_each_tensor_pair("regularize", "a", a, "b", b, [&](auto index, const auto& x, const auto& y) {
    using Space = memory_space_t<decltype(x)>;
    static_assert(std::is_same_v<value_t<decltype(x)>, value_t<decltype(y)>>,
                  "continua::regularize: paired tensors must have the same element type");
    auto& slot = slot_at(slots, index);
    for_each_index(Space{}, continua::size(x), make_kernel(slot, x, y));
  });
}

// Runs `make_kernel(slot, p_tensor, g_tensor)` -> functor over every (params, grads) pair.
template <parameter_set P, parameter_set G, class Slots, class Make>
void for_each_gradient_pass(std::string_view context, const P& params, G& grads, const Slots& slots,
                            Make&& make_kernel) {
  for_each_tensor_pair(
      context, "params", params, "grads", grads, [&](auto index, const auto& p, auto& g) {
        using Space = memory_space_t<decltype(p)>;
        static_assert(std::is_same_v<value_t<decltype(p)>, value_t<decltype(g)>>,
                      "continua::regularize: grads and params tensors must have "
                      "the same element type");
        static_assert(std::is_same_v<Space, memory_space_t<decltype(g)>>,
                      "continua::regularize: grads and params tensors must live "
                      "in the same memory space");
        for_each_index(Space{}, continua::size(p), make_kernel(slot_at(slots, index), p, g));
      });
}

// field(slot) = tensor, for every tensor of `set` (already checked against the slots).
template <parameter_set P, class Slots, class Field>
void copy_to_slots(const P& set, Slots& slots, Field field) {
  for_each_tensor(
      set, [&](auto index, const auto& t) { continua::copy(t, field(slot_at(slots, index))); });
}

}  // namespace continua::regularize::detail
