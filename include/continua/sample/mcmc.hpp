// Gradient-based MCMC kernels of the sample family, batched over chains: ULA, MALA, HMC, NUTS,
// SGLD, pSGLD and annealed Langevin, and their warm-up adaptation.
#pragma once

#include "continua/sample/mcmc/adaptation.hpp"
#include "continua/sample/mcmc/annealed_langevin.hpp"
#include "continua/sample/mcmc/chain_state.hpp"
#include "continua/sample/mcmc/hmc.hpp"
#include "continua/sample/mcmc/leapfrog.hpp"
#include "continua/sample/mcmc/mala.hpp"
#include "continua/sample/mcmc/nuts.hpp"
#include "continua/sample/mcmc/sgld.hpp"
#include "continua/sample/mcmc/target.hpp"
#include "continua/sample/mcmc/ula.hpp"
