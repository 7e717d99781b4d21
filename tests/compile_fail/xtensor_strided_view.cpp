// Rejected: xt::strided_view taking every other element has stride 2.
// Control: the xt::xtensor it views is contiguous.
#include <xtensor/xstrided_view.hpp>
#include <xtensor/xtensor.hpp>

#include "continua/adapters/xtensor.hpp"
#include "continua/core.hpp"

int main() {
  xt::xtensor<double, 1> a = xt::ones<double>({10});
#ifdef CONTINUA_CONTROL
  auto& x = a;
#else
  auto x = xt::strided_view(a, {xt::range(0, 10, 2)});
#endif
  const auto view = continua::as_span(x);
  return view.size() > 0 ? 0 : 1;
}
