// Naive reference implementations of the importance penalties: the published formulas written
// as plain loops over flat double vectors, kept per task where the paper keeps them per task.
#pragma once

#include <cstddef>
#include <utility>
#include <vector>

#include "common.hpp"

namespace reg_test {

// Shared: penalty c * sum w (q - a)^2 and its gradient 2c w (q - a).
inline double quad(double c, const vec& w, const vec& q, const vec& a) {
  double s = 0;
  for (std::size_t i = 0; i < q.size(); ++i) s += w[i] * (q[i] - a[i]) * (q[i] - a[i]);
  return c * s;
}
inline vec quad_grad(double c, const vec& w, const vec& q, const vec& a) {
  vec g(q.size());
  for (std::size_t i = 0; i < q.size(); ++i) g[i] = 2 * c * w[i] * (q[i] - a[i]);
  return g;
}

struct ref_l2 {
  double lambda;
  vec anchor;
  int tasks = 0;
  explicit ref_l2(double l, const vec&) : lambda(l) {}
  void consolidate(const vec& p) {
    anchor = p;
    ++tasks;
  }
  double penalty(const vec& q) const {
    return tasks ? quad(lambda / 2, vec(q.size(), 1.0), q, anchor) : 0.0;
  }
  vec gradient(const vec& q) const {
    return tasks ? quad_grad(lambda / 2, vec(q.size(), 1.0), q, anchor) : vec(q.size(), 0.0);
  }
};

struct ref_ewc {
  double lambda, gamma;
  bool online;
  vec accum;
  int count = 0;
  std::vector<std::pair<vec, vec>> per_task;  // separate: (F_t, anchor_t)
  vec fisher, anchor;                         // online
  ref_ewc(double l, double g, bool on, const vec& p0)
      : lambda(l), gamma(g), online(on), accum(p0.size(), 0.0), fisher(p0.size(), 0.0) {}
  void observe(const vec& g) {
    for (std::size_t i = 0; i < g.size(); ++i) accum[i] += g[i] * g[i];
    ++count;
  }
  void consolidate(const vec& p) {
    vec ft(accum.size());
    for (std::size_t i = 0; i < ft.size(); ++i) ft[i] = accum[i] / count;
    if (online) {
      for (std::size_t i = 0; i < ft.size(); ++i) fisher[i] = gamma * fisher[i] + ft[i];
      anchor = p;
      per_task.assign(1, {fisher, anchor});
    } else {
      per_task.emplace_back(ft, p);
    }
    accum.assign(accum.size(), 0.0);
    count = 0;
  }
  double penalty(const vec& q) const {
    double s = 0;
    for (const auto& [f, a] : per_task) s += quad(lambda / 2, f, q, a);
    return s;
  }
  vec gradient(const vec& q) const {
    vec g(q.size(), 0.0);
    for (const auto& [f, a] : per_task) {
      const vec gt = quad_grad(lambda / 2, f, q, a);
      for (std::size_t i = 0; i < g.size(); ++i) g[i] += gt[i];
    }
    return g;
  }
};

struct ref_si {
  double c, xi;
  vec omega, previous, start, big_omega, anchor;
  int tasks = 0;
  ref_si(double c_, double xi_, const vec& p0)
      : c(c_), xi(xi_), omega(p0.size(), 0.0), previous(p0), start(p0), big_omega(p0.size(), 0.0) {}
  void observe(const vec& g, const vec& after) {
    for (std::size_t i = 0; i < g.size(); ++i) omega[i] -= g[i] * (after[i] - previous[i]);
    previous = after;
  }
  void consolidate(const vec& p) {
    for (std::size_t i = 0; i < p.size(); ++i) {
      const double delta = p[i] - start[i];
      big_omega[i] += omega[i] / (delta * delta + xi);
    }
    omega.assign(p.size(), 0.0);
    start = previous = anchor = p;
    ++tasks;
  }
  double penalty(const vec& q) const { return tasks ? quad(c, big_omega, q, anchor) : 0.0; }
  vec gradient(const vec& q) const {
    return tasks ? quad_grad(c, big_omega, q, anchor) : vec(q.size(), 0.0);
  }
};

struct ref_mas {
  double lambda, blend;
  vec accum, big_omega, anchor;
  int count = 0, tasks = 0;
  ref_mas(double l, double b, const vec& p0)
      : lambda(l), blend(b), accum(p0.size(), 0.0), big_omega(p0.size(), 0.0) {}
  void observe(const vec& g) {
    for (std::size_t i = 0; i < g.size(); ++i) accum[i] += g[i] < 0 ? -g[i] : g[i];
    ++count;
  }
  void consolidate(const vec& p) {
    for (std::size_t i = 0; i < p.size(); ++i) {
      const double task = accum[i] / count;
      big_omega[i] = tasks == 0 ? task : blend * big_omega[i] + (1 - blend) * task;
    }
    accum.assign(p.size(), 0.0);
    count = 0;
    anchor = p;
    ++tasks;
  }
  double penalty(const vec& q) const { return tasks ? quad(lambda, big_omega, q, anchor) : 0.0; }
  vec gradient(const vec& q) const {
    return tasks ? quad_grad(lambda, big_omega, q, anchor) : vec(q.size(), 0.0);
  }
};

struct ref_rwalk {
  double lambda, alpha, eps;
  vec fisher, task_score, previous, score, importance, anchor;
  int tasks = 0;
  ref_rwalk(double l, double a, double e, const vec& p0)
      : lambda(l),
        alpha(a),
        eps(e),
        fisher(p0.size(), 0.0),
        task_score(p0.size(), 0.0),
        previous(p0),
        score(p0.size(), 0.0) {}
  void observe(const vec& g, const vec& after) {
    for (std::size_t i = 0; i < g.size(); ++i) {
      fisher[i] = alpha * fisher[i] + (1 - alpha) * g[i] * g[i];
      const double d = after[i] - previous[i];
      task_score[i] += -g[i] * d / (0.5 * fisher[i] * d * d + eps);
    }
    previous = after;
  }
  void consolidate(const vec& p) {
    importance.resize(p.size());
    for (std::size_t i = 0; i < p.size(); ++i) {
      score[i] = tasks == 0 ? task_score[i] : 0.5 * (score[i] + task_score[i]);
      importance[i] = fisher[i] + score[i];
    }
    task_score.assign(p.size(), 0.0);
    previous = anchor = p;
    ++tasks;
  }
  double penalty(const vec& q) const { return tasks ? quad(lambda, importance, q, anchor) : 0.0; }
  vec gradient(const vec& q) const {
    return tasks ? quad_grad(lambda, importance, q, anchor) : vec(q.size(), 0.0);
  }
};

}  // namespace reg_test
