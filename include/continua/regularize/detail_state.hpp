// Internals of the importance penalties: per-tensor state slots, fused quadratic kernels, saving.
// Kirkpatrick et al., "Overcoming catastrophic forgetting in neural networks", PNAS 2017.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <set>
#include <span>
#include <sstream>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "continua/config.hpp"
#include "continua/core/buffer.hpp"
#include "continua/core/error.hpp"
#include "continua/core/finite.hpp"
#include "continua/core/kernel.hpp"
#include "continua/core/parameter_set.hpp"
#include "continua/core/per_tensor.hpp"
#include "continua/core/reduce.hpp"
#include "continua/core/span.hpp"
#include "continua/io/checkpoint.hpp"

namespace continua::regularize::detail {

// ---- options -----------------------------------------------------------------------------------

inline void check_strength(std::string_view who, double strength) {
  require_option(std::isfinite(strength) && strength >= 0, who, "strength", strength,
                 "must be finite and >= 0");
}

inline void check_unit_interval(std::string_view who, std::string_view field, double v) {
  require_option(v >= 0 && v <= 1, who, field, v, "must lie in [0, 1]");
}

inline void check_positive(std::string_view who, std::string_view field, double v) {
  require_option(std::isfinite(v) && v > 0, who, field, v, "must be finite and > 0");
}

// ---- slots -------------------------------------------------------------------------------------

using continua::for_each_slot;
using continua::slot_count;

// Builds one Slot per tensor, every buffer of it sized like the tensor and zero.
template <template <class, class> class Slot, parameter_set P>
per_tensor_t<P, Slot> make_slots(const P& params) {
  return make_per_tensor<Slot>(params, [](const auto& t) {
    using T = value_t<decltype(t)>;
    using S = memory_space_t<decltype(t)>;
    Slot<T, S> slot;
    const std::size_t n = continua::size(t);
    std::apply([&](auto&... b) { ((b = buffer<T, S>(n)), ...); }, slot.fields());
    return slot;
  });
}

// Out of line, and built with a stream: g++ 12 -O3 warns (-Wrestrict, falsely) on inlined
// string concatenations here.
[[noreturn]] inline void throw_slot_mismatch(std::string_view context, std::string_view name,
                                             std::size_t index, std::size_t set_size,
                                             std::size_t state_size) {
  std::ostringstream a, b;
  a << name << '[' << index << ']';
  b << "state[" << index << "] (shaped at construction)";
  throw size_mismatch(context, a.str(), set_size, b.str(), state_size);
}

// Throws size_mismatch unless the slots were built for a set shaped like `set` (named `name`).
template <parameter_set P, class Slots>
void check_slots(std::string_view context, std::string_view name, const P& set,
                 const Slots& slots) {
  if constexpr (tensor_range<P>)
    require_same_size(context, std::string(name) + " (tensor count)", tensor_count(set),
                      "state (tensor count)", slots.size());
  for_each_tensor(set, [&](auto index, const auto& t) {
    const std::size_t n = slot_at(slots, index).size();
    if (n != continua::size(t)) throw_slot_mismatch(context, name, index, continua::size(t), n);
  });
}

// An observed set (grads, params after a step) must fit the state and be finite.
template <parameter_set G, class Slots>
void check_observed(std::string_view context, std::string_view name, const G& g,
                    const Slots& slots) {
  check_slots(context, name, g, slots);
  require_finite(context, name, g);
}

// ---- kernels -----------------------------------------------------------------------------------

template <class T>
struct copy_kernel {
  T* dst;
  const T* src;
  CONTINUA_HD void operator()(std::size_t i) const { dst[i] = src[i]; }
};

// w_i (p_i - a_i)^2, accumulated in A.
template <class T, class A>
struct weighted_square_map {
  const T* p;
  const T* w;
  const T* a;
  CONTINUA_HD A operator()(std::size_t i) const {
    const A d = static_cast<A>(p[i]) - static_cast<A>(a[i]);
    return static_cast<A>(w[i]) * d * d;
  }
};

template <class T, class A>
struct square_map {
  const T* p;
  const T* a;
  CONTINUA_HD A operator()(std::size_t i) const {
    const A d = static_cast<A>(p[i]) - static_cast<A>(a[i]);
    return d * d;
  }
};

// g_i += s w_i (p_i - a_i): the gradient of every penalty of the family, one pass, no temporary.
template <class T>
struct weighted_gradient_kernel {
  T* g;
  const T* p;
  const T* w;
  const T* a;
  T s;
  CONTINUA_HD void operator()(std::size_t i) const { g[i] += s * w[i] * (p[i] - a[i]); }
};

template <class T>
struct gradient_kernel {
  T* g;
  const T* p;
  const T* a;
  T s;
  CONTINUA_HD void operator()(std::size_t i) const { g[i] += s * (p[i] - a[i]); }
};

// Sum over the set of the reduction of `make_map(slot, p_tensor)` (i -> accumulator_t<T>), each
// tensor reduced on its own memory space.
template <parameter_set P, class Slots, class Make>
double sum_over_slots(const P& params, const Slots& slots, Make&& make_map) {
  double total = 0;
  for_each_tensor(params, [&](auto index, const auto& p) {
    using A = accumulator_t<value_t<decltype(p)>>;
    total +=
        static_cast<double>(transform_reduce(memory_space_t<decltype(p)>{}, continua::size(p), A(0),
                                             make_map(slot_at(slots, index), p), plus{}));
  });
  return total;
}

// sum_i w_i (p_i - a_i)^2 over the whole set; `weight` and `anchor` pick buffers of a slot.
template <parameter_set P, class Slots, class Weight, class Anchor>
double weighted_square_sum(const P& params, const Slots& slots, Weight weight, Anchor anchor) {
  return sum_over_slots(params, slots, [&](const auto& slot, const auto& p) {
    using T = value_t<decltype(p)>;
    return weighted_square_map<T, accumulator_t<T>>{continua::data(p), weight(slot).data(),
                                                    anchor(slot).data()};
  });
}

template <parameter_set P, class Slots, class Anchor>
double unweighted_square_sum(const P& params, const Slots& slots, Anchor anchor) {
  return sum_over_slots(params, slots, [&](const auto& slot, const auto& p) {
    using T = value_t<decltype(p)>;
    return square_map<T, accumulator_t<T>>{continua::data(p), anchor(slot).data()};
  });
}

// Runs `make_kernel(slot, p_tensor, g_tensor)` -> functor over every (params, grads) pair.
template <parameter_set P, parameter_set G, class Slots, class Make>
void for_each_gradient_pass(std::string_view context, const P& params, G& grads, const Slots& slots,
                            Make&& make_kernel) {
  for_each_tensor_pair(
      context, "params", params, "grads", grads, [&](auto index, const auto& p, auto& g) {
        using Space = memory_space_t<decltype(p)>;
        static_assert(std::is_same_v<value_t<decltype(p)>, value_t<decltype(g)>>,
                      "continua::regularize: grads and params tensors must have "
                      "the same element type");
        static_assert(std::is_same_v<Space, memory_space_t<decltype(g)>>,
                      "continua::regularize: grads and params tensors must live "
                      "in the same memory space");
        for_each_index(Space{}, continua::size(p), make_kernel(slot_at(slots, index), p, g));
      });
}

// grads += scale * w * (params - anchor), after the caller's validation.
template <parameter_set P, parameter_set G, class Slots, class Weight, class Anchor>
void add_weighted_gradient(std::string_view context, const P& params, G& grads, const Slots& slots,
                           double scale, Weight weight, Anchor anchor) {
  for_each_gradient_pass(
      context, params, grads, slots, [&](const auto& slot, const auto& p, auto& g) {
        using T = value_t<decltype(p)>;
        return weighted_gradient_kernel<T>{continua::data(g), continua::data(p),
                                           weight(slot).data(), anchor(slot).data(),
                                           static_cast<T>(scale)};
      });
}

template <parameter_set P, parameter_set G, class Slots, class Anchor>
void add_unweighted_gradient(std::string_view context, const P& params, G& grads,
                             const Slots& slots, double scale, Anchor anchor) {
  for_each_gradient_pass(context, params, grads, slots,
                         [&](const auto& slot, const auto& p, auto& g) {
                           using T = value_t<decltype(p)>;
                           return gradient_kernel<T>{continua::data(g), continua::data(p),
                                                     anchor(slot).data(), static_cast<T>(scale)};
                         });
}

// Validation shared by every add_gradient: grads pair with params, params fit the state.
template <parameter_set P, parameter_set G, class Slots>
void check_gradient_call(std::string_view context, const P& params, const G& grads,
                         const Slots& slots) {
  require_same_structure(context, "params", params, "grads", grads);
  check_slots(context, "params", params, slots);
}

// Runs `make_kernel(slot, p_tensor)` -> functor over every tensor of params, on its space.
template <parameter_set P, class Slots, class Make>
void for_each_slot_pass(const P& params, Slots& slots, Make&& make_kernel) {
  for_each_tensor(params, [&](auto index, const auto& p) {
    using Space = memory_space_t<decltype(p)>;
    auto& slot = slot_at(slots, index);
    for_each_index(Space{}, continua::size(p), make_kernel(slot, p));
  });
}

// Same, with a second set paired tensor by tensor (grads, params after a step).
template <parameter_set P, parameter_set Q, class Slots, class Make>
void for_each_slot_pass2(const P& a, const Q& b, Slots& slots, Make&& make_kernel) {
  for_each_tensor_pair("regularize", "a", a, "b", b, [&](auto index, const auto& x, const auto& y) {
    using Space = memory_space_t<decltype(x)>;
    static_assert(std::is_same_v<value_t<decltype(x)>, value_t<decltype(y)>>,
                  "continua::regularize: paired tensors must have the same element type");
    auto& slot = slot_at(slots, index);
    for_each_index(Space{}, continua::size(x), make_kernel(slot, x, y));
  });
}

// ---- checkpoints -------------------------------------------------------------------------------

inline constexpr std::uint32_t checkpoint_schema = 1;

template <class B>
void write_buffer(io::checkpoint_writer& w, const std::string& name, const B& b) {
  using T = typename B::value_type;
  if constexpr (std::is_same_v<typename B::memory_space, host_space>)
    w.add(name, std::span<const T>(b.data(), b.size()));
  else
    w.add(name, b.to_host());
}

// Records t<k>/<field name> for every buffer of every slot, plus the slot count.
template <class Slots>
void write_slots(io::checkpoint_writer& w, const Slots& slots) {
  for_each_slot(slots, [&](std::size_t k, const auto& slot) {
    std::size_t j = 0;
    std::apply(
        [&](const auto&... b) {
          ((write_buffer(w, "t" + std::to_string(k) + "/" + slot.names[j++], b)), ...);
        },
        slot.fields());
  });
  w.add_scalar("tensors", static_cast<std::uint64_t>(slot_count(slots)));
}

// Reads and checks everything a load needs before anything is stored; commit() then stores it.
// A throw from any get/expect leaves the regularizer exactly as it was.
class staged_load {
 public:
  staged_load(const std::filesystem::path& path, std::string_view kind)
      : reader_(path), where_("regularize load: checkpoint '" + path.string() + "': ") {
    reader_.require_kind(kind, checkpoint_schema);
    expected_.insert("tensors");
  }

  const io::checkpoint_reader& reader() const { return reader_; }

  template <class T>
  T scalar(const std::string& name) {
    expected_.insert(name);
    return reader_.get_scalar<T>(name);
  }

  template <class Slots>
  void slots(Slots& slots) {
    const std::size_t count = slot_count(slots);
    const auto saved = reader_.get_scalar<std::uint64_t>("tensors");
    if (saved != count)
      throw io_error(where_ + "it holds state for " + std::to_string(saved) +
                     " parameter tensors, but this regularizer has " + std::to_string(count));
    for_each_slot(slots, [&](std::size_t k, auto& slot) {
      std::size_t j = 0;
      std::apply(
          [&](auto&... b) { (stage(b, "t" + std::to_string(k) + "/" + slot.names[j++]), ...); },
          slot.fields());
    });
  }

  // Throws if the file holds records this state has no place for, then stores everything.
  void commit(const std::function<void()>& scalars) {
    for (const auto& rec : reader_.records())
      if (!expected_.contains(rec.name))
        throw io_error(where_ + "record '" + rec.name + "' has no place in this state");
    for (auto& c : commits_) c();
    scalars();
  }

  [[noreturn]] void fail(const std::string& what) const { throw io_error(where_ + what); }

 private:
  template <class B>
  void stage(B& b, const std::string& name) {
    using T = typename B::value_type;
    expected_.insert(name);
    std::vector<T> values = reader_.get<T>(name, {static_cast<std::uint64_t>(b.size())});
    commits_.emplace_back([&b, values = std::move(values)] {
      if constexpr (std::is_same_v<typename B::memory_space, host_space>)
        std::copy(values.begin(), values.end(), b.data());
      else
        b.assign_from_host(values);
    });
  }

  io::checkpoint_reader reader_;
  std::string where_;
  std::set<std::string, std::less<>> expected_;
  std::vector<std::function<void()>> commits_;
};

// ---- importance penalties ----------------------------------------------------------------------

// A string literal usable as a template argument: contexts such as "mas.penalty" are joined at
// compile time, so the calls made every step build no strings.
template <std::size_t N>
struct fixed_name {
  char text[N] = {};
  constexpr fixed_name() = default;
  // Implicit, so that a plain literal ("mas") can be written where a fixed_name is expected.
  constexpr fixed_name(const char (&s)[N]) {
    for (std::size_t i = 0; i < N; ++i) text[i] = s[i];
  }
};

template <fixed_name A, fixed_name B>
inline constexpr auto joined_name = [] {
  constexpr std::size_t a = sizeof(A.text) - 1;  // without A's terminating zero
  fixed_name<a + sizeof(B.text)> r;
  for (std::size_t i = 0; i < a; ++i) r.text[i] = A.text[i];
  for (std::size_t i = 0; i < sizeof(B.text); ++i) r.text[a + i] = B.text[i];
  return r;
}();

// What SI, MAS and RWalk share, so each keeps only how it observes and consolidates:
// penalty = strength * sum_i importance_i (p_i - anchor_i)^2 over slots with `importance` and
// `anchor` buffers, a count of observations since the last consolidate (saved as `Counter`) and
// the number of finished tasks. Checkpoint kind "regularize.<Name>".
template <class Options, parameter_set P, template <class, class> class Slot, fixed_name Name,
          fixed_name Counter>
class importance_penalty {
 public:
  static constexpr const char* name = Name.text;
  using options_type = Options;

  double penalty(const P& params) const {
    check_slots(joined_name<Name, ".penalty">.text, "params", params, slots_);
    if (tasks_ == 0) return 0.0;
    return opt_.strength * weighted_square_sum(params, slots_, importance_of, anchor_of);
  }

  template <parameter_set G>
  void validate(const P& params, const G& grads) const {
    check_gradient_call(gradient_context, params, grads, slots_);
  }

  // grads += 2 strength importance (params - anchor).
  template <parameter_set G>
  void add_gradient(const P& params, G& grads) const {
    validate(params, grads);
    if (tasks_ == 0) return;
    add_weighted_gradient(gradient_context, params, grads, slots_, 2 * opt_.strength, importance_of,
                          anchor_of);
  }

  std::size_t tasks() const { return tasks_; }
  std::uint64_t observed() const { return observed_; }
  const options_type& options() const { return opt_; }

  void save(const std::filesystem::path& path) const {
    io::checkpoint_writer w(kind.text, checkpoint_schema);
    w.add_scalar("tasks", static_cast<std::uint64_t>(tasks_));
    w.add_scalar(Counter.text, observed_);
    write_slots(w, slots_);
    w.save(path);
  }

  void load(const std::filesystem::path& path) {
    staged_load in(path, kind.text);
    const auto tasks = in.scalar<std::uint64_t>("tasks");
    const auto observed = in.scalar<std::uint64_t>(Counter.text);
    in.slots(slots_);
    in.commit([&] {
      tasks_ = static_cast<std::size_t>(tasks);
      observed_ = observed;
    });
  }

 protected:
  importance_penalty(Options o, const P& params) : opt_(o), slots_(make_slots<Slot>(params)) {}

  // One observation of `set` (named `set_name` in errors): make_kernel(slot, tensor) per tensor.
  template <class Make>
  void observe_pass(std::string_view set_name, const P& set, Make&& make_kernel) {
    check_observed(observe_context, set_name, set, slots_);
    for_each_slot_pass(set, slots_, make_kernel);
    ++observed_;
  }

  // One optimizer step: make_kernel(slot, grads tensor, params_after_step tensor) per tensor.
  template <class Make>
  void observe_step(const P& grads, const P& params_after_step, Make&& make_kernel) {
    check_observed(observe_context, "grads", grads, slots_);
    check_observed(observe_context, "params_after_step", params_after_step, slots_);
    for_each_slot_pass2(grads, params_after_step, slots_, make_kernel);
    ++observed_;
  }

  // Ends a task: make_kernel(slot, params tensor) folds the task into importance and anchors.
  // Throws invalid_argument with `nothing_observed` when nothing was observed since the last one.
  template <class Make>
  void consolidate_pass(const P& params, std::string_view nothing_observed, Make&& make_kernel) {
    constexpr const char* ctx = joined_name<Name, ".consolidate">.text;
    check_slots(ctx, "params", params, slots_);
    require(observed_ > 0, ctx, nothing_observed);
    require_finite(ctx, "params", params);
    for_each_slot_pass(params, slots_, make_kernel);
    observed_ = 0;
    ++tasks_;
  }

  options_type opt_;
  per_tensor_t<P, Slot> slots_;
  std::uint64_t observed_ = 0;
  std::size_t tasks_ = 0;

 private:
  static constexpr const char* gradient_context = joined_name<Name, ".add_gradient">.text;
  static constexpr const char* observe_context = joined_name<Name, ".observe">.text;
  static constexpr auto kind = joined_name<"regularize.", Name>;
  static constexpr auto importance_of = [](const auto& s) -> const auto& { return s.importance; };
  static constexpr auto anchor_of = [](const auto& s) -> const auto& { return s.anchor; };
};

}  // namespace continua::regularize::detail
