// multi_normalize: stateless gradient multi-normalization; each matrix-shaped gradient is driven
// by alternating row/column l2 normalisation to a fixed point (SR-Sinkhorn), or row-standardised.
// Scetbon, Ma, Gong, Meeds, "Gradient Multi-Normalization for Stateless and Scalable LLM
// Training", arXiv:2502.06742 (2025), Alg. 3 (SR-Sinkhorn, used by SinkGD); Ma et al., "SWAN: SGD
// with Normalization and Whitening Enables Stateless LLM Training", arXiv:2412.13148 (GradNorm).
#pragma once

#include <cmath>
#include <cstddef>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "continua/config.hpp"
#include "continua/core/error.hpp"
#include "continua/core/kernel.hpp"
#include "continua/core/parameter_set.hpp"
#include "continua/core/reduce.hpp"
#include "continua/core/span.hpp"
#include "continua/optim/transformation.hpp"

namespace continua::optim {

// Which multi-normalization runs on an m x n gradient X (rows x cols).
//
//   sinkhorn  SR-Sinkhorn (Scetbon et al. 2025, Alg. 3), repeated `iterations` times:
//               X <- sqrt(n) Q(X)^-1 X      Q(X) = diag of the row l2 norms
//               X <- sqrt(m) X R(X)^-1      R(X) = diag of the column l2 norms
//             Its fixed point has every row norm sqrt(n) and every column norm sqrt(m) (so
//             |X|_F = sqrt(mn)). It is Sinkhorn-Knopp matrix scaling of X o X (elementwise
//             square) to row sums n and column sums m, so for a gradient without zero entries
//             the iteration converges to the unique such scaling D1 X D2 (Sinkhorn 1967).
//   swan      SWAN's GradNorm, row standardisation over the columns:
//               X_ij <- (X_ij - mu_i) / s_i,  mu_i = mean_j X_ij,  s_i^2 = mean_j (X_ij - mu_i)^2
//             so every row has mean 0 and l2 norm sqrt(n). It is a projection (one application
//             is its fixed point), so `iterations` is not used. SWAN's second step, whitening
//             (X X^T)^(-1/2) X, needs a matrix inverse square root and is not done here.
enum class multi_norm_variant { sinkhorn, swan };

// The matrix shape to give a tensor: rows x cols in `order`. {0, 0} means "take it from the
// tensor".
struct matrix_shape {
  std::size_t rows = 0;
  std::size_t cols = 0;
  continua::layout order = continua::layout::row_major;
};

// Options of multi_normalize and multi_normalize_matrix (defaults in the fields).
struct multi_normalize_options {
  multi_norm_variant variant = multi_norm_variant::sinkhorn;
  // Full (row + column) SR-Sinkhorn iterations; with tolerance > 0, the most that are run.
  // Small counts (about 5) are what SinkGD-style training uses; the fixed point to many digits
  // needs more.
  std::size_t iterations = 5;
  // 0: run exactly `iterations`. > 0: stop before an iteration once every row and column norm
  // is within this relative distance of its target (costs one extra read pass per iteration).
  double tolerance = 0.0;
  // Norms (and SWAN standard deviations) below eps are replaced by eps, so a zero row or column
  // stays zero instead of becoming NaN.
  double eps = 1e-8;
  // omega: each scaling factor f = target / norm is applied as f^omega. 1 is the paper's
  // algorithm; (0, 1) damps and (1, 2) over-relaxes (Thibault et al., "Overrelaxed
  // Sinkhorn-Knopp algorithm for regularized optimal transport", Algorithms 14(5), 2021). A
  // converged relaxed iteration has the same fixed point (there f = 1); convergence is proved
  // for omega = 1 and locally for omega in (0, 2). sinkhorn only.
  double relaxation = 1.0;
  // Per tensor of the parameter set, in order: its matrix shape. Empty: every shape comes from
  // the tensor. See multi_normalize for how shapes are chosen.
  std::vector<matrix_shape> shapes{};
};

namespace detail {

// The rows (or the columns) of a matrix as `count` lines of `length` elements each: element k of
// line l is data[l * line_stride + k * step].
template <class T>
struct matrix_lines {
  T* data;
  std::size_t count;
  std::size_t length;
  std::size_t line_stride;
  std::size_t step;
};

template <class T, class Space>
matrix_lines<T> rows_of(matrix_view<T, Space> m) {
  if (m.order() == layout::row_major) return {m.data(), m.rows(), m.cols(), m.cols(), 1};
  return {m.data(), m.rows(), m.cols(), 1, m.rows()};
}
template <class T, class Space>
matrix_lines<T> cols_of(matrix_view<T, Space> m) {
  if (m.order() == layout::row_major) return {m.data(), m.cols(), m.rows(), 1, m.cols()};
  return {m.data(), m.cols(), m.rows(), m.rows(), 1};
}

template <class T, class A>
CONTINUA_HD A line_norm(const T* p, std::size_t length, std::size_t step) {
  A ss = 0;
  for (std::size_t k = 0; k < length; ++k) {
    const A v = static_cast<A>(p[k * step]);
    ss += v * v;
  }
  return std::sqrt(ss);
}

// One work item per line: measure the line's norm and rescale it towards `target` in place.
// Lines are disjoint, so no scratch memory is needed and items run concurrently.
template <class T, class A>
struct rescale_lines {
  matrix_lines<T> lines;
  A target;
  A eps;
  A relaxation;
  CONTINUA_HD void operator()(std::size_t l) const {
    T* p = lines.data + l * lines.line_stride;
    A norm = line_norm<T, A>(p, lines.length, lines.step);
    if (!(norm > eps)) norm = eps;
    A f = target / norm;
    if (relaxation != A(1)) f = std::pow(f, relaxation);
    for (std::size_t k = 0; k < lines.length; ++k)
      p[k * lines.step] = static_cast<T>(static_cast<A>(p[k * lines.step]) * f);
  }
};

// |norm / target - 1| of one line, for the tolerance test.
template <class T, class A>
struct line_residual {
  matrix_lines<T> lines;
  A target;
  CONTINUA_HD A operator()(std::size_t l) const {
    const A r =
        line_norm<T, A>(lines.data + l * lines.line_stride, lines.length, lines.step) / target -
        A(1);
    return r < A(0) ? -r : r;
  }
};

template <class T, class A>
struct standardize_lines {
  matrix_lines<T> lines;
  A eps;
  CONTINUA_HD void operator()(std::size_t l) const {
    T* p = lines.data + l * lines.line_stride;
    const std::size_t n = lines.length, s = lines.step;
    A mean = 0;
    for (std::size_t k = 0; k < n; ++k) mean += static_cast<A>(p[k * s]);
    mean /= static_cast<A>(n);
    // Two passes: the one-pass E[x^2] - E[x]^2 cancels badly when |mean| >> std.
    A var = 0;
    for (std::size_t k = 0; k < n; ++k) {
      const A d = static_cast<A>(p[k * s]) - mean;
      var += d * d;
    }
    A sd = std::sqrt(var / static_cast<A>(n));
    if (!(sd > eps)) sd = eps;
    for (std::size_t k = 0; k < n; ++k)
      p[k * s] = static_cast<T>((static_cast<A>(p[k * s]) - mean) / sd);
  }
};

template <class Space, class T>
void rescale(matrix_lines<T> lines, double target, const multi_normalize_options& o) {
  using A = accumulator_t<T>;
  for_each_index(Space{}, lines.count,
                 rescale_lines<T, A>{lines, static_cast<A>(target), static_cast<A>(o.eps),
                                     static_cast<A>(o.relaxation)});
}

template <class Space, class T>
double residual(matrix_lines<T> lines, double target) {
  using A = accumulator_t<T>;
  return static_cast<double>(transform_reduce(
      Space{}, lines.count, A(0), line_residual<T, A>{lines, static_cast<A>(target)}, maximum{}));
}

inline void check_options(const char* who, const multi_normalize_options& o) {
  const bool known =
      o.variant == multi_norm_variant::sinkhorn || o.variant == multi_norm_variant::swan;
  require_option(known, who, "variant", static_cast<int>(o.variant), "must be sinkhorn or swan");
  require_option(o.iterations >= 1, who, "iterations", o.iterations, "must be >= 1");
  require_option(o.tolerance >= 0 && std::isfinite(o.tolerance), who, "tolerance", o.tolerance,
                 "must be finite and >= 0");
  require_option(o.eps > 0 && std::isfinite(o.eps), who, "eps", o.eps, "must be finite and > 0");
  require_option(o.relaxation > 0 && o.relaxation < 2, who, "relaxation", o.relaxation,
                 "must lie in (0, 2)");
  require_option(o.variant == multi_norm_variant::sinkhorn || o.relaxation == 1.0, who,
                 "relaxation", o.relaxation, "must be 1 for the swan variant");
  for (std::size_t i = 0; i < o.shapes.size(); ++i) {
    const matrix_shape& s = o.shapes[i];
    require_option((s.rows == 0) == (s.cols == 0), who, "shapes[" + std::to_string(i) + "]",
                   std::to_string(s.rows) + " x " + std::to_string(s.cols),
                   "rows and cols must both be > 0 (or both 0: shape from the tensor)");
  }
}

// The work on one matrix; returns the number of full iterations run.
template <class T, class Space>
std::size_t normalize_matrix(matrix_view<T, Space> x, const multi_normalize_options& o) {
  if (x.size() == 0) return 0;
  const auto rows = rows_of(x), cols = cols_of(x);
  if (o.variant == multi_norm_variant::swan) {
    using A = accumulator_t<T>;
    for_each_index(Space{}, rows.count, standardize_lines<T, A>{rows, static_cast<A>(o.eps)});
    return 1;
  }
  const double row_target = std::sqrt(static_cast<double>(x.cols()));
  const double col_target = std::sqrt(static_cast<double>(x.rows()));
  std::size_t k = 0;
  for (; k < o.iterations; ++k) {
    if (o.tolerance > 0 && residual<Space>(rows, row_target) <= o.tolerance &&
        residual<Space>(cols, col_target) <= o.tolerance)
      break;
    rescale<Space>(rows, row_target, o);
    rescale<Space>(cols, col_target, o);
  }
  return k;
}

// A vector is one row: only the row step applies, so sinkhorn gives v sqrt(n) / |v| and swan
// standardises v. (Read as a 1 x n matrix, the column step would reduce v to sign(v).)
template <class T, class Space>
void normalize_vector(span<T, Space> v, const multi_normalize_options& o) {
  if (v.size() == 0) return;
  using A = accumulator_t<T>;
  const matrix_lines<T> line{v.data(), 1, v.size(), v.size(), 1};
  if (o.variant == multi_norm_variant::swan) {
    for_each_index(Space{}, 1, standardize_lines<T, A>{line, static_cast<A>(o.eps)});
    return;
  }
  multi_normalize_options exact = o;
  exact.relaxation = 1.0;  // one exact step is the fixed point; damping it would only slow it
  rescale<Space>(line, std::sqrt(static_cast<double>(v.size())), exact);
}

}  // namespace detail

// Runs the multi-normalization on one matrix view in place; returns the number of full
// iterations run (fewer than options.iterations when the tolerance was met first). Validates
// the options; options.shapes is not used.
template <class T, class Space>
std::size_t multi_normalize_matrix(matrix_view<T, Space> x, const multi_normalize_options& o) {
  detail::check_options("multi_normalize_matrix", o);
  return detail::normalize_matrix(x, o);
}

// A whole-set, stateless transformation: every gradient tensor is replaced by its
// multi-normalization (see multi_norm_variant for the formulas). The matrix shape of tensor i:
//   options.shapes[i] when given and not {0, 0} (rows * cols must equal the tensor's size);
//   else rank 2: the tensor's own (continua::as_matrix, in its storage order);
//   else rank >= 3: dims[0] x (the rest), like torch's view(shape[0], -1);
//   else (rank 0 or 1): a vector, l2-normalised to norm sqrt(n) (swan: standardised).
// State is empty; a step needs no scratch memory: each row (column) is one work item on the host
// or device kernel layer. Example:
//   auto opt = chain(multi_normalize({.iterations = 5}), scale_by_learning_rate(1e-2));
// Options: multi_normalize_options (sinkhorn, 5 iterations, tolerance 0, eps 1e-8, relaxation 1).
// Scetbon et al., "Gradient Multi-Normalization for Stateless and Scalable LLM Training",
// arXiv:2502.06742 (2025), Alg. 3; SWAN: Ma et al., arXiv:2412.13148 (2024).
struct multi_normalize {
  static constexpr const char* name = "multi_normalize";
  static constexpr bool elementwise = false;
  using options_type = multi_normalize_options;
  struct state {
    auto fields() { return std::tie(); }
    auto fields() const { return std::tie(); }
  };

  options_type opt;

  explicit multi_normalize(options_type o = {}) : opt(std::move(o)) {
    detail::check_options(name, opt);
  }

  template <parameter_set P>
  state init(const P&) const {
    return {};
  }

  // Throws size_mismatch when grads and params differ in structure, when options.shapes does not
  // have one entry per tensor, or when a given shape does not cover its tensor.
  template <parameter_set G, parameter_set P>
  requires pairable_sets<G, P>
  void validate(const G& grads, const state&, const P& params) const {
    const std::string context = "continua::optim::" + std::string(name) + "::update";
    require_same_structure(context, "grads", grads, "params", params);
    if (opt.shapes.empty()) return;
    require_same_size(context, "options.shapes", opt.shapes.size(), "grads (tensor count)",
                      tensor_count(grads));
    for_each_tensor(grads, [&](auto index, const auto& t) {
      const std::size_t i = index;
      const matrix_shape& s = opt.shapes[i];
      if (s.rows == 0) return;
      require_same_size(context, "grads[" + std::to_string(i) + "]", continua::size(t),
                        "options.shapes[" + std::to_string(i) + "] rows * cols", s.rows * s.cols);
    });
  }

  // Replaces grads by their multi-normalization, after validate() (nothing changes on a throw).
  // NaN/Inf handling is the chain's nan_policy; called alone, non-finite input gives NaN output.
  template <parameter_set G, parameter_set P>
  requires pairable_sets<G, P>
  void update(G& grads, state& s, const P& params) const {
    validate(grads, s, params);
    for_each_tensor(grads, [&](auto index, auto& t) {
      const std::size_t i = index;
      const matrix_shape given = opt.shapes.empty() ? matrix_shape{} : opt.shapes[i];
      normalize_tensor(t, given);
    });
  }

 private:
  template <class Tensor>
  void normalize_tensor(Tensor& t, const matrix_shape& given) const {
    using Space = memory_space_t<Tensor>;
    const std::size_t n = continua::size(t);
    if (n == 0) return;
    if (given.rows != 0) {
      detail::normalize_matrix(as_matrix(t, given.rows, given.cols, given.order), opt);
      return;
    }
    const extents e = continua::shape(t);
    if (e.rank == 2) {
      detail::normalize_matrix(as_matrix(t), opt);
    } else if (e.rank > 2) {
      using M = matrix_view<element_t<Tensor>, Space>;
      detail::normalize_matrix(M(continua::data(t), e[0], n / e[0], continua::storage_order(t)),
                               opt);
    } else {
      detail::normalize_vector(as_span(t), opt);
    }
  }
};

}  // namespace continua::optim
