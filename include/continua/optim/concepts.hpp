// Concepts of the optim extension points: what an elementwise or a whole-set gradient
// transformation must provide, and the checks chain()/optimizer run on each part before using it.
#pragma once

#include <concepts>
#include <cstddef>
#include <ranges>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>

#include "continua/core/parameter_set.hpp"
#include "continua/core/tensor.hpp"

namespace continua::optim {

// The protocol, member by member (continua/optim/transformation.hpp has the annotated version):
//
//   every transformation:  static constexpr bool elementwise;
//   elementwise (true):    static constexpr const char* name;
//                          using scalars = ...;   template <class T, class Space> slots = ...;
//                          scalars init_scalars() const;
//                          slots<T, Space> init_slots<T, Space>(std::size_t n) const;
//                          C prepare(const scalars&, const G& grads, const P& params) const;
//                          K make_kernel<T, Space>(const C&, slots<T, Space>&) const;
//                          K: T operator()(std::size_t i, T g, T p) const;
//                          void commit(scalars&) const;
//   whole-set (false):     S init(const P& params) const;
//                          void validate(const G& grads, const S&, const P& params) const;
//                          void update(G& grads, S&, const P& params) const;
//
// The concepts below say whether a type provides them. chain() and optimizer do not stop at a
// false concept: they run detail::check_* which fail with one static_assert per missing member,
// so the compiler names the member and (in its instantiation context, "X = ...") the type.

// A transformation declares its kind with a constant `elementwise`.
template <class X>
concept declares_transformation_kind = std::is_class_v<X> && requires {
  typename std::bool_constant<X::elementwise>;
};

// Kind tags used for dispatch: the declaration alone, not whether the members are all there.
// elementwise_transformation: declares elementwise = true (a per-element kernel chain() fuses).
template <class X>
concept elementwise_transformation = declares_transformation_kind<X> && X::elementwise;

// A transformation that declares elementwise = false: init/validate/update over the whole set.
template <class X>
concept whole_transformation = declares_transformation_kind<X> &&(!X::elementwise);

namespace detail {

// f(std::type_identity<U>{}) for each tensor type U of the parameter set P; true when all are.
template <class P, class F>
constexpr bool all_tensor_types(F f) {
  using Q = std::remove_cvref_t<P>;
  if constexpr (tensor<Q>) {
    return f(std::type_identity<Q>{});
  } else if constexpr (tensor_tuple<Q>) {
    return [&]<class... Ts>(std::type_identity<std::tuple<Ts...>>) {
      return (f(std::type_identity<std::remove_cvref_t<Ts>>{}) && ...);
    }(std::type_identity<Q>{});
  } else {
    return f(std::type_identity<std::remove_cvref_t<std::ranges::range_reference_t<Q>>>{});
  }
}

template <class X>
concept has_transformation_name = requires {
  { X::name } -> std::convertible_to<std::string_view>;
};

template <class X>
concept has_scalars = requires {
  typename X::scalars;
};

template <class X>
concept has_init_scalars = has_scalars<X> && requires(const X& x) {
  { x.init_scalars() } -> std::same_as<typename X::scalars>;
};

template <class X>
concept has_commit = has_scalars<X> && requires(const X& x, typename X::scalars& s) {
  x.commit(s);
};

template <class X, class T, class Space>
concept has_slots = requires {
  typename X::template slots<T, Space>;
}
&&requires(const typename X::template slots<T, Space>& s) {
  { s.size() } -> std::convertible_to<std::size_t>;
};

template <class X, class T, class Space>
concept has_init_slots = has_slots<X, T, Space> && requires(const X& x, std::size_t n) {
  { x.template init_slots<T, Space>(n) } -> std::same_as<typename X::template slots<T, Space>>;
};

template <class X, class G, class P>
concept has_prepare = has_scalars<X> &&
    requires(const X& x, const typename X::scalars& s, const G& g, const P& p) {
  x.prepare(s, g, p);
};

template <class X, class G, class P>
using constants_t =
    decltype(std::declval<const X&>().prepare(std::declval<const typename X::scalars&>(),
                                              std::declval<const G&>(), std::declval<const P&>()));

template <class X, class C, class T, class Space>
concept has_make_kernel = has_slots<X, T, Space> &&
    requires(const X& x, const C& c, typename X::template slots<T, Space>& s) {
  x.template make_kernel<T, Space>(c, s);
};

template <class X, class C, class T, class Space>
using kernel_t = decltype(std::declval<const X&>().template make_kernel<T, Space>(
    std::declval<const C&>(), std::declval<typename X::template slots<T, Space>&>()));

template <class K, class T>
concept element_kernel = std::copy_constructible<K> && requires(const K& k, std::size_t i, T v) {
  { k(i, v, v) } -> std::convertible_to<T>;
};

template <class X, class P>
concept has_init = requires(const X& x, const P& p) {
  x.init(p);
};

template <class X, class P>
using whole_state_t =
    std::remove_cvref_t<decltype(std::declval<const X&>().init(std::declval<const P&>()))>;

template <class X, class G, class P>
concept has_validate = has_init<X, P> &&
    requires(const X& x, const G& g, const whole_state_t<X, P>& s, const P& p) {
  x.validate(g, s, p);
};

template <class X, class G, class P>
concept has_update = has_init<X, P> &&
    requires(const X& x, G& g, whole_state_t<X, P>& s, const P& p) {
  x.update(g, s, p);
};

template <class X, class P>
constexpr bool slots_for_all() {
  return all_tensor_types<P>([]<class U>(std::type_identity<U>) {
    return has_init_slots<X, value_t<U>, memory_space_t<U>>;
  });
}

template <class X, class G, class P>
constexpr bool kernels_for_all() {
  if constexpr (!has_prepare<X, G, P>) {
    return false;
  } else {
    return all_tensor_types<G>([]<class U>(std::type_identity<U>) {
      using T = value_t<U>;
      using C = constants_t<X, G, P>;
      if constexpr (has_make_kernel<X, C, T, memory_space_t<U>>)
        return element_kernel<kernel_t<X, C, T, memory_space_t<U>>, T>;
      else
        return false;
    });
  }
}

}  // namespace detail

// X provides every member of the elementwise protocol for gradients G and parameters P.
template <class X, class G, class P>
concept elementwise_transformation_for = elementwise_transformation<X> &&
    detail::has_transformation_name<X> && detail::has_init_scalars<X> && detail::has_commit<X> &&
    detail::slots_for_all<X, std::remove_cvref_t<P>>() &&
    detail::kernels_for_all<X, std::remove_cvref_t<G>, std::remove_cvref_t<P>>();

// X provides every member of the whole-set protocol for gradients G and parameters P.
template <class X, class G, class P>
concept whole_transformation_for = whole_transformation<X> &&
    detail::has_validate<X, std::remove_cvref_t<G>, std::remove_cvref_t<P>> &&
    detail::has_update<X, std::remove_cvref_t<G>, std::remove_cvref_t<P>>;

// What chain() accepts as a part, for gradients G and parameters P.
template <class X, class G, class P>
concept transformation_for =
    elementwise_transformation_for<X, G, P> || whole_transformation_for<X, G, P>;

namespace detail {

// The checks behind chain() and optimizer, one static_assert per member. Each returns whether X
// passed, so the caller can skip the code that would otherwise fail again further in. The type
// at fault is the X of the instantiation context the compiler prints with the message.

// Members that do not depend on the parameters: checked when chain(...) is called.
template <class X>
constexpr bool check_transformation() {
  static_assert(declares_transformation_kind<X>,
                "continua::optim: transformation X lacks `static constexpr bool elementwise` "
                "(true: a per-element kernel that chain() fuses; false: a whole-set update)");
  if constexpr (!declares_transformation_kind<X>) {
    return false;
  } else if constexpr (X::elementwise) {
    static_assert(has_transformation_name<X>,
                  "continua::optim: elementwise transformation X lacks "
                  "`static constexpr const char* name` (used in its error messages)");
    static_assert(has_scalars<X>,
                  "continua::optim: elementwise transformation X lacks the member type `scalars` "
                  "(continua::optim::no_scalars when it keeps none)");
    static_assert(!has_scalars<X> || has_init_scalars<X>,
                  "continua::optim: elementwise transformation X lacks "
                  "`scalars init_scalars() const`");
    static_assert(!has_scalars<X> || has_commit<X>,
                  "continua::optim: elementwise transformation X lacks "
                  "`void commit(scalars&) const` (runs once the pass is done)");
    return has_transformation_name<X> && has_init_scalars<X> && has_commit<X>;
  } else {
    return true;
  }
}

// Members that depend on the parameter set P: checked by init(params).
template <class X, class P>
constexpr bool check_transformation_init() {
  if constexpr (!check_transformation<X>()) {
    return false;
  } else if constexpr (X::elementwise) {
    return all_tensor_types<P>([]<class U>(std::type_identity<U>) {
      using T = value_t<U>;
      using Space = memory_space_t<U>;
      static_assert(has_slots<X, T, Space>,
                    "continua::optim: elementwise transformation X lacks the member template "
                    "`slots<T, Space>` with `std::size_t size() const` "
                    "(continua::optim::no_slots when it keeps none)");
      static_assert(!has_slots<X, T, Space> || has_init_slots<X, T, Space>,
                    "continua::optim: elementwise transformation X lacks "
                    "`template <class T, class Space> slots<T, Space> init_slots(std::size_t n) "
                    "const`");
      return has_init_slots<X, T, Space>;
    });
  } else {
    static_assert(has_init<X, P>,
                  "continua::optim: whole-set transformation X lacks "
                  "`state init(const P& params) const`");
    return has_init<X, P>;
  }
}

template <class X, class G, class P>
constexpr bool check_element_kernel() {
  return all_tensor_types<G>([]<class U>(std::type_identity<U>) {
    using T = value_t<U>;
    using Space = memory_space_t<U>;
    using C = constants_t<X, G, P>;
    static_assert(has_make_kernel<X, C, T, Space>,
                  "continua::optim: elementwise transformation X lacks "
                  "`template <class T, class Space> K make_kernel(const C& constants, "
                  "slots<T, Space>&) const`, C being what prepare() returns");
    if constexpr (has_make_kernel<X, C, T, Space>) {
      static_assert(element_kernel<kernel_t<X, C, T, Space>, T>,
                    "continua::optim: the kernel made by make_kernel() of elementwise "
                    "transformation X lacks `T operator()(std::size_t i, T g, T p) const` "
                    "(CONTINUA_HD, copyable)");
      return element_kernel<kernel_t<X, C, T, Space>, T>;
    } else {
      return false;
    }
  });
}

// Members that depend on the gradients G too: checked by update(), step() and validate().
template <class X, class G, class P>
constexpr bool check_transformation_update() {
  if constexpr (!check_transformation_init<X, P>()) {
    return false;
  } else if constexpr (X::elementwise) {
    static_assert(has_prepare<X, G, P>,
                  "continua::optim: elementwise transformation X lacks "
                  "`C prepare(const scalars&, const G& grads, const P& params) const` "
                  "(the per-step constants its kernel needs)");
    if constexpr (has_prepare<X, G, P>)
      return check_element_kernel<X, G, P>();
    else
      return false;
  } else {
    static_assert(has_validate<X, G, P>,
                  "continua::optim: whole-set transformation X lacks "
                  "`void validate(const G& grads, const state&, const P& params) const`");
    static_assert(has_update<X, G, P>,
                  "continua::optim: whole-set transformation X lacks "
                  "`void update(G& grads, state&, const P& params) const`");
    return has_validate<X, G, P> && has_update<X, G, P>;
  }
}

}  // namespace detail

}  // namespace continua::optim
