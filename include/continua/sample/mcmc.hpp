// Gradient-based MCMC kernels of the sample family, batched over chains: ULA and MALA (HMC, NUTS,
// SGLD and annealed Langevin follow the same chain_state / step_info shape).
#pragma once

#include "continua/sample/mcmc/chain_state.hpp"
#include "continua/sample/mcmc/mala.hpp"
#include "continua/sample/mcmc/target.hpp"
#include "continua/sample/mcmc/ula.hpp"
