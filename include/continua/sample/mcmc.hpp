// Gradient-based MCMC kernels of the sample family, batched over chains: ULA, MALA, SGLD, pSGLD
// and annealed Langevin (HMC and NUTS follow the same chain_state / step_info shape).
#pragma once

#include "continua/sample/mcmc/annealed_langevin.hpp"
#include "continua/sample/mcmc/chain_state.hpp"
#include "continua/sample/mcmc/mala.hpp"
#include "continua/sample/mcmc/sgld.hpp"
#include "continua/sample/mcmc/target.hpp"
#include "continua/sample/mcmc/ula.hpp"
