// Ready-made MCMC target: the Rosenbrock "banana", a curved narrow ridge that defeats samplers
// with fixed isotropic steps. Goodman & Weare, CAMCoS 5(1), 2010 (their scaled 2-D form).
#pragma once

#include <cmath>
#include <cstddef>
#include <string_view>

#include "continua/config.hpp"
#include "continua/core/error.hpp"
#include "continua/core/kernel.hpp"
#include "continua/core/span.hpp"

namespace continua::sample::targets {

// Options of the Rosenbrock target: U(x) = scale sum_i [b (x_{i+1} - x_i^2)^2 + (a - x_i)^2].
struct rosenbrock_options {
  double a = 1.0;
  double b = 100.0;
  double scale = 0.05;  // 1/20, Goodman & Weare's density exp(-(100 (x2 - x1^2)^2 + (1 - x1)^2)/20)
};

namespace detail {

template <class T>
struct rosenbrock_eval {
  const T* x;
  T* energy;
  T* gradient;
  std::size_t dim;
  double a, b, scale;

  CONTINUA_HD void operator()(std::size_t c) const {
    const T* xc = x + c * dim;
    T* gc = gradient + c * dim;
    double e = 0, carry = 0;  // carry: the d/dx_i part of term i-1
    for (std::size_t i = 0; i + 1 < dim; ++i) {
      const double xi = static_cast<double>(xc[i]), next = static_cast<double>(xc[i + 1]);
      const double ridge = next - xi * xi, off = a - xi;
      e += b * ridge * ridge + off * off;
      gc[i] = static_cast<T>(scale * (carry - 4.0 * b * xi * ridge - 2.0 * off));
      carry = 2.0 * b * ridge;
    }
    gc[dim - 1] = static_cast<T>(scale * carry);
    energy[c] = static_cast<T>(scale * e);
  }
};

}  // namespace detail

// The Rosenbrock energy over dim >= 2 coordinates (the chained form in more dimensions).
//   targets::rosenbrock<double> banana;   // 2-D, Goodman & Weare's scaling
template <class T, class Space = host_space>
class rosenbrock {
 public:
  static constexpr std::string_view name = "continua::sample::targets::rosenbrock";

  // Throws invalid_argument unless dim >= 2 and a, b, scale are finite with b, scale > 0.
  explicit rosenbrock(std::size_t dim = 2, rosenbrock_options o = {}) : dim_(dim), opt_(o) {
    require_option(dim >= 2, name, "dim", dim, "must be at least 2");
    require_option(std::isfinite(o.a), name, "a", o.a, "must be finite");
    require_option(std::isfinite(o.b) && o.b > 0, name, "b", o.b, "must be finite and positive");
    require_option(std::isfinite(o.scale) && o.scale > 0, name, "scale", o.scale,
                   "must be finite and positive");
  }

  // Energies and gradients of a batch (see continua::sample::energy_target).
  void operator()(matrix_view<const T, Space> x, span<T, Space> energy,
                  matrix_view<T, Space> gradient) const {
    require_same_size(name, "positions' columns", x.cols(), "dim", dim_);
    require_same_size(name, "energies", energy.size(), "positions' rows", x.rows());
    require_same_size(name, "gradients", gradient.size(), "positions", x.size());
    for_each_index(Space{}, x.rows(),
                   detail::rosenbrock_eval<T>{x.data(), energy.data(), gradient.data(), dim_,
                                              opt_.a, opt_.b, opt_.scale});
  }

  std::size_t dim() const { return dim_; }

 private:
  std::size_t dim_;
  rosenbrock_options opt_;
};

}  // namespace continua::sample::targets
