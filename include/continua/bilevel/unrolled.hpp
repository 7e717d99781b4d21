// Unrolled hypergradient: reverse mode through K steps of SGD or heavy-ball momentum on the inner
// problem, with optional checkpointing. Maclaurin, Duvenaud & Adams, ICML 2015; Franceschi et al.,
// ICML 2017 (reverse-mode hypergradient).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <string_view>
#include <vector>

#include "continua/bilevel/problem.hpp"
#include "continua/core/error.hpp"
#include "continua/core/finite.hpp"
#include "continua/core/parameter_set.hpp"

namespace continua::bilevel {

// The inner optimiser and the tape. Inner steps (m_0 = 0):
//   m_{t+1} = momentum * m_t + grad_y g(x, y_t),   y_{t+1} = y_t - learning_rate * m_{t+1}
// (momentum = 0 is plain SGD).
struct unrolled_options {
  std::size_t steps = 100;           // K inner steps
  double learning_rate = 0.1;        // eta
  double momentum = 0;               // beta in [0, 1)
  std::size_t checkpoint_every = 0;  // c: keep (y, m) every c steps and recompute segments;
                                     // 0 keeps every iterate
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

 private:
  template <class Pb, class X, class Y2>
  friend unrolled_result unrolled_hypergradient(const Pb&, const X&, Y2&, X&,
                                                const unrolled_options&, unrolled_workspace<Y2>&);
  void reserve(std::vector<Y>& v, std::size_t n, const Y& like) {
    while (v.size() < n) v.push_back(like);
  }
  std::vector<Y> tape_;         // iterates y_t of the segment being reversed
  std::vector<Y> checkpoints_;  // (y, m) pairs at multiples of c, when checkpointing
};

namespace detail {
inline void validate_unrolled(std::string_view c, const unrolled_options& o) {
  require_option(o.steps > 0, c, "steps", o.steps, "must be > 0");
  require_option(std::isfinite(o.learning_rate) && o.learning_rate > 0, c, "learning_rate",
                 o.learning_rate, "must be finite and > 0");
  require_option(std::isfinite(o.momentum) && o.momentum >= 0 && o.momentum < 1, c, "momentum",
                 o.momentum, "must be in [0, 1)");
}

// One inner step in place: m = beta m + grad_y g(x, y); y -= eta m.
template <class Pb, class X, class Y>
void inner_step(std::string_view c, const Pb& pb, const X& x, Y& y, Y& m, Y& g,
                const unrolled_options& o) {
  pb.inner_grad(x, y, g);
  detail::set_axpby(1.0, g, o.momentum, m);
  detail::set_axpby(-o.learning_rate, m, 1.0, y);
  if (!all_finite(y))
    throw numerical_error(std::string(c) +
                          ": the inner iteration produced NaN/Inf (learning_rate too large for "
                          "the inner problem?); outputs left unchanged");
}
}  // namespace detail

// Writes grad = d/dx f(x, y_K(x)) where y_K is K inner steps from the start in y; y receives y_K.
// Reverse mode (adjoints ybar, mbar; a = mbar - eta ybar per step, backwards):
//   xbar += (d/dx grad_y g(x, y_t))^T a,  ybar += grad_yy g(x, y_t) a,  mbar = beta a,
// starting from xbar = grad_x f(x, y_K), ybar = grad_y f(x, y_K), mbar = 0. One Hessian-vector
// and one cross product per step at the stored iterate. Memory: K sets of dim y (c = 0), or
// about K / c checkpoints (y and m) plus a c-long segment recomputed forward (K - K / c extra
// inner gradients). Everything is checked before y and grad are written.
template <class Pb, class X, class Y>
unrolled_result unrolled_hypergradient(const Pb& pb, const X& x, Y& y, X& grad,
                                       const unrolled_options& opt, unrolled_workspace<Y>& ws) {
  constexpr std::string_view c = "continua::bilevel::unrolled_hypergradient";
  if constexpr (!detail::check_bilevel_problem<Pb, X, Y>()) {
    return {};
  } else {
    detail::validate_unrolled(c, opt);
    require_same_structure(c, "x", x, "grad", grad);
    require_finite(c, "x", x);
    require_finite(c, "y", y);
    const std::size_t K = opt.steps;
    const std::size_t seg = opt.checkpoint_every == 0 ? K : std::min(opt.checkpoint_every, K);
    const std::size_t segments = (K + seg - 1) / seg;
    const bool momentum = opt.momentum != 0;
    unrolled_result res;
    ws.reserve(ws.tape_, seg, y);
    // Checkpoints: y at each segment start, and m when there is momentum.
    const std::size_t per_checkpoint = momentum ? 2 : 1;
    if (segments > 1) ws.reserve(ws.checkpoints_, segments * per_checkpoint, y);
    res.stored_iterates = seg + (segments > 1 ? segments * per_checkpoint : 0);

    Y yt(y), m(y), g(y);
    detail::set_fill(m, 0.0);
    // Forward: run all K steps, keeping segment starts (or every iterate when one segment).
    for (std::size_t t = 0; t < K; ++t) {
      if (segments > 1 && t % seg == 0) {
        detail::set_copy(yt, ws.checkpoints_[(t / seg) * per_checkpoint]);
        if (momentum) detail::set_copy(m, ws.checkpoints_[(t / seg) * per_checkpoint + 1]);
      }
      if (segments == 1) detail::set_copy(yt, ws.tape_[t]);
      detail::inner_step(c, pb, x, yt, m, g, opt);
    }
    // yt = y_K. Adjoints.
    pb.inner_grad(x, yt, g);
    res.inner_gradient_norm = detail::set_norm(g);
    X xbar(x), cross(x);
    Y ybar(y), mbar(y), a(y), hv(y);
    pb.outer_grad_x(x, yt, xbar);
    pb.outer_grad_y(x, yt, ybar);
    require_finite(c, "outer_grad_x(x, y_K)", xbar);
    require_finite(c, "outer_grad_y(x, y_K)", ybar);
    detail::set_fill(mbar, 0.0);
    for (std::size_t s = segments; s-- > 0;) {
      const std::size_t begin = s * seg, end = std::min(K, begin + seg);
      if (segments > 1) {  // recompute the segment's iterates from its checkpoint
        Y& ys = a;         // a is free until the reverse sweep of this segment
        detail::set_copy(ws.checkpoints_[s * per_checkpoint], ys);
        if (momentum)
          detail::set_copy(ws.checkpoints_[s * per_checkpoint + 1], m);
        else
          detail::set_fill(m, 0.0);
        for (std::size_t t = begin; t < end; ++t) {
          detail::set_copy(ys, ws.tape_[t - begin]);
          if (t + 1 < end) {
            detail::inner_step(c, pb, x, ys, m, g, opt);
            ++res.recomputed_steps;
          }
        }
      }
      for (std::size_t t = end; t-- > begin;) {
        const Y& yprev = ws.tape_[t - begin];
        detail::set_copy(mbar, a);
        detail::set_axpby(-opt.learning_rate, ybar, 1.0, a);  // a = mbar - eta ybar
        pb.inner_cross(x, yprev, a, cross);
        detail::set_axpby(1.0, cross, 1.0, xbar);
        pb.inner_hvp(x, yprev, a, hv);
        detail::set_axpby(1.0, hv, 1.0, ybar);
        detail::set_copy(a, mbar);
        detail::set_scale(mbar, opt.momentum);
      }
    }
    require_finite(c, "the hypergradient", xbar);
    detail::set_copy(xbar, grad);
    detail::set_copy(yt, y);
    return res;
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
