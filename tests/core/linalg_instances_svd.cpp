// The Eigen host backend's SVD compiled once for test_linalg under the sanitizers (see
// linalg_instances.cpp), in a unit of its own so that it can be compiled at -O0.
#define CONTINUA_LINALG_INSTANTIATE 1
#include "continua/core/linalg_host.hpp"

CONTINUA_LINALG_INSTANTIATE_SVD(double)
CONTINUA_LINALG_INSTANTIATE_SVD(float)
