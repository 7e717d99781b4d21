// Classifier-free guidance: one model callable made of a conditional and an unconditional one,
// eps = eps_u + w (eps_c - eps_u), usable by every sampler here.
// Ho & Salimans, "Classifier-Free Diffusion Guidance", NeurIPS 2021 Workshop, Eq. 6.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <utility>

#include "continua/config.hpp"
#include "continua/core/error.hpp"
#include "continua/core/kernel.hpp"
#include "continua/core/tensor.hpp"

namespace continua::sample::diffusion {

namespace detail {
// out[i] = u[i] + w (out[i] - u[i])
template <class T>
struct guidance_kernel {
  T* out;
  const T* u;
  T w;
  CONTINUA_HD void operator()(std::size_t i) const { out[i] = u[i] + w * (out[i] - u[i]); }
};
}  // namespace detail

// The guided model: calls cond(x, t, out) and uncond(x, t, scratch), then
// out = scratch + scale (out - scratch) elementwise (diffusers' guidance_scale convention:
// scale 1 is the conditional model alone, 0 the unconditional one, > 1 guides). It holds the two
// callables by value and `scratch` (a tensor of the model outputs' type and size, which it
// overwrites) by reference, so it must not outlive scratch; one object serves one sampling loop
// at a time. Works with any prediction type (the combination is linear).
template <class Cond, class Uncond, class W>
class guided_model {
 public:
  // Throws continua::invalid_argument unless scale is finite.
  guided_model(Cond cond, Uncond uncond, double scale, W& scratch)
      : cond_(std::move(cond)), uncond_(std::move(uncond)), scale_(scale), scratch_(&scratch) {
    require_option(std::isfinite(scale), "continua::sample::diffusion::guided_model", "scale",
                   scale, "must be finite");
  }

  // The guidance scale w.
  double scale() const { return scale_; }

  // model(x, t, out): the guided prediction for the batch x at timestep t. Throws
  // continua::size_mismatch (before calling either model) when scratch and out differ in size.
  template <class X, class E>
  void operator()(const X& x, std::int64_t t, E& out) const {
    static_assert(std::is_same_v<value_t<E>, value_t<W>> &&
                      std::is_same_v<memory_space_t<E>, memory_space_t<W>>,
                  "continua::sample::diffusion::guided_model: scratch must have the model "
                  "output's element type and memory space");
    using T = value_t<E>;
    require_same_size("continua::sample::diffusion::guided_model::call", "out", continua::size(out),
                      "scratch", continua::size(*scratch_));
    cond_(x, t, out);
    uncond_(x, t, *scratch_);
    for_each_index(memory_space_t<E>{}, continua::size(out),
                   detail::guidance_kernel<T>{continua::data(out), continua::data(*scratch_),
                                              static_cast<T>(scale_)});
  }

 private:
  Cond cond_;
  Uncond uncond_;
  double scale_;
  W* scratch_;
};

// guided(cond, uncond, scale, scratch): the classifier-free-guidance model (see guided_model).
//   auto model = diffusion::guided(cond_model, uncond_model, 7.5, eps_uncond_scratch);
//   sampler.sample(model, x, scratch, batch);
template <class Cond, class Uncond, class W>
guided_model<std::decay_t<Cond>, std::decay_t<Uncond>, W> guided(Cond&& cond, Uncond&& uncond,
                                                                 double scale, W& scratch) {
  return {std::forward<Cond>(cond), std::forward<Uncond>(uncond), scale, scratch};
}

}  // namespace continua::sample::diffusion
