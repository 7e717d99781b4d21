// The leapfrog (Störmer-Verlet) integrator of Hamiltonian dynamics with a diagonal mass matrix,
// batched over chains. Duane et al., Phys. Lett. B 195, 1987; Neal, "MCMC using Hamiltonian
// dynamics", Handbook of MCMC, 2011.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string_view>

#include "continua/config.hpp"
#include "continua/core/error.hpp"
#include "continua/core/finite.hpp"
#include "continua/core/kernel.hpp"
#include "continua/core/random.hpp"
#include "continua/core/span.hpp"
#include "continua/sample/mcmc/chain_state.hpp"
#include "continua/sample/mcmc/target.hpp"

namespace continua::sample {

namespace detail {

// Which chains still move at leapfrog step k: those whose own trajectory length (all `total`
// when `length` is null) is not reached and whose trajectory has not diverged (never, when
// `stopped` is null).
struct moving_chains {
  const std::uint32_t* length;
  const std::uint8_t* stopped;
  std::uint32_t total;

  CONTINUA_HD bool operator()(std::size_t c, std::uint32_t k) const {
    const std::uint32_t l = length ? length[c] : total;
    return k < l && !(stopped && stopped[c]);
  }
};

// Per chain: H = U + p' M^-1 p / 2, summed in double in coordinate order (the same on every
// backend), written to hamiltonian[c] (the start) and hamiltonian[chains + c] (now).
template <class T>
struct start_hamiltonian {
  const T* p;
  const T* u;
  const T* inverse_mass;
  double* hamiltonian;
  std::uint8_t* stopped;
  std::size_t chains;
  std::size_t dim;

  CONTINUA_HD void operator()(std::size_t c) const {
    double kinetic = 0;
    for (std::size_t j = 0, r = c * dim; j < dim; ++j, ++r) {
      const double pj = static_cast<double>(p[r]);
      kinetic += pj * pj * static_cast<double>(inverse_mass[j]);
    }
    const double h = static_cast<double>(u[c]) + 0.5 * kinetic;
    hamiltonian[c] = h;
    hamiltonian[chains + c] = h;
    stopped[c] = 0;
  }
};

// Per chain, the momentum half of leapfrog step k. With `first`, the opening half kick
// p -= (h/2) dU/dq. Otherwise it completes step k (after the drift and the new gradient): the
// closing half kick, then, when `hamiltonian` is set, H at the new point and the divergence
// test (|H - H0| > threshold or NaN/Inf stops the chain where it is), then the opening half kick
// of step k + 1 when the chain goes on. The kicks are two halves even between steps, so a
// trajectory is the same whether or not it is checked.
template <class T>
struct momentum_kick {
  T* p;
  const T* g;
  const T* u;
  const T* inverse_mass;
  moving_chains moving;
  std::uint8_t* stopped;  // null: no divergence test
  double* hamiltonian;    // null: no divergence test
  std::size_t chains;
  std::size_t dim;
  T half_h;
  double threshold;
  std::uint32_t k;
  bool first;

  CONTINUA_HD void operator()(std::size_t c) const {
    if (!moving(c, k)) return;
    const std::size_t row = c * dim;
    for (std::size_t j = 0; j < dim; ++j) p[row + j] -= half_h * g[row + j];
    if (first) return;
    if (hamiltonian) {
      double kinetic = 0;
      for (std::size_t j = 0; j < dim; ++j) {
        const double pj = static_cast<double>(p[row + j]);
        kinetic += pj * pj * static_cast<double>(inverse_mass[j]);
      }
      const double h = static_cast<double>(u[c]) + 0.5 * kinetic;
      hamiltonian[chains + c] = h;
      const double error = h - hamiltonian[c];
      if (!(error == error) || !(error <= threshold && error >= -threshold)) {
        stopped[c] = 1;
        return;
      }
    }
    if (moving(c, k + 1))
      for (std::size_t j = 0; j < dim; ++j) p[row + j] -= half_h * g[row + j];
  }
};

// Elementwise, the position half of leapfrog step k: q_i += h m_j p_i on the moving chains.
template <class T>
struct position_drift {
  T* q;
  const T* p;
  const T* inverse_mass;
  moving_chains moving;
  std::size_t dim;
  T h;
  std::uint32_t k;

  CONTINUA_HD void operator()(std::size_t i) const {
    const std::size_t c = i / dim;
    if (moving(c, k)) q[i] += h * inverse_mass[i - c * dim] * p[i];
  }
};

// The buffers one batched trajectory works on (all chains x dim or chains, in Space).
template <class T, class Space>
struct trajectory_views {
  T* q;
  T* p;
  T* u;
  T* g;
  const T* inverse_mass;
  std::size_t chains;
  std::size_t dim;
};

// Runs `steps` leapfrog steps of size h on every moving chain, evaluating `target` once per step
// for the whole batch (chains that stopped or finished are evaluated where they stand).
template <class T, class Space, class F>
void run_trajectory(F& target, const trajectory_views<T, Space>& v, moving_chains moving,
                    std::uint8_t* stopped, double* hamiltonian, double threshold, T h,
                    std::uint32_t steps) {
  const std::size_t n = v.chains * v.dim;
  const T half_h = h / T(2);
  momentum_kick<T> kick{v.p,      v.g,   v.u,    v.inverse_mass, moving, stopped, hamiltonian,
                        v.chains, v.dim, half_h, threshold,      0,      true};
  for_each_index(Space{}, v.chains, kick);
  kick.first = false;
  for (std::uint32_t k = 0; k < steps; ++k) {
    for_each_index(Space{}, n, position_drift<T>{v.q, v.p, v.inverse_mass, moving, v.dim, h, k});
    evaluate_target<T, Space>(target, matrix_view<const T, Space>(v.q, v.chains, v.dim),
                              span<T, Space>(v.u, v.chains),
                              matrix_view<T, Space>(v.g, v.chains, v.dim));
    kick.k = k;
    for_each_index(Space{}, v.chains, kick);
  }
}

}  // namespace detail

// Integrates Hamilton's equations for H(q, p) = U(q) + p' M^-1 p / 2 over `steps` leapfrog steps
// of size `step_size`, in place, for every chain (row) at once:
//   p -= (h/2) dU/dq(q);  q += h M^-1 p;  p -= (h/2) dU/dq(q)      (per step)
// `energy` and `gradient` must hold U and dU/dq at `position` on entry and hold them at the end
// point on exit; `inverse_mass` is the diagonal of M^-1 (dim). The map is volume preserving and
// time reversible (negate p and integrate again to come back), with energy error O(h^2).
// Throws size_mismatch for inconsistent sizes, invalid_argument for a non-finite or non-positive
// step size or a column-major view, before it changes anything.
template <class T, class Space, class F>
void leapfrog(F& target, matrix_view<T, Space> position, matrix_view<T, Space> momentum,
              span<T, Space> energy, matrix_view<T, Space> gradient,
              span<const T, Space> inverse_mass, double step_size, std::size_t steps) {
  constexpr std::string_view context = "continua::sample::leapfrog";
  detail::check_energy_target<F, T, Space>();
  require_option(std::isfinite(step_size) && step_size > 0, context, "step_size", step_size,
                 "must be finite and positive");
  require(steps <= std::numeric_limits<std::uint32_t>::max(), context, "steps must fit 32 bits");
  require(position.order() == layout::row_major && momentum.order() == layout::row_major &&
              gradient.order() == layout::row_major,
          context, "position, momentum and gradient must be row-major (one chain per row)");
  const std::size_t c = position.rows(), d = position.cols();
  require_same_size(context, "momentum", momentum.size(), "position", position.size());
  require_same_size(context, "gradient", gradient.size(), "position", position.size());
  require_same_size(context, "energy", energy.size(), "position's rows", c);
  require_same_size(context, "inverse_mass", inverse_mass.size(), "position's columns", d);
  if (c == 0 || d == 0 || steps == 0) return;
  detail::run_trajectory<T, Space>(
      target,
      detail::trajectory_views<T, Space>{position.data(), momentum.data(), energy.data(),
                                         gradient.data(), inverse_mass.data(), c, d},
      detail::moving_chains{nullptr, nullptr, static_cast<std::uint32_t>(steps)}, nullptr, nullptr,
      0.0, static_cast<T>(step_size), static_cast<std::uint32_t>(steps));
}

}  // namespace continua::sample
