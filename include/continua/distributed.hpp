// The distributed family: MPI reductions of sufficient statistics and parameter sets, so N ranks
// fit one analytic model or average gradients. Needs MPI (CMake option CONTINUA_WITH_MPI).
#pragma once

#include "continua/distributed/mpi.hpp"
