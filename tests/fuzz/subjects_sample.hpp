// Sampler subjects for the loader target and the seed corpus: the MCMC chain state (plain and
// pSGLD's), the warm-up adaptations, the EBM persistent chain buffer and the data-order samplers,
// each after a few steps on two-dimensional targets, so every counter and statistic has moved.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "continua/sample/ebm/persistent_chains.hpp"
#include "continua/sample/mcmc/adaptation.hpp"
#include "continua/sample/mcmc/mala.hpp"
#include "continua/sample/mcmc/sgld.hpp"
#include "continua/sample/order/cyclical_curriculum.hpp"
#include "continua/sample/order/learning_progress.hpp"
#include "continua/sample/order/power_law_rehearsal.hpp"
#include "continua/sample/targets/gaussian.hpp"
#include "fuzz.hpp"

namespace continua_fuzz {

namespace sample_subjects {

namespace s = continua::sample;

constexpr std::size_t chains = 4, dim = 2;

template <class T>
const s::targets::gaussian<T>& target() {
  static const s::targets::gaussian<T> t({0.5, -1.0}, {1.0, 0.3, 0.3, 2.0});
  return t;
}
template <class T>
std::vector<T> starts() {
  std::vector<T> x(chains * dim);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = static_cast<T>(0.25 * double(i) - 0.5);
  return x;
}

inline const s::mala mala_kernel({.step_size = 0.4});
inline const s::psgld psgld_kernel({.step_size = 0.05, .alpha = 0.9});

// A kernel's state after three steps.
template <class T, class Kernel>
auto stepped(const Kernel& k) {
  const std::vector<T> x = starts<T>();
  auto st = k.init(continua::as_matrix(x, chains, dim), target<T>());
  for (int i = 0; i < 3; ++i) k.step(st, target<T>(), {7, 1});
  return st;
}

// A resumed run's first step.
template <class Kernel>
auto step_with(const Kernel& k) {
  return [&k](auto& st) {
    using T = typename decltype(st.position)::value_type;
    k.step(st, target<T>(), {7, 1});
  };
}

inline s::window_adaptation_options warmup() {
  return {.num_steps = 40, .initial_buffer = 4, .final_buffer = 4, .base_window = 4};
}
// A warm-up 12 updates in (past its first slow window's end).
inline s::window_adaptation adapted() {
  s::window_adaptation w(warmup());
  auto st = stepped<double>(mala_kernel);
  for (int i = 0; i < 12; ++i) {
    mala_kernel.step(st, target<double>(), {5, 2});
    w.update(st);
  }
  return w;
}

inline s::dual_averaging averaged() {
  s::dual_averaging d({.target_acceptance = 0.65});
  d.restart(0.3);
  for (const double a : {0.9, 0.2, 0.7, 0.55}) d.update(a);
  return d;
}

inline s::ebm::persistent_chains_options store_options() {
  return {.capacity = 6, .dim = dim, .reinit_probability = 0.25, .seed = {3, 0}};
}
// Draw three chains, move them, hand them back.
inline void round_trip(s::ebm::persistent_chains<float>& b) {
  std::vector<float> batch(3 * dim);
  b.draw(batch);
  for (auto& v : batch) v = v * 0.5f + 0.25f;
  b.write_back(batch);
}
inline s::ebm::persistent_chains<float> stored() {
  s::ebm::persistent_chains<float> b(store_options());
  for (int i = 0; i < 3; ++i) round_trip(b);
  return b;
}

inline s::cyclical_curriculum_options curriculum() {
  return {.floor = 0.25, .multiplier = 0.5, .seed = 11};
}
inline s::cyclical_curriculum cycled() {
  s::cyclical_curriculum c(curriculum());
  c.set_difficulty(std::vector<double>{0.3, -1.0, 2.5, 0.3, 7.0});
  std::vector<std::uint64_t> items(4);
  for (int i = 0; i < 3; ++i) {
    c.sample(items);
    c.advance();
  }
  return c;
}

inline const std::vector<std::uint64_t> positions{0, 2, 3, 7, 9};
inline s::power_law_rehearsal rehearsed() {
  s::power_law_rehearsal r({.alpha = 0.7, .seed = 12});
  std::vector<std::uint64_t> slots(5);
  r.sample(positions, 10, slots);
  return r;
}

inline s::learning_progress_options progress() {
  return {.tasks = 3, .fast = 0.3, .slow = 0.05, .epsilon = 0.2, .seed = 13};
}
inline s::learning_progress_sampler progressed() {
  s::learning_progress_sampler l(progress());
  l.observe(0, 2.0);
  l.observe(0, 1.5);
  l.observe(1, 0.75);
  l.observe(0, 1.25);
  std::vector<std::uint64_t> tasks(4);
  l.sample(tasks);
  return l;
}

}  // namespace sample_subjects

// Calls f(name, make, use) for each sampler subject.
template <class F>
void visit_sample(F&& f) {
  using namespace sample_subjects;
  f(
      "chain_state_mala", [] { return stepped<float>(mala_kernel); }, step_with(mala_kernel));
  f(
      "psgld_state", [] { return stepped<double>(psgld_kernel); }, step_with(psgld_kernel));
  f("dual_averaging", averaged, [](s::dual_averaging& d) {
    d.update(0.4);
    d.update_statistic(-0.1);
  });
  f("window_adaptation", adapted, [](s::window_adaptation& w) {
    auto st = stepped<double>(mala_kernel);
    for (int i = 0; i < 3; ++i) {
      mala_kernel.step(st, target<double>(), {5, 3});
      w.update(st);
    }
  });
  f("persistent_chains", stored, [](auto& b) { round_trip(b); });
  f("cyclical_curriculum", cycled, [](s::cyclical_curriculum& c) {
    std::vector<std::uint64_t> items(3);
    c.sample(items);
    c.advance(2);
    c.sample(items);
  });
  f("power_law_rehearsal", rehearsed, [](s::power_law_rehearsal& r) {
    std::vector<std::uint64_t> slots(4);
    r.sample(positions, 12, slots);
  });
  f("learning_progress_sampler", progressed, [](s::learning_progress_sampler& l) {
    std::vector<double> p(3);
    l.probabilities(p);
    l.observe(2, 3.0);
    std::vector<std::uint64_t> tasks(3);
    l.sample(tasks);
  });
}

}  // namespace continua_fuzz
