// Checkpoints of the regularizers' slot state: writing every buffer of every slot, and a staged
// load that reads and checks a whole file before anything is stored.
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

#include "continua/core/error.hpp"
#include "continua/core/memory_space.hpp"
#include "continua/core/per_tensor.hpp"
#include "continua/io/checkpoint.hpp"

namespace continua::regularize::detail {

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

// The scalars a regularizer adds to its checkpoint, as one callable: given the writer it writes
// them; given a staged_load it reads and checks them and returns what stores them at commit.
// no_scalars adds none.
struct no_scalars {
  void operator()(io::checkpoint_writer&) const {}
  auto operator()(staged_load&) const {
    return [] {};
  }
};

}  // namespace continua::regularize::detail
