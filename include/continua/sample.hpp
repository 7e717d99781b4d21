// The sample family: replay memories, data-order samplers (curriculum, rehearsal, task choice),
// MCMC kernels and targets, MCMC convergence diagnostics, energy-based-model training and
// diffusion samplers.
// Each member header cites its own paper; this umbrella only gathers them.
#pragma once

#include "continua/sample/diagnostics.hpp"
#include "continua/sample/diffusion.hpp"
#include "continua/sample/ebm.hpp"
#include "continua/sample/mcmc.hpp"
#include "continua/sample/order.hpp"
#include "continua/sample/replay.hpp"
#include "continua/sample/targets.hpp"
