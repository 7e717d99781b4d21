// Bilevel subjects for the loader target and the seed corpus: F2SA's state and the outer-loop
// driver's state, each after a few outer steps of a small quadratic problem, so the sequences,
// the multiplier, the adjoint and the counters all hold something other than their start.
#pragma once

#include <cstddef>
#include <vector>

#include "continua/bilevel/f2sa.hpp"
#include "continua/bilevel/linear_solvers.hpp"
#include "continua/bilevel/outer_loop.hpp"
#include "continua/optim.hpp"
#include "fuzz.hpp"

namespace continua_fuzz {

namespace bilevel_subjects {

namespace bl = continua::bilevel;
using vec = std::vector<double>;

// x in R^2, y in R^3; inner g(x, y) = 1/2 sum_i a_i y_i^2 - sum_i x_{i mod 2} y_i (strongly
// convex in y), outer f(x, y) = 1/2 |y - t|^2 + rho/2 |x|^2.
struct quadratic {
  vec a{1.0, 2.0, 0.5}, t{0.5, -1.0, 2.0};
  double rho = 0.1;

  void inner_grad(const vec& x, const vec& y, vec& out) const {
    for (std::size_t i = 0; i < y.size(); ++i) out[i] = a[i] * y[i] - x[i % 2];
  }
  void inner_grad_x(const vec&, const vec& y, vec& out) const {
    out.assign(out.size(), 0.0);
    for (std::size_t i = 0; i < y.size(); ++i) out[i % 2] -= y[i];
  }
  void outer_grad_x(const vec& x, const vec&, vec& out) const {
    for (std::size_t j = 0; j < x.size(); ++j) out[j] = rho * x[j];
  }
  void outer_grad_y(const vec&, const vec& y, vec& out) const {
    for (std::size_t i = 0; i < y.size(); ++i) out[i] = y[i] - t[i];
  }
  void inner_hvp(const vec&, const vec&, const vec& v, vec& out) const {
    for (std::size_t i = 0; i < v.size(); ++i) out[i] = a[i] * v[i];
  }
  void inner_cross(const vec&, const vec&, const vec& v, vec& out) const {
    out.assign(out.size(), 0.0);
    for (std::size_t i = 0; i < v.size(); ++i) out[i % 2] -= v[i];
  }
};

inline const quadratic problem{};
inline const bl::f2sa f2sa_solver(
    {.lr_inner = 0.2, .lr_star = 0.2, .lr_outer = 0.5, .delta_lambda = 0.5, .inner_steps = 3});
inline const bl::outer_loop_options outer_run{.outer_steps = 2, .inner_steps = 5, .inner_lr = 0.3};

inline vec x0() { return {0.25, -0.5}; }

inline bl::f2sa_state<vec> f2sa_stepped() {
  vec x = x0();
  auto s = f2sa_solver.init(vec{0.0, 0.5, -0.5});
  for (int k = 0; k < 3; ++k) f2sa_solver.step(problem, x, s);
  return s;
}

inline bl::outer_loop_state<vec> outer_stepped() {
  vec x = x0();
  continua::optim::optimizer opt(continua::optim::sgd({.lr = 0.2}), x);
  auto s = bl::make_outer_loop_state(vec{0.0, 0.5, -0.5});
  bl::outer_loop(problem, x, s, opt, bl::conjugate_gradient({.rtol = 1e-10}), outer_run);
  return s;
}

}  // namespace bilevel_subjects

// Calls f(name, make, use) for each bilevel subject; use is a resumed run's next outer step.
template <class F>
void visit_bilevel(F&& f) {
  using namespace bilevel_subjects;
  f("f2sa_state", f2sa_stepped, [](bl::f2sa_state<vec>& s) {
    vec x = x0(), d(2);
    f2sa_solver.step(problem, x, s, &d);
  });
  f("outer_loop_state", outer_stepped, [](bl::outer_loop_state<vec>& s) {
    vec x = x0();
    continua::optim::optimizer opt(continua::optim::sgd({.lr = 0.2}), x);
    bl::outer_loop(problem, x, s, opt, bl::conjugate_gradient({.rtol = 1e-10}), outer_run);
  });
}

}  // namespace continua_fuzz
