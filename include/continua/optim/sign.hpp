// Sign-based updates: scale_by_sign (signSGD; Bernstein et al., ICML 2018) and scale_by_lion
// (Chen et al., "Symbolic Discovery of Optimization Algorithms", NeurIPS 2023, Alg. 2).
#pragma once

#include <cmath>
#include <cstddef>
#include <tuple>

#include "continua/optim/elementwise_base.hpp"

namespace continua::optim {

namespace detail {
template <class T>
struct sign_kernel {
  CONTINUA_HD T operator()(std::size_t, T g, T) const { return sign_of(g); }
};

template <class T>
struct lion_kernel {
  T* m;
  T b1, one_minus_b1, b2, one_minus_b2;  // 1 - b rounded once from double
  CONTINUA_HD T operator()(std::size_t i, T g, T) const {
    const T c = b1 * m[i] + one_minus_b1 * g;
    m[i] = b2 * m[i] + one_minus_b2 * g;
    return sign_of(c);
  }
};
}  // namespace detail

// u = sign(g), with sign(0) = 0. No options, no state.
// Bernstein et al., "signSGD", ICML 2018.
struct scale_by_sign : stateless_elementwise {
  static constexpr const char* name = "scale_by_sign";
  template <class G, class P>
  int prepare(no_scalars, const G&, const P&) const {
    return 0;
  }
  template <class T, class Space>
  detail::sign_kernel<T> make_kernel(int, no_slots<T, Space>&) const {
    return {};
  }
};

// Options of scale_by_lion: b1 mixes the update direction, b2 is the momentum's decay.
struct scale_by_lion_options {
  double b1 = 0.9;
  double b2 = 0.99;
};

// u = sign(b1 m + (1 - b1) g);  then m = b2 m + (1 - b2) g.
// Options (defaults): b1 0.9, b2 0.99. State: m.
// Chen et al., "Symbolic Discovery of Optimization Algorithms", NeurIPS 2023, Alg. 2.
struct scale_by_lion {
  static constexpr const char* name = "scale_by_lion";
  static constexpr bool elementwise = true;
  using options_type = scale_by_lion_options;
  template <class T, class Space>
  struct slots {
    buffer<T, Space> m;
    std::size_t size() const { return m.size(); }
    auto fields() { return std::tie(m); }
    auto fields() const { return std::tie(m); }
  };
  using scalars = no_scalars;

  options_type opt;

  explicit scale_by_lion(options_type o = {}) : opt(o) {
    require_option(o.b1 >= 0 && o.b1 <= 1, name, "b1", o.b1, "must lie in [0, 1]");
    require_option(o.b2 >= 0 && o.b2 <= 1, name, "b2", o.b2, "must lie in [0, 1]");
  }
  template <class T, class Space>
  slots<T, Space> init_slots(std::size_t n) const {
    return {buffer<T, Space>(n)};
  }
  no_scalars init_scalars() const { return {}; }
  template <class G, class P>
  options_type prepare(no_scalars, const G&, const P&) const {
    return opt;
  }
  template <class T, class Space>
  detail::lion_kernel<T> make_kernel(const options_type& o, slots<T, Space>& s) const {
    return {s.m.data(), static_cast<T>(o.b1), static_cast<T>(1.0 - o.b1), static_cast<T>(o.b2),
            static_cast<T>(1.0 - o.b2)};
  }
  void commit(no_scalars&) const {}
};

}  // namespace continua::optim
