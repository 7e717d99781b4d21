// libFuzzer target: IDX files through continua::io::parse_idx, plain and gzip, then every typed
// conversion. Byte 0 of the input: bit 0 set = gzip the rest with the library's own compressor
// first (the header parser is then reached through inflate); clear = parse the rest as it is
// (which may itself be gzip: seeds of both kinds are in the corpus). Only the library's errors
// may be thrown; any other exception, a crash or a sanitizer report is a finding.
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "continua/core/error.hpp"
#include "continua/io/idx.hpp"

namespace {

namespace io = continua::io;

// A few elements through get<T>, and the whole array through to_vector<T>.
template <class T>
void convert(const io::idx_array& a) {
  try {
    const std::size_t n = a.size();
    if (n > 0) {
      (void)a.get<T>(0);
      (void)a.get<T>(n / 2);
      (void)a.get<T>(n - 1);
    }
    (void)a.get<T>(n);  // one past the end: must throw, not read
  } catch (const continua::invalid_argument&) {
  }
  try {
    const std::vector<T> v = a.to_vector<T>();
    if (v.size() != a.size()) __builtin_trap();
  } catch (const continua::invalid_argument&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::span<const std::uint8_t> rest(data + 1, size - 1);
  try {
    std::vector<std::uint8_t> zipped;
    std::span<const std::uint8_t> in = rest;
    if (data[0] & 1) {
      zipped = io::detail::gzip_bytes(rest);
      in = zipped;
    }
    const io::idx_array a = io::parse_idx(in, "fuzz");
    // A parsed array is consistent: its bytes are its elements, and it encodes back to a file
    // that parses to the same array.
    if (a.data.size() != a.size() * io::idx_type_size(a.type)) __builtin_trap();
    const io::idx_array b = io::parse_idx(io::encode_idx(a), "fuzz-reencoded");
    if (b.type != a.type || b.dims != a.dims || b.data != a.data) __builtin_trap();
    convert<std::uint8_t>(a);
    convert<std::int32_t>(a);
    convert<float>(a);
    convert<double>(a);
  } catch (const continua::io_error&) {
  }
  return 0;
}
