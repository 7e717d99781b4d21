// Checkpoints of optimizer state: continua::io::save / io::load of an optimizer, or of a chain
// with its state, so training resumes bit-identically. Format: docs/checkpoints.md.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <filesystem>
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
#include "continua/io/state.hpp"
#include "continua/optim/chain.hpp"
#include "continua/optim/optimizer.hpp"

namespace continua::optim {

// The checkpoint kind of a chain's state.
inline constexpr std::string_view checkpoint_kind = "optim.chain";
// The newest layout of a chain's records that io::load reads; bumped when the layout changes.
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
        "continua::io::save/load: a transformation needs a static `name` to be checkpointed");
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
        "continua::io::save/load: this transformation's state has no fields(), so it cannot "
        "be checkpointed");
    visit_fields(prefix + "f", s.fields(), f);
  }
}

// Runs validate_state() of every part's scalars (step counts) and of every whole-set state that
// has one, so a loaded state is refused when a counter lies outside its documented range.
template <class X, class S>
void validate_walk(const X& x, const S& s) {
  if constexpr (is_chain<X>::value) {
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      (validate_walk(std::get<I>(x.parts()), std::get<I>(s)), ...);
    }
    (std::make_index_sequence<X::size>{});
  } else if constexpr (elementwise_transformation<X>) {
    if constexpr (requires { s.scalars.validate_state(); }) s.scalars.validate_state();
  } else if constexpr (requires { s.validate_state(); }) {
    s.validate_state();
  }
}

template <class Leaf>
constexpr void check_leaf() {
  using L = std::remove_cvref_t<Leaf>;
  static_assert(is_buffer<L>::value || io::checkpoint_element<L>,
                "continua::io::save/load: an optimizer state field must be a continua::buffer or "
                "an arithmetic scalar");
}

// A chain and a state of it (State is const for saving) as one checkpointable component. Its
// fields come from the parts' fields(), which carry no names, so records are numbered (s<j>,
// f<j>) in the order of fields(); the chain's structure and the tensor count come first, so a
// checkpoint of another chain or parameter set is refused by those before any buffer is read.
template <class Chain, class State>
class chain_state {
 public:
  static constexpr std::string_view checkpoint_kind = optim::checkpoint_kind;
  static constexpr std::uint32_t checkpoint_schema = optim::checkpoint_schema;

  chain_state(const Chain& chain, State& state) : chain_(chain), state_(state) {}

  template <class V>
  void describe_state(V& v) {
    const std::string expected = structure_of<Chain>();
    std::string structure = expected;
    v.field("optim/structure", structure);
    if constexpr (V::loading)
      if (structure != expected)
        v.fail("it holds the state of " + structure + ", but the chain is " + expected);

    std::size_t tensors = 0;
    auto none = [](const std::string&, const auto&) {};
    walk_state(chain_, std::as_const(state_), "", none, tensors);
    auto count = static_cast<std::uint64_t>(tensors);
    v.field("optim/tensors", count);
    if constexpr (V::loading)
      if (count != tensors)
        v.fail("it holds state for " + std::to_string(count) +
               " parameter tensors, but this state has " + std::to_string(tensors));

    auto leaf = [&](const std::string& name, auto& x) {
      check_leaf<decltype(x)>();
      v.field(name, x);
    };
    walk_state(chain_, state_, "", leaf, tensors);
  }
  // Counters in range (see step_count); io::read_fields runs it before the state is committed.
  void validate_state() const { validate_walk(chain_, std::as_const(state_)); }

 private:
  const Chain& chain_;
  State& state_;
};

}  // namespace detail

}  // namespace continua::optim

namespace continua::io {

// Writes `state` (built by chain.init(params)) to `path` atomically, as kind "optim.chain":
// records are named after the chain's parts and tensor indices (docs/checkpoints.md), so load()
// tells a checkpoint of another chain or parameter set from a matching one. Device buffers are
// copied to the host. Throws continua::io_error when the file cannot be written (an earlier file
// at `path` then stays as it was).
template <class... Xs, class State>
void save(const std::filesystem::path& path, const optim::chain_t<Xs...>& chain,
          const State& state) {
  io::save(path, optim::detail::chain_state<optim::chain_t<Xs...>, const State>(chain, state));
}

// Reads a checkpoint written by save() into `state`, which must have been built by
// chain.init(params) for the same chain and an equally shaped parameter set. Everything (file
// integrity, kind, chain structure, tensor count, every record's name, type and size) is read
// and checked in a copy of the state, which then replaces `state`: a throw leaves `state`
// exactly as it was. Throws continua::io_error naming the mismatch.
// Reads a chain's state from an open checkpoint, all or nothing (see the path form).
template <class... Xs, class State>
void load(const checkpoint_reader& r, const optim::chain_t<Xs...>& chain, State& state) {
  State next = state;
  optim::detail::chain_state<optim::chain_t<Xs...>, State> view(chain, next);
  io::read_fields(r, view);
  state = std::move(next);
}
// Reads a chain's state from the checkpoint at `path`, all or nothing.
template <class... Xs, class State>
void load(const std::filesystem::path& path, const optim::chain_t<Xs...>& chain, State& state) {
  const checkpoint_reader r(path);
  io::load(r, chain, state);
}

// The same for an optimizer (a chain bound to its state).
template <class Chain, class P>
void save(const std::filesystem::path& path, const optim::optimizer<Chain, P>& opt) {
  io::save(path, opt.transformation(), opt.state());
}
// Reads an optimizer's state from the checkpoint at `path`, all or nothing.
template <class Chain, class P>
void load(const std::filesystem::path& path, optim::optimizer<Chain, P>& opt) {
  io::load(path, opt.transformation(), opt.state());
}

}  // namespace continua::io
