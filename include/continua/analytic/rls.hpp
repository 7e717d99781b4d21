// Recursive least squares (multi-output ridge regression) that equals the joint solution
// W = (XᵀX + γI)⁻¹ XᵀY after any sequence of batches, with the update rule as a policy:
//   woodbury  keeps R = (C + γI)⁻¹ and W, one n x n Cholesky per batch (Zhuang et al., "ACIL:
//             Analytic Class-Incremental Learning with Absolute Memorization and Privacy
//             Protection", NeurIPS 2022, Eq. 10-12; Woodbury, 1950);
//   cholesky  keeps C = XᵀX and B = XᵀY, factors C + γI when the weights are read.
// Both take negative batches (exact unlearning) and whole statistics (federated merge).
#pragma once

#include <cmath>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <utility>

#include "continua/analytic/detail/matrix_ops.hpp"
#include "continua/analytic/inputs.hpp"
#include "continua/core/buffer.hpp"
#include "continua/core/error.hpp"
#include "continua/core/finite.hpp"
#include "continua/core/linalg.hpp"
#include "continua/core/span.hpp"
#include "continua/io/state.hpp"

namespace continua::analytic {

// Options of recursive_least_squares and the heads built on it: the ridge strength γ and the
// Woodbury policy's re-symmetrisation period.
struct rls_options {
  double gamma = 1.0;                   // ridge strength γ > 0
  std::size_t resymmetrize_every = 16;  // woodbury: batches between R <- (R + Rᵀ) / 2; 0 = never
  // Reject a factorisation whose diagonal spread (max/min)^2 (a lower bound on the condition
  // number) exceeds this over the type's epsilon: the solution would carry no correct digit.
  double max_condition_times_eps = 0.1;

  void validate(std::string_view component) const {
    require_option(std::isfinite(gamma) && gamma > 0, component, "gamma", gamma,
                   "must be finite and > 0");
    require_option(std::isfinite(max_condition_times_eps) && max_condition_times_eps > 0, component,
                   "max_condition_times_eps", max_condition_times_eps, "must be finite and > 0");
  }
};

// Thrown when data with too small a γ gives a system no digit of whose solution can be trusted.
class ill_conditioned : public numerical_error {
 public:
  using numerical_error::numerical_error;
};

namespace detail {

// Cholesky of `a` in place plus the conditioning guard; `a` is restored when either fails.
template <class T, class Space>
void guarded_cholesky(std::string_view context, matrix_view<T, Space> a, double limit,
                      buffer<T, Space>& workspace) {
  if (workspace.size() < a.size()) workspace = buffer<T, Space>(a.size());
  linalg::cholesky_factor(a, span<T, Space>(workspace.data(), workspace.size()));
  const auto [lo, hi] = diagonal_range(matrix_view<const T, Space>(a));
  const double ratio = double(hi) / double(lo);
  if (!(ratio * ratio * double(std::numeric_limits<T>::epsilon()) <= limit)) {
    throw ill_conditioned(
        std::string(context) + ": the regularised system of order " + std::to_string(a.rows()) +
        " is too ill-conditioned for this precision (Cholesky diagonal spread " +
        std::to_string(ratio) + "); increase gamma or use double. The learner is unchanged");
  }
}

// A recursively updated inverse must stay positive definite; a non-positive or non-finite
// diagonal means rounding has destroyed it (too small a γ for the data and precision).
template <class T, class Space>
void require_positive_diagonal(std::string_view context, matrix_view<const T, Space> r) {
  if (!(min_signed_diagonal(r) > T(0)))
    throw ill_conditioned(std::string(context) +
                          ": the updated inverse lost positive definiteness (too small a gamma "
                          "for this data and precision); the learner is unchanged");
}

}  // namespace detail

namespace detail {
// What validate_state of a policy state checks: a checkpoint holding NaN or Inf is refused at
// load, not at the next fit (which would only carry it into every weight).
template <class T, class Space>
void require_finite_state(std::string_view policy, std::string_view name,
                          const buffer<T, Space>& b) {
  if (const auto bad = find_non_finite(span<const T, Space>(b.data(), b.size())))
    throw non_finite_error("continua::analytic::" + std::string(policy) + "::state", name, *bad);
}
}  // namespace detail

// Woodbury policy: R = (C + γI)⁻¹ and W = R B are always current, so predictions need no
// solve. A batch (n rows) costs ~3 n d² + 3 n² d + n³ / 3 flops.
struct woodbury {
  static constexpr std::string_view name = "woodbury";

  template <class T, class Space>
  class state {
   public:
    state() = default;
    state(std::size_t features, std::size_t outputs, const rls_options& opt)
        : d_(features),
          k_(outputs),
          opt_(opt),
          r_(checked_mul(features, features, "continua::analytic::woodbury::state",
                         "features * features")),
          w_(checked_mul(features, outputs, "continua::analytic::woodbury::state",
                         "features * outputs")) {
      detail::set_identity(detail::view(r_, d_, d_), T(1.0 / opt.gamma));
    }

    std::size_t features() const { return d_; }
    std::size_t outputs() const { return k_; }

    // sign = +1 learns the batch, -1 unlearns it: with P = X R and S = I + sign P Xᵀ = L Lᵀ,
    //   R <- R - sign Pᵀ S⁻¹ P = R - sign VᵀV   and   W <- W + sign Vᵀ L⁻¹ (Y - X W),
    // where V = L⁻¹ P (because R_new Xᵀ = Pᵀ S⁻¹). VᵀV is a symmetric rank-n update (syrk: half
    // the flops of the general product, and R stays exactly symmetric). Everything is computed
    // into workspace and swapped in at the end.
    void update(std::string_view context, matrix_view<const T, Space> x,
                matrix_view<const T, Space> y, T sign) {
      using linalg::op;
      using linalg::triangle;
      const std::size_t n = x.rows();
      const auto p = ensure(p_, n * d_, n, d_);
      linalg::gemm(op::none, op::none, T(1), x, detail::view(std::as_const(r_), d_, d_), T(0), p);
      const auto s = ensure(s_, checked_mul(n, n, context, "rows * rows"), n, n);
      linalg::gemm(op::none, op::transpose, sign, matrix_view<const T, Space>(p), x, T(0), s);
      detail::add_diagonal(s, T(1));
      detail::guarded_cholesky(context, s, opt_.max_condition_times_eps, chol_work_);
      const matrix_view<const T, Space> l(s);
      // P is not needed after this: V overwrites it.
      linalg::triangular_solve(triangle::lower, op::none, l, p);
      const matrix_view<const T, Space> v(p);
      // E = L⁻¹ (Y - X W) (n x k), then W_new = W + sign Vᵀ E.
      const auto e = ensure(e_, checked_mul(n, k_, context, "rows * outputs"), n, k_);
      detail::copy_rows(y, e);
      if (k_ != 0) {
        linalg::gemm(op::none, op::none, T(-1), x, detail::view(std::as_const(w_), d_, k_), T(1),
                     e);
        linalg::triangular_solve(triangle::lower, op::none, l, e);
      }
      detail::copy(r_, r_next_);
      linalg::syrk(op::transpose, -sign, v, T(1), detail::view(r_next_, d_, d_));
      detail::copy(w_, w_next_);
      if (k_ != 0) {
        linalg::gemm(op::transpose, op::none, sign, v, matrix_view<const T, Space>(e), T(1),
                     detail::view(w_next_, d_, k_));
      }
      if (opt_.resymmetrize_every != 0 && ++since_symmetrized_ >= opt_.resymmetrize_every) {
        detail::symmetrize(detail::view(r_next_, d_, d_));
        since_symmetrized_ = 0;
      }
      detail::require_positive_diagonal(context, detail::view(std::as_const(r_next_), d_, d_));
      std::swap(r_, r_next_);
      std::swap(w_, w_next_);
    }

    // C <- C + sign Cc, B <- B + sign Bc, through R⁻¹ (a d x d re-inversion: statistics carry
    // no rows to apply Woodbury to).
    void add_statistics(std::string_view context, matrix_view<const T, Space> gram,
                        matrix_view<const T, Space> cross, T sign) {
      using linalg::op;
      // A = R⁻¹ = C + γI, B = A W.
      buffer<T, Space> a(d_ * d_);
      detail::set_identity(detail::view(a, d_, d_), T(1));
      buffer<T, Space> r = r_;
      detail::guarded_cholesky(context, detail::view(r, d_, d_), opt_.max_condition_times_eps,
                               chol_work_);
      linalg::cholesky_solve(detail::view(std::as_const(r), d_, d_), detail::view(a, d_, d_));
      buffer<T, Space> b(d_ * k_);
      if (k_ != 0)
        linalg::gemm(detail::view(std::as_const(a), d_, d_),
                     detail::view(std::as_const(w_), d_, k_), detail::view(b, d_, k_));
      add_scaled(a, gram, sign);
      add_scaled(b, cross, sign);
      detail::symmetrize(detail::view(a, d_, d_));
      detail::guarded_cholesky(context, detail::view(a, d_, d_), opt_.max_condition_times_eps,
                               chol_work_);
      buffer<T, Space> r_new(d_ * d_);
      detail::set_identity(detail::view(r_new, d_, d_), T(1));
      linalg::cholesky_solve(detail::view(std::as_const(a), d_, d_), detail::view(r_new, d_, d_));
      detail::symmetrize(detail::view(r_new, d_, d_));
      if (k_ != 0) {
        buffer<T, Space> w_new = b;
        linalg::cholesky_solve(detail::view(std::as_const(a), d_, d_), detail::view(w_new, d_, k_));
        w_ = std::move(w_new);
      }
      r_ = std::move(r_new);
    }

    // Grows (extra > 0) or drops trailing (extra < 0) output columns of W.
    void resize_outputs(std::size_t k) {
      w_ = detail::widened(w_, d_, k_, k);
      k_ = k;
    }

    matrix_view<const T, Space> weights() const { return detail::view(w_, d_, k_); }

    // The state a checkpoint holds (continua/io/state.hpp): the workspace is not part of it.
    template <class V>
    void describe_state(V& v) {
      v.field("outputs", k_);
      v.field("inverse", r_, {d_, d_});
      v.field("weights", w_, {d_, k_});
      v.field("since_symmetrized", since_symmetrized_);
    }
    void validate_state() const {
      detail::require_finite_state(name, "inverse", r_);
      detail::require_finite_state(name, "weights", w_);
      detail::require_symmetric_state("continua::analytic::woodbury::state", "inverse", r_, d_);
    }

    const buffer<T, Space>& inverse() const { return r_; }
    const buffer<T, Space>& weight_buffer() const { return w_; }
    std::size_t since_symmetrized() const { return since_symmetrized_; }

   private:
    static matrix_view<T, Space> ensure(buffer<T, Space>& b, std::size_t size, std::size_t rows,
                                        std::size_t cols) {
      if (b.size() < size) b = buffer<T, Space>(size);
      return {b.data(), rows, cols, layout::row_major};
    }
    void add_scaled(buffer<T, Space>& dst, matrix_view<const T, Space> src, T sign) {
      buffer<T, Space> tmp(src.size());
      detail::copy_rows(src, detail::view(tmp, src.rows(), src.cols()));
      detail::axpy(sign, tmp, dst);
    }

    std::size_t d_ = 0, k_ = 0;
    rls_options opt_{};
    buffer<T, Space> r_, w_;
    buffer<T, Space> r_next_, w_next_, p_, s_, e_, chol_work_;
    std::size_t since_symmetrized_ = 0;
  };
};

// Cholesky policy: C and B accumulate by syrk/gemm (~n d² + 2 n d k flops per batch, the
// cheapest possible), and W = (C + γI)⁻¹ B is solved when read (d³ / 3 + 2 d² k), then cached.
// A batch updates one triangle of C; the other is mirrored only when the whole C is read.
struct cholesky {
  static constexpr std::string_view name = "cholesky";

  template <class T, class Space>
  class state {
   public:
    state() = default;
    state(std::size_t features, std::size_t outputs, const rls_options& opt)
        : d_(features),
          k_(outputs),
          opt_(opt),
          c_(checked_mul(features, features, "continua::analytic::cholesky::state",
                         "features * features")),
          b_(checked_mul(features, outputs, "continua::analytic::cholesky::state",
                         "features * outputs")) {}

    std::size_t features() const { return d_; }
    std::size_t outputs() const { return k_; }

    void update(std::string_view, matrix_view<const T, Space> x, matrix_view<const T, Space> y,
                T sign) {
      using linalg::op;
      // No mirror pass per batch: for small batches it costs as much as the product itself.
      linalg::syrk(kept_triangle, op::transpose, sign, x, T(1), detail::view(c_, d_, d_));
      if (k_ != 0)
        linalg::gemm(op::transpose, op::none, sign, x, y, T(1), detail::view(b_, d_, k_));
      mirrored_ = false;
      solved_ = false;
    }

    void add_statistics(std::string_view, matrix_view<const T, Space> gram,
                        matrix_view<const T, Space> cross, T sign) {
      mirror();
      buffer<T, Space> g(gram.size()), c(cross.size());
      detail::copy_rows(gram, detail::view(g, d_, d_));
      detail::copy_rows(cross, detail::view(c, d_, k_));
      detail::axpy(sign, g, c_);
      detail::axpy(sign, c, b_);
      solved_ = false;
    }

    void resize_outputs(std::size_t k) {
      b_ = detail::widened(b_, d_, k_, k);
      k_ = k;
      solved_ = false;
    }

    // Solves on first read after a change and caches W (hence const with mutable members);
    // throws (state unchanged) when C + γI is not positive definite or too ill-conditioned for T.
    matrix_view<const T, Space> weights() const {
      if (!solved_) {
        mirror();
        detail::copy(c_, factor_);
        const auto a = detail::view(factor_, d_, d_);
        detail::add_diagonal(a, T(opt_.gamma));
        detail::guarded_cholesky("continua::analytic::cholesky::weights", a,
                                 opt_.max_condition_times_eps, chol_work_);
        detail::copy(b_, w_);
        if (k_ != 0)
          linalg::cholesky_solve(matrix_view<const T, Space>(a), detail::view(w_, d_, k_));
        solved_ = true;
      }
      return detail::view(std::as_const(w_), d_, k_);
    }

    // The state a checkpoint holds (continua/io/state.hpp); the cached W is solved again on the
    // first read after a load.
    template <class V>
    void describe_state(V& v) {
      if constexpr (!V::loading) mirror();  // the file holds the whole C, as it always has
      v.field("outputs", k_);
      v.field("gram", c_, {d_, d_});
      v.field("cross", b_, {d_, k_});
      if constexpr (V::loading) {
        mirrored_ = true;
        solved_ = false;
      }
    }
    void validate_state() const {
      mirror();
      detail::require_finite_state(name, "gram", c_);
      detail::require_finite_state(name, "cross", b_);
      detail::require_symmetric_state("continua::analytic::cholesky::state", "gram", c_, d_);
    }

    // C in full (row-major d x d), mirrored on first read after an update: like weights(),
    // concurrent reads of one state must be serialised.
    const buffer<T, Space>& gram() const {
      mirror();
      return c_;
    }
    const buffer<T, Space>& cross() const { return b_; }
    // Marks the cached W stale (benchmarks time the solve this way).
    void invalidate() { solved_ = false; }

   private:
    // The triangle of the row-major C that update() keeps current: the lower one of its
    // column-major storage, which the full linalg::syrk computes before mirroring, so the
    // mirrored C (and a checkpoint of it) is bitwise what mirroring after every batch gave.
    static constexpr linalg::triangle kept_triangle = linalg::triangle::upper;

    // Completes C from kept_triangle when update() has left the other one stale.
    void mirror() const {
      if (mirrored_) return;
      linalg::mirror_triangle(kept_triangle, detail::view(c_, d_, d_));
      mirrored_ = true;
    }

    std::size_t d_ = 0, k_ = 0;
    rls_options opt_{};
    // C (see mirror()) is mutable because reading it in full completes it.
    mutable buffer<T, Space> c_;
    buffer<T, Space> b_;
    mutable bool mirrored_ = true;
    // The cache of weights(): W and its scratch.
    mutable buffer<T, Space> factor_, w_, chol_work_;
    mutable bool solved_ = false;
  };
};

// An update-rule policy: a name and a state<T, Space> with the members recursive_least_squares
// calls, and describe_state (continua/io/state.hpp) for checkpoints, checked for state<double,
// host_space> so that the compiler's message names the member a policy lacks (and, as "P = ...",
// the policy).
template <class P>
concept rls_policy = requires {
  { P::name } -> std::convertible_to<std::string_view>;
  typename P::template state<double, host_space>;
}
&&requires(typename P::template state<double, host_space>& s,
           const typename P::template state<double, host_space>& cs,
           matrix_view<const double, host_space> m, std::string_view context, std::size_t n,
           double sign) {
  // clang-format off
  requires std::constructible_from<typename P::template state<double, host_space>,
                                   std::size_t, std::size_t, const rls_options&>;
  // clang-format on
  { cs.features() } -> std::convertible_to<std::size_t>;
  { cs.outputs() } -> std::convertible_to<std::size_t>;
  s.update(context, m, m, sign);          // += or -= (sign) the batch (x, y)
  s.add_statistics(context, m, m, sign);  // += or -= (sign) the statistics (XᵀX, XᵀY)
  s.resize_outputs(n);
  { cs.weights() } -> std::convertible_to<matrix_view<const double, host_space>>;
  requires io::describes_state<typename P::template state<double, host_space>>;
};

// Multi-output ridge regression fitted batch by batch; equals the joint solution at every step.
template <class T, rls_policy Policy = cholesky, class Space = host_space>
class recursive_least_squares {
 public:
  using value_type = T;
  using policy = Policy;
  using memory_space = Space;

  recursive_least_squares(rls_options opt, std::size_t features, std::size_t outputs)
      : opt_((opt.validate("continua::analytic::recursive_least_squares"), opt)),
        state_(features, outputs, opt) {
    require(features > 0, "continua::analytic::recursive_least_squares", "features must be > 0");
  }

  std::size_t features() const { return state_.features(); }
  std::size_t outputs() const { return state_.outputs(); }
  const rls_options& options() const { return opt_; }

  // Learns rows x (n x features) with targets y (n x m), m >= outputs(). Extra columns of y are
  // new outputs: earlier rows count as having target 0 there (G-ACIL class growth).
  void fit(matrix_input<T, Space> x, matrix_input<T, Space> y) {
    constexpr std::string_view context = "continua::analytic::recursive_least_squares::fit";
    require(y.cols() >= outputs(), context,
            "y has " + std::to_string(y.cols()) + " columns but the learner already has " +
                std::to_string(outputs()) + " outputs");
    with_outputs(y.cols(), [&] { apply(context, x, y, T(1)); });
  }
  // Removes rows that were learned before: the result equals never having learned them.
  void unlearn(matrix_input<T, Space> x, matrix_input<T, Space> y) {
    apply("continua::analytic::recursive_least_squares::unlearn", x, y, T(-1));
  }
  // Adds (sign = +1) or removes (-1) whole statistics: gram = XᵀX (d x d), cross = XᵀY (d x k).
  void add_statistics(matrix_view<const T, Space> gram, matrix_view<const T, Space> cross,
                      T sign = T(1)) {
    constexpr std::string_view context =
        "continua::analytic::recursive_least_squares::add_statistics";
    require_same_size(context, "rows of gram", gram.rows(), "features", features());
    require_same_size(context, "columns of gram", gram.cols(), "features", features());
    require_same_size(context, "rows of cross", cross.rows(), "features", features());
    require(cross.cols() >= outputs() && (sign > T(0) || cross.cols() == outputs()), context,
            "cross has " + std::to_string(cross.cols()) + " columns for a learner with " +
                std::to_string(outputs()) + " outputs (more are allowed only when adding)");
    require_finite_view(context, "gram", gram);
    require_finite_view(context, "cross", cross);
    with_outputs(cross.cols(), [&] { state_.add_statistics(context, gram, cross, sign); });
  }
  // New target columns; earlier rows count as having target 0 there.
  void add_outputs(std::size_t extra) { state_.resize_outputs(outputs() + extra); }

  // W (features x outputs, row-major): valid until the next call that changes the learner (fit,
  // unlearn, add_statistics, add_outputs, a checkpoint load, assignment). The Cholesky policy
  // solves and caches W on the first read after a change, so concurrent reads of one learner
  // must be serialised.
  matrix_view<const T, Space> weights() const { return state_.weights(); }

  // scores (n x outputs, either storage order) = x W.
  void predict(matrix_input<T, Space> x, matrix_output<T, Space> scores) const {
    constexpr std::string_view context = "continua::analytic::recursive_least_squares::predict";
    detail::require_batch(context, x, features());
    const auto w = weights();
    linalg::gemm(x, w, scores);
  }

  typename Policy::template state<T, Space>& policy_state() { return state_; }
  const typename Policy::template state<T, Space>& policy_state() const { return state_; }

  // Checkpoints (continua::io::save / io::load): the policy state, in a learner with the same
  // policy, γ and features (the scalar type is checked by the records' element type).
  static constexpr std::string_view checkpoint_kind = "analytic.recursive_least_squares";
  static constexpr std::uint32_t checkpoint_schema = 1;
  template <class V>
  void describe_state(V& v) {
    v.expect("policy", Policy::name);
    v.expect("gamma", opt_.gamma);
    v.expect("features", static_cast<std::uint64_t>(features()));
    v.field("state", state_);
  }

 private:
  // Runs f with the output count raised to k; a throwing f leaves the count (and W) as before.
  template <class F>
  void with_outputs(std::size_t k, F&& f) {
    const std::size_t before = outputs();
    if (k > before) state_.resize_outputs(k);
    try {
      f();
    } catch (...) {
      if (outputs() != before) state_.resize_outputs(before);
      throw;
    }
  }
  static void require_finite_view(std::string_view context, std::string_view name,
                                  matrix_view<const T, Space> m) {
    if (const auto bad = find_non_finite(span<const T, Space>(m.data(), m.size())))
      throw non_finite_error(context, name, *bad);
  }
  void apply(std::string_view context, matrix_view<const T, Space> x, matrix_view<const T, Space> y,
             T sign) {
    detail::require_batch(context, x, features());
    require_same_size(context, "rows of y", y.rows(), "rows of x", x.rows());
    require_same_size(context, "columns of y", y.cols(), "outputs", outputs());
    require_finite_view(context, "y", y);
    state_.update(context, x, y, sign);
  }

  rls_options opt_;
  typename Policy::template state<T, Space> state_;
};

}  // namespace continua::analytic
