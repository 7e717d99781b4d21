// Ready-made optimizers, each a short chain of the transformations (one implementation of each
// rule). Defaults and semantics follow torch.optim, so trajectories match it step for step.
#pragma once

#include <cmath>
#include <utility>

#include "continua/optim/adagrad.hpp"
#include "continua/optim/adam.hpp"
#include "continua/optim/chain.hpp"
#include "continua/optim/multi_normalize.hpp"
#include "continua/optim/rms.hpp"
#include "continua/optim/scale.hpp"
#include "continua/optim/schedules.hpp"
#include "continua/optim/sign.hpp"
#include "continua/optim/trace.hpp"
#include "continua/optim/weight_decay.hpp"

namespace continua::optim {

namespace detail {
inline void check_lr(const char* who, double lr) {
  require_option(lr >= 0 && std::isfinite(lr), who, "lr", lr, "must be finite and >= 0");
}
template <class Schedule>
Schedule lr_schedule(const char* who, double lr, Schedule s) {
  check_lr(who, lr);
  return s;
}
}  // namespace detail

// SGD with optional heavy-ball/Nesterov momentum and coupled weight decay (torch.optim.SGD,
// dampening 0): g += wd p; b = m b + g; d = nesterov ? g + m b : b; p -= lr d.
struct sgd_options {
  double lr = 1e-2;
  double momentum = 0.0;
  bool nesterov = false;
  double weight_decay = 0.0;
};
template <class Schedule = constant_schedule>
auto sgd(sgd_options o, Schedule lr) {
  return chain(add_decayed_weights(o.weight_decay),
               trace({.decay = o.momentum, .nesterov = o.nesterov}),
               scale_by_learning_rate<Schedule>(std::move(lr)));
}
inline auto sgd(sgd_options o = {}) {
  return sgd(o, detail::lr_schedule("sgd", o.lr, constant_schedule(o.lr)));
}
inline auto momentum(double lr, double m = 0.9) { return sgd({.lr = lr, .momentum = m}); }
inline auto nesterov(double lr, double m = 0.9) {
  return sgd({.lr = lr, .momentum = m, .nesterov = true});
}

// Adam with coupled L2 weight decay (torch.optim.Adam).
struct adam_options {
  double lr = 1e-3;
  double b1 = 0.9;
  double b2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.0;
  bool amsgrad = false;
};
template <class Schedule = constant_schedule>
auto adam(adam_options o, Schedule lr) {
  return chain(add_decayed_weights(o.weight_decay),
               scale_by_adam({.b1 = o.b1, .b2 = o.b2, .eps = o.eps, .amsgrad = o.amsgrad}),
               scale_by_learning_rate<Schedule>(std::move(lr)));
}
inline auto adam(adam_options o = {}) {
  return adam(o, detail::lr_schedule("adam", o.lr, constant_schedule(o.lr)));
}
inline auto amsgrad(adam_options o = {}) {
  o.amsgrad = true;
  return adam(o);
}

// AdamW: decoupled weight decay, p -= lr (adam(g) + wd p) (torch.optim.AdamW, default wd 1e-2).
struct adamw_options {
  double lr = 1e-3;
  double b1 = 0.9;
  double b2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 1e-2;
  bool amsgrad = false;
};
template <class Schedule = constant_schedule>
auto adamw(adamw_options o, Schedule lr) {
  return chain(scale_by_adam({.b1 = o.b1, .b2 = o.b2, .eps = o.eps, .amsgrad = o.amsgrad}),
               add_decayed_weights(o.weight_decay),
               scale_by_learning_rate<Schedule>(std::move(lr)));
}
inline auto adamw(adamw_options o = {}) {
  return adamw(o, detail::lr_schedule("adamw", o.lr, constant_schedule(o.lr)));
}

// RMSprop (torch.optim.RMSprop): coupled decay, running RMS (optionally centred), momentum.
struct rmsprop_options {
  double lr = 1e-2;
  double alpha = 0.99;
  double eps = 1e-8;
  double weight_decay = 0.0;
  double momentum = 0.0;
  bool centered = false;
};
template <class Schedule = constant_schedule>
auto rmsprop(rmsprop_options o, Schedule lr) {
  return chain(add_decayed_weights(o.weight_decay),
               scale_by_rms({.decay = o.alpha, .eps = o.eps, .centered = o.centered}),
               trace({.decay = o.momentum}), scale_by_learning_rate<Schedule>(std::move(lr)));
}
inline auto rmsprop(rmsprop_options o = {}) {
  return rmsprop(o, detail::lr_schedule("rmsprop", o.lr, constant_schedule(o.lr)));
}

// Adagrad (torch.optim.Adagrad): lr / (1 + (t - 1) lr_decay), coupled decay.
struct adagrad_options {
  double lr = 1e-2;
  double lr_decay = 0.0;
  double weight_decay = 0.0;
  double initial_accumulator = 0.0;
  double eps = 1e-10;
};
inline auto adagrad(adagrad_options o = {}) {
  detail::check_lr("adagrad", o.lr);
  return chain(
      add_decayed_weights(o.weight_decay),
      scale_by_adagrad({.initial_accumulator = o.initial_accumulator, .eps = o.eps}),
      scale_by_learning_rate<inverse_time_schedule>(inverse_time_schedule(o.lr, o.lr_decay)));
}

// Lion with decoupled weight decay: p -= lr (sign(b1 m + (1 - b1) g) + wd p).
struct lion_options {
  double lr = 1e-4;
  double b1 = 0.9;
  double b2 = 0.99;
  double weight_decay = 0.0;
};
template <class Schedule = constant_schedule>
auto lion(lion_options o, Schedule lr) {
  return chain(scale_by_lion({.b1 = o.b1, .b2 = o.b2}), add_decayed_weights(o.weight_decay),
               scale_by_learning_rate<Schedule>(std::move(lr)));
}
inline auto lion(lion_options o = {}) {
  return lion(o, detail::lr_schedule("lion", o.lr, constant_schedule(o.lr)));
}

// signSGD: p -= lr sign(g).
inline auto sign_sgd(double lr) {
  detail::check_lr("sign_sgd", lr);
  return chain(scale_by_sign{}, scale_by_learning_rate(lr));
}

// Stateless SGD on multi-normalised gradients: p -= lr MultiNorm(g) (SinkGD with the default
// sinkhorn variant; Scetbon et al. 2025). No optimizer state beyond the step count.
template <class Schedule = constant_schedule>
auto multi_normalized_sgd(multi_normalize_options o, Schedule lr) {
  return chain(multi_normalize(std::move(o)), scale_by_learning_rate<Schedule>(std::move(lr)));
}
inline auto multi_normalized_sgd(double lr, multi_normalize_options o = {}) {
  return multi_normalized_sgd(
      std::move(o), detail::lr_schedule("multi_normalized_sgd", lr, constant_schedule(lr)));
}

}  // namespace continua::optim
