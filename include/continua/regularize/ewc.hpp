// EWC with a diagonal empirical Fisher: "separate" (one penalty per task) and "online" modes.
// Kirkpatrick et al., PNAS 2017; online: Schwarz et al., "Progress & Compress", ICML 2018.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <tuple>

#include "continua/regularize/detail_state.hpp"

namespace continua::regularize {

enum class ewc_mode : std::uint32_t {
  separate = 0,  // penalty = lambda/2 sum_t sum_i F_t,i (p_i - anchor_t,i)^2
  online = 1,    // F = decay * F + F_t, anchor = params; penalty = lambda/2 sum_i F_i (p - a)^2
};

struct ewc_options {
  double strength = 1.0;  // lambda >= 0
  ewc_mode mode = ewc_mode::separate;
  double decay = 1.0;  // gamma of online EWC, in [0, 1]; unused in separate mode
};

namespace detail {

// fisher/anchor hold the penalty in the form F (p - m)^2: online, F and the last anchor;
// separate, F = sum_t F_t and m the F-weighted mean of the anchors. The identity
//   sum_t F_t (p - a_t)^2 = F (p - m)^2 + sum_t F_t (a_t - m)^2
// makes any number of separate penalties one fused pass; the constant goes to ewc::offset_.
template <class T, class Space>
struct ewc_slot {
  static constexpr const char* names[] = {"accum", "fisher", "anchor"};
  buffer<T, Space> accum;  // sum of g^2 over the current task
  buffer<T, Space> fisher;
  buffer<T, Space> anchor;
  std::size_t size() const { return anchor.size(); }
  auto fields() { return std::tie(accum, fisher, anchor); }
  auto fields() const { return std::tie(accum, fisher, anchor); }
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
class ewc {
 public:
  static constexpr const char* name = "ewc";
  using options_type = ewc_options;

  ewc(ewc_options o, const P& params)
      : opt_(o), slots_(detail::make_slots<detail::ewc_slot>(params)) {
    detail::check_strength(name, opt_.strength);
    require_option(opt_.mode == ewc_mode::separate || opt_.mode == ewc_mode::online, name, "mode",
                   static_cast<std::uint32_t>(opt_.mode), "must be separate or online");
    detail::check_unit_interval(name, "decay", opt_.decay);
  }

  // One gradient sample: Fisher accumulator += g^2.
  void observe(const P& grads) {
    detail::check_observed("ewc.observe", "grads", grads, slots_);
    detail::for_each_slot_pass(grads, slots_, [](auto& s, const auto& g) {
      using T = value_t<decltype(g)>;
      return detail::square_accumulate_kernel<T>{s.accum.data(), continua::data(g)};
    });
    ++samples_;
  }

  // F_t = mean of the observed g^2; separate: adds the task's penalty, online: F = decay F + F_t.
  // Anchors at params. Throws invalid_argument when nothing was observed since the last one.
  void consolidate(const P& params) {
    const char* ctx = "ewc.consolidate";
    detail::check_slots(ctx, "params", params, slots_);
    require(samples_ > 0, ctx, "no gradient observed since the last consolidate (call observe)");
    require_finite(ctx, "params", params);
    const double inv = 1.0 / static_cast<double>(samples_);
    if (opt_.mode == ewc_mode::separate) {
      double added = 0;
      for_each_tensor(params, [&](auto index, const auto& p) {
        using T = value_t<decltype(p)>;
        using A = accumulator_t<T>;
        const auto& s = slot_at(slots_, index);
        added += static_cast<double>(transform_reduce(
            memory_space_t<decltype(p)>{}, continua::size(p), A(0),
            detail::ewc_merge_offset_map<T, A>{s.accum.data(), s.fisher.data(), s.anchor.data(),
                                               continua::data(p), static_cast<T>(inv)},
            plus{}));
      });
      detail::for_each_slot_pass(params, slots_, [&](auto& s, const auto& p) {
        using T = value_t<decltype(p)>;
        return detail::ewc_separate_kernel<T>{s.accum.data(), s.fisher.data(), s.anchor.data(),
                                              continua::data(p), static_cast<T>(inv)};
      });
      offset_ += added;
    } else {
      detail::for_each_slot_pass(params, slots_, [&](auto& s, const auto& p) {
        using T = value_t<decltype(p)>;
        return detail::ewc_online_kernel<T>{s.accum.data(),      s.fisher.data(),
                                            s.anchor.data(),     continua::data(p),
                                            static_cast<T>(inv), static_cast<T>(opt_.decay)};
      });
    }
    samples_ = 0;
    ++tasks_;
  }

  // strength/2 * sum over consolidated tasks of sum_i F_t,i (p_i - anchor_t,i)^2.
  double penalty(const P& params) const {
    detail::check_slots("ewc.penalty", "params", params, slots_);
    if (tasks_ == 0) return 0.0;
    const double q = detail::weighted_square_sum(
        params, slots_, [](const auto& s) -> const auto& { return s.fisher; },
        [](const auto& s) -> const auto& { return s.anchor; });
    return 0.5 * opt_.strength * (q + offset_);
  }

  template <parameter_set G>
  void validate(const P& params, const G& grads) const {
    detail::check_gradient_call("ewc.add_gradient", params, grads, slots_);
  }

  // grads += strength * sum_t F_t (params - anchor_t).
  template <parameter_set G>
  void add_gradient(const P& params, G& grads) const {
    validate(params, grads);
    if (tasks_ == 0) return;
    detail::add_weighted_gradient(
        "ewc.add_gradient", params, grads, slots_, opt_.strength,
        [](const auto& s) -> const auto& { return s.fisher; },
        [](const auto& s) -> const auto& { return s.anchor; });
  }

  std::size_t tasks() const { return tasks_; }
  // Gradient samples observed since the last consolidate.
  std::uint64_t observed() const { return samples_; }
  const options_type& options() const { return opt_; }

  void save(const std::filesystem::path& path) const {
    io::checkpoint_writer w("regularize.ewc", detail::checkpoint_schema);
    w.add_scalar("mode", static_cast<std::uint32_t>(opt_.mode));
    w.add_scalar("tasks", static_cast<std::uint64_t>(tasks_));
    w.add_scalar("samples", samples_);
    w.add_scalar("offset", offset_);
    detail::write_slots(w, slots_);
    w.save(path);
  }

  // Restores a checkpoint written by save() for an equally shaped set and the same mode.
  void load(const std::filesystem::path& path) {
    detail::staged_load in(path, "regularize.ewc");
    const auto mode = in.scalar<std::uint32_t>("mode");
    if (mode != static_cast<std::uint32_t>(opt_.mode))
      in.fail("it holds EWC state of mode " + std::to_string(mode) + ", this regularizer has " +
              std::to_string(static_cast<std::uint32_t>(opt_.mode)));
    const auto tasks = in.scalar<std::uint64_t>("tasks");
    const auto samples = in.scalar<std::uint64_t>("samples");
    const auto offset = in.scalar<double>("offset");
    in.slots(slots_);
    in.commit([&] {
      tasks_ = static_cast<std::size_t>(tasks);
      samples_ = samples;
      offset_ = offset;
    });
  }

 private:
  options_type opt_;
  per_tensor_t<P, detail::ewc_slot> slots_;
  std::uint64_t samples_ = 0;
  std::size_t tasks_ = 0;
  double offset_ = 0;  // separate mode: sum_t sum_i F_t,i (anchor_t,i - m_i)^2
};

}  // namespace continua::regularize
