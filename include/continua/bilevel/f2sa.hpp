// F2SA, a fully first-order bilevel method (value-function penalty, two inner sequences, growing
// multiplier). Kwon, Kwon, Wright & Nowak, "A Fully First-Order Method for Stochastic Bilevel
// Optimization", ICML 2023.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "continua/bilevel/problem.hpp"
#include "continua/core/error.hpp"
#include "continua/core/finite.hpp"
#include "continua/core/parameter_set.hpp"
#include "continua/core/vector_ops.hpp"

namespace continua::bilevel {

// F2SA needs grad_x g besides the first-order members (no second derivatives anywhere).
template <class Pb, class X, class Y>
concept penalty_problem = first_order_problem<Pb, X, Y> && has_inner_grad_x<Pb, X, Y>;

namespace detail {
template <class Pb, class X, class Y>
constexpr bool check_penalty_problem() {
  if constexpr (!check_first_order_problem<Pb, X, Y>()) {
    return false;
  } else {
    static_assert(has_inner_grad_x<Pb, X, Y>,
                  "continua::bilevel: problem Pb lacks `void inner_grad_x(const X& x, const Y& y, "
                  "X& out) const` (out = grad_x g(x, y)), which the penalty methods need");
    return penalty_problem<Pb, X, Y>;
  }
}
}  // namespace detail

// The gradient of the penalty value function L*_lambda(x) = min_y f(x, y) + lambda (g(x, y) -
// min_z g(x, z)) at the minimisers y = y_lambda(x), z = y*(x):
//   out = grad_x f(x, y) + lambda (grad_x g(x, y) - grad_x g(x, z)).
// For strongly convex g it differs from the hypergradient by O(1 / lambda) (Kwon et al.,
// Lemma 3.1).
template <class Pb, class X, class Y>
void penalty_gradient(const Pb& pb, const X& x, const Y& y, const Y& z, double lambda, X& out) {
  constexpr std::string_view c = "continua::bilevel::penalty_gradient";
  if constexpr (detail::check_penalty_problem<Pb, X, Y>()) {
    require(std::isfinite(lambda) && lambda > 0, c, "lambda must be finite and > 0");
    require_same_structure(c, "x", x, "out", out);
    require_same_structure(c, "y", y, "z", z);
    require_finite(c, "x", x);
    require_finite(c, "y", y);
    require_finite(c, "z", z);
    X d(x), gz(x);
    pb.outer_grad_x(x, y, d);
    pb.inner_grad_x(x, y, gz);
    detail::set_axpby(lambda, gz, 1.0, d);
    pb.inner_grad_x(x, z, gz);
    detail::set_axpby(-lambda, gz, 1.0, d);
    detail::set_copy(d, out);
  }
}

// F2SA's sequences and multiplier; reused across outer steps (memory: two copies of y).
// Checkpointable (docs/checkpoints.md): continua::io::save / load of the state resume a run bit
// for bit; the file must hold the same tensor count and sizes.
template <class Y>
struct f2sa_state {
  Y y;                  // tracks y_lambda = argmin f + lambda g
  Y z;                  // tracks y* = argmin g
  double lambda = 0;    // current multiplier
  std::uint64_t k = 0;  // outer steps taken

  static constexpr std::string_view checkpoint_kind = "bilevel.f2sa_state";
  static constexpr std::uint32_t checkpoint_schema = 1;
  // Records: tensors (expected), lambda, k, y/<i>, z/<i>.
  template <class V>
  void describe_state(V& v) {
    v.expect("tensors", static_cast<std::uint64_t>(tensor_count(y)));
    v.field("lambda", lambda);
    v.field("k", k);
    detail::describe_set(v, "y", y);
    detail::describe_set(v, "z", z);
  }
  // A loaded state must have lambda > 0, finite sequences, y, z of one structure, and a step
  // count a run can reach (at its maximum the next step would wrap it to 0 and restart the
  // decaying rates).
  void validate_state() const {
    constexpr std::string_view c = "continua::bilevel::f2sa_state";
    require(std::isfinite(lambda) && lambda > 0, c, "lambda must be finite and > 0");
    require(k < std::numeric_limits<std::uint64_t>::max(), c, "the step count is at its maximum");
    require_same_structure(c, "y", y, "z", z);
    require(all_finite(y) && all_finite(z), c, "the sequences hold NaN/Inf");
  }
};

// Defaults as in benchmark_bilevel's F2SA solver (step_size 0.01, outer_ratio 1, lmbda0 1,
// delta_lmbda 0.1, n_inner_steps 10, decay exponents 5/7, 4/7, 4/7, 1/7), with their schedule
// lr_k = lr / (k + 1)^p, k = outer steps taken (tests/bilevel/test_f2sa.cpp pins it).
struct f2sa_options {
  double lr_inner = 0.01;  // y: step on f + lambda g
  double lr_star = 0.01;   // z: step on g
  double lr_outer = 0.01;  // x
  double lambda0 = 1;
  double delta_lambda = 0.1;  // multiplier increment per outer step, decayed
  std::size_t inner_steps = 10;
  double exponent_inner = 5.0 / 7, exponent_star = 4.0 / 7, exponent_outer = 4.0 / 7,
         exponent_lambda = 1.0 / 7;
  // Divide the y step by lambda (ours, off by default as in the benchmark): f + lambda g has
  // Lipschitz constant ~ lambda L_g, so a fixed step diverges once lambda L_g lr_inner >= 2.
  bool normalize_inner_step = false;
};

// The F2SA solver: init(y0) then step(pb, x, state) updates x in place.
class f2sa {
 public:
  f2sa() : f2sa(f2sa_options{}) {}
  // Validates the options.
  explicit f2sa(f2sa_options opt) : opt_(opt) {
    constexpr std::string_view c = "continua::bilevel::f2sa";
    for (const auto& [name, v] :
         {std::pair{"lr_inner", opt_.lr_inner}, std::pair{"lr_star", opt_.lr_star},
          std::pair{"lr_outer", opt_.lr_outer}, std::pair{"lambda0", opt_.lambda0}})
      require_option(std::isfinite(v) && v > 0, c, name, v, "must be finite and > 0");
    for (const auto& [name, v] : {std::pair{"delta_lambda", opt_.delta_lambda},
                                  std::pair{"exponent_inner", opt_.exponent_inner},
                                  std::pair{"exponent_star", opt_.exponent_star},
                                  std::pair{"exponent_outer", opt_.exponent_outer},
                                  std::pair{"exponent_lambda", opt_.exponent_lambda}})
      require_option(std::isfinite(v) && v >= 0, c, name, v, "must be finite and >= 0");
    require_option(opt_.inner_steps > 0, c, "inner_steps", opt_.inner_steps, "must be > 0");
  }

  // The options in force.
  const f2sa_options& opts() const { return opt_; }

  // Both sequences start at y0; lambda = lambda0.
  template <class Y>
  f2sa_state<Y> init(const Y& y0) const {
    require_finite("continua::bilevel::f2sa::init", "y0", y0);
    return {y0, y0, opt_.lambda0, 0};
  }

  // One outer step: inner_steps gradient steps on y (f + lambda g, step lr_inner_k, divided by
  // lambda when normalize_inner_step) and on z (g, step lr_star_k); then
  // x -= lr_outer_k * penalty_gradient; lambda += delta_lambda_k (rates decay as (k + 1)^-p).
  // Writes the direction used into `direction` when given. A NaN/Inf anywhere is a
  // numerical_error with x and the state unchanged.
  template <class Pb, class X, class Y>
  void step(const Pb& pb, X& x, f2sa_state<Y>& s, X* direction = nullptr) const {
    constexpr std::string_view c = "continua::bilevel::f2sa::step";
    if constexpr (detail::check_penalty_problem<Pb, X, Y>()) {
      require_finite(c, "x", x);
      require_same_structure(c, "y (state)", s.y, "z (state)", s.z);
      require(std::isfinite(s.lambda) && s.lambda > 0, c, "state.lambda must be finite and > 0");
      if (direction != nullptr) require_same_structure(c, "x", x, "direction", *direction);
      const double k1 = static_cast<double>(s.k) + 1;
      const double lr_y = opt_.lr_inner / std::pow(k1, opt_.exponent_inner) /
                          (opt_.normalize_inner_step ? s.lambda : 1.0);
      const double lr_z = opt_.lr_star / std::pow(k1, opt_.exponent_star);
      Y y(s.y), z(s.z), gf(s.y), gg(s.y);
      for (std::size_t t = 0; t < opt_.inner_steps; ++t) {
        pb.outer_grad_y(x, y, gf);
        pb.inner_grad(x, y, gg);
        detail::set_axpby(s.lambda, gg, 1.0, gf);  // grad of f + lambda g
        detail::set_axpby(-lr_y, gf, 1.0, y);
        pb.inner_grad(x, z, gg);
        detail::set_axpby(-lr_z, gg, 1.0, z);
      }
      const auto diverged = [&] {
        return numerical_error(std::string(c) +
                               ": NaN/Inf in the inner sequences or the direction (steps too "
                               "large?); x and the state are unchanged");
      };
      if (!all_finite(y) || !all_finite(z)) throw diverged();
      X d(x);
      penalty_gradient(pb, x, y, z, s.lambda, d);
      if (!all_finite(d)) throw diverged();
      detail::set_axpby(-opt_.lr_outer / std::pow(k1, opt_.exponent_outer), d, 1.0, x);
      s.y = std::move(y);
      s.z = std::move(z);
      s.lambda += opt_.delta_lambda / std::pow(k1, opt_.exponent_lambda);
      ++s.k;
      if (direction != nullptr) detail::set_copy(d, *direction);
    }
  }

 private:
  f2sa_options opt_;
};

}  // namespace continua::bilevel
