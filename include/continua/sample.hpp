// The sample family: replay memories (and, later, MCMC kernels and diffusion samplers).
// Each member header cites its own paper; this umbrella only gathers them.
#pragma once

#include "continua/sample/replay.hpp"
