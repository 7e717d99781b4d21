// Contrastive-divergence gradient of an energy-based model: E_data[dE/dtheta] - E_model[dE/dtheta].
// Hinton, "Training Products of Experts by Minimizing Contrastive Divergence", Neural Comp. 2002.
#pragma once

#include <concepts>
#include <cstddef>
#include <string_view>
#include <type_traits>

#include "continua/config.hpp"
#include "continua/core/error.hpp"
#include "continua/core/finite.hpp"
#include "continua/core/kernel.hpp"
#include "continua/core/parameter_set.hpp"
#include "continua/core/span.hpp"
#include "continua/core/tensor.hpp"

namespace continua::sample::ebm {

// An energy model E_theta(x) that adds the parameter gradient of a batch to a parameter set:
//   model.accumulate_parameter_gradient(x, weight, grads)
// with x a matrix_view<const T, Space> (n x dim, one sample per row) adds
// weight * sum_r dE_theta(x_r)/dtheta to grads (a parameter set shaped like theta).
template <class M, class T, class Space, class G>
concept energy_model = requires(M& m, matrix_view<const T, Space> x, T w, G& g) {
  m.accumulate_parameter_gradient(x, w, g);
};

namespace detail {

template <class T>
struct set_zero {
  T* x;
  CONTINUA_HD void operator()(std::size_t i) const { x[i] = T(0); }
};

// Sets every tensor of a parameter set to zero.
template <class G>
void zero_parameter_set(G& grads) {
  for_each_tensor(grads, [](auto, auto& t) {
    using U = value_t<decltype(t)>;
    const std::size_t n = continua::size(t);
    if (n != 0) for_each_index(memory_space_t<decltype(t)>{}, n, set_zero<U>{continua::data(t)});
  });
}

}  // namespace detail

// grads = (1/n_d) sum_data dE/dtheta - (1/n_m) sum_samples dE/dtheta: the gradient of the
// negative log-likelihood E_data[E_theta] + log Z(theta) with the model expectation estimated by
// `samples` (MCMC draws from p_theta, e.g. persistent chains), ready for an optim chain that
// minimises (opt.step(theta, grads)). data and samples are rank-2 tensors or matrix_views
// (n x dim, one per row) of one element type and memory space. Throws, before writing grads,
// when either batch is empty, the widths differ, or a value is NaN/Inf; afterwards when the
// model's gradient is NaN/Inf.
template <tensor D, tensor S, class M, parameter_set G>
void contrastive_divergence_gradient(M& model, const D& data, const S& samples, G&& grads) {
  using T = value_t<D>;
  using Space = memory_space_t<D>;
  static_assert(std::is_same_v<value_t<S>, T> && std::is_same_v<memory_space_t<S>, Space>,
                "continua::sample::ebm: data and samples must share element type and space");
  static_assert(energy_model<M, T, Space, std::remove_reference_t<G>>,
                "continua::sample::ebm: the model lacks accumulate_parameter_gradient(x, weight, "
                "grads) taking continua::matrix_view<const T, Space>, T and the parameter set");
  constexpr std::string_view context = "continua::sample::ebm::contrastive_divergence_gradient";
  const matrix_view<const T, Space> x = as_matrix(data), y = as_matrix(samples);
  require(x.rows() > 0 && y.rows() > 0, context,
          "data and samples must hold at least one row each");
  require(x.order() == layout::row_major && y.order() == layout::row_major, context,
          "data and samples must be row-major (one sample per row)");
  require_same_size(context, "samples' columns", y.cols(), "data's columns", x.cols());
  require_finite(context, "data", x.flat());
  require_finite(context, "samples", y.flat());
  detail::zero_parameter_set(grads);
  model.accumulate_parameter_gradient(x, static_cast<T>(1.0 / static_cast<double>(x.rows())),
                                      grads);
  model.accumulate_parameter_gradient(y, static_cast<T>(-1.0 / static_cast<double>(y.rows())),
                                      grads);
  for_each_tensor(grads, [&](auto, auto& t) { require_finite(context, "the gradient", t); });
}

}  // namespace continua::sample::ebm
