// Regularizer subjects for the loader target and the seed corpus: every checkpointable member of
// regularize/ (L2 anchor, EWC separate and online, SI, MAS, RWalk, A-GEM, gradient projection),
// each trained through two tasks and the start of a third on a few parameters.
#pragma once

#include <cstddef>
#include <tuple>
#include <vector>

#include "continua/regularize/agem.hpp"
#include "continua/regularize/ewc.hpp"
#include "continua/regularize/gradient_projection.hpp"
#include "continua/regularize/l2_anchor.hpp"
#include "continua/regularize/mas.hpp"
#include "continua/regularize/rwalk.hpp"
#include "continua/regularize/synaptic_intelligence.hpp"
#include "fuzz.hpp"

namespace continua_fuzz {

namespace regularize_subjects {

namespace r = continua::regularize;
using vec = std::vector<double>;

inline vec params0() { return {0.5, -1.0, 0.25, 2.0, -0.75}; }
inline vec grads_at(int k) {
  vec g = params0();
  for (std::size_t i = 0; i < g.size(); ++i) g[i] = 0.3 * g[i] - 0.1 * ((k + int(i)) % 4) + 0.05;
  return g;
}

// Two tasks and the start of a third: observe (as each member observes), step, consolidate.
template <class Reg>
Reg trained(Reg reg) {
  vec p = params0();
  for (int task = 0; task < 3; ++task) {
    for (int step = 0; step < 3; ++step) {
      const vec g = grads_at(5 * task + step);
      vec after = p;
      for (std::size_t i = 0; i < p.size(); ++i) after[i] -= 0.1 * g[i];
      if constexpr (requires { reg.observe(g, after); })
        reg.observe(g, after);
      else if constexpr (requires { reg.observe(g); })
        reg.observe(g);
      p = after;
    }
    if (task < 2) reg.consolidate(p);
  }
  return reg;
}

// A penalty's value and gradient at other parameters, then one more observation.
inline auto use_penalty = [](auto& reg) {
  const vec p = grads_at(11);
  vec g = grads_at(12);
  (void)reg.penalty(p);
  reg.add_gradient(p, g);
  if constexpr (requires { reg.observe(g, p); })
    reg.observe(g, p);
  else if constexpr (requires { reg.observe(g); })
    reg.observe(g);
};

}  // namespace regularize_subjects

// Calls f(name, make, use) for each regularizer subject.
template <class F>
void visit_regularize(F&& f) {
  using namespace regularize_subjects;
  f(
      "l2_anchor",
      [] {
        r::l2_anchor<vec> reg({.strength = 0.5}, params0());
        reg.consolidate(grads_at(3));
        return reg;
      },
      use_penalty);
  f(
      "ewc", [] { return trained(r::ewc<vec>({.strength = 2.0}, params0())); }, use_penalty);
  f(
      "ewc_online",
      [] { return trained(r::ewc<vec>({.mode = r::ewc_mode::online, .decay = 0.9}, params0())); },
      use_penalty);
  f(
      "synaptic_intelligence",
      [] { return trained(r::synaptic_intelligence<vec>({.damping = 0.1}, params0())); },
      use_penalty);
  f(
      "mas", [] { return trained(r::mas<vec>({.blend = 0.5}, params0())); }, use_penalty);
  f(
      "rwalk", [] { return trained(r::rwalk<vec>({}, params0())); }, use_penalty);
  f(
      "agem",
      [] {
        r::agem<vec> reg(params0());
        reg.set_reference(grads_at(2));
        return reg;
      },
      [](auto& reg) {
        vec g = grads_at(6);
        for (double& v : g) v = -v;
        (void)reg.project(g);
      });
  f(
      "gradient_projection",
      [] {
        r::gradient_projection<double> gpm({.threshold = 0.9}, 3);
        const vec x = {1.0, 0.5, -0.25, 0.0, 2.0, 1.0, -1.0, 0.25, 0.5, 0.75, -0.5, 1.5};
        gpm.consolidate(continua::matrix_view<const double>(x.data(), 4, 3));
        return gpm;
      },
      [](auto& gpm) {
        vec w = {0.5, -1.0, 2.0, 1.0, 0.25, -0.5};
        gpm.project(continua::matrix_view<double>(w.data(), 2, 3));
        const vec x = {0.5, 1.0, -1.0, 2.0, 0.0, 1.0};
        gpm.consolidate(continua::matrix_view<const double>(x.data(), 2, 3));
      });
}

}  // namespace continua_fuzz
