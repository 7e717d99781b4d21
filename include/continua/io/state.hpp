// One checkpoint pattern for every stateful component: the component describes its state once
// (describe_state), and continua::io::save / continua::io::load walk that description.
//
// A component is checkpointable when it provides
//
//   static constexpr std::string_view checkpoint_kind = "family.component";
//   static constexpr std::uint32_t checkpoint_schema = 1;   // bump when the fields change
//   template <class V> void describe_state(V& v);           // names every field, in order
//   void validate_state() const;                            // optional: the meaning of a state
//
// describe_state calls, for each part of the state, one of
//
//   v.field("name", x);         // x: an arithmetic scalar or enum, std::string, std::vector<T>,
//                               //  continua::buffer<T, Space>, philox_engine, or a nested part
//                               //  (anything with describe_state: records "name/...")
//   v.field("name", x, shape);  // x: std::vector<T> or buffer<T, Space> holding exactly `shape`
//   v.expect("name", value);    // a setting the file must share (a size, a policy's name)
//
// and may use `V::loading` (a static constexpr bool) to rebuild members that are derived from
// the fields it read, and `v.fail(what)` to refuse a file whose fields do not fit together.
// save() calls describe_state on a const component through const_cast: in the saving walk
// (V::loading false) describe_state must only read. load() reads into a copy of the component,
// field by field in the order described (so a later field's shape may depend on an earlier
// field's loaded value), checks that no record is left over, runs validate_state() on every
// part and on the whole, and only then moves the copy into place: a throw leaves the component
// exactly as it was. docs/checkpoints.md has the rules and a worked example.
#pragma once

#include <algorithm>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <memory>
#include <set>
#include <span>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "continua/core/buffer.hpp"
#include "continua/core/error.hpp"
#include "continua/core/memory_space.hpp"
#include "continua/core/random.hpp"
#include "continua/io/checkpoint.hpp"

namespace continua::io {

namespace detail {

template <class T>
struct is_std_vector : std::false_type {};
template <class T, class A>
struct is_std_vector<std::vector<T, A>> : std::true_type {};

template <class T>
struct is_state_buffer : std::false_type {};
template <class T, class Space>
struct is_state_buffer<continua::buffer<T, Space>> : std::true_type {};

template <class X>
using bare = std::remove_cvref_t<X>;

// The stored form of a scalar: enums as their underlying integer.
template <class X>
struct scalar_storage {
  using type = X;
};
template <class X>
requires std::is_enum_v<X>
struct scalar_storage<X> {
  using type = std::underlying_type_t<X>;
};

template <class X>
concept state_scalar = checkpoint_element<typename scalar_storage<bare<X>>::type>;

template <class X>
concept state_array = (is_std_vector<bare<X>>::value &&
                       checkpoint_element<typename bare<X>::value_type>) ||
                      is_state_buffer<bare<X>>::value;

// Only for the concepts below: a visitor that no describe_state is ever run with.
struct state_probe {
  static constexpr bool loading = false;
  template <class X>
  void field(std::string_view, X&);
  template <class X>
  void field(std::string_view, X&, const std::vector<std::uint64_t>&);
  template <class X>
  void expect(std::string_view, const X&);
  [[noreturn]] void fail(const std::string&) const;
};

}  // namespace detail

// A type with a describe_state member template: a component, or a nested part of one.
template <class C>
concept describes_state = requires(C& c, detail::state_probe& v) {
  c.describe_state(v);
};

// A component io::save and io::load accept: its state's description, plus the kind and the
// schema version its files carry.
template <class C>
concept checkpointable = describes_state<C> && requires {
  { C::checkpoint_kind } -> std::convertible_to<std::string_view>;
  { C::checkpoint_schema } -> std::convertible_to<std::uint32_t>;
};

namespace detail {

inline std::string where(const checkpoint_reader& r) {
  return "continua::io: checkpoint '" + r.source() + "': ";
}

// The part of both walks that tracks the record-name prefix of nested parts ("main/", ...).
class state_path {
 protected:
  std::string full(std::string_view name) const {
    std::string n = prefix_;
    n += name;
    return n;
  }
  template <class Part, class Walk>
  void nested(std::string_view name, Part& part, Walk& walk) {
    const std::size_t length = prefix_.size();
    prefix_ += name;
    prefix_ += '/';
    part.describe_state(walk);
    prefix_.resize(length);
  }
  std::string prefix_;
};

}  // namespace detail

// The saving walk: every field becomes one record of `w`; device buffers are copied to the host.
class state_saver : detail::state_path {
 public:
  static constexpr bool loading = false;

  explicit state_saver(checkpoint_writer& w) : w_(w) {}

  template <class X>
  void field(std::string_view name, const X& x) {
    if constexpr (std::is_same_v<X, std::string>) {
      w_.add_text(full(name), x);
    } else if constexpr (detail::state_scalar<X>) {
      w_.add_scalar(full(name), static_cast<typename detail::scalar_storage<X>::type>(x));
    } else if constexpr (std::is_same_v<X, philox_engine>) {
      const std::vector<std::uint64_t> v = {x.key().seed, x.key().stream, x.position()};
      w_.add(full(name), v);
    } else if constexpr (detail::state_array<X>) {
      array(name, x, {static_cast<std::uint64_t>(x.size())});
    } else {
      static_assert(describes_state<X>,
                    "continua::io: a state field must be an arithmetic scalar or enum, "
                    "std::string, std::vector, continua::buffer, philox_engine, or a part with "
                    "a describe_state member");
      // Saving only reads: see the note on const at the top of this header.
      nested(name, const_cast<X&>(x), *this);
    }
  }

  template <detail::state_array X>
  void field(std::string_view name, const X& x, const std::vector<std::uint64_t>& shape) {
    array(name, x, shape);
  }

  template <class X>
  void expect(std::string_view name, const X& value) {
    if constexpr (std::is_convertible_v<const X&, std::string_view>) {
      w_.add_text(full(name), std::string_view(value));
    } else {
      static_assert(detail::state_scalar<X>,
                    "continua::io: expect() takes an arithmetic scalar, an enum or a string");
      field(name, value);
    }
  }

  [[noreturn]] void fail(const std::string& what) const {
    throw invalid_argument("continua::io::save: " + what);
  }

 private:
  template <class X>
  void array(std::string_view name, const X& x, const std::vector<std::uint64_t>& shape) {
    using T = typename X::value_type;
    if constexpr (std::is_same_v<T, bool>) {
      const std::unique_ptr<bool[]> copy(new bool[x.size()]);
      std::copy(x.begin(), x.end(), copy.get());
      w_.add(full(name), std::span<const bool>(copy.get(), x.size()), shape);
    } else if constexpr (detail::is_std_vector<X>::value) {
      w_.add(full(name), std::span<const T>(x.data(), x.size()), shape);
    } else if constexpr (std::is_same_v<typename X::memory_space, host_space>) {
      w_.add(full(name), std::span<const T>(x.data(), x.size()), shape);
    } else {
      const std::vector<T> host = x.to_host();
      w_.add(full(name), std::span<const T>(host.data(), host.size()), shape);
    }
  }

  checkpoint_writer& w_;
};

// The loading walk: reads every field from `r` into the (copy of the) component it walks, and
// throws io_error naming the file and the record at the first field that does not fit.
class state_loader : detail::state_path {
 public:
  static constexpr bool loading = true;

  explicit state_loader(const checkpoint_reader& r) : r_(r) {}

  template <class X>
  void field(std::string_view name, X& x) {
    static_assert(!std::is_const_v<X>, "continua::io::load: a state field cannot be const");
    if constexpr (std::is_same_v<X, std::string>) {
      x = r_.get_text(take(name));
    } else if constexpr (detail::state_scalar<X>) {
      x = static_cast<X>(r_.get_scalar<typename detail::scalar_storage<X>::type>(take(name)));
    } else if constexpr (std::is_same_v<X, philox_engine>) {
      const auto v = r_.get<std::uint64_t>(take(name), {3});
      x = philox_engine(philox_key{v[0], v[1]}, v[2]);
    } else if constexpr (detail::state_array<X> && detail::is_std_vector<X>::value) {
      using T = typename X::value_type;
      const std::string n = take(name);
      std::vector<T> values = r_.get<T>(n);
      if (r_.info(n).shape.size() != 1)
        fail("record '" + n + "': expected a one-dimensional array, found shape " +
             io::detail::shape_string(r_.info(n).shape));
      x.assign(values.begin(), values.end());
    } else if constexpr (detail::is_state_buffer<X>::value) {
      using T = typename X::value_type;
      x.assign_from_host(r_.get<T>(take(name), {static_cast<std::uint64_t>(x.size())}));
    } else {
      static_assert(describes_state<X>,
                    "continua::io: a state field must be an arithmetic scalar or enum, "
                    "std::string, std::vector, continua::buffer, philox_engine, or a part with "
                    "a describe_state member");
      const std::string part = full(name);
      nested(name, x, *this);
      validate(x, part);
    }
  }

  template <detail::state_array X>
  void field(std::string_view name, X& x, const std::vector<std::uint64_t>& shape) {
    using T = typename X::value_type;
    std::vector<T> values = r_.get<T>(take(name), shape);
    if constexpr (detail::is_std_vector<X>::value)
      x.assign(values.begin(), values.end());
    else
      x.assign_from_host(values);
  }

  template <class X>
  void expect(std::string_view name, const X& value) {
    const std::string n = take(name);
    if constexpr (std::is_convertible_v<const X&, std::string_view>) {
      const std::string found = r_.get_text(n);
      if (found != std::string_view(value))
        fail("record '" + n + "' holds '" + found + "', but this " + std::string(r_.kind()) +
             " has '" + std::string(std::string_view(value)) + "'");
    } else {
      static_assert(detail::state_scalar<X>,
                    "continua::io: expect() takes an arithmetic scalar, an enum or a string");
      using S = typename detail::scalar_storage<X>::type;
      const S found = r_.get_scalar<S>(n);
      if (found != static_cast<S>(value))
        fail("record '" + n + "' holds " + number(found) + ", but this " + std::string(r_.kind()) +
             " has " + number(static_cast<S>(value)));
    }
  }

  [[noreturn]] void fail(const std::string& what) const {
    throw io_error(detail::where(r_) + what);
  }

  // After the walk: a record that no field claimed means the file holds another state.
  void finish() const {
    for (const auto& rec : r_.records())
      if (!taken_.contains(rec.name)) fail("record '" + rec.name + "' has no place in this state");
  }

  // Runs part.validate_state() when it has one; its complaint becomes an io_error naming the file.
  template <class Part>
  void validate(const Part& part, const std::string& name) const {
    if constexpr (requires { part.validate_state(); }) {
      try {
        part.validate_state();
      } catch (const std::invalid_argument& e) {
        fail((name.empty() ? std::string("the state it holds is invalid: ")
                           : "part '" + name + "' of the state it holds is invalid: ") +
             e.what());
      }
    }
  }

 private:
  std::string take(std::string_view name) {
    std::string n = full(name);
    if (!taken_.insert(n).second)
      throw invalid_argument("continua::io::load: describe_state names record '" + n + "' twice");
    return n;
  }

  template <class S>
  static std::string number(S v) {
    if constexpr (std::is_same_v<S, bool>) {
      return v ? "true" : "false";
    } else if constexpr (std::is_floating_point_v<S>) {
      std::ostringstream os;
      os.precision(std::numeric_limits<S>::max_digits10);
      os << v;
      return os.str();
    } else {
      return std::to_string(v);
    }
  }

  const checkpoint_reader& r_;
  std::set<std::string, std::less<>> taken_;
};

// Writes component `c` to `path` atomically (see checkpoint_writer::save): one record per field
// of its describe_state, under its checkpoint_kind and checkpoint_schema. Device buffers are
// copied to the host. Throws continua::io_error when the file cannot be written (an earlier file
// at `path` then stays as it was).
template <checkpointable C>
void save(const std::filesystem::path& path, const C& c) {
  checkpoint_writer w(C::checkpoint_kind, C::checkpoint_schema);
  state_saver v(w);
  // Saving only reads: see the note on const at the top of this header.
  const_cast<C&>(c).describe_state(v);
  w.save(path);
}

// The checkpoint image io::save would write for `c` (header, records, CRC), in memory: for
// sending a state elsewhere, or for comparing two states byte for byte. load_bytes and
// checkpoint_reader::from_bytes read it back.
template <checkpointable C>
std::vector<unsigned char> save_bytes(const C& c) {
  checkpoint_writer w(C::checkpoint_kind, C::checkpoint_schema);
  state_saver v(w);
  // Saving only reads: see the note on const at the top of this header.
  const_cast<C&>(c).describe_state(v);
  return w.bytes();
}

// Reads `r` into `c` itself: the kind and schema, every field in order (name, type, shape, and
// each expect()), no record left over, then validate_state() of the parts and of the whole.
// A throw leaves `c` partly read, so this is for objects that are thrown away on failure:
// io::load calls it on a copy; a family's load of a view over state calls it on a view over a
// copy. Throws continua::io_error naming the file and what does not fit.
template <checkpointable C>
void read_fields(const checkpoint_reader& r, C& c) {
  r.require_kind(C::checkpoint_kind, C::checkpoint_schema);
  state_loader v(r);
  c.describe_state(v);
  v.finish();
  v.validate(c, "");
}

// Loads a checkpoint written by io::save into `c`, all or nothing: everything is read into a
// copy of `c` and checked there (read_fields), and only then moved into `c`, so a throw leaves
// `c` exactly as it was. Memory: the file and a second copy of the state, until it returns.
template <checkpointable C>
void load(const checkpoint_reader& r, C& c) {
  static_assert(std::is_copy_constructible_v<C> && std::is_move_assignable_v<C>,
                "continua::io::load reads into a copy of the component, so it must be copyable "
                "and move-assignable");
  C next = c;
  read_fields(r, next);
  c = std::move(next);
}

// Loads a checkpoint image made by save_bytes (or read from anywhere) into `c`, all or nothing,
// as load(reader, c) does; `source` names the image in error messages.
template <checkpointable C>
void load_bytes(std::vector<unsigned char> image, C& c, std::string source = "<memory>") {
  load(checkpoint_reader::from_bytes(std::move(image), std::move(source)), c);
}

// Loads the checkpoint file at `path` into `c`, all or nothing, as load(reader, c) does.
template <checkpointable C>
void load(const std::filesystem::path& path, C& c) {
  const checkpoint_reader r(path);
  load(r, c);
}

}  // namespace continua::io
