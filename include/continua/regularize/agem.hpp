// agem: Averaged Gradient Episodic Memory, the one-constraint projection of a gradient step.
// Chaudhry, Ranzato, Rohrbach & Elhoseiny, "Efficient Lifelong Learning with A-GEM", ICLR 2019.
//
// With g the gradient on the current batch and g_ref the gradient on a batch drawn from the
// episodic memory, A-GEM keeps g when g . g_ref >= 0 (the step does not increase the average
// memory loss to first order) and otherwise uses g - (g . g_ref / g_ref . g_ref) g_ref, the
// closest vector to g whose dot product with g_ref is zero (Eq. 11 of the paper).
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>

#include "continua/config.hpp"
#include "continua/core/buffer.hpp"
#include "continua/core/error.hpp"
#include "continua/core/finite.hpp"
#include "continua/core/kernel.hpp"
#include "continua/core/parameter_set.hpp"
#include "continua/core/per_tensor.hpp"
#include "continua/core/reduce.hpp"
#include "continua/core/span.hpp"
#include "continua/core/vector_ops.hpp"

namespace continua::regularize {

namespace detail {

// g <- g - coef * r
template <class T>
struct agem_subtract {
  T* g;
  const T* r;
  T coef;
  CONTINUA_HD void operator()(std::size_t i) const { g[i] = g[i] - coef * r[i]; }
};

}  // namespace detail

// A-GEM over a parameter set P (one tensor, a tuple of tensors, or a range of tensors; host or
// device). The reference gradient is held in buffers shaped like P.
//
//   regularize::agem<P> guard(params);
//   guard.set_reference(grads_on_replay_batch);   // each step, after the memory batch
//   guard.project(grads);                          // then the optimizer step
template <parameter_set P>
class agem {
  template <class T, class Space>
  using slot = buffer<T, Space>;
  using slots_t = per_tensor_t<P, slot>;

 public:
  static constexpr std::string_view checkpoint_kind = "regularize.agem";
  static constexpr std::uint32_t checkpoint_schema = 1;

  // params fixes the shapes (they are not stored).
  explicit agem(const P& params)
      : reference_(make_per_tensor<slot>(params, [](const auto& t) {
          return slot<value_t<decltype(t)>, memory_space_t<decltype(t)>>(continua::size(t));
        })) {}

  // Stores the gradient on a replay batch. Throws (keeping the previous reference) when its
  // shapes differ from the parameters' or it holds NaN/Inf.
  void set_reference(const P& reference_grads) {
    constexpr std::string_view context = "continua::regularize::agem::set_reference";
    check_structure(context, "reference_grads", reference_grads);
    require_finite(context, "reference_grads", reference_grads);
    for_each_tensor(reference_grads,
                    [&](auto k, const auto& t) { continua::copy(t, slot_at(reference_, k)); });
    reference_sq_ = squared_norm(reference_);
    has_reference_ = true;
  }

  // If g . g_ref < 0: g <- g - (g . g_ref / g_ref . g_ref) g_ref. Returns whether g changed.
  // Without a reference (or with a zero one) there is no constraint and g is left alone.
  // Throws on shape mismatch or a NaN/Inf gradient, before changing g.
  bool project(P& grads) const {
    constexpr std::string_view context = "continua::regularize::agem::project";
    check_structure(context, "grads", grads);
    if (!has_reference_ || !(reference_sq_ > 0.0)) {
      require_finite(context, "grads", grads);
      return false;
    }
    double d = 0.0;
    for_each_tensor(grads, [&](auto k, const auto& t) {
      const auto& s = slot_at(reference_, k);
      d += static_cast<double>(dot(as_span(t), as_span(s)));
    });
    // A NaN/Inf gradient makes the dot product non-finite: only then pay for locating it.
    if (!std::isfinite(d)) {
      require_finite(context, "grads", grads);
      throw numerical_error(std::string(context) + ": g . g_ref overflowed");
    }
    last_dot_ = d;
    if (d >= 0.0) return false;
    const double coef = d / reference_sq_;
    for_each_tensor(grads, [&](auto k, auto& t) {
      const auto& s = slot_at(reference_, k);
      using T = value_t<std::remove_cvref_t<decltype(t)>>;
      for_each_index(memory_space_t<std::remove_cvref_t<decltype(t)>>{}, continua::size(t),
                     detail::agem_subtract<T>{continua::data(t), s.data(), static_cast<T>(coef)});
    });
    return true;
  }

  bool has_reference() const { return has_reference_; }
  // g . g_ref of the last project() call that had a reference (before projection).
  double last_dot() const { return last_dot_; }
  // The stored reference gradient, one buffer per tensor.
  const slots_t& reference() const { return reference_; }

  // The checkpoint (continua::io::save / io::load): tensors (a file must share the count),
  // has_reference, then t<k>, the reference of tensor k (its size). A load refuses, with the
  // object unchanged, a damaged file, another kind, tensor count, size or element type, and a
  // reference holding NaN or Inf (validate_state).
  template <class V>
  void describe_state(V& v) {
    v.expect("tensors", static_cast<std::uint64_t>(count()));
    v.field("has_reference", has_reference_);
    for_each_slot(reference_, [&](std::size_t k, auto& s) { v.field("t" + std::to_string(k), s); });
    if constexpr (V::loading) reference_sq_ = squared_norm(reference_);
  }
  // set_reference admits only finite gradients; project() divides by |g_ref|^2.
  void validate_state() const {
    for_each_slot(reference_, [&](std::size_t k, const auto& s) {
      if (const auto bad = find_non_finite(as_span(s)))
        throw non_finite_error("continua::regularize::agem::load",
                               "reference[" + std::to_string(k) + "]", *bad);
    });
  }

 private:
  std::size_t count() const { return slot_count(reference_); }

  // Sizes of `g` against the stored reference (which has the parameters' shapes).
  void check_structure(std::string_view context, std::string_view name, const P& g) const {
    const std::size_t n = tensor_count(g);
    if (n != count())
      throw size_mismatch(context, std::string(name) + " (tensor count)", n,
                          "parameters (tensor count)", count());
    for_each_tensor(g, [&](auto k, const auto& t) {
      const auto& s = slot_at(reference_, k);
      if (continua::size(t) != s.size())
        throw size_mismatch(context, std::string(name) + "[" + std::to_string(std::size_t(k)) + "]",
                            continua::size(t), "parameters[" + std::to_string(std::size_t(k)) + "]",
                            s.size());
    });
  }

  slots_t reference_;
  double reference_sq_ = 0.0;
  bool has_reference_ = false;
  mutable double last_dot_ = 0.0;
};

}  // namespace continua::regularize
