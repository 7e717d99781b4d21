// What the diffusion samplers share: the validated timestep plan, the affine step kernels, the
// model call with its NaN/Inf report, and the Philox noise layout.
// Song, Meng & Ermon, "Denoising Diffusion Implicit Models", ICLR 2021 (the generalised step).
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "continua/config.hpp"
#include "continua/core/error.hpp"
#include "continua/core/finite.hpp"
#include "continua/core/kernel.hpp"
#include "continua/core/random.hpp"
#include "continua/core/span.hpp"
#include "continua/core/tensor.hpp"
#include "continua/sample/diffusion/prediction.hpp"
#include "continua/sample/diffusion/schedule.hpp"

namespace continua::sample::diffusion {

// A model the samplers can call: model(x_t, t, out) writes its prediction for the batch x_t at
// integer timestep t into out (same type and size as x_t). The samplers never allocate: the
// caller passes `out` (the scratch tensor), so any tensor type and memory space works.
template <class Model, class X, class E>
concept model_for = requires(Model& m, const X& x, std::int64_t t, E& out) {
  m(x, t, out);
};

// Same element type and memory space, so one kernel can read both.
template <class A, class B>
concept same_kind_tensors = tensor<A> && tensor<B> && std::is_same_v<value_t<A>, value_t<B>> &&
    std::is_same_v<memory_space_t<A>, memory_space_t<B>>;

namespace detail {

// x[i] = cx x[i] + cm m[i]
template <class T>
struct affine_step {
  T* x;
  const T* m;
  T cx, cm;
  CONTINUA_HD void operator()(std::size_t i) const { x[i] = cx * x[i] + cm * m[i]; }
};
// The deterministic step fused with the check of the model output, into the model's buffer:
// m[i] = cx x[i] + cm m[i], mapped to i when the model's m[i] was NaN/Inf (none otherwise), for a
// minimum reduction. x is only read, so a failed step leaves it as it was.
template <class T>
struct affine_step_into_model_output {
  const T* x;
  T* m;
  T cx, cm;
  std::size_t none;
  CONTINUA_HD std::size_t operator()(std::size_t i) const {
    const T v = m[i];
    m[i] = cx * x[i] + cm * v;
    return is_finite(v) ? none : i;
  }
};

// The same on host floats by blocks that stay in L1 between the check and the step (a one-element
// map with an index reduction does not vectorise): a block whose model output holds a NaN/Inf is
// left unwritten and its first bad index returned (the minimum over blocks; none when clean).
template <continua::detail::ieee_float T>
std::size_t host_affine_into_model_output(const T* x, T* m, T cx, T cm, std::size_t n) {
  constexpr std::size_t block = 256, none = std::numeric_limits<std::size_t>::max();
  const std::size_t blocks = (n + block - 1) / block;
  const auto run = [=](std::size_t b) {
    const std::size_t lo = b * block, len = n - lo < block ? n - lo : block;
    if (continua::detail::host_has_non_finite(m + lo, len)) {
      for (std::size_t k = lo; k < lo + len; ++k)
        if (!is_finite(m[k])) return k;
    }
#if defined(_OPENMP) || defined(_OPENMP_SIMD)
#pragma omp simd
#endif
    for (std::size_t k = lo; k < lo + len; ++k) m[k] = cx * x[k] + cm * m[k];
    return none;
  };
  std::size_t first = none;
#if CONTINUA_WITH_OPENMP
  if (n >= CONTINUA_OMP_MIN_SIZE && !omp_in_parallel()) {
#pragma omp parallel for reduction(min : first) schedule(static)
    for (std::ptrdiff_t b = 0; b < static_cast<std::ptrdiff_t>(blocks); ++b) {
      const std::size_t f = run(static_cast<std::size_t>(b));
      first = f < first ? f : first;
    }
    return first;
  }
#endif
  for (std::size_t b = 0; b < blocks && first == none; ++b) first = run(b);
  return first;
}

// Vector-like containers (std::vector, Thrust vectors): swap exchanges their storage in O(1), so
// the sampling loop can compute the next state into the model's buffer and swap it into x.
// Views and fixed-size or mapped types (spans, std::array, Eigen maps) are excluded.
template <class X>
concept storage_swapping_vector = requires(X& a, X& b, std::size_t n) {
  a.swap(b);
  a.resize(n);
  a.clear();
};

// x[i] = cx x[i] + cm m[i] + cz z[i], z a given noise tensor
template <class T>
struct affine_step_given_noise {
  T* x;
  const T* m;
  const T* z;
  T cx, cm, cz;
  CONTINUA_HD void operator()(std::size_t i) const { x[i] = cx * x[i] + cm * m[i] + cz * z[i]; }
};
// The same with z the Philox normal draw of element i (a for_each_normal_draw sink).
template <class T>
struct affine_step_philox {
  T* x;
  const T* m;
  T cx, cm, cz;
  CONTINUA_HD void operator()(std::size_t i, T z) const { x[i] = cx * x[i] + cm * m[i] + cz * z; }
};

// The validated inference plan: decreasing timesteps in [0, T), each with its alpha-bar, and the
// alpha-bar past the last one.
struct timestep_plan {
  std::vector<std::int64_t> timesteps;
  std::vector<double> alpha_bar;  // alpha_bar[i] of timesteps[i]
  double final_alpha_bar = 1.0;

  // alpha-bar after step i (of timesteps[i + 1], or final_alpha_bar after the last step).
  double next_alpha_bar(std::size_t i) const {
    return i + 1 < alpha_bar.size() ? alpha_bar[i + 1] : final_alpha_bar;
  }
};

inline timestep_plan make_plan(std::string_view ctx, const noise_schedule& s,
                               std::vector<std::int64_t> ts, double final_alpha_bar) {
  require(!ts.empty(), ctx, "timesteps is empty: give at least one inference timestep");
  const auto T = static_cast<std::int64_t>(s.num_train_timesteps());
  for (std::size_t i = 0; i < ts.size(); ++i) {
    if (ts[i] < 0 || ts[i] >= T)
      throw invalid_argument(std::string(ctx) + ": timesteps[" + std::to_string(i) +
                             "] = " + std::to_string(ts[i]) + " is outside [0, " +
                             std::to_string(T) + ") (num_train_timesteps of the schedule)");
    if (i > 0 && ts[i] >= ts[i - 1])
      throw invalid_argument(std::string(ctx) +
                             ": timesteps must decrease strictly, but timesteps[" +
                             std::to_string(i) + "] = " + std::to_string(ts[i]) + " follows " +
                             std::to_string(ts[i - 1]));
  }
  timestep_plan p;
  p.alpha_bar.reserve(ts.size());
  for (std::int64_t t : ts) p.alpha_bar.push_back(s.alpha_bar(t));
  p.timesteps = std::move(ts);
  p.final_alpha_bar = final_alpha_bar;
  return p;
}

// Samples in the batch: size must be a positive multiple of batch.
inline std::size_t sample_dim(std::string_view ctx, std::size_t n, std::size_t batch) {
  require(batch >= 1, ctx, "batch must be at least 1");
  if (n == 0 || n % batch != 0)
    throw invalid_argument(
        std::string(ctx) + ": x has " + std::to_string(n) +
        " elements, which is not a positive multiple of batch = " + std::to_string(batch));
  return n / batch;
}

template <class X>
void require_finite_input(std::string_view ctx, std::string_view name, const X& x) {
  if (const auto bad = find_non_finite(as_span(x))) throw non_finite_error(ctx, name, *bad);
}

// Calls the model and checks what it wrote: a NaN/Inf is reported with the step, the timestep and
// the sample (row of the batch) it belongs to, before anything uses it.
template <class Model, class X, class E>
void call_model(std::string_view ctx, Model& model, const X& x, std::int64_t t, E& out,
                std::size_t step, std::size_t dim) {
  model(x, t, out);
  if (const auto bad = find_non_finite(as_span(std::as_const(out)))) {
    const std::string what = "the model output at step " + std::to_string(step) + " (timestep " +
                             std::to_string(t) + ") for sample " + std::to_string(*bad / dim);
    throw non_finite_error(ctx, what, *bad);
  }
}

// The noise of step i is draws [i n, (i + 1) n) of the stream `key`: the same numbers on every
// backend, and a step can be replayed alone.
inline std::uint64_t noise_offset(std::string_view ctx, std::size_t step, std::size_t n) {
  return static_cast<std::uint64_t>(checked_mul(step, n, ctx, "noise offset"));
}

// x = cx x + cm m (+ cz z), z from Philox when cz != 0.
template <class X, class M>
void apply_affine(X& x, const M& m, double cx, double cm, double cz, philox_key key,
                  std::uint64_t offset, std::string_view ctx) {
  using T = value_t<X>;
  using S = memory_space_t<X>;
  const std::size_t n = continua::size(x);
  if (n == 0) return;
  if (cz == 0.0) {
    for_each_index(S{}, n,
                   affine_step<T>{continua::data(x), continua::data(m), static_cast<T>(cx),
                                  static_cast<T>(cm)});
  } else {
    require(n - 1 <= std::numeric_limits<std::uint64_t>::max() - offset, ctx,
            "the noise stream is exhausted (step * size exceeds 2^64 draws)");
    for_each_normal_draw<T>(
        S{}, key, offset, n,
        affine_step_philox<T>{continua::data(x), continua::data(m), static_cast<T>(cx),
                              static_cast<T>(cm), static_cast<T>(cz)});
  }
}

}  // namespace detail
}  // namespace continua::sample::diffusion

namespace continua::sample::diffusion {

// One step of an affine sampler: x_next = cx x + cm m + cz z (m the model output, z standard
// normal noise, cz = 0 for deterministic steps).
struct step_coefficients {
  double cx = 0;
  double cm = 0;
  double cz = 0;
};

namespace detail {

// The part DDPM and DDIM share: a validated plan, the per-step coefficients (computed once, in
// double, on the host), the per-step calls and the loop driver. Derived classes fill coeffs_.
class affine_sampler {
 public:
  // Number of steps N (one per inference timestep).
  std::size_t steps() const { return plan_.timesteps.size(); }
  // The inference timesteps, decreasing.
  const std::vector<std::int64_t>& timesteps() const { return plan_.timesteps; }
  // alpha-bar of timesteps()[i].
  double alpha_bar(std::size_t i) const { return plan_.alpha_bar.at(i); }
  // The coefficients of step i (x at timesteps()[i] to the next timestep).
  const step_coefficients& coefficients(std::size_t i) const { return coeffs_.at(i); }

  // Step i in place: x (at timesteps()[i]) becomes the state at the next timestep, given the
  // model output m at (x, timesteps()[i]); the noise, where the step has any, is draws
  // [i n, (i + 1) n) of the Philox stream `key` (n = size of x). Throws, with x unchanged,
  // continua::invalid_argument for i >= steps(), size_mismatch, non_finite_error when m holds a
  // NaN/Inf.
  template <class X, class M>
  requires same_kind_tensors<std::remove_cvref_t<X>, M>
  void step(std::size_t i, X&& x, const M& m, philox_key key = {}) const {
    const std::string ctx = std::string(name_) + "::step";
    check_step(ctx, i, x, m);
    const step_coefficients& c = coeffs_[i];
    detail::apply_affine(x, m, c.cx, c.cm, c.cz, key,
                         c.cz == 0.0 ? 0 : noise_offset(ctx, i, continua::size(x)), ctx);
  }

  // Step i with the noise given (a tensor of standard normals of x's size, ignored when the step
  // is deterministic): for replaying another library's noise. Same checks as step, plus noise.
  template <class X, class M, class Z>
  requires same_kind_tensors<std::remove_cvref_t<X>, M> && same_kind_tensors<M, Z>
  void step_with_noise(std::size_t i, X&& x, const M& m, const Z& noise) const {
    using T = value_t<M>;
    const std::string ctx = std::string(name_) + "::step_with_noise";
    check_step(ctx, i, x, m);
    require_same_size(ctx, "x", continua::size(x), "noise", continua::size(noise));
    require_finite_input(ctx, "noise", noise);
    const step_coefficients& c = coeffs_[i];
    for_each_index(memory_space_t<M>{}, continua::size(x),
                   affine_step_given_noise<T>{continua::data(x), continua::data(m),
                                              continua::data(noise), static_cast<T>(c.cx),
                                              static_cast<T>(c.cm), static_cast<T>(c.cz)});
  }

  // The whole loop: x (batch x dim values, x_T on entry, e.g. standard normal) becomes the sample.
  // model(x, t, scratch) is called once per step; scratch (x's type and size) holds its output.
  // Throws before the first step on bad sizes or a non-finite x. If the model returns a NaN/Inf,
  // throws continua::non_finite_error naming the step, the timestep and the sample; x then holds
  // the state that was passed to that model call (the last good state), nothing of the bad output
  // written into it. With x and scratch of one vector-like type (std::vector, Thrust vectors),
  // deterministic steps compute the next state into scratch and swap the two (scratch's contents
  // are working memory either way).
  template <class Model, class X, class E>
  requires same_kind_tensors<std::remove_cvref_t<X>, std::remove_cvref_t<E>>
  void sample(Model&& model, X&& x, E&& scratch, std::size_t batch, philox_key key = {}) const {
    static_assert(model_for<Model, std::remove_cvref_t<X>, std::remove_cvref_t<E>>,
                  "continua::sample::diffusion: the model must be callable as model(const X& x, "
                  "std::int64_t t, E& out), writing its prediction for the batch x at timestep t "
                  "into out (X, E: the x and scratch tensor types)");
    const std::string ctx = std::string(name_) + "::sample";
    const std::size_t n = continua::size(x);
    const std::size_t dim = sample_dim(ctx, n, batch);
    require_same_size(ctx, "x", n, "scratch", continua::size(scratch));
    require_finite_input(ctx, "x", x);
    noise_offset(ctx, steps(), n);  // the whole stream range fits
    using XT = std::remove_cvref_t<X>;
    constexpr bool swap_buffers = std::is_same_v<XT, std::remove_cvref_t<E>> &&
                                  !std::is_const_v<std::remove_reference_t<X>> &&
                                  !std::is_const_v<std::remove_reference_t<E>> &&
                                  detail::storage_swapping_vector<XT>;
    for (std::size_t i = 0; i < steps(); ++i) {
      const step_coefficients& c = coeffs_[i];
      if constexpr (swap_buffers) {
        // Deterministic steps: one pass (read x and the output, write the output) checks the
        // output and computes the next state into it, then the buffers swap; the separate check
        // would read the output once more.
        if (c.cz == 0.0 && n != 0) {
          model(std::as_const(x), plan_.timesteps[i], scratch);
          fused_step(ctx, x, scratch, c, i, dim);
          x.swap(scratch);
          continue;
        }
      }
      call_model(ctx, model, std::as_const(x), plan_.timesteps[i], scratch, i, dim);
      detail::apply_affine(x, std::as_const(scratch), c.cx, c.cm, c.cz, key, i * n, ctx);
    }
  }

 protected:
  affine_sampler(const char* name, timestep_plan plan) : name_(name), plan_(std::move(plan)) {}

  // m = cx x + cm m in one pass; throws non_finite_error as call_model does (x untouched) when
  // the model's output held a NaN/Inf.
  template <class X>
  void fused_step(const std::string& ctx, const X& x, X& m, const step_coefficients& c,
                  std::size_t i, std::size_t dim) const {
    using T = value_t<X>;
    constexpr std::size_t none = std::numeric_limits<std::size_t>::max();
    const std::size_t n = continua::size(x);
    const T cx = static_cast<T>(c.cx), cm = static_cast<T>(c.cm);
    std::size_t bad = none;
    if constexpr (std::is_same_v<memory_space_t<X>, host_space> && continua::detail::ieee_float<T>)
      bad = detail::host_affine_into_model_output(continua::data(x), continua::data(m), cx, cm, n);
    else
      bad = transform_reduce(memory_space_t<X>{}, n, none,
                             detail::affine_step_into_model_output<T>{
                                 continua::data(x), continua::data(m), cx, cm, none},
                             minimum{});
    if (bad != none)
      throw non_finite_error(ctx,
                             "the model output at step " + std::to_string(i) + " (timestep " +
                                 std::to_string(plan_.timesteps[i]) + ") for sample " +
                                 std::to_string(bad / dim),
                             bad);
  }

  template <class X, class M>
  void check_step(const std::string& ctx, std::size_t i, const X& x, const M& m) const {
    if (i >= steps())
      throw invalid_argument(ctx + ": step index " + std::to_string(i) +
                             " is not below steps() = " + std::to_string(steps()));
    require_same_size(ctx, "x", continua::size(x), "model_out", continua::size(m));
    if (const auto bad = find_non_finite(as_span(m)))
      throw non_finite_error(ctx,
                             "the model output at step " + std::to_string(i) + " (timestep " +
                                 std::to_string(plan_.timesteps[i]) + ")",
                             *bad);
  }

  const char* name_;
  timestep_plan plan_;
  std::vector<step_coefficients> coeffs_;
};

}  // namespace detail
}  // namespace continua::sample::diffusion
