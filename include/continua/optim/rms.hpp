// scale_by_rms: divide by a running RMS of the gradients, optionally centred (torch RMSprop:
// eps added outside the square root). Tieleman & Hinton, Lecture 6.5, 2012; Graves,
// "Generating Sequences With RNNs", 2013 (centred).
#pragma once

#include <cmath>
#include <cstddef>
#include <tuple>

#include "continua/optim/elementwise_base.hpp"

namespace continua::optim {

// Options of scale_by_rms: decay d of the running averages, eps, centred or not.
struct scale_by_rms_options {
  double decay = 0.99;  // torch's alpha
  double eps = 1e-8;
  bool centered = false;
};

namespace detail {
template <class T>
struct rms_kernel {
  T* sq;
  T* avg;                         // null unless centred
  T decay, one_minus_decay, eps;  // 1 - decay rounded once from double
  CONTINUA_HD T operator()(std::size_t i, T g, T) const {
    const T s = decay * sq[i] + one_minus_decay * g * g;
    sq[i] = s;
    T var = s;
    if (avg != nullptr) {
      const T a = decay * avg[i] + one_minus_decay * g;
      avg[i] = a;
      var = s - a * a;
    }
    return g / (std::sqrt(var) + eps);
  }
};
}  // namespace detail

// s = d s + (1 - d) g^2;  centred: a = d a + (1 - d) g, s_c = s - a^2;  u = g / (sqrt(s_c) + eps).
// Options (defaults): decay 0.99, eps 1e-8, centered false. State: s (and a when centred).
// Tieleman & Hinton, Lecture 6.5, 2012; centred: Graves, "Generating Sequences With RNNs", 2013.
struct scale_by_rms {
  static constexpr const char* name = "scale_by_rms";
  static constexpr bool elementwise = true;
  using options_type = scale_by_rms_options;
  template <class T, class Space>
  struct slots {
    buffer<T, Space> sq, avg;
    std::size_t size() const { return sq.size(); }
    auto fields() { return std::tie(sq, avg); }
    auto fields() const { return std::tie(sq, avg); }
  };
  using scalars = no_scalars;

  options_type opt;

  explicit scale_by_rms(options_type o = {}) : opt(o) {
    require_option(o.decay >= 0 && o.decay < 1, name, "decay", o.decay, "must lie in [0, 1)");
    require_option(o.eps >= 0 && std::isfinite(o.eps), name, "eps", o.eps,
                   "must be finite and >= 0");
  }
  template <class T, class Space>
  slots<T, Space> init_slots(std::size_t n) const {
    return {buffer<T, Space>(n), buffer<T, Space>(opt.centered ? n : 0)};
  }
  no_scalars init_scalars() const { return {}; }
  template <class G, class P>
  options_type prepare(no_scalars, const G&, const P&) const {
    return opt;
  }
  template <class T, class Space>
  detail::rms_kernel<T> make_kernel(const options_type& o, slots<T, Space>& s) const {
    return {s.sq.data(), o.centered ? s.avg.data() : nullptr, static_cast<T>(o.decay),
            static_cast<T>(1.0 - o.decay), static_cast<T>(o.eps)};
  }
  void commit(no_scalars&) const {}
};

}  // namespace continua::optim
