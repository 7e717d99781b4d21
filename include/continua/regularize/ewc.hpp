// EWC with a diagonal empirical Fisher: "separate" (one penalty per task) and "online" modes.
// Kirkpatrick et al., PNAS 2017; online: Schwarz et al., "Progress & Compress", ICML 2018.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "continua/config.hpp"
#include "continua/core/buffer.hpp"
#include "continua/core/error.hpp"
#include "continua/core/kernel.hpp"
#include "continua/core/parameter_set.hpp"
#include "continua/core/per_tensor.hpp"
#include "continua/core/reduce.hpp"
#include "continua/regularize/detail/options.hpp"
#include "continua/regularize/detail/slots.hpp"
#include "continua/regularize/importance_penalty.hpp"

namespace continua::regularize {

enum class ewc_mode : std::uint32_t {
  separate = 0,  // penalty = lambda/2 sum_t sum_i F_t,i (p_i - anchor_t,i)^2
  online = 1,    // F = decay * F + F_t, anchor = params; penalty = lambda/2 sum_i F_i (p - a)^2
};

// Options of ewc: penalty strength lambda, separate or online mode, and the online decay gamma.
// Kirkpatrick et al., PNAS 2017 (separate); Schwarz et al., "Progress & Compress", ICML 2018
// (online).
struct ewc_options {
  double strength = 1.0;  // lambda >= 0
  ewc_mode mode = ewc_mode::separate;
  double decay = 1.0;  // gamma of online EWC, in [0, 1]; unused in separate mode
};

namespace detail {

// fisher/anchor hold the penalty in the form F (p - m)^2: online, F and the last anchor;
// separate, F = sum_t F_t and m the F-weighted mean of the anchors. The identity
//   sum_t F_t (p - a_t)^2 = F (p - m)^2 + sum_t F_t (a_t - m)^2
// makes any number of separate penalties one fused pass; the constant goes to the base's offset_.
template <class T, class Space>
struct ewc_slot {
  buffer<T, Space> accum;  // sum of g^2 over the current task
  buffer<T, Space> fisher;
  buffer<T, Space> anchor;
  std::size_t size() const { return anchor.size(); }
  template <class V>
  void describe_state(V& v) {
    v.field("accum", accum);
    v.field("fisher", fisher);
    v.field("anchor", anchor);
  }
  // Sums of squares are >= 0; a NaN or negative Fisher would turn the penalty into a reward.
  void validate_state() const {
    check_state_values("accum", accum, true);
    check_state_values("fisher", fisher, true);
    check_state_values("anchor", anchor, false);
  }
  // What the counters imply: the accumulator is reset by consolidate, the Fisher only grows there.
  void validate_counters(std::uint64_t observed, std::size_t tasks) const {
    if (observed == 0) check_state_zero("accum", accum, nothing_observed_yet);
    if (tasks == 0) check_state_zero("fisher", fisher, no_task_yet);
  }
};

// The quadratic's weight is the Fisher.
struct fisher_weight {
  template <class S>
  const auto& operator()(const S& s) const {
    return s.fisher;
  }
};

template <class T>
struct square_accumulate_kernel {
  T* acc;
  const T* g;
  CONTINUA_HD void operator()(std::size_t i) const { acc[i] += g[i] * g[i]; }
};

// The constant sum_i F_old F_t / (F_old + F_t) (m_old - p)^2 that merging task t's quadratic
// into (F_old, m_old) adds (Chan et al.'s pairwise update of a weighted sum of squares).
template <class T, class A>
struct ewc_merge_offset_map {
  const T* acc;
  const T* fisher;
  const T* anchor;
  const T* p;
  T inv_count;
  CONTINUA_HD A operator()(std::size_t i) const {
    const A f = static_cast<A>(acc[i] * inv_count);
    const A fo = static_cast<A>(fisher[i]);
    const A total = fo + f;
    if (!(total > A(0))) return A(0);
    const A d = static_cast<A>(anchor[i]) - static_cast<A>(p[i]);
    return fo * f / total * d * d;
  }
};

template <class T>
struct ewc_separate_kernel {
  T* acc;
  T* fisher;
  T* anchor;
  const T* p;
  T inv_count;
  CONTINUA_HD void operator()(std::size_t i) const {
    const T f = acc[i] * inv_count;
    const T total = fisher[i] + f;
    anchor[i] = total > T(0) ? anchor[i] + f / total * (p[i] - anchor[i]) : p[i];
    fisher[i] = total;
    acc[i] = T(0);
  }
};

template <class T>
struct ewc_online_kernel {
  T* acc;
  T* fisher;
  T* anchor;
  const T* p;
  T inv_count;
  T decay;
  CONTINUA_HD void operator()(std::size_t i) const {
    fisher[i] = decay * fisher[i] + acc[i] * inv_count;
    anchor[i] = p[i];
    acc[i] = T(0);
  }
};

}  // namespace detail

// Life cycle: observe(g) for each gradient sample of log p(y|x) on the finished task (labels
// from the data, or sampled from the model for the true Fisher), consolidate(params) at the
// task boundary, then penalty/add_gradient while training the next tasks. Example:
//   regularize::ewc reg({.strength = 100, .mode = regularize::ewc_mode::online, .decay = 0.9}, p);
//   for (auto& g : per_example_grads) reg.observe(g);  reg.consolidate(p);
template <parameter_set P>
class ewc : public importance_penalty<ewc_options, P, detail::ewc_slot, "ewc", "samples",
                                      detail::fisher_weight> {
  using base =
      importance_penalty<ewc_options, P, detail::ewc_slot, "ewc", "samples", detail::fisher_weight>;

 public:
  ewc(ewc_options o, const P& params) : base(o, params, strength_convention::half) {
    const ewc_options& opt = this->opt_;
    require_option(opt.mode == ewc_mode::separate || opt.mode == ewc_mode::online,
                   base::component_context, "mode", static_cast<std::uint32_t>(opt.mode),
                   "must be separate or online");
    detail::check_unit_interval(base::component_context, "decay", opt.decay);
  }

  // One gradient sample: Fisher accumulator += g^2.
  void observe(const P& grads) {
    this->observe_pass("grads", grads, [](auto& s, const auto& g) {
      using T = value_t<decltype(g)>;
      return detail::square_accumulate_kernel<T>{s.accum.data(), continua::data(g)};
    });
  }

  // F_t = mean of the observed g^2; separate: adds the task's penalty, online: F = decay F + F_t.
  // Anchors at params. Throws invalid_argument when nothing was observed since the last one.
  void consolidate(const P& params) {
    this->begin_consolidate(params,
                            "no gradient observed since the last consolidate (call observe)");
    const double inv = 1.0 / static_cast<double>(this->observed_);
    if (this->opt_.mode == ewc_mode::separate) {
      double added = 0;
      for_each_tensor(params, [&](auto index, const auto& p) {
        using T = value_t<decltype(p)>;
        using A = accumulator_t<T>;
        const auto& s = slot_at(this->slots_, index);
        added += static_cast<double>(transform_reduce(
            memory_space_t<decltype(p)>{}, continua::size(p), A(0),
            detail::ewc_merge_offset_map<T, A>{s.accum.data(), s.fisher.data(), s.anchor.data(),
                                               continua::data(p), static_cast<T>(inv)},
            plus{}));
      });
      detail::for_each_slot_pass(params, this->slots_, [&](auto& s, const auto& p) {
        using T = value_t<decltype(p)>;
        return detail::ewc_separate_kernel<T>{s.accum.data(), s.fisher.data(), s.anchor.data(),
                                              continua::data(p), static_cast<T>(inv)};
      });
      this->offset_ += added;
    } else {
      detail::for_each_slot_pass(params, this->slots_, [&](auto& s, const auto& p) {
        using T = value_t<decltype(p)>;
        return detail::ewc_online_kernel<T>{s.accum.data(),      s.fisher.data(),
                                            s.anchor.data(),     continua::data(p),
                                            static_cast<T>(inv), static_cast<T>(this->opt_.decay)};
      });
    }
    this->end_consolidate();
  }

  // penalty(params) = strength/2 * sum over consolidated tasks of sum_i F_t,i (p_i - anchor_t,i)^2
  // and add_gradient: grads += strength * sum_t F_t (params - anchor_t), from the base (the sum
  // over tasks is held as one quadratic plus offset_).

  // The checkpoint: tensors, mode (a file of the other mode is refused), tasks, samples, offset,
  // then t<k>/accum, t<k>/fisher, t<k>/anchor per tensor.
  template <class V>
  void describe_state(V& v) {
    this->describe_observed(
        v, [&](V& w) { w.expect("mode", static_cast<std::uint32_t>(this->opt_.mode)); },
        [&](V& w) { w.field("offset", this->offset_); });
  }
  // Beyond the base's checks: only separate mode merges penalties, and merging the first task
  // into an empty Fisher adds nothing, so a non-zero offset needs separate mode and two tasks.
  void validate_state() const {
    base::validate_state();
    constexpr std::string_view context = "continua::regularize::ewc::load";
    if (this->offset_ != 0) {
      require(this->opt_.mode == ewc_mode::separate, context,
              "online EWC has no constant offset, but the state holds one");
      require(this->tasks_ >= 2, context,
              "a constant offset needs two consolidated tasks, but the state has fewer");
    }
  }
};

}  // namespace continua::regularize
