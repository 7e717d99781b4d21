// libFuzzer target: the checkpoint container (checkpoint_reader::from_bytes), then every record
// read as every element type, as text, as a scalar and through read_into. Byte 0 of the input:
// bit 0 clear = seal the rest (size field and CRC rewritten to match, so mutations reach the
// structure parser behind the CRC); set = take the rest as it is (the CRC path itself).
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "continua/core/error.hpp"
#include "continua/io/checkpoint.hpp"
#include "fuzz.hpp"

namespace {

namespace io = continua::io;

// Reading a record as T throws io_error unless T is its type; when it is, the values must come
// back in the count the record declares, by every access path.
template <class T>
void read_as(const io::checkpoint_reader& r, const io::record_info& rec) {
  const bool mine = rec.type == io::dtype_of<T>();
  try {
    const std::vector<T> all = r.get<T>(rec.name);
    if (!mine || all.size() != rec.count) __builtin_trap();
    const std::vector<T> shaped = r.get<T>(rec.name, rec.shape);
    if (shaped.size() != all.size()) __builtin_trap();
    std::vector<T> into(static_cast<std::size_t>(rec.count));
    if constexpr (!std::is_same_v<T, bool>) {
      r.read_into<T>(rec.name, std::span<T>(into));
      if (!all.empty() && std::memcmp(into.data(), all.data(), all.size() * sizeof(T)) != 0)
        __builtin_trap();
    }
  } catch (const continua::io_error&) {
  }
  try {
    (void)r.get_scalar<T>(rec.name);
    if (!mine || !rec.shape.empty()) __builtin_trap();
  } catch (const continua::io_error&) {
  }
  try {
    (void)r.get<T>(rec.name, {rec.count + 1});  // another shape: must be refused
    __builtin_trap();
  } catch (const continua::io_error&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  std::vector<unsigned char> image(data + 1, data + size);
  if ((data[0] & 1) == 0) continua_fuzz::seal(image);
  try {
    const io::checkpoint_reader r = io::checkpoint_reader::from_bytes(std::move(image), "fuzz");
    try {
      r.require_kind(r.kind(), r.schema_version());
    } catch (const continua::io_error&) {
    }
    for (const io::record_info& rec : r.records()) {
      if (!r.contains(rec.name) || &r.info(rec.name) != &rec) __builtin_trap();
      read_as<std::uint8_t>(r, rec);
      read_as<std::int8_t>(r, rec);
      read_as<std::uint16_t>(r, rec);
      read_as<std::int16_t>(r, rec);
      read_as<std::uint32_t>(r, rec);
      read_as<std::int32_t>(r, rec);
      read_as<std::uint64_t>(r, rec);
      read_as<std::int64_t>(r, rec);
      read_as<float>(r, rec);
      read_as<double>(r, rec);
      read_as<bool>(r, rec);
      try {
        const std::string t = r.get_text(rec.name);
        if (rec.type != io::dtype::text || t.size() != rec.count) __builtin_trap();
      } catch (const continua::io_error&) {
      }
    }
    (void)r.info("\x01 no such record");
    __builtin_trap();  // info() of a missing name must throw
  } catch (const continua::io_error&) {
  }
  return 0;
}
