// refresh_unlearn: the unlearning half of an unlearn-then-relearn refresh step (noisy ascent).
// Wang, Li, Shen & Huang, "A Unified and General Framework for Continual Learning", ICLR 2024.
//
// Refresh learning unlearns the current data for a moment (gradient ascent plus Gaussian noise,
// which moves the weights towards a flatter region) and then relearns it by ordinary training.
// Here the ascent is plain (no Fisher preconditioning):
//
//   params <- params + unlearn_rate * grads + noise_std * z,   z ~ N(0, I)
//
// z is drawn from the counter-based Philox stream keyed by (seed, step) (core/random.hpp): the
// tensors of a parameter set take consecutive draws, tensor k starting at the total size of
// tensors 0..k-1, so the noise equals that of one flattened vector and is the same on the host,
// under OpenMP and on a GPU. Each element update is fma(noise_std, z, fma(rate, g, p)), rounded
// the same way on every target.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <type_traits>

#include "continua/config.hpp"
#include "continua/core/error.hpp"
#include "continua/core/finite.hpp"
#include "continua/core/kernel.hpp"
#include "continua/core/parameter_set.hpp"
#include "continua/core/random.hpp"
#include "continua/core/tensor.hpp"

namespace continua::regularize {

// Options of refresh_unlearn: theta += unlearn_rate * g + noise_std * N(0, 1), the noise drawn
// from Philox(seed, step) so a run is reproducible on any backend.
struct refresh_options {
  double unlearn_rate = 1e-3;  // step size of the gradient ascent, finite and >= 0
  double noise_std = 1e-3;     // standard deviation of the added noise, finite and >= 0
  std::uint64_t seed = 0;      // Philox key; the step number selects the stream
};

namespace detail {

inline void refresh_validate(const refresh_options& o) {
  require_option(std::isfinite(o.unlearn_rate) && o.unlearn_rate >= 0.0,
                 "continua::regularize::refresh_unlearn", "unlearn_rate", o.unlearn_rate,
                 "must be finite and >= 0");
  require_option(std::isfinite(o.noise_std) && o.noise_std >= 0.0,
                 "continua::regularize::refresh_unlearn", "noise_std", o.noise_std,
                 "must be finite and >= 0");
}

// p_i <- fma(stddev, z, fma(rate, g_i, p_i)) for the normal draw z of element i.
template <class T>
struct refresh_update {
  T* p;
  const T* g;
  T rate;
  T stddev;
  CONTINUA_HD void operator()(std::size_t i, T z) const {
    p[i] = std::fma(stddev, z, std::fma(rate, g[i], p[i]));
  }
};

}  // namespace detail

// params += unlearn_rate * grads + noise_std * N(0, 1) noise keyed by (options.seed, step).
// Elements must be float or double. Throws (params untouched) on bad options, mismatched shapes
// or NaN/Inf gradients.
template <parameter_set P>
void refresh_unlearn(P& params, const P& grads, const refresh_options& options,
                     std::uint64_t step) {
  constexpr std::string_view context = "continua::regularize::refresh_unlearn";
  detail::refresh_validate(options);
  require_same_structure(context, "params", params, "grads", grads);
  require_finite(context, "grads", grads);
  const philox_key key{options.seed, step};
  std::uint64_t offset = 0;
  for_each_tensor_pair(
      context, "params", params, "grads", grads, [&](auto, auto& p, const auto& g) {
        using X = std::remove_cvref_t<decltype(p)>;
        using T = value_t<X>;
        static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>,
                      "continua::regularize::refresh_unlearn: elements must be "
                      "float or double");
        const auto n = static_cast<std::uint64_t>(continua::size(p));
        for_each_normal_draw<T>(memory_space_t<X>{}, key, offset, n,
                                detail::refresh_update<T>{continua::data(p), continua::data(g),
                                                          static_cast<T>(options.unlearn_rate),
                                                          static_cast<T>(options.noise_std)});
        offset += n;
      });
}

}  // namespace continua::regularize
