// Ready-made MCMC targets (energy and gradient of a batch of chains) for tests, benchmarks and
// examples: Gaussian (more to come: mixture, Rosenbrock, Bayesian logistic regression).
#pragma once

#include "continua/sample/targets/gaussian.hpp"
