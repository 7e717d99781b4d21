// Unrolled hypergradient: reverse mode through K steps of an inner optimiser built from
// continua::optim transformations (SGD, heavy-ball or Nesterov momentum, coupled weight decay, a
// learning-rate schedule), with optional checkpointing. Maclaurin, Duvenaud & Adams, ICML 2015;
// Franceschi et al., ICML 2017 (reverse-mode hypergradient).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "continua/bilevel/problem.hpp"
#include "continua/core/error.hpp"
#include "continua/core/finite.hpp"
#include "continua/core/parameter_set.hpp"
#include "continua/optim/chain.hpp"
#include "continua/optim/scale.hpp"
#include "continua/optim/trace.hpp"
#include "continua/optim/weight_decay.hpp"

namespace continua::bilevel {

// The inner optimiser of unrolled_hypergradient(pb, x, y, grad, options): plain SGD or heavy-ball
// momentum (m_0 = 0):
//   m_{t+1} = momentum * m_t + grad_y g(x, y_t),   y_{t+1} = y_t - learning_rate * m_{t+1}
// (momentum = 0 is plain SGD). It is optim::momentum(learning_rate, momentum) run through the
// chain overload below.
struct unrolled_options {
  std::size_t steps = 100;           // K inner steps
  double learning_rate = 0.1;        // eta
  double momentum = 0;               // beta in [0, 1)
  std::size_t checkpoint_every = 0;  // c: keep (y, m) every c steps and recompute segments;
                                     // 0 keeps every iterate
};

// Options of unrolled_hypergradient over an optim chain: the unroll length and the checkpointing;
// the inner optimiser itself is the chain.
struct unrolled_chain_options {
  std::size_t steps = 100;           // K inner steps
  std::size_t checkpoint_every = 0;  // c: keep y and the momentum buffers every c steps and
                                     // recompute segments; 0 keeps every iterate
};

// What unrolled_hypergradient reports.
struct unrolled_result {
  double inner_gradient_norm = 0;    // |grad_y g(x, y_K)| at the final iterate
  std::size_t stored_iterates = 0;   // sets held at once by the tape (memory in units of dim y)
  std::size_t recomputed_steps = 0;  // forward steps run again from checkpoints
};

// The tape, reusable across outer steps so memory stays constant: sets are allocated on the first
// call (or when K or c grow) and reused after.
template <class Y>
class unrolled_workspace {
 public:
  // Sets currently held.
  std::size_t held() const { return tape_.size() + checkpoints_.size(); }

  // Grows `v` to at least n sets shaped like `like` (used by the unrolled engine).
  static void reserve(std::vector<Y>& v, std::size_t n, const Y& like) {
    while (v.size() < n) v.push_back(like);
  }
  std::vector<Y>& tape() { return tape_; }
  std::vector<Y>& checkpoints() { return checkpoints_; }

 private:
  std::vector<Y> tape_;         // iterates y_t of the segment being reversed
  std::vector<Y> checkpoints_;  // y (and the momentum buffers) at multiples of c
};

namespace detail {

// The optim transformations an inner step may be built from: each is linear in the gradient, the
// parameters and its own state, so its adjoint is exact and needs no stored intermediate.
template <class P>
struct unrollable_part : std::false_type {};
template <>
struct unrollable_part<optim::add_decayed_weights> : std::true_type {};
template <>
struct unrollable_part<optim::trace> : std::true_type {};
template <>
struct unrollable_part<optim::scale> : std::true_type {};
template <class S>
struct unrollable_part<optim::scale_by_learning_rate<S>> : std::true_type {};

// Whether a type is an optim chain, and whether every part of it is unrollable. A trait on the
// deduced argument type (not a chain_t<Parts...> parameter): a braced options list must not
// deduce an empty chain.
template <class C>
struct optim_chain : std::false_type {};
template <class... Parts>
struct optim_chain<optim::chain_t<Parts...>> : std::true_type {
  static constexpr bool unrollable = (unrollable_part<Parts>::value && ...);
};

// Momentum buffers the chain keeps: one per trace with decay > 0 (decay 0 is the identity).
template <class... Parts>
std::size_t momentum_buffers(const std::tuple<Parts...>& parts) {
  std::size_t n = 0;
  std::apply(
      [&](const auto&... p) {
        (
            [&] {
              if constexpr (std::is_same_v<std::remove_cvref_t<decltype(p)>, optim::trace>)
                n += p.opt.decay > 0 ? 1 : 0;
            }(),
            ...);
      },
      parts);
  return n;
}

// Forward: turns v = grad_y g(x, y_t) into the update of step t (0-based) part by part, updating
// the momentum buffers m in chain order: add_decayed_weights v += r y; trace m = d m + v, v = m
// (Nesterov: v + d m); scale v *= f; scale_by_learning_rate v *= -lr(t).
template <class Y, class... Parts>
void chain_forward(const std::tuple<Parts...>& parts, std::size_t t, const Y& y, Y& v,
                   std::vector<Y>& m) {
  std::size_t k = 0;
  std::apply(
      [&](const auto&... p) {
        (
            [&] {
              using Part = std::remove_cvref_t<decltype(p)>;
              if constexpr (std::is_same_v<Part, optim::add_decayed_weights>) {
                if (p.rate != 0) set_axpby(p.rate, y, 1.0, v);
              } else if constexpr (std::is_same_v<Part, optim::trace>) {
                if (p.opt.decay > 0) {
                  Y& mk = m[k++];
                  set_axpby(1.0, v, p.opt.decay, mk);
                  if (p.opt.nesterov)
                    set_axpby(p.opt.decay, mk, 1.0, v);
                  else
                    set_copy(mk, v);
                }
              } else if constexpr (std::is_same_v<Part, optim::scale>) {
                set_scale(v, p.factor);
              } else {
                set_scale(v, -p.schedule(static_cast<std::int64_t>(t)));
              }
            }(),
            ...);
      },
      parts);
}

// Reverse of chain_forward at step t: vbar enters as the adjoint of the update and leaves as the
// adjoint of the gradient; mbar (adjoints of the buffers after the step) become those before it;
// ybar gains the direct dependence on y_t (weight decay). For trace with s = mbar + vbar (heavy
// ball) or s = mbar + d vbar (Nesterov, where vbar also passes straight through): mbar = d s.
// Calls f on the elements of a tuple from last to first.
template <std::size_t I, class Tuple, class F>
void for_each_reversed(const Tuple& t, F&& f) {
  if constexpr (I > 0) {
    f(std::get<I - 1>(t));
    for_each_reversed<I - 1>(t, f);
  }
}

template <class Y, class... Parts>
void chain_reverse(const std::tuple<Parts...>& parts, std::size_t t, Y& vbar, std::vector<Y>& mbar,
                   Y& ybar) {
  std::size_t k = momentum_buffers(parts);
  for_each_reversed<sizeof...(Parts)>(parts, [&](const auto& p) {
    using Part = std::remove_cvref_t<decltype(p)>;
    if constexpr (std::is_same_v<Part, optim::add_decayed_weights>) {
      if (p.rate != 0) set_axpby(p.rate, vbar, 1.0, ybar);
    } else if constexpr (std::is_same_v<Part, optim::trace>) {
      if (p.opt.decay > 0) {
        Y& mk = mbar[--k];
        if (p.opt.nesterov) {
          set_axpby(p.opt.decay, vbar, 1.0, mk);  // s
          set_axpby(1.0, mk, 1.0, vbar);          // vbar + s
        } else {
          set_axpby(1.0, vbar, 1.0, mk);  // s
          set_copy(mk, vbar);
        }
        set_scale(mk, p.opt.decay);
      }
    } else if constexpr (std::is_same_v<Part, optim::scale>) {
      set_scale(vbar, p.factor);
    } else {
      set_scale(vbar, -p.schedule(static_cast<std::int64_t>(t)));
    }
  });
}

template <class... Parts>
void validate_chain(std::string_view c, const std::tuple<Parts...>& parts, std::size_t steps) {
  std::apply(
      [&](const auto&... p) {
        (
            [&] {
              using Part = std::remove_cvref_t<decltype(p)>;
              if constexpr (!std::is_same_v<Part, optim::add_decayed_weights> &&
                            !std::is_same_v<Part, optim::trace> &&
                            !std::is_same_v<Part, optim::scale>) {
                // Every rate the unroll will use, checked before anything runs.
                for (std::size_t t = 0; t < steps; ++t) {
                  const double lr = p.schedule(static_cast<std::int64_t>(t));
                  require_option(std::isfinite(lr) && lr >= 0, c, "learning rate schedule", lr,
                                 "must be finite and >= 0 at every inner step");
                }
              }
            }(),
            ...);
      },
      parts);
}

inline void validate_unrolled(std::string_view c, const unrolled_options& o) {
  require_option(o.steps > 0, c, "steps", o.steps, "must be > 0");
  require_option(std::isfinite(o.learning_rate) && o.learning_rate > 0, c, "learning_rate",
                 o.learning_rate, "must be finite and > 0");
  require_option(std::isfinite(o.momentum) && o.momentum >= 0 && o.momentum < 1, c, "momentum",
                 o.momentum, "must be in [0, 1)");
}

// One inner step in place: g = grad_y g(x, y_t) turned into the update by the chain; y += update.
template <class Pb, class X, class Y, class... Parts>
void unrolled_inner_step(std::string_view c, const Pb& pb, const X& x,
                         const std::tuple<Parts...>& parts, std::size_t t, Y& y, std::vector<Y>& m,
                         Y& g) {
  pb.inner_grad(x, y, g);
  chain_forward(parts, t, y, g, m);
  set_axpby(1.0, g, 1.0, y);
  if (!all_finite(y))
    throw numerical_error(std::string(c) + ": inner step " + std::to_string(t) +
                          " produced NaN/Inf (learning rate too large for the inner problem?); "
                          "outputs left unchanged");
}

// The engine behind both public overloads. Reverse mode (adjoints ybar of y, mbar of the
// buffers), backwards over steps: vbar = ybar; chain_reverse; then
//   xbar += (d/dx grad_y g(x, y_t))^T vbar,  ybar += grad_yy g(x, y_t) vbar,
// starting from xbar = grad_x f(x, y_K), ybar = grad_y f(x, y_K), mbar = 0. One Hessian-vector
// and one cross product per step at the stored iterate. Memory: K sets of dim y (c = 0), or
// about K / c checkpoints (y and each buffer) plus a c-long segment recomputed forward.
template <class Pb, class X, class Y, class... Parts>
unrolled_result unrolled_engine(std::string_view c, const Pb& pb, const X& x, Y& y, X& grad,
                                const std::tuple<Parts...>& parts, std::size_t K,
                                std::size_t checkpoint_every, unrolled_workspace<Y>& ws) {
  require_same_structure(c, "x", x, "grad", grad);
  require_finite(c, "x", x);
  require_finite(c, "y", y);
  validate_chain(c, parts, K);
  const std::size_t seg = checkpoint_every == 0 ? K : std::min(checkpoint_every, K);
  const std::size_t segments = (K + seg - 1) / seg;
  const std::size_t buffers = momentum_buffers(parts);
  const std::size_t per_checkpoint = 1 + buffers;  // y and each momentum buffer
  unrolled_result res;
  using W = unrolled_workspace<Y>;
  std::vector<Y>& tape = ws.tape();
  std::vector<Y>& checkpoints = ws.checkpoints();
  W::reserve(tape, seg, y);
  if (segments > 1) W::reserve(checkpoints, segments * per_checkpoint, y);
  res.stored_iterates = seg + (segments > 1 ? segments * per_checkpoint : 0);

  Y yt(y), g(y);
  std::vector<Y> m(buffers, y);
  for (Y& mk : m) set_fill(mk, 0.0);
  // Forward: all K steps, keeping segment starts (or every iterate when one segment).
  for (std::size_t t = 0; t < K; ++t) {
    if (segments > 1 && t % seg == 0) {
      const std::size_t base = (t / seg) * per_checkpoint;
      set_copy(yt, checkpoints[base]);
      for (std::size_t k = 0; k < buffers; ++k) set_copy(m[k], checkpoints[base + 1 + k]);
    }
    if (segments == 1) set_copy(yt, tape[t]);
    unrolled_inner_step(c, pb, x, parts, t, yt, m, g);
  }
  // yt = y_K. Adjoints.
  pb.inner_grad(x, yt, g);
  res.inner_gradient_norm = set_norm(g);
  X xbar(x), cross(x);
  Y ybar(y), vbar(y), hv(y);
  std::vector<Y> mbar(buffers, y);
  for (Y& mk : mbar) set_fill(mk, 0.0);
  pb.outer_grad_x(x, yt, xbar);
  pb.outer_grad_y(x, yt, ybar);
  require_finite(c, "outer_grad_x(x, y_K)", xbar);
  require_finite(c, "outer_grad_y(x, y_K)", ybar);
  for (std::size_t s = segments; s-- > 0;) {
    const std::size_t begin = s * seg, end = std::min(K, begin + seg);
    if (segments > 1) {  // recompute the segment's iterates from its checkpoint
      Y& ys = vbar;      // vbar is free until the reverse sweep of this segment
      set_copy(checkpoints[s * per_checkpoint], ys);
      for (std::size_t k = 0; k < buffers; ++k)
        set_copy(checkpoints[s * per_checkpoint + 1 + k], m[k]);
      for (std::size_t t = begin; t < end; ++t) {
        set_copy(ys, tape[t - begin]);
        if (t + 1 < end) {
          unrolled_inner_step(c, pb, x, parts, t, ys, m, g);
          ++res.recomputed_steps;
        }
      }
    }
    for (std::size_t t = end; t-- > begin;) {
      const Y& yprev = tape[t - begin];
      set_copy(ybar, vbar);  // y_{t+1} = y_t + update: both receive ybar
      chain_reverse(parts, t, vbar, mbar, ybar);
      pb.inner_cross(x, yprev, vbar, cross);
      set_axpby(1.0, cross, 1.0, xbar);
      pb.inner_hvp(x, yprev, vbar, hv);
      set_axpby(1.0, hv, 1.0, ybar);
    }
  }
  require_finite(c, "the hypergradient", xbar);
  set_copy(xbar, grad);
  set_copy(yt, y);
  return res;
}

}  // namespace detail

// Writes grad = d/dx f(x, y_K(x)) where y_K is K inner steps of the optim chain `inner` from the
// start in y (a fresh optimiser state: buffers zero, step count 0); y receives y_K. The chain may
// be built from add_decayed_weights, trace (heavy ball or Nesterov), scale and
// scale_by_learning_rate with any schedule -- what optim::sgd, optim::momentum and
// optim::nesterov return -- since each is linear and has an exact adjoint; another part is a
// compile error. Everything is checked (including every scheduled rate) before y and grad are
// written.
template <class Pb, class X, class Y, class Inner>
requires detail::optim_chain<Inner>::value unrolled_result
unrolled_hypergradient(const Pb& pb, const X& x, Y& y, X& grad, const Inner& inner,
                       const unrolled_chain_options& opt, unrolled_workspace<Y>& ws) {
  constexpr std::string_view c = "continua::bilevel::unrolled_hypergradient";
  static_assert(detail::optim_chain<Inner>::unrollable,
                "continua::bilevel::unrolled_hypergradient: the inner optimiser must be a chain of "
                "add_decayed_weights, trace, scale and scale_by_learning_rate (optim::sgd, "
                "optim::momentum, optim::nesterov); adaptive transformations such as Adam have "
                "no exact linear adjoint here");
  if constexpr (!detail::optim_chain<Inner>::unrollable ||
                !detail::check_bilevel_problem<Pb, X, Y>()) {
    return {};
  } else {
    require_option(opt.steps > 0, c, "steps", opt.steps, "must be > 0");
    return detail::unrolled_engine(c, pb, x, y, grad, inner.parts(), opt.steps,
                                   opt.checkpoint_every, ws);
  }
}

// As above with a workspace of its own (allocated and freed per call).
template <class Pb, class X, class Y, class Inner>
requires detail::optim_chain<Inner>::value unrolled_result
unrolled_hypergradient(const Pb& pb, const X& x, Y& y, X& grad, const Inner& inner,
                       const unrolled_chain_options& opt = {}) {
  unrolled_workspace<Y> ws;
  return unrolled_hypergradient(pb, x, y, grad, inner, opt, ws);
}

// Plain SGD or heavy-ball momentum (unrolled_options): the chain trace(momentum),
// scale_by_learning_rate(learning_rate).
template <class Pb, class X, class Y>
unrolled_result unrolled_hypergradient(const Pb& pb, const X& x, Y& y, X& grad,
                                       const unrolled_options& opt, unrolled_workspace<Y>& ws) {
  constexpr std::string_view c = "continua::bilevel::unrolled_hypergradient";
  if constexpr (!detail::check_bilevel_problem<Pb, X, Y>()) {
    return {};
  } else {
    detail::validate_unrolled(c, opt);
    const auto inner = optim::chain(optim::trace({.decay = opt.momentum}),
                                    optim::scale_by_learning_rate(opt.learning_rate));
    return detail::unrolled_engine(c, pb, x, y, grad, inner.parts(), opt.steps,
                                   opt.checkpoint_every, ws);
  }
}

// As above with a workspace of its own (allocated and freed per call).
template <class Pb, class X, class Y>
unrolled_result unrolled_hypergradient(const Pb& pb, const X& x, Y& y, X& grad,
                                       const unrolled_options& opt = {}) {
  unrolled_workspace<Y> ws;
  return unrolled_hypergradient(pb, x, y, grad, opt, ws);
}

}  // namespace continua::bilevel
