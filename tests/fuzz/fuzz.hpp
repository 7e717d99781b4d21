// What every libFuzzer target of continua shares: sealing a mutated checkpoint image so that it
// reaches the loaders behind the CRC, the state of any component as bytes, and the one check a
// loader target runs (a refused load leaves the object byte-identical; an accepted one is a state
// that saves and loads back to itself; calls on it throw only the library's documented errors).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <utility>
#include <vector>

#include "continua/core/error.hpp"
#include "continua/io/checkpoint.hpp"
#include "continua/io/crc32.hpp"
#include "continua/io/state.hpp"

namespace continua_fuzz {

namespace io = continua::io;

// Rewrites the size field and the CRC of a checkpoint image to match its bytes. A mutation of a
// valid image then fails only on what it changed, instead of on the CRC nearly every time.
inline void seal(std::vector<unsigned char>& image) {
  if (image.size() < 24 || std::memcmp(image.data(), io::checkpoint_magic, 8) != 0) return;
  const std::uint64_t n = image.size();
  for (std::size_t i = 0; i < 8; ++i) image[12 + i] = static_cast<unsigned char>(n >> (8 * i));
  const std::uint32_t crc = io::crc32(image.data(), image.size() - 4);
  for (std::size_t i = 0; i < 4; ++i)
    image[image.size() - 4 + i] = static_cast<unsigned char>(crc >> (8 * i));
}

// A loader target's input: byte 0 chooses the subject (low 7 bits) and whether the image is
// sealed (high bit clear) or taken as it is (set); the rest is the checkpoint image.
struct loader_input {
  std::size_t subject;
  std::vector<unsigned char> image;
};
inline loader_input split(const std::uint8_t* data, std::size_t size) {
  loader_input in{static_cast<std::size_t>(data[0] & 0x7f), {data + 1, data + size}};
  if ((data[0] & 0x80) == 0) seal(in.image);
  return in;
}

[[noreturn]] inline void finding(const char* subject, const char* what) {
  std::fprintf(stderr, "continua fuzz finding: %s: %s\n", subject, what);
  std::fflush(stderr);
  std::abort();
}

// How the state of X is saved to bytes and loaded: io::save_bytes / io::load for a checkpointable
// component; specialised for objects with another checkpoint API (the optimizer).
template <class X>
struct state_io {
  static std::vector<unsigned char> bytes(const X& x) { return io::save_bytes(x); }
  static void load(const io::checkpoint_reader& r, X& x) { io::load(r, x); }
};
template <class X>
std::vector<unsigned char> bytes_of(const X& x) {
  return state_io<X>::bytes(x);
}
template <class X>
void load_into(const io::checkpoint_reader& r, X& x) {
  state_io<X>::load(r, x);
}

// Runs `use` on a loaded state: the library's documented errors for a bad call are fine, anything
// else escapes to libFuzzer, which reports it.
template <class X, class Use>
void use_state(X& x, Use&& use) {
  try {
    use(x);
  } catch (const continua::invalid_argument&) {
  } catch (const continua::numerical_error&) {
  }
}

// The loader check: `proto` is a component in a known, non-trivial state and `before` its bytes.
template <class X, class Use>
void check_load(const char* name, const X& proto, const std::vector<unsigned char>& before,
                std::vector<unsigned char> image, Use&& use) {
  X x = proto;
  try {
    const io::checkpoint_reader r = io::checkpoint_reader::from_bytes(std::move(image), "fuzz");
    load_into(r, x);
  } catch (const continua::io_error&) {
    if (bytes_of(x) != before) finding(name, "a refused load changed the state");
    return;
  }
  const std::vector<unsigned char> saved = bytes_of(x);
  X again = proto;
  try {
    load_into(io::checkpoint_reader::from_bytes(saved, "fuzz-resaved"), again);
  } catch (const continua::io_error& e) {
    std::fprintf(stderr, "%s\n", e.what());
    finding(name, "a state that loaded is refused after a save");
  }
  if (bytes_of(again) != saved) finding(name, "save, load, save gives other bytes");
  use_state(x, use);
}

// Counts the subjects a family's visit function offers.
template <class Visit>
std::size_t subject_count(Visit&& visit) {
  std::size_t n = 0;
  visit([&](const char*, auto&&, auto&&) { ++n; });
  return n;
}

// The body of a loader target over one family.
template <class Visit>
int run_loader(Visit&& visit, const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  static const std::size_t count = subject_count(visit);
  loader_input in = split(data, size);
  const std::size_t which = in.subject % count;
  std::size_t k = 0;
  visit([&](const char* name, auto&& make, auto&& use) {
    if (k++ != which) return;
    // One prototype per subject, built on first use: executions then only copy it.
    static const auto proto = make();
    static const std::vector<unsigned char> before = bytes_of(proto);
    check_load(name, proto, before, std::move(in.image), use);
  });
  return 0;
}

}  // namespace continua_fuzz
