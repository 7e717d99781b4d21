// The outer-loop driver on per-feature ridge: it drives |dF/dx| (closed form) down by 100x with
// an optim::optimizer (SGD with momentum), reports every step to the progress callback with the
// hypergradient it used, and a run checkpointed after 6 steps (driver state through io::save_bytes,
// the optimizer through io::save) resumes bit for bit.
#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

#include "../common/files.hpp"
#include "continua/bilevel.hpp"
#include "continua/io/state.hpp"
#include "continua/optim.hpp"
#include "continua/optim/serialize.hpp"
#include "ridge.hpp"

namespace bl = continua::bilevel;
namespace o = continua::optim;
namespace io = continua::io;
using bilevel_test::ld;
using vec = std::vector<double>;

namespace {
double closed_form_gradient_norm(const bilevel_test::ridge_data& r, const vec& x) {
  double s = 0;
  for (ld v : r.hypergradient(std::vector<ld>(x.begin(), x.end()))) s += double(v * v);
  return std::sqrt(s);
}
}  // namespace

BOOST_AUTO_TEST_SUITE(bilevel_outer_loop)

BOOST_AUTO_TEST_CASE(drives_the_hypergradient_down_and_reports) {
  const auto r = bilevel_test::make_ridge(5, 0.5, 2, true, 61);
  const bilevel_test::ridge_problem<vec> pb(r, [](const auto& h) { return h; });
  vec x(r.d, 0.0);
  const double g0 = closed_form_gradient_norm(r, x);
  o::optimizer opt(o::sgd({.lr = 0.2, .momentum = 0.5}), x);
  auto state = bl::make_outer_loop_state(vec(r.d, 0.0));
  std::vector<bl::outer_step_report> reports;
  const auto last = bl::outer_loop(
      pb, x, state, opt, bl::conjugate_gradient({.rtol = 1e-12}),
      {.outer_steps = 80, .inner_steps = 500, .inner_lr = 0.1, .inner_tolerance = 1e-12},
      [&](const bl::outer_step_report& rep) { reports.push_back(rep); });
  BOOST_TEST(reports.size() == 80u);
  BOOST_TEST(last.step == 80u);
  BOOST_TEST(state.step == 80u);
  for (const auto& rep : reports) {
    BOOST_TEST(rep.linear.converged);
    BOOST_TEST(rep.inner_gradient_norm <= 1e-12);
  }
  // Warm starts: later steps need fewer inner steps than the first.
  BOOST_TEST(reports.back().inner_steps < reports.front().inner_steps);
  // The first report's hypergradient is the closed form at x = 0.
  BOOST_TEST(std::abs(reports.front().hypergradient_norm - g0) <= 1e-9 * g0);
  const double g1 = closed_form_gradient_norm(r, x);
  BOOST_TEST_MESSAGE("outer loop: |dF/dx| " << g0 << " -> " << g1);
  BOOST_TEST(g1 <= 1e-2 * g0);  // measured 1.9e-3 after 80 steps (the optimum is far out)
}

BOOST_AUTO_TEST_CASE(checkpoint_resume_is_bit_identical) {
  const auto r = bilevel_test::make_ridge(5, 0.5, 2, true, 62);
  const bilevel_test::ridge_problem<vec> pb(r, [](const auto& h) { return h; });
  const bl::outer_loop_options run{.outer_steps = 6, .inner_steps = 50, .inner_lr = 0.1};
  const bl::conjugate_gradient cg({.rtol = 1e-12});
  vec x(r.d, 0.0);
  o::optimizer opt(o::sgd({.lr = 0.2, .momentum = 0.5}), x);
  auto state = bl::make_outer_loop_state(vec(r.d, 0.0));
  bl::outer_loop(pb, x, state, opt, cg, run);
  // Checkpoint: driver state, optimizer, x.
  continua_test::temp_dir dir;
  const auto image = io::save_bytes(state);
  io::save(dir.path / "opt.ckpt", opt);
  const vec x_saved = x;
  bl::outer_loop(pb, x, state, opt, cg, run);
  // Resume into fresh objects.
  vec x2 = x_saved;
  o::optimizer opt2(o::sgd({.lr = 0.2, .momentum = 0.5}), x2);
  io::load(dir.path / "opt.ckpt", opt2);
  auto state2 = bl::make_outer_loop_state(vec(r.d, 7.0));
  io::load_bytes(image, state2);
  BOOST_TEST(state2.step == 6u);
  bl::outer_loop(pb, x2, state2, opt2, cg, run);
  BOOST_TEST(x2 == x);
  BOOST_TEST(state2.y == state.y);
  BOOST_TEST(state2.adjoint == state.adjoint);
  BOOST_TEST(state2.step == 12u);
  // A forged state (NaN in y) and one of another size are refused, state unchanged.
  auto forged = state;
  forged.y[1] = std::nan("");
  BOOST_CHECK_THROW(io::load_bytes(io::save_bytes(forged), state2), continua::io_error);
  BOOST_TEST(state2.y == state.y);
  auto wrapped = state;
  wrapped.step = std::numeric_limits<std::uint64_t>::max();
  BOOST_CHECK_THROW(io::load_bytes(io::save_bytes(wrapped), state2), continua::io_error);
  BOOST_TEST(state2.step == 12u);
  auto other = bl::make_outer_loop_state(vec(r.d + 1, 0.0));
  BOOST_CHECK_THROW(io::load_bytes(image, other), continua::io_error);
  // Bad options.
  BOOST_CHECK_THROW(bl::outer_loop(pb, x, state, opt, cg, {.inner_steps = 0}),
                    continua::invalid_argument);
  BOOST_CHECK_THROW(bl::outer_loop(pb, x, state, opt, cg, {.inner_lr = -1}),
                    continua::invalid_argument);
}

// The caller's inner solve (here the exact w*(x), as a factorisation would give): the driver takes
// the same path as inner descent run to 1e-12 (x within 1e-9 after 40 steps), reports 0 inner
// steps, and a solve that returns NaN is a numerical_error leaving x and the state as they were.
BOOST_AUTO_TEST_CASE(caller_inner_solve) {
  const auto r = bilevel_test::make_ridge(5, 0.5, 2, true, 63);
  const bilevel_test::ridge_problem<vec> pb(r, [](const auto& h) { return h; });
  const bl::conjugate_gradient cg({.rtol = 1e-12});
  const auto exact = [&](const vec& x, vec& w) {
    const auto ws = r.inner_solution(std::vector<ld>(x.begin(), x.end()));
    for (std::size_t i = 0; i < w.size(); ++i) w[i] = double(ws[i]);
    return std::size_t{0};
  };
  vec xa(r.d, 0.0), xb(r.d, 0.0);
  o::optimizer oa(o::sgd({.lr = 0.2}), xa), ob(o::sgd({.lr = 0.2}), xb);
  auto sa = bl::make_outer_loop_state(vec(r.d, 0.0)), sb = sa;
  std::size_t inner_total = 0;
  bl::outer_loop(pb, xa, sa, oa, cg, exact, 40,
                 [&](const bl::outer_step_report& rep) { inner_total += rep.inner_steps; });
  bl::outer_loop(
      pb, xb, sb, ob, cg,
      {.outer_steps = 40, .inner_steps = 2000, .inner_lr = 0.1, .inner_tolerance = 1e-12});
  BOOST_TEST(inner_total == 0u);
  BOOST_TEST(sa.step == 40u);
  double diff = 0;
  for (std::size_t i = 0; i < r.d; ++i) diff = std::max(diff, std::abs(xa[i] - xb[i]));
  BOOST_TEST_MESSAGE("exact inner solve vs descent to 1e-12: max |dx| " << diff);
  BOOST_TEST(diff <= 1e-9);
  const vec x_before = xa, y_before = sa.y;
  const auto broken = [](const vec&, vec& w) {
    w[0] = std::nan("");
    return std::size_t{1};
  };
  BOOST_CHECK_THROW(bl::outer_loop(pb, xa, sa, oa, cg, broken, 3), continua::numerical_error);
  BOOST_TEST(xa == x_before);
  BOOST_TEST(sa.y == y_before);
  BOOST_TEST(sa.step == 40u);
}

BOOST_AUTO_TEST_SUITE_END()
