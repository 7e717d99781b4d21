// Conversions between the three things a diffusion model may predict: the noise epsilon, the clean
// sample x0, and the velocity v. Salimans & Ho, "Progressive Distillation for Fast Sampling of
// Diffusion Models", ICLR 2022 (v = sqrt(abar) eps - sqrt(1 - abar) x0).
#pragma once

#include <cmath>
#include <cstddef>
#include <type_traits>

#include "continua/config.hpp"
#include "continua/core/error.hpp"
#include "continua/core/finite.hpp"
#include "continua/core/kernel.hpp"
#include "continua/core/tensor.hpp"

namespace continua::sample::diffusion {

// What the model returns (diffusers' prediction_type: "epsilon", "sample", "v_prediction").
enum class prediction_type { epsilon, sample, v_prediction };

// A quantity written as cx * x_t + cm * m, m the model output: with x_t = a x0 + b eps
// (a = sqrt(abar), b = sqrt(1 - abar)) each of eps, x0 and v is linear in (x_t, m), which is why
// every sampler step below is one affine pass over memory.
struct linear_form {
  double cx = 0;  // coefficient of x_t
  double cm = 0;  // coefficient of the model output
};

// eps, x0 and v as linear forms in (x_t, m) for a model of type `p` at noise level alpha_bar.
struct prediction_forms {
  linear_form eps;
  linear_form x0;
  linear_form v;
};

// The forms, from  x0 = (x - b eps) / a,  eps = (x - a x0) / b,  v = a eps - b x0:
//   epsilon:  eps = m,            x0 = x/a - (b/a) m
//   sample:   eps = x/b - (a/b) m, x0 = m
//   v:        eps = b x + a m,    x0 = a x - b m
// Throws continua::invalid_argument unless 0 < alpha_bar <= 1, and alpha_bar < 1 for `sample`
// (eps from x0 divides by b = sqrt(1 - alpha_bar)).
inline prediction_forms forms_of(prediction_type p, double alpha_bar) {
  constexpr const char* ctx = "continua::sample::diffusion::forms_of";
  require(std::isfinite(alpha_bar) && alpha_bar > 0 && alpha_bar <= 1, ctx,
          "alpha_bar must be in (0, 1]");
  const double a = std::sqrt(alpha_bar), b = std::sqrt(1 - alpha_bar);
  prediction_forms f;
  switch (p) {
    case prediction_type::epsilon:
      f.eps = {0, 1};
      f.x0 = {1 / a, -b / a};
      break;
    case prediction_type::sample:
      require(alpha_bar < 1, ctx, "an x0 (sample) prediction at alpha_bar = 1 says nothing of eps");
      f.eps = {1 / b, -a / b};
      f.x0 = {0, 1};
      break;
    case prediction_type::v_prediction:
      f.eps = {b, a};
      f.x0 = {a, -b};
      break;
    default:
      require(false, ctx, "unknown prediction_type");
  }
  f.v = {a * f.eps.cx - b * f.x0.cx, a * f.eps.cm - b * f.x0.cm};
  return f;
}

namespace detail {
// out[i] = cx x[i] + cm m[i]
template <class T>
struct linear_form_kernel {
  T* out;
  const T* x;
  const T* m;
  T cx, cm;
  CONTINUA_HD void operator()(std::size_t i) const { out[i] = cx * x[i] + cm * m[i]; }
};
}  // namespace detail

// out = the `to` quantity given x_t and a model output of type `from` at noise level alpha_bar,
// elementwise over tensors of one element type and memory space (out may alias model_out or x_t).
// Throws continua::size_mismatch on sizes and continua::invalid_argument on alpha_bar (see
// forms_of) before writing.
template <tensor X, tensor M, class O>
requires tensor<std::remove_cvref_t<O>>
void convert_prediction(prediction_type from, prediction_type to, double alpha_bar, const X& x_t,
                        const M& model_out, O&& out) {
  using T = value_t<X>;
  using Out = std::remove_cvref_t<O>;
  static_assert(std::is_same_v<T, value_t<M>> && std::is_same_v<T, value_t<Out>>,
                "continua::sample::diffusion::convert_prediction: element types differ");
  static_assert(std::is_same_v<memory_space_t<X>, memory_space_t<M>> &&
                    std::is_same_v<memory_space_t<X>, memory_space_t<Out>>,
                "continua::sample::diffusion::convert_prediction: memory spaces differ");
  constexpr const char* ctx = "continua::sample::diffusion::convert_prediction";
  const std::size_t n = continua::size(x_t);
  require_same_size(ctx, "x_t", n, "model_out", continua::size(model_out));
  require_same_size(ctx, "x_t", n, "out", continua::size(out));
  const prediction_forms f = forms_of(from, alpha_bar);
  const linear_form g = to == prediction_type::epsilon  ? f.eps
                        : to == prediction_type::sample ? f.x0
                                                        : f.v;
  if (n != 0)
    for_each_index(memory_space_t<X>{}, n,
                   detail::linear_form_kernel<T>{continua::data(out), continua::data(x_t),
                                                 continua::data(model_out), static_cast<T>(g.cx),
                                                 static_cast<T>(g.cm)});
}

}  // namespace continua::sample::diffusion
