// The Eigen host backend's matrix operations compiled once (CONTINUA_LINALG_EXTERN=1, config.hpp)
// for test_linalg under the sanitizers, in the two scalar types the suite tests.
#define CONTINUA_LINALG_INSTANTIATE 1
#include "continua/core/linalg_host.hpp"

CONTINUA_LINALG_INSTANTIATE_MATRIX_OPS(double)
CONTINUA_LINALG_INSTANTIATE_MATRIX_OPS(float)
