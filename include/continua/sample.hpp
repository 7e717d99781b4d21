// The sample family: replay memories, MCMC convergence diagnostics and diffusion samplers (and,
// later, MCMC kernels).
// Each member header cites its own paper; this umbrella only gathers them.
#pragma once

#include "continua/sample/diagnostics.hpp"
#include "continua/sample/diffusion.hpp"
#include "continua/sample/replay.hpp"
