// The state every gradient-based MCMC kernel of continua carries for a batch of chains, the
// per-step info the kernels report, and the layout of each step's Philox noise.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string_view>
#include <utility>

#include "continua/config.hpp"
#include "continua/core/buffer.hpp"
#include "continua/core/error.hpp"
#include "continua/core/finite.hpp"
#include "continua/core/kernel.hpp"
#include "continua/core/random.hpp"
#include "continua/core/span.hpp"
#include "continua/core/tensor.hpp"
#include "continua/core/vector_ops.hpp"
#include "continua/sample/mcmc/target.hpp"

namespace continua::sample {

namespace detail {

// Smallest element of a buffer (its identity when empty).
template <class T, class Space>
struct read_at {
  const T* x;
  CONTINUA_HD T operator()(std::size_t i) const { return x[i]; }
};
template <class B>
typename B::value_type min_of(const B& b) {
  using T = typename B::value_type;
  return transform_reduce(typename B::memory_space{}, b.size(), minimum::identity<T>(),
                          read_at<T, typename B::memory_space>{b.data()}, minimum{});
}

}  // namespace detail

// What one step did to each chain; kept in the chain state and overwritten by every step.
//   acceptance_probability  min(1, exp(-energy_error)) for Metropolis kernels, 1 for ULA/SGLD;
//   accepted                1 when the chain moved to the proposal;
//   diverging               1 when the proposal's energy or gradient was NaN/Inf (or, for HMC,
//                           the energy error passed the divergence threshold); the chain stays;
//   energy_error            the change of the (augmented) energy the accept test weighs:
//                           -log of the Metropolis ratio (HMC: H(new) - H(old)); for ULA and SGLD,
//                           U(proposal) - U(current).
template <class T, class Space = host_space>
struct step_info {
  buffer<T, Space> acceptance_probability;
  buffer<std::uint8_t, Space> accepted;
  buffer<std::uint8_t, Space> diverging;
  buffer<T, Space> energy_error;
};

// Positions, energies and gradients of `chains` chains in `dim` dimensions, the shared step size
// and diagonal inverse mass (preconditioner) the kernels use, and the step counter that selects
// each step's noise. Everything needed to resume is checkpointed (continua::io::save/load).
template <class T, class Space = host_space>
struct chain_state {
  static constexpr std::string_view checkpoint_kind = "sample.chain_state";
  static constexpr std::uint32_t checkpoint_schema = 1;

  std::uint64_t chains = 0;
  std::uint64_t dim = 0;
  buffer<T, Space> position;      // chains x dim, row-major
  buffer<T, Space> energy;        // chains: U(position)
  buffer<T, Space> gradient;      // chains x dim: dU/dx at position
  buffer<T, Space> inverse_mass;  // dim: diagonal M^-1 (the preconditioner), ones by default
  double step_size = 0;           // shared by all chains; adaptation writes it
  std::uint64_t steps = 0;        // steps taken: step t draws the noise of index t
  step_info<T, Space> info;       // of the last step (not checkpointed)

  // Scratch of the steps (not checkpointed): the proposal, swapped in for accepted chains.
  buffer<T, Space> proposal_position, proposal_energy, proposal_gradient;

  // Scratch of the trajectory kernels, HMC and NUTS (not checkpointed: each step draws fresh
  // momenta), and their per-chain counts of the last step.
  buffer<T, Space> momentum;                    // chains x dim
  buffer<double, Space> hamiltonian;            // 2 x chains: H at the start, H now
  buffer<std::uint8_t, Space> stopped;          // chains: the trajectory diverged
  buffer<std::uint32_t, Space> leapfrog_steps;  // chains: leapfrog steps of the last step
  buffer<std::uint32_t, Space> tree_depth;      // chains: NUTS tree depth of the last step

  // chains x dim views of the positions and gradients.
  matrix_view<const T, Space> positions() const {
    return {position.data(), static_cast<std::size_t>(chains), static_cast<std::size_t>(dim)};
  }
  matrix_view<const T, Space> gradients() const {
    return {gradient.data(), static_cast<std::size_t>(chains), static_cast<std::size_t>(dim)};
  }

  // The checkpoint fields (io/state.hpp): sizes first, as they shape the buffers after them.
  template <class V>
  void describe_state(V& v) {
    v.field("chains", chains);
    v.field("dim", dim);
    v.field("position", position, {chains, dim});
    v.field("energy", energy, {chains});
    v.field("gradient", gradient, {chains, dim});
    v.field("inverse_mass", inverse_mass, {dim});
    v.field("step_size", step_size);
    v.field("steps", steps);
  }

  // What a loaded state must satisfy: the kernels keep every chain at a finite point.
  void validate_state() const {
    constexpr std::string_view context = "continua::sample::chain_state::load";
    require(chains > 0 && dim > 0, context, "chains and dim must be positive");
    require(std::isfinite(step_size) && step_size > 0, context,
            "step_size must be finite and positive");
    require(!find_non_finite(span<const T, Space>(position.data(), position.size())), context,
            "positions hold NaN or Inf");
    require(!find_non_finite(span<const T, Space>(energy.data(), energy.size())), context,
            "energies hold NaN or Inf");
    require(!find_non_finite(span<const T, Space>(gradient.data(), gradient.size())), context,
            "gradients hold NaN or Inf");
    require(detail::min_of(inverse_mass) > T(0) &&
                !find_non_finite(span<const T, Space>(inverse_mass.data(), inverse_mass.size())),
            context, "inverse_mass must be finite and positive");
  }
};

namespace detail {

// Draw offsets of one step's noise in the stream `key`: step t owns a fixed range of the stream,
// normals first, then uniforms, each starting on a Philox block so no block serves two purposes.
// The range is normals + uniforms (each rounded up to whole blocks) draws of type T, so step t's
// noise is a pure function of (key, t, chain, coordinate) on every backend.
struct step_noise {
  philox_key key;
  std::uint64_t normal_offset;
  std::uint64_t uniform_offset;
};

template <class T>
step_noise noise_of_step(philox_key key, std::uint64_t step, std::uint64_t normals,
                         std::uint64_t uniforms, std::string_view context) {
  constexpr std::uint64_t per = draws_per_block<T>;
  const auto whole = [](std::uint64_t n) { return (n + per - 1) / per * per; };
  const std::uint64_t range = whole(normals) + whole(uniforms);
  require(range == 0 || step <= std::numeric_limits<std::uint64_t>::max() / range - 1, context,
          "the step counter has used up the 2^64 draws of the stream: use another stream");
  const std::uint64_t base = step * range;
  return {key, base, base + whole(normals)};
}

// Grows a scratch buffer to n elements (no-op when it already has them).
template <class B>
void ensure_size(B& b, std::size_t n) {
  if (b.size() != n) b = B(n);
}

template <class T, class Space>
void ensure_scratch(chain_state<T, Space>& s) {
  const auto n = static_cast<std::size_t>(s.chains * s.dim);
  const auto c = static_cast<std::size_t>(s.chains);
  ensure_size(s.proposal_position, n);
  ensure_size(s.proposal_gradient, n);
  ensure_size(s.proposal_energy, c);
  ensure_size(s.info.acceptance_probability, c);
  ensure_size(s.info.accepted, c);
  ensure_size(s.info.diverging, c);
  ensure_size(s.info.energy_error, c);
}

// The checks every step makes before it touches the state.
template <class T, class Space>
void require_steppable(const chain_state<T, Space>& s, std::string_view context) {
  require(s.chains > 0 && s.dim > 0, context,
          "the state is empty: build it with the kernel's init");
  require_same_size(context, "position", s.position.size(), "chains * dim",
                    static_cast<std::size_t>(s.chains * s.dim));
  require_same_size(context, "gradient", s.gradient.size(), "chains * dim",
                    static_cast<std::size_t>(s.chains * s.dim));
  require_same_size(context, "energy", s.energy.size(), "chains",
                    static_cast<std::size_t>(s.chains));
  require_same_size(context, "inverse_mass", s.inverse_mass.size(), "dim",
                    static_cast<std::size_t>(s.dim));
  require_option(std::isfinite(s.step_size) && s.step_size > 0, context, "step_size", s.step_size,
                 "must be finite and positive");
}

// Evaluates the target at the state's proposal.
template <class T, class Space, class F>
void evaluate_proposal(F& target, chain_state<T, Space>& s) {
  const auto c = static_cast<std::size_t>(s.chains), d = static_cast<std::size_t>(s.dim);
  evaluate_target<T, Space>(target, matrix_view<const T, Space>(s.proposal_position.data(), c, d),
                            span<T, Space>(s.proposal_energy.data(), c),
                            matrix_view<T, Space>(s.proposal_gradient.data(), c, d));
}

// Makes the proposal the current state (accepted chains already hold their new point there,
// rejected chains had their old row copied back).
template <class T, class Space>
void swap_in_proposal(chain_state<T, Space>& s) {
  using std::swap;
  swap(s.position, s.proposal_position);
  swap(s.gradient, s.proposal_gradient);
  swap(s.energy, s.proposal_energy);
}

}  // namespace detail

// A state for `positions` (chains x dim, row-major: a rank-2 tensor or a matrix_view in the same
// space), with energies and gradients from `target`. Throws invalid_argument for an empty batch,
// a column-major view or a bad step size, and non_finite_error when a position, energy or
// gradient is NaN/Inf (a chain must start inside the support).
template <class T, class Space, class F>
chain_state<T, Space> make_chain_state(matrix_view<const T, Space> positions, F& target,
                                       double step_size, std::string_view context) {
  require(positions.rows() > 0 && positions.cols() > 0, context,
          "positions must hold at least one chain and one dimension");
  require(positions.order() == layout::row_major, context,
          "positions must be row-major (one chain per row)");
  require_option(std::isfinite(step_size) && step_size > 0, context, "step_size", step_size,
                 "must be finite and positive");
  const std::size_t c = positions.rows(), d = positions.cols();
  const std::size_t n = checked_mul(c, d, context, "chains * dim");
  require_finite(context, "positions", positions.flat());
  chain_state<T, Space> s;
  s.chains = c;
  s.dim = d;
  s.position = buffer<T, Space>(n);
  continua::copy(positions.flat(), s.position);
  s.energy = buffer<T, Space>(c);
  s.gradient = buffer<T, Space>(n);
  s.inverse_mass = buffer<T, Space>(d, T(1));
  s.step_size = step_size;
  evaluate_target<T, Space>(target, s.positions(), span<T, Space>(s.energy.data(), c),
                            matrix_view<T, Space>(s.gradient.data(), c, d));
  require_finite(context, "the target's energies at the initial positions", s.energy);
  require_finite(context, "the target's gradients at the initial positions", s.gradient);
  detail::ensure_scratch(s);
  return s;
}

// Mean acceptance probability of the last step over the chains.
template <class T, class Space>
double mean_acceptance(const step_info<T, Space>& info) {
  const std::size_t n = info.acceptance_probability.size();
  if (n == 0) return 0.0;
  return transform_reduce(Space{}, n, 0.0,
                          detail::read_at<T, Space>{info.acceptance_probability.data()}, plus{}) /
         static_cast<double>(n);
}

// Number of chains whose last step diverged.
template <class T, class Space>
std::size_t diverging_count(const step_info<T, Space>& info) {
  const std::size_t n = info.diverging.size();
  return static_cast<std::size_t>(
      transform_reduce(Space{}, n, std::size_t{0},
                       detail::read_at<std::uint8_t, Space>{info.diverging.data()}, plus{}));
}

}  // namespace continua::sample
