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
// SGD whose learning rate follows a schedule (o.lr is not used): chain(add_decayed_weights,
// trace, scale_by_learning_rate). Robbins & Monro 1951; momentum: Polyak 1964.
template <class Schedule = constant_schedule>
auto sgd(sgd_options o, Schedule lr) {
  return chain(add_decayed_weights(o.weight_decay),
               trace({.decay = o.momentum, .nesterov = o.nesterov}),
               scale_by_learning_rate<Schedule>(std::move(lr)));
}
// SGD at the constant rate o.lr (default 1e-2, no momentum, no decay).
inline auto sgd(sgd_options o = {}) {
  return sgd(o, detail::lr_schedule("sgd", o.lr, constant_schedule(o.lr)));
}
// Heavy-ball SGD: b = m b + g; p -= lr b (Polyak 1964).
inline auto momentum(double lr, double m = 0.9) { return sgd({.lr = lr, .momentum = m}); }
// Nesterov SGD: b = m b + g; p -= lr (g + m b) (Sutskever et al., ICML 2013).
inline auto nesterov(double lr, double m = 0.9) {
  return sgd({.lr = lr, .momentum = m, .nesterov = true});
}

// Adam with coupled L2 weight decay (torch.optim.Adam): g += wd p; p -= lr scale_by_adam(g).
// Kingma & Ba, "Adam", ICLR 2015, Alg. 1.
struct adam_options {
  double lr = 1e-3;
  double b1 = 0.9;
  double b2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.0;
  bool amsgrad = false;
};
// Adam whose learning rate follows a schedule (o.lr is not used): chain(add_decayed_weights,
// scale_by_adam, scale_by_learning_rate). Kingma & Ba, "Adam", ICLR 2015, Alg. 1.
template <class Schedule = constant_schedule>
auto adam(adam_options o, Schedule lr) {
  return chain(add_decayed_weights(o.weight_decay),
               scale_by_adam({.b1 = o.b1, .b2 = o.b2, .eps = o.eps, .amsgrad = o.amsgrad}),
               scale_by_learning_rate<Schedule>(std::move(lr)));
}
// Adam at the constant rate o.lr (defaults: lr 1e-3, b1 0.9, b2 0.999, eps 1e-8, wd 0).
inline auto adam(adam_options o = {}) {
  return adam(o, detail::lr_schedule("adam", o.lr, constant_schedule(o.lr)));
}
// Adam with amsgrad = true. Reddi et al., "On the Convergence of Adam and Beyond", ICLR 2018.
inline auto amsgrad(adam_options o = {}) {
  o.amsgrad = true;
  return adam(o);
}

// AdamW: decoupled weight decay, p -= lr (adam(g) + wd p) (torch.optim.AdamW, default wd 1e-2).
// Loshchilov & Hutter, "Decoupled Weight Decay Regularization", ICLR 2019, Alg. 2.
struct adamw_options {
  double lr = 1e-3;
  double b1 = 0.9;
  double b2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 1e-2;
  bool amsgrad = false;
};
// AdamW whose learning rate follows a schedule (o.lr is not used): chain(scale_by_adam,
// add_decayed_weights, scale_by_learning_rate). Loshchilov & Hutter, ICLR 2019.
template <class Schedule = constant_schedule>
auto adamw(adamw_options o, Schedule lr) {
  return chain(scale_by_adam({.b1 = o.b1, .b2 = o.b2, .eps = o.eps, .amsgrad = o.amsgrad}),
               add_decayed_weights(o.weight_decay),
               scale_by_learning_rate<Schedule>(std::move(lr)));
}
// AdamW at the constant rate o.lr (defaults: lr 1e-3, b1 0.9, b2 0.999, eps 1e-8, wd 1e-2).
inline auto adamw(adamw_options o = {}) {
  return adamw(o, detail::lr_schedule("adamw", o.lr, constant_schedule(o.lr)));
}

// RMSprop (torch.optim.RMSprop): coupled decay, running RMS (optionally centred), momentum.
// Tieleman & Hinton, Lecture 6.5, 2012.
struct rmsprop_options {
  double lr = 1e-2;
  double alpha = 0.99;
  double eps = 1e-8;
  double weight_decay = 0.0;
  double momentum = 0.0;
  bool centered = false;
};
// RMSprop whose learning rate follows a schedule (o.lr is not used): chain(add_decayed_weights,
// scale_by_rms, trace, scale_by_learning_rate).
template <class Schedule = constant_schedule>
auto rmsprop(rmsprop_options o, Schedule lr) {
  return chain(add_decayed_weights(o.weight_decay),
               scale_by_rms({.decay = o.alpha, .eps = o.eps, .centered = o.centered}),
               trace({.decay = o.momentum}), scale_by_learning_rate<Schedule>(std::move(lr)));
}
// RMSprop at the constant rate o.lr (defaults: lr 1e-2, alpha 0.99, eps 1e-8, no momentum).
inline auto rmsprop(rmsprop_options o = {}) {
  return rmsprop(o, detail::lr_schedule("rmsprop", o.lr, constant_schedule(o.lr)));
}

// Adagrad (torch.optim.Adagrad): lr / (1 + (t - 1) lr_decay), coupled decay.
// Duchi, Hazan & Singer, "Adaptive Subgradient Methods", JMLR 2011.
struct adagrad_options {
  double lr = 1e-2;
  double lr_decay = 0.0;
  double weight_decay = 0.0;
  double initial_accumulator = 0.0;
  double eps = 1e-10;
};
// Adagrad: chain(add_decayed_weights, scale_by_adagrad, scale_by_learning_rate with an
// inverse_time_schedule(lr, lr_decay)). Defaults: lr 1e-2, eps 1e-10, no decay.
inline auto adagrad(adagrad_options o = {}) {
  detail::check_lr("adagrad", o.lr);
  return chain(
      add_decayed_weights(o.weight_decay),
      scale_by_adagrad({.initial_accumulator = o.initial_accumulator, .eps = o.eps}),
      scale_by_learning_rate<inverse_time_schedule>(inverse_time_schedule(o.lr, o.lr_decay)));
}

// Lion with decoupled weight decay: p -= lr (sign(b1 m + (1 - b1) g) + wd p).
// Chen et al., "Symbolic Discovery of Optimization Algorithms", NeurIPS 2023, Alg. 2.
struct lion_options {
  double lr = 1e-4;
  double b1 = 0.9;
  double b2 = 0.99;
  double weight_decay = 0.0;
};
// Lion whose learning rate follows a schedule (o.lr is not used): chain(scale_by_lion,
// add_decayed_weights, scale_by_learning_rate).
template <class Schedule = constant_schedule>
auto lion(lion_options o, Schedule lr) {
  return chain(scale_by_lion({.b1 = o.b1, .b2 = o.b2}), add_decayed_weights(o.weight_decay),
               scale_by_learning_rate<Schedule>(std::move(lr)));
}
// Lion at the constant rate o.lr (defaults: lr 1e-4, b1 0.9, b2 0.99, wd 0).
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
// multi_normalized_sgd at the constant rate lr.
inline auto multi_normalized_sgd(double lr, multi_normalize_options o = {}) {
  return multi_normalized_sgd(
      std::move(o), detail::lr_schedule("multi_normalized_sgd", lr, constant_schedule(lr)));
}

}  // namespace continua::optim
