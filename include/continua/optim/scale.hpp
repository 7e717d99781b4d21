// Scaling transformations: scale (constant factor) and scale_by_learning_rate (u = -lr(count) g).
// optax: scale, scale_by_learning_rate / scale_by_schedule.
#pragma once

#include <cmath>
#include <cstddef>
#include <type_traits>

#include "continua/optim/elementwise_base.hpp"
#include "continua/optim/schedules.hpp"

namespace continua::optim {

namespace detail {
template <class T>
struct scale_kernel {
  T factor;
  CONTINUA_HD T operator()(std::size_t, T g, T) const { return factor * g; }
};
}  // namespace detail

// u = factor * g. Option: factor (finite). No state. optax: scale.
struct scale : stateless_elementwise {
  static constexpr const char* name = "scale";
  double factor;
  explicit scale(double f) : factor(f) {
    require_option(std::isfinite(f), name, "factor", f, "must be finite");
  }
  template <class G, class P>
  double prepare(no_scalars, const G&, const P&) const {
    return factor;
  }
  template <class T, class Space>
  detail::scale_kernel<T> make_kernel(double f, no_slots<T, Space>&) const {
    return {static_cast<T>(f)};
  }
};

// u = -lr(count) * g: the step direction for apply_updates (params += u). `schedule` is any
// callable from the 0-based step count to a learning rate; a number means a constant rate.
// State: the step count. optax: scale_by_learning_rate / scale_by_schedule.
template <class Schedule = constant_schedule>
struct scale_by_learning_rate {
  static constexpr const char* name = "scale_by_learning_rate";
  static constexpr bool elementwise = true;
  template <class T, class Space>
  using slots = no_slots<T, Space>;
  using scalars = step_count;

  Schedule schedule;

  explicit scale_by_learning_rate(double lr) requires std::is_same_v<Schedule, constant_schedule>
      : schedule(lr) {
    require_option(lr >= 0, name, "lr", lr, "must be >= 0");
  }
  explicit scale_by_learning_rate(Schedule s) requires(!std::is_same_v<Schedule, double>)
      : schedule(std::move(s)) {}

  template <class T, class Space>
  no_slots<T, Space> init_slots(std::size_t) const {
    return {};
  }
  step_count init_scalars() const { return {}; }
  template <class G, class P>
  double prepare(const step_count& s, const G&, const P&) const {
    const double lr = schedule(s.count);
    require(std::isfinite(lr), name, "schedule returned a non-finite learning rate");
    return -lr;
  }
  template <class T, class Space>
  detail::scale_kernel<T> make_kernel(double minus_lr, no_slots<T, Space>&) const {
    return {static_cast<T>(minus_lr)};
  }
  void commit(step_count& s) const { s.advance(); }
};

// A number for the rate means a constant_schedule.
scale_by_learning_rate(double)->scale_by_learning_rate<constant_schedule>;

}  // namespace continua::optim
