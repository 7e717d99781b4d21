// Gradient-based MCMC kernels of the sample family, batched over chains: ULA, MALA, HMC and NUTS,
// and their warm-up adaptation (SGLD and annealed Langevin follow the same shape).
#pragma once

#include "continua/sample/mcmc/adaptation.hpp"
#include "continua/sample/mcmc/chain_state.hpp"
#include "continua/sample/mcmc/hmc.hpp"
#include "continua/sample/mcmc/leapfrog.hpp"
#include "continua/sample/mcmc/mala.hpp"
#include "continua/sample/mcmc/nuts.hpp"
#include "continua/sample/mcmc/target.hpp"
#include "continua/sample/mcmc/ula.hpp"
