// MCMC convergence diagnostics of the sample family: R-hat, ESS (bulk, tail, basic), MCSE.
// Vehtari et al., "Rank-normalization, folding, and localization: an improved R-hat", 2021.
#pragma once

#include "continua/sample/diagnostics/convergence.hpp"
