// ScaleBiO, a fully first-order min-max method for bilevel data reweighting (per-source softmax or
// per-sample sigmoid weights). Pan et al., "ScaleBiO: Scalable Bilevel Optimization for LLM Data
// Reweighting", arXiv 2406.19976 (2024), ACL 2025. Only the abstract and a summary of the min-max
// form were available to us, so no equation numbers are cited; the schedules are F2SA's.
#pragma once

#include <algorithm>
#include <cmath>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "continua/bilevel/problem.hpp"
#include "continua/core/error.hpp"
#include "continua/core/finite.hpp"
#include "continua/core/parameter_set.hpp"

namespace continua::bilevel {

// How the logits w become the coefficients p_i(w) of the training losses in
// g_w(theta) = sum_i p_i(w) l_i(theta).
enum class data_weighting {
  softmax,  // per source: p = softmax(w), sum_i p_i = 1
  sigmoid,  // per sample: p_i = sigmoid(w_i) / m, each sample switched on or off on its own
};

// The members of a data-reweighting problem over a model P (a parameter set), with m sources (or
// samples) i = 0 .. m - 1 and a validation loss f. m = source_count().
template <class Pb>
concept has_source_count = requires(const Pb& pb) {
  { pb.source_count() } -> std::convertible_to<std::size_t>;
};
// out[i] = l_i(theta), the mean training loss of source i (out.size() == m).
template <class Pb, class P>
concept has_source_losses = requires(const Pb& pb, const P& theta, std::span<double> out) {
  pb.source_losses(theta, out);
};
// out = sum_i weights[i] grad l_i(theta): one backward pass of the weighted loss.
template <class Pb, class P>
concept has_weighted_grad = requires(const Pb& pb, const P& theta, std::span<const double> weights,
                                     P& out) {
  pb.weighted_grad(theta, weights, out);
};
// out = grad f(theta), the validation loss's gradient.
template <class Pb, class P>
concept has_validation_grad = requires(const Pb& pb, const P& theta, P& out) {
  pb.validation_grad(theta, out);
};

// A data-reweighting problem: min_w f(theta*(w)), theta*(w) = argmin_theta sum_i p_i(w) l_i(theta).
template <class Pb, class P>
concept reweighting_problem = owning_set<P> && has_source_count<Pb> && has_source_losses<Pb, P> &&
    has_weighted_grad<Pb, P> && has_validation_grad<Pb, P>;

namespace detail {
template <class Pb, class P>
constexpr bool check_reweighting_problem() {
  static_assert(owning_set<P>,
                "continua::bilevel: the model P must be a parameter set whose copies own their "
                "elements (std::vector, Eigen, xtensor, Thrust vectors or tuples of them)");
  static_assert(has_source_count<Pb>,
                "continua::bilevel: problem Pb lacks `std::size_t source_count() const` (m)");
  static_assert(has_source_losses<Pb, P>,
                "continua::bilevel: problem Pb lacks `void source_losses(const P& theta, "
                "std::span<double> out) const` (out[i] = l_i(theta))");
  static_assert(has_weighted_grad<Pb, P>,
                "continua::bilevel: problem Pb lacks `void weighted_grad(const P& theta, "
                "std::span<const double> weights, P& out) const` (out = sum_i weights[i] grad "
                "l_i(theta))");
  static_assert(has_validation_grad<Pb, P>,
                "continua::bilevel: problem Pb lacks `void validation_grad(const P& theta, P& "
                "out) const` (out = grad f(theta))");
  return reweighting_problem<Pb, P>;
}

inline double stable_sigmoid(double t) {
  if (t >= 0) return 1 / (1 + std::exp(-t));
  const double e = std::exp(t);
  return e / (1 + e);
}

// out = J_p(w)^T v, the pullback of v through the weighting: softmax p_i (v_i - p.v), sigmoid
// sigmoid(w_i) (1 - sigmoid(w_i)) v_i / m. p = data_weights(mode, w).
inline void weights_pullback(data_weighting mode, std::span<const double> w,
                             std::span<const double> p, std::span<const double> v,
                             std::span<double> out) {
  const std::size_t m = w.size();
  if (mode == data_weighting::softmax) {
    double pv = 0;
    for (std::size_t i = 0; i < m; ++i) pv += p[i] * v[i];
    for (std::size_t i = 0; i < m; ++i) out[i] = p[i] * (v[i] - pv);
  } else {
    for (std::size_t i = 0; i < m; ++i) {
      const double s = stable_sigmoid(w[i]);
      out[i] = s * (1 - s) * v[i] / static_cast<double>(m);
    }
  }
}
}  // namespace detail

// Writes p(w) into out (same size as w): softmax (max subtracted, so large logits do not
// overflow) or sigmoid(w_i) / m. Throws on an empty or non-finite w or a size mismatch.
inline void data_weights(data_weighting mode, std::span<const double> w, std::span<double> out) {
  constexpr std::string_view c = "continua::bilevel::data_weights";
  require(!w.empty(), c, "there must be at least one source (w is empty)");
  require_same_size(c, "w", w.size(), "out", out.size());
  require(std::all_of(w.begin(), w.end(), [](double t) { return std::isfinite(t); }), c,
          "w holds NaN/Inf");
  const std::size_t m = w.size();
  if (mode == data_weighting::softmax) {
    const double top = *std::max_element(w.begin(), w.end());
    double sum = 0;
    for (std::size_t i = 0; i < m; ++i) sum += out[i] = std::exp(w[i] - top);
    for (std::size_t i = 0; i < m; ++i) out[i] /= sum;
  } else {
    for (std::size_t i = 0; i < m; ++i)
      out[i] = detail::stable_sigmoid(w[i]) / static_cast<double>(m);
  }
}

// A reweighting problem seen as a bilevel problem with x = w (std::vector<double> logits) and
// y = theta: g(w, theta) = sum_i p_i(w) l_i(theta), f(w, theta) = f(theta). It has the members
// of penalty_problem (inner_grad, outer_grad_x = 0, outer_grad_y, inner_grad_x = J_p^T l), so
// penalty_gradient gives ScaleBiO's w-gradient, and finite_difference_products turns it into a
// bilevel_problem for implicit_hypergradient. Holds a pointer: `pb` must outlive the adaptor.
template <class Pb>
class reweighting_bilevel {
 public:
  // Views `pb` under the weighting `mode`.
  reweighting_bilevel(const Pb& pb, data_weighting mode) : pb_(&pb), mode_(mode) {}

  // out = grad_theta g = sum_i p_i(w) grad l_i(theta).
  template <class P>
  void inner_grad(const std::vector<double>& w, const P& theta, P& out) const {
    require_same_size("continua::bilevel::reweighting_bilevel::inner_grad", "w", w.size(),
                      "source_count()", static_cast<std::size_t>(pb_->source_count()));
    std::vector<double> p(w.size());
    data_weights(mode_, w, p);
    pb_->weighted_grad(theta, std::span<const double>(p), out);
  }
  // out = grad_w f = 0 (the validation loss does not see the weights).
  template <class P>
  void outer_grad_x(const std::vector<double>&, const P&, std::vector<double>& out) const {
    std::fill(out.begin(), out.end(), 0.0);
  }
  // out = grad_theta f.
  template <class P>
  void outer_grad_y(const std::vector<double>&, const P& theta, P& out) const {
    pb_->validation_grad(theta, out);
  }
  // out = grad_w g = J_p(w)^T l(theta).
  template <class P>
  void inner_grad_x(const std::vector<double>& w, const P& theta, std::vector<double>& out) const {
    require_same_size("continua::bilevel::reweighting_bilevel::inner_grad_x", "w", w.size(),
                      "source_count()", static_cast<std::size_t>(pb_->source_count()));
    require_same_size("continua::bilevel::reweighting_bilevel::inner_grad_x", "w", w.size(), "out",
                      out.size());
    std::vector<double> p(w.size()), l(w.size());
    data_weights(mode_, w, p);
    pb_->source_losses(theta, std::span<double>(l));
    detail::weights_pullback(mode_, w, p, l, out);
  }

  // The weighting in use.
  data_weighting weighting() const { return mode_; }

 private:
  const Pb* pb_;
  data_weighting mode_;
};

// ScaleBiO's iterates: logits w, model theta and its penalty copy u (memory: two model copies),
// the multiplier lambda and the step count. Checkpointable (docs/checkpoints.md): io::save / load
// resume a run bit for bit; the file must hold the same tensor count and sizes.
template <class P>
struct scalebio_state {
  std::vector<double> w;  // logits of the data weights
  P theta;                // tracks theta_lambda(w) = argmin f + lambda g_w
  P u;                    // tracks u*(w) = argmin g_w (the max player)
  double lambda = 0;      // current multiplier
  std::uint64_t k = 0;    // outer steps taken

  static constexpr std::string_view checkpoint_kind = "bilevel.scalebio_state";
  static constexpr std::uint32_t checkpoint_schema = 1;
  // Records: tensors (expected), lambda, k, w/0, theta/<i>, u/<i>.
  template <class V>
  void describe_state(V& v) {
    v.expect("tensors", static_cast<std::uint64_t>(tensor_count(theta)));
    v.field("lambda", lambda);
    v.field("k", k);
    detail::describe_set(v, "w", w);
    detail::describe_set(v, "theta", theta);
    detail::describe_set(v, "u", u);
  }
  // A loaded state must have lambda > 0, a non-empty finite w, finite theta, u of one structure.
  void validate_state() const {
    constexpr std::string_view c = "continua::bilevel::scalebio_state";
    require(std::isfinite(lambda) && lambda > 0, c, "lambda must be finite and > 0");
    require(!w.empty(), c, "w is empty");
    require_same_structure(c, "theta", theta, "u", u);
    require(all_finite(w) && all_finite(theta) && all_finite(u), c, "the iterates hold NaN/Inf");
  }
};

// Defaults: single loop (one step of each player per iteration, as in ScaleBiO); rates, multiplier
// schedule and decay exponents as f2sa_options (benchmark_bilevel's F2SA), since the ScaleBiO
// text available to us gives no schedule; the theta step divided by lambda by default.
struct scalebio_options {
  data_weighting weighting = data_weighting::softmax;
  double lr_theta = 0.01;  // theta: step on f + lambda g_w (divided by lambda, see below)
  double lr_u = 0.01;      // u: step on g_w
  double lr_w = 0.01;      // w: step on lambda (grad_w g_w(theta) - grad_w g_w(u))
  double lambda0 = 1;
  double delta_lambda = 0.1;    // multiplier increment per outer step, decayed
  std::size_t inner_steps = 1;  // theta and u steps per w step
  double exponent_theta = 5.0 / 7, exponent_u = 4.0 / 7, exponent_w = 4.0 / 7,
         exponent_lambda = 1.0 / 7;
  // f + lambda g has Lipschitz constant ~ lambda L_g: a fixed theta step diverges as lambda grows.
  bool normalize_theta_step = true;
};

// The ScaleBiO solver: init(w0, theta0) then step(pb, state). Solves
//   min_{w, theta} max_u  L(w, theta, u) = f(theta) + lambda (g_w(theta) - g_w(u)),
// the value-function penalty of f2sa.hpp with x = w, y = theta, z = u.
class scalebio {
 public:
  scalebio() : scalebio(scalebio_options{}) {}
  // Validates the options.
  explicit scalebio(scalebio_options opt) : opt_(opt) {
    constexpr std::string_view c = "continua::bilevel::scalebio";
    require_option(
        opt_.weighting == data_weighting::softmax || opt_.weighting == data_weighting::sigmoid, c,
        "weighting", static_cast<int>(opt_.weighting), "must be softmax or sigmoid");
    for (const auto& [name, v] :
         {std::pair{"lr_theta", opt_.lr_theta}, std::pair{"lr_u", opt_.lr_u},
          std::pair{"lr_w", opt_.lr_w}, std::pair{"lambda0", opt_.lambda0}})
      require_option(std::isfinite(v) && v > 0, c, name, v, "must be finite and > 0");
    for (const auto& [name, v] :
         {std::pair{"delta_lambda", opt_.delta_lambda},
          std::pair{"exponent_theta", opt_.exponent_theta},
          std::pair{"exponent_u", opt_.exponent_u}, std::pair{"exponent_w", opt_.exponent_w},
          std::pair{"exponent_lambda", opt_.exponent_lambda}})
      require_option(std::isfinite(v) && v >= 0, c, name, v, "must be finite and >= 0");
    require_option(opt_.inner_steps > 0, c, "inner_steps", opt_.inner_steps, "must be > 0");
  }

  // The options in force.
  const scalebio_options& opts() const { return opt_; }

  // w = w0 (one logit per source or sample), theta = u = theta0, lambda = lambda0.
  template <class P>
  scalebio_state<P> init(std::vector<double> w0, const P& theta0) const {
    constexpr std::string_view c = "continua::bilevel::scalebio::init";
    require(!w0.empty(), c, "w0 is empty: there must be at least one source");
    require_finite(c, "w0", w0);
    require_finite(c, "theta0", theta0);
    return {std::move(w0), theta0, theta0, opt_.lambda0, 0};
  }

  // The data weights p(w) of a state (softmax, or sigmoid(w_i) / m).
  template <class P>
  std::vector<double> weights(const scalebio_state<P>& s) const {
    std::vector<double> p(s.w.size());
    data_weights(opt_.weighting, s.w, p);
    return p;
  }

  // One outer step (rates decay as (k + 1)^-p):
  //   inner_steps times:  theta -= lr_theta_k / lambda * (grad f(theta) + lambda grad g_w(theta)),
  //                       u     -= lr_u_k * grad g_w(u)            (ascent of L in u);
  //   then w -= lr_w_k * lambda J_p(w)^T (l(theta) - l(u)) (= grad_w L), lambda += delta_lambda_k.
  // Writes grad_w L into `direction` when given. Sizes are checked first (w against
  // pb.source_count()); a NaN/Inf anywhere is a numerical_error with the state unchanged.
  template <class Pb, class P>
  void step(const Pb& pb, scalebio_state<P>& s, std::vector<double>* direction = nullptr) const {
    constexpr std::string_view c = "continua::bilevel::scalebio::step";
    if constexpr (detail::check_reweighting_problem<Pb, P>()) {
      require_same_size(c, "w (state)", s.w.size(), "pb.source_count()",
                        static_cast<std::size_t>(pb.source_count()));
      require_same_structure(c, "theta (state)", s.theta, "u (state)", s.u);
      require(std::isfinite(s.lambda) && s.lambda > 0, c, "state.lambda must be finite and > 0");
      require_finite(c, "w (state)", s.w);
      require_finite(c, "theta (state)", s.theta);
      require_finite(c, "u (state)", s.u);
      if (direction != nullptr)
        require_same_size(c, "w (state)", s.w.size(), "direction", direction->size());
      const double k1 = static_cast<double>(s.k) + 1;
      const double lr_theta = opt_.lr_theta / std::pow(k1, opt_.exponent_theta) /
                              (opt_.normalize_theta_step ? s.lambda : 1.0);
      const double lr_u = opt_.lr_u / std::pow(k1, opt_.exponent_u);
      std::vector<double> p(s.w.size());
      data_weights(opt_.weighting, s.w, p);
      const std::span<const double> pc(p);
      P theta(s.theta), u(s.u), gf(s.theta), gg(s.theta);
      for (std::size_t t = 0; t < opt_.inner_steps; ++t) {
        pb.validation_grad(theta, gf);
        pb.weighted_grad(theta, pc, gg);
        detail::set_axpby(s.lambda, gg, 1.0, gf);  // grad of f + lambda g_w
        detail::set_axpby(-lr_theta, gf, 1.0, theta);
        pb.weighted_grad(u, pc, gg);
        detail::set_axpby(-lr_u, gg, 1.0, u);
      }
      const auto diverged = [&] {
        return numerical_error(std::string(c) +
                               ": NaN/Inf in theta, u or the w-gradient (steps too large, or the "
                               "problem returned NaN/Inf); the state is unchanged");
      };
      if (!all_finite(theta) || !all_finite(u)) throw diverged();
      std::vector<double> d(s.w.size());
      {
        // grad_w L = lambda J_p^T (l(theta) - l(u)) (penalty_gradient's formula; grad_w f = 0).
        std::vector<double> lt(s.w.size()), lu(s.w.size());
        pb.source_losses(theta, std::span<double>(lt));
        pb.source_losses(u, std::span<double>(lu));
        for (std::size_t i = 0; i < lt.size(); ++i) lt[i] = s.lambda * (lt[i] - lu[i]);
        detail::weights_pullback(opt_.weighting, s.w, p, lt, d);
      }
      if (!all_finite(d)) throw diverged();
      const double lr_w = opt_.lr_w / std::pow(k1, opt_.exponent_w);
      std::vector<double> w(s.w);
      for (std::size_t i = 0; i < w.size(); ++i) w[i] -= lr_w * d[i];
      if (!all_finite(w)) throw diverged();
      s.w = std::move(w);
      s.theta = std::move(theta);
      s.u = std::move(u);
      s.lambda += opt_.delta_lambda / std::pow(k1, opt_.exponent_lambda);
      ++s.k;
      if (direction != nullptr) *direction = std::move(d);
    }
  }

 private:
  scalebio_options opt_;
};

}  // namespace continua::bilevel
