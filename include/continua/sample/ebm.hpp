// Energy-based-model training pieces of the sample family: persistent chain buffer,
// contrastive-divergence gradient, diffusion recovery likelihood.
// Each member header cites its own paper; this umbrella only gathers them.
#pragma once

#include "continua/sample/ebm/contrastive_divergence.hpp"
#include "continua/sample/ebm/persistent_chains.hpp"
#include "continua/sample/ebm/recovery_likelihood.hpp"
