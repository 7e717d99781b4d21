// continua umbrella: everything that needs no optional dependency beyond what the target links
// (core, optim, io). Adapters (Eigen, xtensor, Thrust), core/linalg.hpp (Eigen or cuBLAS) and
// distributed/ (MPI) are included explicitly by the code that uses them.
#pragma once

#include "continua/core.hpp"
#include "continua/io/checkpoint.hpp"
#include "continua/io/fashion_mnist.hpp"
#include "continua/io/idx.hpp"
#include "continua/optim.hpp"
#include "continua/optim/serialize.hpp"
