// The preconditioned Langevin proposal shared by ULA, MALA and SGLD:
// y = x - h M^-1 dU/dx + c sqrt(M^-1) z, z ~ N(0, I) from the step's Philox normals.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>

#include "continua/config.hpp"
#include "continua/core/kernel.hpp"
#include "continua/core/random.hpp"
#include "continua/sample/mcmc/chain_state.hpp"

namespace continua::sample::detail {

// One call per Philox block of the step's normals: element i = block * per + lane of the
// chains x dim batch gets y_i = x_i - h m_j g_i + noise sqrt(m_j) z_i (j = i mod dim). The column
// is found once per block and stepped, so no division runs per element.
template <class T>
struct langevin_proposal_blocks {
  const T* x;
  const T* g;
  const T* inverse_mass;
  T* y;
  std::size_t n;
  std::size_t dim;
  T drift;  // h
  T noise;  // c
  philox_key key;
  std::uint64_t first_block;  // normal_offset / per (normal offsets are block-aligned)

  CONTINUA_HD void operator()(std::size_t b) const {
    constexpr unsigned per = draws_per_block<T>;
    T z[per];
    normals_from_block(random_block(key, first_block + b), z);
    std::size_t i = b * per;
    std::size_t j = i % dim;
    for (unsigned lane = 0; lane < per && i < n; ++lane, ++i) {
      const T m = inverse_mass[j];
      y[i] = x[i] - drift * m * g[i] + noise * std::sqrt(m) * z[lane];
      if (++j == dim) j = 0;
    }
  }
};

// Writes the Langevin proposal of every chain into s.proposal_position, with the normals of
// `noise` (the step's noise from noise_of_step).
template <class T, class Space>
void propose_langevin(chain_state<T, Space>& s, const step_noise& noise, T drift, T noise_scale) {
  const auto n = static_cast<std::size_t>(s.chains * s.dim);
  constexpr std::uint64_t per = draws_per_block<T>;
  for_each_index(
      Space{}, static_cast<std::size_t>((n + per - 1) / per),
      langevin_proposal_blocks<T>{s.position.data(), s.gradient.data(), s.inverse_mass.data(),
                                  s.proposal_position.data(), n, static_cast<std::size_t>(s.dim),
                                  drift, noise_scale, noise.key, noise.normal_offset / per});
}

// Per chain, after the proposal was evaluated: a chain whose proposal energy is NaN/Inf keeps its
// point (the proposal row gets the current row back) and is marked diverging; the others move.
// The unadjusted kernels (ULA, SGLD) accept every finite proposal.
template <class T>
struct accept_finite_proposal {
  const T* x;
  const T* g;
  const T* u;
  T* y;
  T* gy;
  T* uy;
  std::size_t dim;
  T* acceptance;
  std::uint8_t* accepted;
  std::uint8_t* diverging;
  T* energy_error;

  CONTINUA_HD void operator()(std::size_t c) const {
    const bool finite = is_finite(uy[c]);
    accepted[c] = finite ? 1 : 0;
    diverging[c] = finite ? 0 : 1;
    acceptance[c] = finite ? T(1) : T(0);
    energy_error[c] = finite ? uy[c] - u[c] : T(0);
    if (!finite) {
      for (std::size_t j = 0, r = c * dim; j < dim; ++j, ++r) {
        y[r] = x[r];
        gy[r] = g[r];
      }
      uy[c] = u[c];
    }
  }
};

// Runs accept_finite_proposal over the chains and makes the proposal the state.
template <class T, class Space>
void accept_finite_proposals(chain_state<T, Space>& s) {
  for_each_index(
      Space{}, static_cast<std::size_t>(s.chains),
      accept_finite_proposal<T>{s.position.data(), s.gradient.data(), s.energy.data(),
                                s.proposal_position.data(), s.proposal_gradient.data(),
                                s.proposal_energy.data(), static_cast<std::size_t>(s.dim),
                                s.info.acceptance_probability.data(), s.info.accepted.data(),
                                s.info.diverging.data(), s.info.energy_error.data()});
  swap_in_proposal(s);
}

}  // namespace continua::sample::detail
