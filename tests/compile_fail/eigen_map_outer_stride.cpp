// Rejected: a Map with a run-time OuterStride<> may have gaps between its columns.
// Control: a default Map over the same buffer is contiguous.
#include <Eigen/Core>
#include <vector>

#include "continua/adapters/eigen.hpp"
#include "continua/core.hpp"

int main() {
  std::vector<float> buf(4 * 3, 1.0f);
#ifdef CONTINUA_CONTROL
  Eigen::Map<Eigen::MatrixXf> m(buf.data(), 3, 3);
#else
  Eigen::Map<Eigen::MatrixXf, 0, Eigen::OuterStride<> > m(buf.data(), 3, 3,
                                                          Eigen::OuterStride<>(4));
#endif
  return continua::squared_norm(m) > 0 ? 0 : 1;
}
