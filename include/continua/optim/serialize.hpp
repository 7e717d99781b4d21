// Checkpoints of optimizer state: save/load of a chain's state (or an optimizer's) through
// continua::io checkpoints, so training resumes bit-identically. Format: docs/checkpoints.md.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "continua/core/buffer.hpp"
#include "continua/core/per_tensor.hpp"
#include "continua/io/checkpoint.hpp"
#include "continua/optim/chain.hpp"
#include "continua/optim/optimizer.hpp"

namespace continua::optim {

// The checkpoint kind written by optim::save, and the newest layout of its records that
// optim::load reads. Bump the schema when the record layout below changes.
inline constexpr std::string_view checkpoint_kind = "optim.chain";
inline constexpr std::uint32_t checkpoint_schema = 1;

namespace detail {

template <class T>
struct is_chain : std::false_type {};
template <class... Xs>
struct is_chain<chain_t<Xs...>> : std::true_type {};

template <class T>
struct is_buffer : std::false_type {};
template <class T, class Space>
struct is_buffer<buffer<T, Space>> : std::true_type {};

// What a part is called in record names and in the structure string.
template <class X>
std::string part_name() {
  if constexpr (is_chain<X>::value) {
    return "chain";
  } else {
    static_assert(
        requires { X::name; },
        "continua::optim::save/load: a transformation needs a static `name` to be "
        "checkpointed");
    return std::string(X::name);
  }
}

// "chain(clip_by_global_norm,scale_by_adam,scale_by_learning_rate)": identifies the chain a
// checkpoint belongs to, nested chains included.
template <class X>
std::string structure_of() {
  if constexpr (is_chain<X>::value) {
    return []<class... Ys>(std::type_identity<chain_t<Ys...>>) {
      std::string s = "chain(";
      std::size_t i = 0;
      ((s += (i++ ? "," : "") + structure_of<Ys>()), ...);
      return s + ")";
    }(std::type_identity<X>{});
  } else {
    return part_name<X>();
  }
}

template <class F, class Fields>
void visit_fields(const std::string& prefix, Fields&& fields, F& f) {
  std::size_t j = 0;
  std::apply([&](auto&... field) { (f(prefix + std::to_string(j++), field), ...); },
             std::forward<Fields>(fields));
}

// Calls f(record_name, leaf) for every buffer and scalar of part x's state s (const or not), in
// a fixed order; `tensors` receives the number of per-tensor slots seen.
//   elementwise part: <prefix>s<j> for scalar field j, <prefix>t<k>/f<j> for field j of tensor k
//   chain:            <prefix><i>.<name>/ then the part's own records
//   other part:       <prefix>f<j> for field j of its state
template <class X, class S, class F>
void walk_state(const X& x, S& s, const std::string& prefix, F& f, std::size_t& tensors) {
  if constexpr (is_chain<X>::value) {
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      (walk_state(
           std::get<I>(x.parts()), std::get<I>(s),
           prefix + std::to_string(I) + "." +
               part_name<std::tuple_element_t<I, std::remove_cvref_t<decltype(x.parts())>>>() + "/",
           f, tensors),
       ...);
    }
    (std::make_index_sequence<X::size>{});
  } else if constexpr (elementwise_transformation<X>) {
    visit_fields(prefix + "s", s.scalars.fields(), f);
    tensors = slot_count(s.slots);
    for_each_slot(s.slots, [&](std::size_t k, auto& slot) {
      visit_fields(prefix + "t" + std::to_string(k) + "/f", slot.fields(), f);
    });
  } else if constexpr (std::is_empty_v<std::remove_cvref_t<S>> && !requires { s.fields(); }) {
    // A stateless whole-set transformation: nothing to record.
  } else {
    static_assert(
        requires { s.fields(); },
        "continua::optim::save/load: this transformation's state has no fields(), so "
        "it cannot be checkpointed");
    visit_fields(prefix + "f", s.fields(), f);
  }
}

template <class Leaf>
constexpr void check_leaf() {
  using L = std::remove_cvref_t<Leaf>;
  static_assert(is_buffer<L>::value || io::checkpoint_element<L>,
                "continua::optim::save/load: a state field must be a continua::buffer or an "
                "arithmetic scalar");
}

}  // namespace detail

// Writes `state` (the state of `chain`, as built by chain.init(params)) to `path` atomically.
// Records are named after the chain's parts and tensor indices, so load() can tell a checkpoint
// of another chain or another parameter set from a matching one. Device buffers are copied to
// the host. Throws continua::io_error when the file cannot be written (an earlier file at
// `path` then stays as it was).
template <class... Xs, class State>
void save(const std::filesystem::path& path, const chain_t<Xs...>& chain, const State& state) {
  io::checkpoint_writer w(checkpoint_kind, checkpoint_schema);
  w.add_text("optim/structure", detail::structure_of<chain_t<Xs...>>());
  std::size_t tensors = 0;
  auto leaf = [&](const std::string& name, const auto& v) {
    using L = std::remove_cvref_t<decltype(v)>;
    detail::check_leaf<L>();
    if constexpr (detail::is_buffer<L>::value) {
      using T = typename L::value_type;
      if constexpr (std::is_same_v<typename L::memory_space, host_space>)
        w.add(name, std::span<const T>(v.data(), v.size()));
      else
        w.add(name, v.to_host());
    } else {
      w.add_scalar(name, v);
    }
  };
  detail::walk_state(chain, state, "", leaf, tensors);
  w.add_scalar("optim/tensors", static_cast<std::uint64_t>(tensors));
  w.save(path);
}

// Reads a checkpoint written by save() into `state`, which must have been built by
// chain.init(params) for the same chain and an equally shaped parameter set. Everything is
// validated first (file integrity, kind, chain structure, tensor count, every record's name,
// type and size) and all values are decoded to host memory before the first one is stored, so a
// throw leaves `state` exactly as it was. Throws continua::io_error naming the mismatch.
// (The one failure possible after that point is running out of device memory while copying
// into device buffers.)
template <class... Xs, class State>
void load(const std::filesystem::path& path, const chain_t<Xs...>& chain, State& state) {
  const io::checkpoint_reader r(path);
  const std::string where = "optim::load: checkpoint '" + path.string() + "': ";
  r.require_kind(checkpoint_kind, checkpoint_schema);

  const std::string expected = detail::structure_of<chain_t<Xs...>>();
  const std::string found = r.get_text("optim/structure");
  if (found != expected)
    throw io_error(where + "it holds the state of " + found + ", but the chain is " + expected);

  std::size_t tensors = 0;
  {
    auto none = [](const std::string&, const auto&) {};
    detail::walk_state(chain, std::as_const(state), "", none, tensors);
  }
  const auto saved_tensors = r.get_scalar<std::uint64_t>("optim/tensors");
  if (saved_tensors != tensors)
    throw io_error(where + "it holds state for " + std::to_string(saved_tensors) +
                   " parameter tensors, but this state has " + std::to_string(tensors));

  std::set<std::string, std::less<>> expected_names = {"optim/structure", "optim/tensors"};
  std::vector<std::function<void()>> commits;
  auto leaf = [&](const std::string& name, auto& v) {
    using L = std::remove_cvref_t<decltype(v)>;
    detail::check_leaf<L>();
    expected_names.insert(name);
    if constexpr (detail::is_buffer<L>::value) {
      using T = typename L::value_type;
      std::vector<T> values = r.get<T>(name, {static_cast<std::uint64_t>(v.size())});
      commits.emplace_back([&v, values = std::move(values)] {
        if constexpr (std::is_same_v<typename L::memory_space, host_space>) {
          std::copy(values.begin(), values.end(), v.data());
        } else {
          v.assign_from_host(values);
        }
      });
    } else {
      const L value = r.get_scalar<L>(name);
      commits.emplace_back([&v, value] { v = value; });
    }
  };
  detail::walk_state(chain, state, "", leaf, tensors);
  for (const auto& rec : r.records())
    if (!expected_names.contains(rec.name))
      throw io_error(where + "record '" + rec.name + "' has no place in this state");

  for (auto& commit : commits) commit();
}

// The same for an optimizer (a chain bound to its state).
template <class Chain, class P>
void save(const std::filesystem::path& path, const optimizer<Chain, P>& opt) {
  save(path, opt.transformation(), opt.state());
}
template <class Chain, class P>
void load(const std::filesystem::path& path, optimizer<Chain, P>& opt) {
  load(path, opt.transformation(), opt.state());
}

}  // namespace continua::optim
