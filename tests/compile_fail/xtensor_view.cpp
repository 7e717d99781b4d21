// Rejected: xt::view selecting two columns of a row-major 4x4 array is strided.
// Control: the evaluated view (an xt::xarray) owns contiguous storage.
#include <xtensor/xarray.hpp>
#include <xtensor/xeval.hpp>
#include <xtensor/xview.hpp>

#include "continua/adapters/xtensor.hpp"
#include "continua/core.hpp"

int main() {
  xt::xarray<float> a = xt::ones<float>({4, 4});
  auto v = xt::view(a, xt::all(), xt::range(0, 2));
#ifdef CONTINUA_CONTROL
  xt::xarray<float> x = v;
  return continua::sum(x) > 0 ? 0 : 1;
#else
  return continua::sum(v) > 0 ? 0 : 1;
#endif
}
