// Sampler targets: the batched energy-and-gradient callable every MCMC kernel evaluates.
// A target is the negative log density U(x) of the distribution p(x) ∝ exp(-U(x)), for many chains.
#pragma once

#include <concepts>
#include <cstddef>

#include "continua/core/span.hpp"

namespace continua::sample {

// A target evaluates a batch of positions: called as target(positions, energies, gradients) with
//   positions  matrix_view<const T, Space>, chains x dim, row-major (read only);
//   energies   span<T, Space>, one per chain: U(x_c);
//   gradients  matrix_view<T, Space>, chains x dim, row-major: dU/dx at x_c.
// It writes every energy and gradient entry; a non-finite energy marks a chain's point as
// outside the support (the kernels reject it). Targets may keep state (a minibatch cursor), so
// kernels call them as non-const lvalues.
template <class F, class T, class Space>
concept energy_target =
    std::invocable<F&, matrix_view<const T, Space>, span<T, Space>, matrix_view<T, Space>>;

namespace detail {

// Checks a target type where the kernels first use it, so a wrong target fails with this message
// (and the compiler's "with F = ..." naming the type) rather than deep inside a kernel.
template <class F, class T, class Space>
constexpr void check_energy_target() {
  static_assert(energy_target<F, T, Space>,
                "continua::sample: target F lacks 'operator()(matrix_view<const T, Space> "
                "positions, span<T, Space> energies, matrix_view<T, Space> gradients)' (positions "
                "and gradients chains x dim, row-major; see continua/sample/mcmc/target.hpp)");
}

}  // namespace detail

// Evaluates `target` at `positions` (chains x dim, row-major) into `energies` and `gradients`.
template <class T, class Space, class F>
void evaluate_target(F& target, matrix_view<const T, Space> positions, span<T, Space> energies,
                     matrix_view<T, Space> gradients) {
  detail::check_energy_target<F, T, Space>();
  target(positions, energies, gradients);
}

}  // namespace continua::sample
