// The anchored quadratic sum_i w_i (p_i - a_i)^2 over a parameter set and its gradient, as fused
// one-pass kernels over per-tensor slots (w and a are buffers of a slot; w may be 1).
#pragma once

#include <cstddef>
#include <string_view>

#include "continua/config.hpp"
#include "continua/core/kernel.hpp"
#include "continua/core/parameter_set.hpp"
#include "continua/core/per_tensor.hpp"
#include "continua/core/reduce.hpp"
#include "continua/regularize/detail/slots.hpp"

namespace continua::regularize::detail {

// w_i (p_i - a_i)^2, accumulated in A.
template <class T, class A>
struct weighted_square_map {
  const T* p;
  const T* w;
  const T* a;
  CONTINUA_HD A operator()(std::size_t i) const {
    const A d = static_cast<A>(p[i]) - static_cast<A>(a[i]);
    return static_cast<A>(w[i]) * d * d;
  }
};

template <class T, class A>
struct square_map {
  const T* p;
  const T* a;
  CONTINUA_HD A operator()(std::size_t i) const {
    const A d = static_cast<A>(p[i]) - static_cast<A>(a[i]);
    return d * d;
  }
};

// g_i += s w_i (p_i - a_i): the gradient of every penalty of the family, one pass, no temporary.
template <class T>
struct weighted_gradient_kernel {
  T* g;
  const T* p;
  const T* w;
  const T* a;
  T s;
  CONTINUA_HD void operator()(std::size_t i) const { g[i] += s * w[i] * (p[i] - a[i]); }
};

template <class T>
struct gradient_kernel {
  T* g;
  const T* p;
  const T* a;
  T s;
  CONTINUA_HD void operator()(std::size_t i) const { g[i] += s * (p[i] - a[i]); }
};

// Sum over the set of the reduction of `make_map(slot, p_tensor)` (i -> accumulator_t<T>), each
// tensor reduced on its own memory space.
template <parameter_set P, class Slots, class Make>
double sum_over_slots(const P& params, const Slots& slots, Make&& make_map) {
  double total = 0;
  for_each_tensor(params, [&](auto index, const auto& p) {
    using A = accumulator_t<value_t<decltype(p)>>;
    total +=
        static_cast<double>(transform_reduce(memory_space_t<decltype(p)>{}, continua::size(p), A(0),
                                             make_map(slot_at(slots, index), p), plus{}));
  });
  return total;
}

// sum_i w_i (p_i - a_i)^2 over the whole set; `weight` and `anchor` pick buffers of a slot.
template <parameter_set P, class Slots, class Weight, class Anchor>
double weighted_square_sum(const P& params, const Slots& slots, Weight weight, Anchor anchor) {
  return sum_over_slots(params, slots, [&](const auto& slot, const auto& p) {
    using T = value_t<decltype(p)>;
    return weighted_square_map<T, accumulator_t<T>>{continua::data(p), weight(slot).data(),
                                                    anchor(slot).data()};
  });
}

template <parameter_set P, class Slots, class Anchor>
double unweighted_square_sum(const P& params, const Slots& slots, Anchor anchor) {
  return sum_over_slots(params, slots, [&](const auto& slot, const auto& p) {
    using T = value_t<decltype(p)>;
    return square_map<T, accumulator_t<T>>{continua::data(p), anchor(slot).data()};
  });
}

// grads += scale * w * (params - anchor), after the caller's validation.
template <parameter_set P, parameter_set G, class Slots, class Weight, class Anchor>
void add_weighted_gradient(std::string_view context, const P& params, G& grads, const Slots& slots,
                           double scale, Weight weight, Anchor anchor) {
  for_each_gradient_pass(
      context, params, grads, slots, [&](const auto& slot, const auto& p, auto& g) {
        using T = value_t<decltype(p)>;
        return weighted_gradient_kernel<T>{continua::data(g), continua::data(p),
                                           weight(slot).data(), anchor(slot).data(),
                                           static_cast<T>(scale)};
      });
}

template <parameter_set P, parameter_set G, class Slots, class Anchor>
void add_unweighted_gradient(std::string_view context, const P& params, G& grads,
                             const Slots& slots, double scale, Anchor anchor) {
  for_each_gradient_pass(context, params, grads, slots,
                         [&](const auto& slot, const auto& p, auto& g) {
                           using T = value_t<decltype(p)>;
                           return gradient_kernel<T>{continua::data(g), continua::data(p),
                                                     anchor(slot).data(), static_cast<T>(scale)};
                         });
}

}  // namespace continua::regularize::detail
