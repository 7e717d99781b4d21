// Rejected: a row of a column-major matrix has inner stride rows() (not 1).
// Control: a column of the same matrix is contiguous.
#include <Eigen/Core>

#include "continua/adapters/eigen.hpp"
#include "continua/core.hpp"

int main() {
  Eigen::MatrixXd m = Eigen::MatrixXd::Ones(3, 5);
#ifdef CONTINUA_CONTROL
  auto x = m.col(1);
#else
  auto x = m.row(1);
#endif
  const auto view = continua::as_span(x);
  return view.size() > 0 ? 0 : 1;
}
