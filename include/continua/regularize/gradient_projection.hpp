// gradient_projection: a per-layer subspace memory of past inputs; gradients are projected off it.
// Saha, Garg & Roy, "Gradient Projection Memory for Continual Learning", ICLR 2021, Alg. 1.
//
// For a linear layer y = W x (W is out x in), a step dW = G changes the outputs on an old input
// x by G x. GPM keeps an orthonormal basis B (in x rank) of the span that the old inputs
// mostly occupy and trains with G <- G - G B Bᵀ, so old outputs move only by the energy the
// basis left out. The basis grows at every task boundary from the representation matrix
// R = [x_1 ... x_n] (in x n) of the finished task:
//   first task:  keep the smallest k with sum_{i<k} s_i^2 >= threshold * |R|_F^2 (SVD of R);
//   later tasks: R_hat = R - B Bᵀ R; keep the smallest k with
//                |Bᵀ R|_F^2 + sum_{i<k} s_hat_i^2 >= threshold * |R|_F^2 (SVD of R_hat);
//   the threshold grows by threshold_increment per task (capped at 1), and the k new left
//   singular vectors are re-orthonormalised against B (two Gram-Schmidt passes and CholeskyQR2).
// Directions whose singular value is at rounding level (<= max(in, n) * eps * |R|_F) are never
// added: they carry no energy and their vectors are not reliably orthogonal to B.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <sstream>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "continua/config.hpp"
#include "continua/core/buffer.hpp"
#include "continua/core/error.hpp"
#include "continua/core/finite.hpp"
#include "continua/core/kernel.hpp"
#include "continua/core/linalg.hpp"
#include "continua/core/memory_space.hpp"
#include "continua/core/reduce.hpp"
#include "continua/core/span.hpp"
#include "continua/core/vector_ops.hpp"

namespace continua::regularize {

// Options of gradient_projection: the energy threshold that decides how many of a task's input
// directions join the basis, its per-task increment, and a cap on the basis rank.
// Saha, Garg & Roy, "Gradient Projection Memory for Continual Learning", ICLR 2021.
struct gpm_options {
  double threshold = 0.97;           // energy fraction of each task's inputs kept, in (0, 1]
  double threshold_increment = 0.0;  // added to the threshold per finished task, >= 0
  std::size_t max_rank = 0;          // cap on the basis size; 0 = input_dim
};

namespace detail {

// dst (rows x (a_cols + b_cols), row-major) = [a | b], a and b row-major.
template <class T>
struct gpm_concat_columns {
  const T* a;
  const T* b;
  T* dst;
  std::size_t a_cols;
  std::size_t b_cols;
  CONTINUA_HD void operator()(std::size_t idx) const {
    const std::size_t cols = a_cols + b_cols;
    const std::size_t r = idx / cols;
    const std::size_t c = idx % cols;
    dst[idx] = c < a_cols ? a[r * a_cols + c] : b[r * b_cols + (c - a_cols)];
  }
};

// dst (rows x cols, row-major) = the first cols columns of src (rows x src_cols, row-major).
template <class T>
struct gpm_leading_columns {
  const T* src;
  T* dst;
  std::size_t src_cols;
  std::size_t cols;
  CONTINUA_HD void operator()(std::size_t idx) const {
    dst[idx] = src[(idx / cols) * src_cols + idx % cols];
  }
};

inline void gpm_validate(const gpm_options& o, std::size_t input_dim) {
  constexpr const char* name = "continua::regularize::gradient_projection";
  require_option(std::isfinite(o.threshold) && o.threshold > 0.0 && o.threshold <= 1.0, name,
                 "threshold", o.threshold, "must lie in (0, 1]");
  require_option(std::isfinite(o.threshold_increment) && o.threshold_increment >= 0.0, name,
                 "threshold_increment", o.threshold_increment, "must be finite and >= 0");
  require(input_dim > 0, name, "input_dim must be positive");
  require_option(o.max_rank <= input_dim, name, "max_rank", o.max_rank,
                 "must be 0 (= input_dim) or at most input_dim = " + std::to_string(input_dim));
}

}  // namespace detail

// One linear layer's gradient projection memory. T is float or double; Space is where the basis,
// the inputs and the gradients live (device_space needs continua/adapters/thrust.hpp).
//
//   gradient_projection<float> gpm({.threshold = 0.97}, 784);
//   ... train task 1 ...;  gpm.consolidate(as_matrix(task1_inputs, n, 784));
//   ... each step of task 2: gpm.project(as_matrix(weight_grad, out, 784)); optimizer step ...
//
// project() uses a workspace held by the object (out x rank, grown on first use), so it does not
// allocate in steady state and one object must not project from two threads at once.
template <class T, class Space = host_space>
class gradient_projection {
  static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>,
                "continua::regularize::gradient_projection: T must be float or double");

 public:
  using value_type = T;
  using memory_space = Space;
  static constexpr std::string_view checkpoint_kind = "regularize.gradient_projection";
  static constexpr std::uint32_t checkpoint_schema = 1;

  gradient_projection(gpm_options options, std::size_t input_dim)
      : options_(options), input_dim_(input_dim) {
    detail::gpm_validate(options_, input_dim_);
  }

  // Grows the basis from the layer inputs of the finished task: n x input_dim (rows are inputs),
  // any layout. Throws (leaving the basis as it was) on a wrong column count, no rows, or
  // NaN/Inf entries; linalg::numerical_error if the SVD fails.
  void consolidate(matrix_view<const T, Space> inputs) {
    constexpr std::string_view context = "continua::regularize::gradient_projection::consolidate";
    require_same_size(context, "columns of inputs", inputs.cols(), "input_dim", input_dim_);
    require(inputs.rows() > 0, context, "inputs has no rows");
    require(tasks_ < std::numeric_limits<std::size_t>::max(), context,
            "tasks is at its maximum (SIZE_MAX); no further task can be counted");
    if (const auto bad = find_non_finite(span<const T, Space>(inputs.data(), inputs.size())))
      throw non_finite_error(context, "inputs", *bad);

    const std::size_t dim = input_dim_;
    const std::size_t n = inputs.rows();
    const std::size_t r = rank_;
    // R = inputsᵀ (dim x n) is the same memory read in the other layout: no copy.
    const layout r_order =
        inputs.order() == layout::row_major ? layout::col_major : layout::row_major;
    const matrix_view<const T, Space> rep = as_matrix(inputs, dim, n, r_order);
    const double total = static_cast<double>(squared_norm(rep.flat()));

    // R_hat = R - B (Bᵀ R); accepted = |Bᵀ R|_F^2, the energy the basis already holds.
    double accepted = 0.0;
    buffer<T, Space> rhat_store;
    matrix_view<const T, Space> rhat = rep;
    if (r > 0) {
      rhat_store = buffer<T, Space>(dim * n);
      continua::copy(inputs, rhat_store);
      const matrix_view<T, Space> rh = as_matrix(rhat_store, dim, n, r_order);
      buffer<T, Space> bt_r(r * n);
      const matrix_view<T, Space> btr = as_matrix(bt_r, r, n);
      linalg::gemm(linalg::op::transpose, linalg::op::none, T(1), basis(), rep, T(0), btr);
      linalg::gemm(linalg::op::none, linalg::op::none, T(-1), basis(),
                   matrix_view<const T, Space>(btr), T(1), rh);
      accepted = static_cast<double>(squared_norm(btr.flat()));
      rhat = rh;
    }

    const std::size_t kmin = dim < n ? dim : n;
    buffer<T, Space> s_store(kmin);
    buffer<T, Space> u_store(dim * kmin);
    linalg::svd(rhat, as_span(s_store), as_matrix(u_store, dim, kmin), matrix_view<T, Space>{});
    const std::vector<T> s = s_store.to_host();

    const double thr = current_threshold();
    const double tol = static_cast<double>(dim > n ? dim : n) *
                       static_cast<double>(std::numeric_limits<T>::epsilon()) * std::sqrt(total);
    const std::size_t limit = (options_.max_rank == 0 ? dim : options_.max_rank) - r;
    std::size_t k = 0;
    double kept = accepted;
    while (k < kmin && k < limit && kept<thr * total&& static_cast<double>(s[k])> tol) {
      kept += static_cast<double>(s[k]) * static_cast<double>(s[k]);
      ++k;
    }

    if (k == 0) {
      ++tasks_;
      return;
    }
    buffer<T, Space> c_store(dim * k);
    for_each_index(Space{}, dim * k,
                   detail::gpm_leading_columns<T>{u_store.data(), c_store.data(), kmin, k});
    orthonormalize(c_store, k);

    const std::size_t grown = checked_mul(dim, r + k, context, "input_dim * rank");
    buffer<T, Space> next(grown);
    for_each_index(Space{}, grown,
                   detail::gpm_concat_columns<T>{basis_.data(), c_store.data(), next.data(), r, k});
    basis_ = std::move(next);
    rank_ = r + k;
    ++tasks_;
  }

  std::size_t rank() const { return rank_; }
  std::size_t input_dim() const { return input_dim_; }
  // Finished tasks (calls to consolidate, including those that added nothing).
  std::size_t tasks() const { return tasks_; }
  const gpm_options& options() const { return options_; }
  // The energy threshold the next consolidate() applies.
  double current_threshold() const {
    const double t =
        options_.threshold + static_cast<double>(tasks_) * options_.threshold_increment;
    return t < 1.0 ? t : 1.0;
  }

  // input_dim x rank, orthonormal columns, row-major.
  matrix_view<const T, Space> basis() const { return as_matrix(basis_, input_dim_, rank_); }

  // G <- G - (G B) Bᵀ for a weight gradient G (out x input_dim, any layout): two GEMMs through a
  // held workspace. A no-op while the basis is empty.
  void project(matrix_view<T, Space> weight_grad) const {
    require_same_size("continua::regularize::gradient_projection::project",
                      "columns of weight_grad", weight_grad.cols(), "input_dim", input_dim_);
    if (rank_ == 0 || weight_grad.rows() == 0) return;
    const std::size_t need = weight_grad.rows() * rank_;
    if (workspace_.size() < need) workspace_ = buffer<T, Space>(need);
    // By hand, not as_matrix: the workspace may be larger than this product.
    const matrix_view<T, Space> gb(workspace_.data(), weight_grad.rows(), rank_);
    linalg::gemm(linalg::op::none, linalg::op::none, T(1), matrix_view<const T, Space>(weight_grad),
                 basis(), T(0), gb);
    linalg::gemm(linalg::op::none, linalg::op::transpose, T(-1), matrix_view<const T, Space>(gb),
                 basis(), T(1), weight_grad);
  }

  // The checkpoint (continua::io::save / io::load): input_dim (a file must share it), tasks,
  // rank, basis [input_dim, rank]. The options are the object's own and are not overwritten by a
  // load. A load refuses, with the object unchanged, a damaged file, another kind, element type or
  // input_dim, and a basis no consolidate() builds (validate_state).
  template <class V>
  void describe_state(V& v) {
    v.expect("input_dim", static_cast<std::uint64_t>(input_dim_));
    v.field("tasks", tasks_);
    v.field("rank", rank_);
    v.field("basis", basis_,
            {static_cast<std::uint64_t>(input_dim_), static_cast<std::uint64_t>(rank_)});
  }

  // A basis project() can use: at most max_rank columns, finite, and orthonormal, |BᵀB - I| at
  // most max(sqrt(eps), 64 eps sqrt(input_dim)) per entry. consolidate() orthonormalises to a
  // few eps; the bound leaves room for the rounding of BᵀB itself and is still far below what a
  // basis that is not orthonormal shows (project() would then not remove what it should).
  void validate_state() const {
    constexpr std::string_view context = "continua::regularize::gradient_projection::load";
    const std::size_t cap = options_.max_rank == 0 ? input_dim_ : options_.max_rank;
    require(
        rank_ <= cap, context,
        "the basis has rank " + std::to_string(rank_) + ", above max_rank " + std::to_string(cap));
    // Only consolidate() adds columns, and it counts a task each time.
    require(
        rank_ == 0 || tasks_ > 0, context,
        "the basis has rank " + std::to_string(rank_) + " but tasks = 0 (no consolidate built it)");
    if (const auto bad = find_non_finite(span<const T, Space>(basis_.data(), basis_.size())))
      throw non_finite_error(context, "basis", *bad);
    if (rank_ == 0) return;
    buffer<T, Space> gram_store(rank_ * rank_);
    linalg::syrk(linalg::op::transpose, T(1), basis(), T(0), as_matrix(gram_store, rank_, rank_));
    const std::vector<T> gram = gram_store.to_host();
    constexpr double eps = std::numeric_limits<T>::epsilon();
    const double tol =
        std::max(std::sqrt(eps), 64.0 * eps * std::sqrt(static_cast<double>(input_dim_)));
    double worst = 0.0;
    for (std::size_t i = 0; i < rank_; ++i)
      for (std::size_t j = 0; j < rank_; ++j) {
        const double d = static_cast<double>(gram[i * rank_ + j]) - (i == j ? 1.0 : 0.0);
        worst = std::max(worst, std::abs(d));
      }
    if (!(worst <= tol)) {
      std::ostringstream os;
      os << "the basis is not orthonormal: |BᵀB - I| reaches " << worst << " (tolerance " << tol
         << ")";
      throw invalid_argument(std::string(context) + ": " + os.str());
    }
  }

 private:
  // Makes the k columns of C (dim x k, row-major) orthonormal and orthogonal to the basis:
  // C -= B (Bᵀ C) twice ("twice is enough", Kahan/Parlett), then CholeskyQR twice.
  void orthonormalize(buffer<T, Space>& c_store, std::size_t k) const {
    const std::size_t dim = input_dim_;
    const matrix_view<T, Space> c = as_matrix(c_store, dim, k);
    if (rank_ > 0) {
      buffer<T, Space> t(rank_ * k);
      const matrix_view<T, Space> bt_c = as_matrix(t, rank_, k);
      for (int pass = 0; pass < 2; ++pass) {
        linalg::gemm(linalg::op::transpose, linalg::op::none, T(1), basis(),
                     matrix_view<const T, Space>(c), T(0), bt_c);
        linalg::gemm(linalg::op::none, linalg::op::none, T(-1), basis(),
                     matrix_view<const T, Space>(bt_c), T(1), c);
      }
    }
    buffer<T, Space> gram(k * k);
    const matrix_view<T, Space> g = as_matrix(gram, k, k);
    // Cᵀ (k x dim) is C's storage read column-major; C L^-ᵀ solves L Xᵀ = Cᵀ.
    const matrix_view<T, Space> ct = as_matrix(c_store, k, dim, layout::col_major);
    for (int pass = 0; pass < 2; ++pass) {
      linalg::syrk(linalg::op::transpose, T(1), matrix_view<const T, Space>(c), T(0), g);
      linalg::cholesky_factor(g);
      linalg::triangular_solve(linalg::triangle::lower, linalg::op::none,
                               matrix_view<const T, Space>(g), ct);
    }
  }

  gpm_options options_;
  std::size_t input_dim_;
  std::size_t rank_ = 0;
  std::size_t tasks_ = 0;
  buffer<T, Space> basis_;
  mutable buffer<T, Space> workspace_;
};

}  // namespace continua::regularize
