// scale_by_adam: bias-corrected first/second moment scaling, with the AMSGrad variant as an option.
// Kingma & Ba, "Adam", ICLR 2015, Alg. 1; Reddi et al., "On the Convergence of Adam and Beyond",
// ICLR 2018 (AMSGrad, in torch's form: the max of the raw second moments, bias-corrected).
#pragma once

#include <cmath>
#include <cstddef>
#include <tuple>

#include "continua/optim/elementwise_base.hpp"

namespace continua::optim {

// Options of scale_by_adam; amsgrad keeps the running max of the second moment.
struct scale_by_adam_options {
  double b1 = 0.9;
  double b2 = 0.999;
  double eps = 1e-8;
  bool amsgrad = false;
};

namespace detail {
template <class T>
struct adam_kernel {
  T* mu;
  T* nu;
  T* nu_max;  // the nu buffer itself unless amsgrad: then max(nu, nu) = nu, and no branch
              // in the loop (a loop-invariant branch here stopped GCC vectorising fused chains)
  // 1 - b is rounded once from double: in float, 1 - float(0.999) is off by 1.3e-5 relative.
  T b1, one_minus_b1, b2, one_minus_b2, eps, bias1, bias2_sqrt;
  CONTINUA_HD T operator()(std::size_t i, T g, T) const {
    const T m = b1 * mu[i] + one_minus_b1 * g;
    T v = b2 * nu[i] + one_minus_b2 * g * g;
    mu[i] = m;
    nu[i] = v;
    v = nu_max[i] > v ? nu_max[i] : v;
    nu_max[i] = v;
    return (m / bias1) / (std::sqrt(v) / bias2_sqrt + eps);
  }
};
}  // namespace detail

// mu = b1 mu + (1 - b1) g;  nu = b2 nu + (1 - b2) g^2;  (amsgrad: nu_max = max(nu_max, nu))
// u = (mu / (1 - b1^t)) / (sqrt(nu) / sqrt(1 - b2^t) + eps), t = 1, 2, ...
// Options (defaults): b1 0.9, b2 0.999, eps 1e-8, amsgrad false. State: mu, nu, nu_max, count.
// Kingma & Ba, "Adam", ICLR 2015, Alg. 1; AMSGrad: Reddi et al., ICLR 2018.
struct scale_by_adam {
  static constexpr const char* name = "scale_by_adam";
  static constexpr bool elementwise = true;
  using options_type = scale_by_adam_options;
  template <class T, class Space>
  struct slots {
    buffer<T, Space> mu, nu, nu_max;
    std::size_t size() const { return mu.size(); }
    auto fields() { return std::tie(mu, nu, nu_max); }
    auto fields() const { return std::tie(mu, nu, nu_max); }
  };
  using scalars = step_count;
  struct constants {
    double b1, b2, eps, bias1, bias2_sqrt;
    bool amsgrad;
  };

  options_type opt;

  explicit scale_by_adam(options_type o = {}) : opt(o) {
    require_option(o.b1 >= 0 && o.b1 < 1, name, "b1", o.b1, "must lie in [0, 1)");
    require_option(o.b2 >= 0 && o.b2 < 1, name, "b2", o.b2, "must lie in [0, 1)");
    require_option(o.eps >= 0 && std::isfinite(o.eps), name, "eps", o.eps,
                   "must be finite and >= 0");
  }

  template <class T, class Space>
  slots<T, Space> init_slots(std::size_t n) const {
    return {buffer<T, Space>(n), buffer<T, Space>(n), buffer<T, Space>(opt.amsgrad ? n : 0)};
  }
  step_count init_scalars() const { return {}; }
  template <class G, class P>
  constants prepare(const step_count& s, const G&, const P&) const {
    const double t = static_cast<double>(s.count + 1);
    return {opt.b1,
            opt.b2,
            opt.eps,
            1.0 - std::pow(opt.b1, t),
            std::sqrt(1.0 - std::pow(opt.b2, t)),
            opt.amsgrad};
  }
  template <class T, class Space>
  detail::adam_kernel<T> make_kernel(const constants& c, slots<T, Space>& s) const {
    return {s.mu.data(),
            s.nu.data(),
            c.amsgrad ? s.nu_max.data() : s.nu.data(),
            static_cast<T>(c.b1),
            static_cast<T>(1.0 - c.b1),
            static_cast<T>(c.b2),
            static_cast<T>(1.0 - c.b2),
            static_cast<T>(c.eps),
            static_cast<T>(c.bias1),
            static_cast<T>(c.bias2_sqrt)};
  }
  void commit(step_count& s) const { s.advance(); }
};

}  // namespace continua::optim
