// Life cycle of the importance penalties: bad options and bad input give clear errors and leave
// state bit-identical; save/load round trips bit-identically and rejects damaged or foreign
// checkpoints; sum() and add_regularizer() compose exactly like the members applied by hand.
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "../common/forge.hpp"
#include "common.hpp"
#include "continua/io/state.hpp"
#include "continua/optim/aliases.hpp"
#include "continua/optim/chain.hpp"
#include "continua/optim/serialize.hpp"
#include "continua/regularize/add_regularizer.hpp"
#include "continua/regularize/ewc.hpp"
#include "continua/regularize/l2_anchor.hpp"
#include "continua/regularize/mas.hpp"
#include "continua/regularize/rwalk.hpp"
#include "continua/regularize/sum.hpp"
#include "continua/regularize/synaptic_intelligence.hpp"
#include "forge.hpp"

namespace r = continua::regularize;
namespace o = continua::optim;
namespace io = continua::io;
using reg_test::set_io;
using reg_test::snapshot;
using reg_test::vec;

namespace {

constexpr std::size_t n = 23;
const double not_a_number = std::numeric_limits<double>::quiet_NaN();

// Trains any member of the family through two tasks and the start of a third, on set type P.
template <class P, class Reg>
void exercise(Reg& reg) {
  vec params = set_io<P>::flat(set_io<P>::make(reg_test::pseudo_random(n, 1)));
  for (int task = 0; task < 3; ++task) {
    for (int step = 0; step < 3; ++step) {
      const vec g = reg_test::pseudo_random(n, 40 + 5 * task + step);
      vec after = params;
      for (std::size_t i = 0; i < n; ++i) after[i] -= 0.1 * g[i];
      if constexpr (requires { reg.observe(set_io<P>::make(g), set_io<P>::make(after)); })
        reg.observe(set_io<P>::make(g), set_io<P>::make(after));
      else if constexpr (requires { reg.observe(set_io<P>::make(g)); })
        reg.observe(set_io<P>::make(g));
      params = after;
    }
    if (task < 2) reg.consolidate(set_io<P>::make(params));
  }
}

template <class Ex, class F>
void expect_throw_message(F&& f, const std::string& fragment) {
  try {
    f();
    BOOST_ERROR("no exception; expected one mentioning '" + fragment + "'");
  } catch (const Ex& e) {
    BOOST_TEST_INFO("message: " << e.what());
    BOOST_TEST(std::string(e.what()).find(fragment) != std::string::npos);
  }
}

using V = std::vector<double>;
const V p0 = reg_test::pseudo_random(n, 1);

// Runs `bad` on a trained regularizer and checks it throws Ex and changes nothing.
template <class Ex, class Reg, class F>
void throws_and_keeps_state(Reg& reg, F&& bad, const std::string& fragment) {
  const auto before = snapshot(reg);
  const std::size_t tasks = reg.tasks();
  expect_throw_message<Ex>([&] { bad(reg); }, fragment);
  BOOST_TEST(reg.tasks() == tasks);
  BOOST_TEST((snapshot(reg) == before));
}

}  // namespace

BOOST_AUTO_TEST_SUITE(bad_input)

BOOST_AUTO_TEST_CASE(bad_options_are_rejected_naming_field_and_value) {
  using E = continua::invalid_argument;
  expect_throw_message<E>([] { r::l2_anchor reg({.strength = -1}, p0); }, "'strength' = -1");
  expect_throw_message<E>([] { r::l2_anchor reg({.strength = not_a_number}, p0); }, "'strength'");
  expect_throw_message<E>([] { r::ewc reg({.strength = -0.5}, p0); }, "'strength' = -0.5");
  expect_throw_message<E>([] { r::ewc reg({.decay = 1.5}, p0); }, "'decay' = 1.5");
  expect_throw_message<E>([] { r::ewc reg({.decay = -0.1}, p0); }, "'decay' = -0.1");
  expect_throw_message<E>([] { r::ewc reg({.decay = not_a_number}, p0); }, "'decay'");
  expect_throw_message<E>([] { r::ewc reg({.mode = static_cast<r::ewc_mode>(7)}, p0); },
                          "'mode' = 7");
  expect_throw_message<E>([] { r::synaptic_intelligence reg({.damping = 0}, p0); },
                          "'damping' = 0");
  expect_throw_message<E>([] { r::synaptic_intelligence reg({.damping = -1}, p0); },
                          "'damping' = -1");
  expect_throw_message<E>([] { r::synaptic_intelligence reg({.strength = -2}, p0); },
                          "'strength' = -2");
  expect_throw_message<E>([] { r::mas reg({.blend = 1.25}, p0); }, "'blend' = 1.25");
  expect_throw_message<E>([] { r::mas reg({.strength = -3}, p0); }, "'strength' = -3");
  expect_throw_message<E>([] { r::rwalk reg({.fisher_decay = 1.0}, p0); }, "'fisher_decay' = 1");
  expect_throw_message<E>([] { r::rwalk reg({.epsilon = 0}, p0); }, "'epsilon' = 0");
  // Boundaries that are valid.
  BOOST_CHECK_NO_THROW(r::ewc<V>({.strength = 0, .decay = 0}, p0));
  BOOST_CHECK_NO_THROW(r::ewc<V>({.decay = 1}, p0));
  BOOST_CHECK_NO_THROW(r::mas<V>({.blend = 0}, p0));
  BOOST_CHECK_NO_THROW(r::rwalk<V>({.fisher_decay = 0}, p0));
}

BOOST_AUTO_TEST_CASE(consolidate_before_observe_is_an_error) {
  using E = continua::invalid_argument;
  auto consolidate = [](auto& reg) { reg.consolidate(p0); };
  {
    r::ewc<V> reg({}, p0);
    throws_and_keeps_state<E>(reg, consolidate, "no gradient observed");
    exercise<V>(reg);
    reg.consolidate(p0);  // the third task's observations
    throws_and_keeps_state<E>(reg, consolidate, "no gradient observed");
  }
  {
    r::mas<V> reg({}, p0);
    throws_and_keeps_state<E>(reg, consolidate, "no gradient observed");
  }
  {
    r::synaptic_intelligence<V> reg({}, p0);
    throws_and_keeps_state<E>(reg, consolidate, "no step observed");
  }
  {
    r::rwalk<V> reg({}, p0);
    throws_and_keeps_state<E>(reg, consolidate, "no step observed");
  }
}

template <class Reg>
void check_shape_and_nan_errors(Reg& reg) {
  using M = continua::size_mismatch;
  const V longer(n + 1, 0.5), good = reg_test::pseudo_random(n, 3);
  V with_nan = good;
  with_nan[5] = not_a_number;
  throws_and_keeps_state<M>(
      reg, [&](auto& x) { x.consolidate(longer); }, "has 24 elements");
  BOOST_CHECK_THROW(reg.penalty(longer), M);
  // Wrong grads size: size_mismatch, grads untouched.
  V grads(n + 1, 0.25);
  BOOST_CHECK_THROW(reg.add_gradient(good, grads), M);
  BOOST_TEST((grads == V(n + 1, 0.25)));
  if constexpr (requires { reg.observe(good, good); }) {
    throws_and_keeps_state<M>(
        reg, [&](auto& x) { x.observe(longer, good); }, "grads");
    throws_and_keeps_state<M>(
        reg, [&](auto& x) { x.observe(good, longer); }, "params_after_step");
    throws_and_keeps_state<continua::non_finite_error>(
        reg, [&](auto& x) { x.observe(with_nan, good); }, "first at element 5");
    throws_and_keeps_state<continua::non_finite_error>(
        reg, [&](auto& x) { x.observe(good, with_nan); }, "params_after_step");
  } else {
    throws_and_keeps_state<M>(
        reg, [&](auto& x) { x.observe(longer); }, "has 24 elements");
    throws_and_keeps_state<continua::non_finite_error>(
        reg, [&](auto& x) { x.observe(with_nan); }, "first at element 5");
  }
  throws_and_keeps_state<continua::non_finite_error>(
      reg, [&](auto& x) { x.consolidate(with_nan); }, "params");
}

BOOST_AUTO_TEST_CASE(mismatched_sizes_and_nan_leave_state_untouched) {
  {
    r::l2_anchor<V> reg({}, p0);
    reg.consolidate(p0);
    using M = continua::size_mismatch;
    throws_and_keeps_state<M>(
        reg, [](auto& x) { x.consolidate(V(n - 1, 0.0)); }, "22 elements");
    V grads(n - 1, 1.0);
    BOOST_CHECK_THROW(reg.add_gradient(p0, grads), M);
    BOOST_TEST((grads == V(n - 1, 1.0)));
  }
  {
    r::ewc<V> reg({}, p0);
    exercise<V>(reg);
    check_shape_and_nan_errors(reg);
  }
  {
    r::synaptic_intelligence<V> reg({}, p0);
    exercise<V>(reg);
    check_shape_and_nan_errors(reg);
  }
  {
    r::mas<V> reg({}, p0);
    exercise<V>(reg);
    check_shape_and_nan_errors(reg);
  }
  {
    r::rwalk<V> reg({}, p0);
    exercise<V>(reg);
    check_shape_and_nan_errors(reg);
  }
}

BOOST_AUTO_TEST_CASE(range_sets_report_the_tensor_index) {
  using R = std::vector<std::vector<float>>;
  const R shape{std::vector<float>(3, 1.f), std::vector<float>(4, 2.f)};
  r::mas<R> reg({}, shape);
  const R wrong{std::vector<float>(3, 1.f), std::vector<float>(5, 2.f)};
  expect_throw_message<continua::size_mismatch>([&] { reg.observe(wrong); }, "[1]");
  const R fewer{std::vector<float>(3, 1.f)};
  expect_throw_message<continua::size_mismatch>([&] { reg.observe(fewer); }, "tensor count");
  BOOST_TEST(reg.observed() == 0u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(checkpoints)

// save -> load into a fresh regularizer of the same shape: identical bytes on re-save, identical
// penalty and gradient, and identical behaviour when training continues.
template <class P, class Make>
void round_trip_is_bit_identical(Make make) {
  const P shape = set_io<P>::make(reg_test::pseudo_random(n, 1));
  auto a = make(shape);
  exercise<P>(a);
  const auto path = reg_test::temp_path("round_trip.ckpt");
  io::save(path, a);
  auto b = make(set_io<P>::make(vec(n, 0.0)));
  io::load(path, b);
  BOOST_TEST((snapshot(b) == reg_test::file_bytes(path)));
  BOOST_TEST(b.tasks() == a.tasks());
  const P q = set_io<P>::make(reg_test::pseudo_random(n, 77));
  BOOST_TEST(a.penalty(q) == b.penalty(q));
  exercise<P>(a);
  exercise<P>(b);
  BOOST_TEST((snapshot(a) == snapshot(b)));
  P ga = set_io<P>::make(vec(n, 0.0)), gb = ga;
  a.add_gradient(q, ga);
  b.add_gradient(q, gb);
  BOOST_TEST((set_io<P>::flat(ga) == set_io<P>::flat(gb)));
  std::filesystem::remove(path);
}

template <class P>
void all_members_round_trip() {
  round_trip_is_bit_identical<P>([](const P& p) { return r::l2_anchor<P>({.strength = 2}, p); });
  round_trip_is_bit_identical<P>([](const P& p) { return r::ewc<P>({.strength = 2}, p); });
  round_trip_is_bit_identical<P>(
      [](const P& p) { return r::ewc<P>({.mode = r::ewc_mode::online, .decay = 0.5}, p); });
  round_trip_is_bit_identical<P>([](const P& p) { return r::synaptic_intelligence<P>({}, p); });
  round_trip_is_bit_identical<P>([](const P& p) { return r::mas<P>({}, p); });
  round_trip_is_bit_identical<P>([](const P& p) { return r::rwalk<P>({}, p); });
}

BOOST_AUTO_TEST_CASE(save_load_round_trip_float_double_mixed) {
  all_members_round_trip<std::vector<float>>();
  all_members_round_trip<std::tuple<std::array<float, 5>, std::vector<double>>>();
}

#if CONTINUA_TEST_THRUST
BOOST_AUTO_TEST_CASE(save_load_round_trip_device) {
  all_members_round_trip<thrust::device_vector<float>>();
  // A checkpoint is the same file whichever space the state lives in.
  r::ewc<std::vector<double>> host({}, reg_test::pseudo_random(n, 1));
  r::ewc<thrust::device_vector<double>> device(
      {}, set_io<thrust::device_vector<double>>::make(reg_test::pseudo_random(n, 1)));
  exercise<std::vector<double>>(host);
  exercise<thrust::device_vector<double>>(device);
  BOOST_TEST((snapshot(host) == snapshot(device)));
}
#endif

BOOST_AUTO_TEST_CASE(damaged_or_foreign_checkpoints_are_rejected_and_change_nothing) {
  r::ewc<V> a({}, p0);
  exercise<V>(a);
  const auto path = reg_test::temp_path("damaged.ckpt");
  io::save(path, a);
  auto bytes = reg_test::file_bytes(path);

  r::ewc<V> b({}, p0);
  exercise<V>(b);
  exercise<V>(b);  // different state from a
  auto load = [&](const std::vector<unsigned char>& image, auto& reg, const std::string& frag) {
    {
      std::ofstream out(path, std::ios::binary | std::ios::trunc);
      out.write(reinterpret_cast<const char*>(image.data()),
                static_cast<std::streamsize>(image.size()));
    }
    throws_and_keeps_state<continua::io_error>(
        reg, [&](auto& x) { io::load(path, x); }, frag);
  };
  auto flipped = bytes;
  flipped[flipped.size() / 2] ^= 0x10;
  load(flipped, b, "CRC32 mismatch");
  load(std::vector<unsigned char>(bytes.begin(), bytes.end() - 9), b, "truncated");
  // Another member's checkpoint, another mode, another shape.
  r::mas<V> m({}, p0);
  exercise<V>(m);
  io::save(path, m);
  load(reg_test::file_bytes(path), b, "expected 'regularize.ewc'");
  r::ewc<V> online({.mode = r::ewc_mode::online}, p0);
  exercise<V>(online);
  io::save(path, online);
  load(reg_test::file_bytes(path), b, "mode");
  r::ewc<V> bigger({}, V(n + 2, 0.0));
  exercise<V>(b);  // keep b trained; bigger just needs a file
  io::save(path, bigger);
  load(reg_test::file_bytes(path), b, "expected shape");
  std::filesystem::remove(path);
}

// Files that are intact as files (CRC, names, types, shapes) but hold a state no run produces: a
// NaN or negative Fisher (the penalty would reward moving away), a NaN anchor, a negative or NaN
// offset, an offset in online mode, a negative MAS importance, an infinite L2 anchor. Each load
// throws io_error naming the tensor's part and the element, and leaves the regularizer as it was.
BOOST_AUTO_TEST_CASE(forged_meaningless_states_are_refused_and_change_nothing) {
  const double inf = std::numeric_limits<double>::infinity();
  const auto good = reg_test::temp_path("forge_good.ckpt");
  const auto bad = reg_test::temp_path("forge_bad.ckpt");
  auto refused = [&](auto& reg, const std::string& record, std::size_t index, double value,
                     const std::string& fragment) {
    BOOST_TEST_CONTEXT("record " << record << "[" << index << "] = " << value) {
      reg_test::forge(good, bad, record, index, value);
      throws_and_keeps_state<continua::io_error>(
          reg, [&](auto& x) { io::load(bad, x); }, fragment);
    }
  };

  r::ewc<V> a({}, p0);
  exercise<V>(a);
  io::save(good, a);
  r::ewc<V> b({}, p0);
  exercise<V>(b);
  exercise<V>(b);
  refused(b, "t0/fisher", 3, not_a_number,
          "part 't0' of the state it holds is invalid: fisher[3] is nan, but it must be finite "
          "and >= 0");
  refused(b, "t0/fisher", 5, -0.25, "fisher[5] is -0.25, but it must be finite and >= 0");
  refused(b, "t0/accum", 0, -1.0, "accum[0] is -1");
  refused(b, "t0/anchor", 7, not_a_number, "anchor[7] is nan, but it must be finite");
  refused(b, "t0/anchor", 7, inf, "anchor[7] is inf");
  refused(b, "offset", 0, -1.0, "offset must be finite and >= 0");
  refused(b, "offset", 0, not_a_number, "offset must be finite and >= 0");
  // The checks refuse only what is wrong: the same edits with valid values load.
  for (const auto& [record, value] :
       {std::pair<std::string, double>{"t0/fisher", 0.5}, {"t0/anchor", -3.0}, {"offset", 2.0}}) {
    reg_test::forge(good, bad, record, 0, value);
    r::ewc<V> c({}, p0);
    io::load(bad, c);
    BOOST_TEST(c.tasks() == a.tasks());
  }

  r::ewc<V> online({.mode = r::ewc_mode::online}, p0);
  exercise<V>(online);
  io::save(good, online);
  r::ewc<V> online_b({.mode = r::ewc_mode::online}, p0);
  exercise<V>(online_b);
  exercise<V>(online_b);
  refused(online_b, "offset", 0, 0.5, "online EWC has no constant offset");

  r::mas<V> m({}, p0);
  exercise<V>(m);
  io::save(good, m);
  r::mas<V> m_b({}, p0);
  exercise<V>(m_b);
  exercise<V>(m_b);
  refused(m_b, "t0/importance", 2, -0.5, "importance[2] is -0.5, but it must be finite and >= 0");

  r::rwalk<V> w({}, p0);
  exercise<V>(w);
  io::save(good, w);
  r::rwalk<V> w_b({}, p0);
  exercise<V>(w_b);
  exercise<V>(w_b);
  refused(w_b, "t0/fisher", 1, -1.0, "fisher[1] is -1");
  refused(w_b, "t0/score", 1, not_a_number, "score[1] is nan");

  // A tuple of tensors: the message names the tensor (t1) whose buffer is wrong.
  using P = std::tuple<std::vector<float>, std::vector<double>>;
  const P shape = set_io<P>::make(reg_test::pseudo_random(n, 1));
  r::l2_anchor<P> l({}, shape);
  l.consolidate(shape);
  io::save(good, l);
  r::l2_anchor<P> l_b({}, shape);
  refused(l_b, "t1/anchor", 0, inf, "part 't1' of the state it holds is invalid: anchor[0] is inf");

  // Synaptic Intelligence's importance may be negative (omega sums -g * step, which is negative
  // where a step went against the gradient), so only non-finite values are refused.
  r::synaptic_intelligence<V> si({}, p0);
  exercise<V>(si);
  io::save(good, si);
  reg_test::forge(good, bad, "t0/importance", 0, -0.5);
  r::synaptic_intelligence<V> si_b({}, p0);
  io::load(bad, si_b);
  BOOST_TEST(si_b.tasks() == si.tasks());
  refused(si_b, "t0/importance", 0, not_a_number, "importance[0] is nan");

  std::filesystem::remove(good);
  std::filesystem::remove(bad);
}

// Issue 10: the counters must agree with what is stored. After exercise() (2 tasks consolidated,
// 3 observations of the third pending), a file claiming no pending observation while the
// accumulator holds some, or no task while the importance is non-zero, is refused; a counter at
// its maximum makes the next observe / consolidate throw instead of wrapping to 0.
BOOST_AUTO_TEST_CASE(counters_that_contradict_the_stored_state_are_refused) {
  const auto good = reg_test::temp_path("counter_good.ckpt");
  const auto bad = reg_test::temp_path("counter_bad.ckpt");
  auto refused = [&](auto& reg, const std::string& record, double value,
                     const std::string& fragment) {
    BOOST_TEST_CONTEXT("record " << record << " = " << value) {
      reg_test::forge(good, bad, record, 0, value);
      throws_and_keeps_state<continua::io_error>(
          reg, [&](auto& x) { io::load(bad, x); }, fragment);
    }
  };
  const std::string pending = "but it must be 0 because the counter says nothing was observed";
  const std::string no_task = "but it must be 0 because tasks = 0: no task was consolidated";
  auto check = [&](auto a, const std::string& counter, const std::vector<std::string>& pending_bufs,
                   const std::vector<std::string>& task_bufs) {
    exercise<V>(a);
    io::save(good, a);
    auto b = a;
    b.consolidate(p0);  // another state, which every refused load must keep
    for (const auto& buf : pending_bufs) refused(b, counter, 0, "tensor 0: " + buf + "[0] is ");
    refused(b, counter, 0, pending);
    refused(b, counter, 0, "(" + counter + " = 0, tasks = 2)");
    for (const auto& buf : task_bufs) refused(b, "tasks", 0, "tensor 0: " + buf + "[0] is ");
    refused(b, "tasks", 0, no_task);
    // A counter at its maximum loads (it is consistent), but cannot count further.
    continua_test::forge<std::uint64_t>(good, bad, counter, [](std::vector<std::uint64_t>& v) {
      v[0] = std::numeric_limits<std::uint64_t>::max();
    });
    io::load(bad, b);
    const V g = reg_test::pseudo_random(n, 99);
    throws_and_keeps_state<continua::invalid_argument>(
        b,
        [&](auto& x) {
          if constexpr (requires { x.observe(g, g); })
            x.observe(g, g);
          else
            x.observe(g);
        },
        counter + " is at its maximum");
    continua_test::forge<std::uint64_t>(good, bad, "tasks", [](std::vector<std::uint64_t>& v) {
      v[0] = std::numeric_limits<std::uint64_t>::max();
    });
    io::load(bad, b);
    throws_and_keeps_state<continua::invalid_argument>(
        b, [&](auto& x) { x.consolidate(p0); }, "tasks is at its maximum");
  };
  check(r::ewc<V>({}, p0), "samples", {"accum"}, {"fisher"});
  check(r::ewc<V>({.mode = r::ewc_mode::online, .decay = 0.5}, p0), "samples", {"accum"},
        {"fisher"});
  check(r::mas<V>({}, p0), "samples", {"accum"}, {"importance"});
  check(r::synaptic_intelligence<V>({}, p0), "steps", {"omega"}, {"importance"});
  check(r::rwalk<V>({}, p0), "steps", {"task_score"}, {"score"});

  // L2 anchor: only the task counter, which refuses to wrap as well.
  r::l2_anchor<V> l({}, p0);
  l.consolidate(p0);
  io::save(good, l);
  continua_test::forge<std::uint64_t>(good, bad, "tasks", [](std::vector<std::uint64_t>& v) {
    v[0] = std::numeric_limits<std::uint64_t>::max();
  });
  io::load(bad, l);
  throws_and_keeps_state<continua::invalid_argument>(
      l, [&](auto& x) { x.consolidate(p0); }, "tasks is at its maximum");

  std::filesystem::remove(good);
  std::filesystem::remove(bad);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(composition)

BOOST_AUTO_TEST_CASE(sum_is_the_sum_of_its_members) {
  using P = std::tuple<std::vector<float>, std::vector<double>>;
  const P shape = set_io<P>::make(reg_test::pseudo_random(n, 1));
  r::ewc<P> e({.strength = 2}, shape);
  r::synaptic_intelligence<P> s({.strength = 0.5}, shape);
  r::l2_anchor<P> l({.strength = 0.1}, shape);
  exercise<P>(e);
  exercise<P>(s);
  l.consolidate(shape);
  auto total = r::sum(e, s, l);
  const P q = set_io<P>::make(reg_test::pseudo_random(n, 5));
  BOOST_TEST(total.penalty(q) == e.penalty(q) + s.penalty(q) + l.penalty(q),
             boost::test_tools::tolerance(1e-12));
  // Nested sums flatten to the same numbers.
  auto inner = r::sum(e, s);
  auto nested = r::sum(inner, l);
  BOOST_TEST(nested.penalty(q) == total.penalty(q), boost::test_tools::tolerance(1e-12));
  P g_sum = set_io<P>::make(reg_test::pseudo_random(n, 6)), g_hand = g_sum;
  total.add_gradient(q, g_sum);
  e.add_gradient(q, g_hand);
  s.add_gradient(q, g_hand);
  l.add_gradient(q, g_hand);
  BOOST_TEST((set_io<P>::flat(g_sum) == set_io<P>::flat(g_hand)));
  // A member's check fails before any member has touched grads.
  r::mas<P> other({}, set_io<P>::make(vec(n + 3, 0.0)));
  auto bad = r::sum(e, other);
  P g = set_io<P>::make(vec(n, 1.0));
  BOOST_CHECK_THROW(bad.add_gradient(q, g), continua::size_mismatch);
  BOOST_TEST((set_io<P>::flat(g) == vec(n, 1.0)));
}

BOOST_AUTO_TEST_CASE(add_regularizer_in_a_chain_equals_manual_gradient_then_sgd) {
  using P = std::vector<float>;
  const P start = set_io<P>::make(reg_test::pseudo_random(n, 1));
  r::ewc<P> e({.strength = 3}, start);
  r::rwalk<P> w({.strength = 0.5}, start);
  exercise<P>(e);
  exercise<P>(w);

  auto chained = o::chain(r::add_regularizer(e), o::sgd({.lr = 0.05, .momentum = 0.9}));
  auto with_sum = o::chain(r::add_regularizer(r::sum(e, w)), o::sgd({.lr = 0.05}));
  auto plain = o::sgd({.lr = 0.05, .momentum = 0.9});
  auto plain_nomom = o::sgd({.lr = 0.05});
  P p1 = start, p2 = start, p3 = start, p4 = start;
  auto s1 = chained.init(p1);
  auto s2 = plain.init(p2);
  auto s3 = with_sum.init(p3);
  auto s4 = plain_nomom.init(p4);
  for (int step = 0; step < 5; ++step) {
    const P g = set_io<P>::make(reg_test::pseudo_random(n, 90 + step));
    P g1 = g, g2 = g, g3 = g, g4 = g;
    chained.step(p1, g1, s1);
    e.add_gradient(p2, g2);
    plain.step(p2, g2, s2);
    with_sum.step(p3, g3, s3);
    e.add_gradient(p4, g4);
    w.add_gradient(p4, g4);
    plain_nomom.step(p4, g4, s4);
  }
  BOOST_TEST((p1 == p2));
  BOOST_TEST((p3 == p4));
  BOOST_TEST((p1 != start));

  // The chain validates the regularizer before changing anything.
  r::l2_anchor<P> small({}, P(n - 1, 0.f));
  auto bad = o::chain(o::sgd({.lr = 0.05, .momentum = 0.9}), r::add_regularizer(small));
  auto sb = bad.init(p1);
  const P before = p1;
  P g(n, 1.f);
  BOOST_CHECK_THROW(bad.step(p1, g, sb), continua::size_mismatch);
  BOOST_TEST((p1 == before));

  // The chain's own checkpoint carries the optimizer state; the regularizer saves itself.
  const auto path = reg_test::temp_path("chain.ckpt");
  io::save(path, chained, s1);
  auto s5 = chained.init(p1);
  io::load(path, chained, s5);
  std::filesystem::remove(path);
}

BOOST_AUTO_TEST_CASE(nothing_consolidated_means_no_penalty) {
  using P = std::vector<double>;
  r::ewc<P> e({}, p0);
  r::mas<P> m({}, p0);
  r::rwalk<P> w({}, p0);
  r::synaptic_intelligence<P> s({}, p0);
  r::l2_anchor<P> l({}, p0);
  auto all = r::sum(e, m, w, s, l);
  const P q = reg_test::pseudo_random(n, 4);
  BOOST_TEST(all.penalty(q) == 0.0);
  P g(n, 0.5);
  all.add_gradient(q, g);
  BOOST_TEST((g == P(n, 0.5)));
}

BOOST_AUTO_TEST_SUITE_END()
