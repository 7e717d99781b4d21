// trace: heavy-ball momentum t = decay * t + g, u = t (or g + decay * t with Nesterov), as in
// torch.optim.SGD with dampening 0. Polyak 1964; Sutskever et al., ICML 2013 (Nesterov form).
#pragma once

#include <cmath>
#include <cstddef>
#include <tuple>

#include "continua/optim/elementwise_base.hpp"

namespace continua::optim {

// Options of trace: the momentum decay, and whether to take the Nesterov form.
struct trace_options {
  double decay = 0.9;
  bool nesterov = false;
};

namespace detail {
template <class T>
struct trace_kernel {
  T* t;  // null when decay == 0: the transformation is the identity and keeps no buffer
  T decay;
  bool nesterov;
  CONTINUA_HD T operator()(std::size_t i, T g, T) const {
    if (t == nullptr) return g;
    const T next = decay * t[i] + g;
    t[i] = next;
    return nesterov ? g + decay * next : next;
  }
};
}  // namespace detail

// Heavy-ball momentum: t = decay t + g;  u = t, or u = g + decay t with nesterov.
// Options (defaults): decay 0.9, nesterov false. State: t. (torch.optim.SGD, dampening 0.)
// Polyak 1964; Sutskever et al., ICML 2013 (Nesterov form).
struct trace {
  static constexpr const char* name = "trace";
  static constexpr bool elementwise = true;
  using options_type = trace_options;
  template <class T, class Space>
  struct slots {
    buffer<T, Space> t;
    std::size_t size() const { return t.size(); }
    auto fields() { return std::tie(t); }
    auto fields() const { return std::tie(t); }
  };
  using scalars = no_scalars;

  options_type opt;

  explicit trace(options_type o = {}) : opt(o) {
    require_option(o.decay >= 0 && o.decay < 1, name, "decay", o.decay, "must lie in [0, 1)");
    require_option(!o.nesterov || o.decay > 0, name, "nesterov", o.nesterov,
                   "Nesterov momentum needs decay > 0");
  }

  template <class T, class Space>
  slots<T, Space> init_slots(std::size_t n) const {
    return {buffer<T, Space>(opt.decay > 0 ? n : 0)};
  }
  no_scalars init_scalars() const { return {}; }
  template <class G, class P>
  options_type prepare(no_scalars, const G&, const P&) const {
    return opt;
  }
  template <class T, class Space>
  detail::trace_kernel<T> make_kernel(const options_type& o, slots<T, Space>& s) const {
    return {s.t.size() ? s.t.data() : nullptr, static_cast<T>(o.decay), o.nesterov};
  }
  void commit(no_scalars&) const {}
};

}  // namespace continua::optim
