// The Eigen host backend compiled once (CONTINUA_LINALG_EXTERN=1, config.hpp) for the suite that
// checks that mode: matrix operations for the two scalar types the analytic learners use.
#define CONTINUA_LINALG_INSTANTIATE 1
#include "continua/core/linalg_host.hpp"

CONTINUA_LINALG_INSTANTIATE_MATRIX_OPS(double)
CONTINUA_LINALG_INSTANTIATE_MATRIX_OPS(float)
