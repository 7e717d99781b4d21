// Rejected: an unevaluated expression (a + b) has no storage to view.
// Control: the evaluated result of the same expression is a plain matrix.
#include <Eigen/Core>

#include "continua/adapters/eigen.hpp"
#include "continua/core.hpp"

int main() {
  const Eigen::VectorXd a = Eigen::VectorXd::Ones(8), b = Eigen::VectorXd::Ones(8);
#ifdef CONTINUA_CONTROL
  return continua::sum((a + b).eval()) > 0 ? 0 : 1;
#else
  return continua::sum(a + b) > 0 ? 0 : 1;
#endif
}
