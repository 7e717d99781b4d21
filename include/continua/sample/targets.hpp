// Ready-made MCMC targets (energy and gradient of a batch of chains) for tests, benchmarks and
// examples: Gaussian, Gaussian mixture, Rosenbrock banana, Bayesian logistic regression.
#pragma once

#include "continua/sample/targets/gaussian.hpp"
#include "continua/sample/targets/gaussian_mixture.hpp"
#include "continua/sample/targets/logistic_regression.hpp"
#include "continua/sample/targets/rosenbrock.hpp"
