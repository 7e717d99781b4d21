// Rejected: integer elements are not a tensor (continua::tensor requires floating point).
// Control: the same container of float is.
#include <vector>

#include "continua/core.hpp"

int main() {
#ifdef CONTINUA_CONTROL
  std::vector<float> v(4, 1.0f);
#else
  std::vector<int> v(4, 1);
#endif
  const auto view = continua::as_span(v);
  return view.size() == 4 ? 0 : 1;
}
