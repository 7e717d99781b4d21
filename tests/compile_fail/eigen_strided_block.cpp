// Rejected: a 2x2 block of a 4x4 column-major matrix skips two elements between its columns.
// Control: leftCols(2) of the same matrix is whole columns, hence one contiguous run.
#include <Eigen/Core>

#include "continua/adapters/eigen.hpp"
#include "continua/core.hpp"

int main() {
  Eigen::MatrixXf m = Eigen::MatrixXf::Ones(4, 4);
#ifdef CONTINUA_CONTROL
  const double s = continua::sum(m.leftCols(2));
#else
  const double s = continua::sum(m.block(0, 0, 2, 2));
#endif
  return s > 0 ? 0 : 1;
}
