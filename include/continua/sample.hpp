// The sample family: replay memories and MCMC convergence diagnostics (and, later, MCMC kernels
// and diffusion samplers).
// Each member header cites its own paper; this umbrella only gathers them.
#pragma once

#include "continua/sample/diagnostics.hpp"
#include "continua/sample/replay.hpp"
