// IDX array files (plain or gzip-compressed): strict reader, writer, typed conversion.
// LeCun, Cortes & Burges, "The MNIST database of handwritten digits", file format section (1998).
//
// Layout: bytes 0-1 zero, byte 2 the element type, byte 3 the number of dimensions, then one
// big-endian uint32 per dimension, then the elements in row-major order, each big-endian. The
// reader accepts exactly that and nothing else: a short file, an unknown type, extra bytes after
// the last element or a damaged gzip stream are errors, because a silently half-read dataset
// costs more than a failed run. Gzip input (magic 1f 8b) needs CONTINUA_WITH_ZLIB=1.
#pragma once

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <span>
#include <sstream>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

#include "continua/config.hpp"
#include "continua/core/error.hpp"

#if CONTINUA_WITH_ZLIB
#include <zlib.h>
#endif

namespace continua::io {

// Element type codes of the format (byte 2 of the header).
enum class idx_type : std::uint8_t {
  u8 = 0x08,   // unsigned byte
  i8 = 0x09,   // signed byte
  i16 = 0x0B,  // short
  i32 = 0x0C,  // int
  f32 = 0x0D,  // float
  f64 = 0x0E,  // double
};

// Bytes per element; 0 for a code that is not an idx_type.
constexpr std::size_t idx_type_size(idx_type t) noexcept {
  switch (t) {
    case idx_type::u8:
    case idx_type::i8:
      return 1;
    case idx_type::i16:
      return 2;
    case idx_type::i32:
    case idx_type::f32:
      return 4;
    case idx_type::f64:
      return 8;
  }
  return 0;
}

// The type's name in the IDX description ("ubyte", "int", "float", ...), for error messages.
constexpr std::string_view idx_type_name(idx_type t) noexcept {
  switch (t) {
    case idx_type::u8:
      return "ubyte";
    case idx_type::i8:
      return "sbyte";
    case idx_type::i16:
      return "short";
    case idx_type::i32:
      return "int";
    case idx_type::f32:
      return "float";
    case idx_type::f64:
      return "double";
  }
  return "unknown";
}

// True for the C++ element types IDX can store: uint8, int8, int16, int32, float, double.
template <class T>
inline constexpr bool is_idx_element_v =
    std::is_same_v<T, std::uint8_t> || std::is_same_v<T, std::int8_t> ||
    std::is_same_v<T, std::int16_t> || std::is_same_v<T, std::int32_t> ||
    std::is_same_v<T, float> || std::is_same_v<T, double>;

// The IDX code of a C++ element type: idx_type_of<float> == idx_type::f32.
template <class T>
requires is_idx_element_v<T>
inline constexpr idx_type idx_type_of = std::is_same_v<T, std::uint8_t>   ? idx_type::u8
                                        : std::is_same_v<T, std::int8_t>  ? idx_type::i8
                                        : std::is_same_v<T, std::int16_t> ? idx_type::i16
                                        : std::is_same_v<T, std::int32_t> ? idx_type::i32
                                        : std::is_same_v<T, float>        ? idx_type::f32
                                                                          : idx_type::f64;

// The format stores the rank in one byte; more than 8 dimensions is rejected as a sign of a
// damaged or foreign file rather than a real dataset.
inline constexpr std::size_t idx_max_rank = 8;

enum class idx_compression { none, gzip };

// Reading limits. max_bytes caps the element bytes a header may declare, checked before anything
// is allocated or inflated, so a corrupt or hostile header (or a small gzip that inflates to
// gigabytes) fails at once instead of exhausting memory. The default, 1 GiB, is about twice the
// largest common IDX dataset (EMNIST byclass training images, 547 MB) and 20 times
// Fashion-MNIST's; raise it for larger files.
struct idx_read_options {
  std::size_t max_bytes = std::size_t{1} << 30;
};

namespace detail {

// Whether element value e is exactly a value of integer type T: finite, integral and in T's
// range. A fractional value is refused too (not truncated): a file of class labels or counts
// stored as float that holds 2.5 is damaged, and truncating it would hide that.
template <class T, class E>
bool idx_fits_integer(E e) {
  if constexpr (std::is_floating_point_v<E>) {
    if (!std::isfinite(e) || e != std::trunc(e)) return false;
    // T's range is [-2^digits, 2^digits) (signed) or [0, 2^digits) (unsigned); both bounds are
    // powers of two, exact in E, unlike T's max, which a float rounds up.
    const E lo = std::is_signed_v<T> ? -std::ldexp(E(1), std::numeric_limits<T>::digits) : E(0);
    const E hi = std::ldexp(E(1), std::numeric_limits<T>::digits);
    return e >= lo && e < hi;
  } else {
    return std::in_range<T>(e);
  }
}

template <class T>
std::string idx_cpp_type_name() {
  return (std::is_signed_v<T> ? "int" : "uint") + std::to_string(8 * sizeof(T));
}

template <class E>
std::string idx_value_string(E e) {
  std::ostringstream os;
  if constexpr (std::is_floating_point_v<E>) {
    // Integral values in full (2147483648, not 2.14748365e+09), others to round-trip precision.
    if (std::isfinite(e) && e == std::trunc(e) && std::abs(e) < E(1e18)) {
      os << std::fixed;
      os.precision(0);
    } else {
      os.precision(std::numeric_limits<E>::max_digits10);
    }
    os << e;
  } else {
    os << +e;
  }
  return os.str();
}

// The io_error for element i of value e that integer type T cannot hold.
template <class T, class E>
[[noreturn]] void idx_conversion_fail(std::string_view context, std::size_t i, E e,
                                      std::string_view what) {
  throw io_error(std::string(context) + ": element " + std::to_string(i) + " = " +
                 idx_value_string(e) + " " + std::string(what) + " " + idx_cpp_type_name<T>() +
                 " (only integral values in the type's range convert to an integer type; read "
                 "it as double to see every value)");
}

}  // namespace detail

// One IDX array. `data` holds the elements in host byte order, so for ubyte files `data[i]` is
// element i; other types are read with get<T>(i) or to_vector<T>().
struct idx_array {
  idx_type type = idx_type::u8;
  std::vector<std::size_t> dims;
  std::vector<std::uint8_t> data;

  // Number of elements (product of dims; 0 when dims is empty). Wraps for dims whose product
  // exceeds SIZE_MAX (never for a parsed array); get and to_vector check the product.
  std::size_t size() const noexcept {
    if (dims.empty()) return 0;
    std::size_t n = 1;
    for (std::size_t d : dims) n *= d;
    return n;
  }

  // Element i converted to T. Into a floating T: static_cast (exact for every integer element into
  // double). Into an integer T: checked, so a NaN, Inf, fractional or out-of-range element
  // throws io_error naming the element and its value instead of being wrapped or converted with
  // undefined behaviour.
  template <class T>
  T get(std::size_t i) const {
    switch (type) {
      case idx_type::u8:
        return load<std::uint8_t, T>(i);
      case idx_type::i8:
        return load<std::int8_t, T>(i);
      case idx_type::i16:
        return load<std::int16_t, T>(i);
      case idx_type::i32:
        return load<std::int32_t, T>(i);
      case idx_type::f32:
        return load<float, T>(i);
      case idx_type::f64:
        return load<double, T>(i);
    }
    throw invalid_argument("continua::io::idx_array::get: unknown element type");
  }

  // All elements as T, each multiplied by `scale` (e.g. 1/255 maps ubyte pixels to [0, 1]).
  // Into an integer T every element and every product is checked as in get<T>(); a floating T
  // takes the unchecked loop (the Fashion-MNIST path, ubyte to float, costs nothing extra).
  template <class T>
  std::vector<T> to_vector(T scale = T(1)) const {
    constexpr std::string_view context = "continua::io::idx_array::to_vector";
    const std::size_t n = checked_size(context);
    require_same_size(context, "data bytes", data.size(), "dims * element size",
                      checked_mul(n, idx_type_size(type), context, "elements * element size"));
    std::vector<T> out(n);
    switch (type) {
      case idx_type::u8:
        convert<std::uint8_t>(out, scale);
        break;
      case idx_type::i8:
        convert<std::int8_t>(out, scale);
        break;
      case idx_type::i16:
        convert<std::int16_t>(out, scale);
        break;
      case idx_type::i32:
        convert<std::int32_t>(out, scale);
        break;
      case idx_type::f32:
        convert<float>(out, scale);
        break;
      case idx_type::f64:
        convert<double>(out, scale);
        break;
    }
    return out;
  }

  // An array of element type E with the given dims and values (row-major).
  template <class E>
  requires is_idx_element_v<E>
  static idx_array from_values(std::vector<std::size_t> dims, std::span<const E> values) {
    idx_array a;
    a.type = idx_type_of<E>;
    a.dims = std::move(dims);
    require_same_size("continua::io::idx_array::from_values", "values", values.size(),
                      "product of dims", a.size());
    a.data.resize(values.size() * sizeof(E));
    if (!values.empty()) std::memcpy(a.data.data(), values.data(), a.data.size());
    return a;
  }

 private:
  // size() with the product checked (a hand-built array may have any dims).
  std::size_t checked_size(std::string_view context) const {
    if (dims.empty()) return 0;
    std::size_t n = 1;
    for (std::size_t d : dims) n = checked_mul(n, d, context, "product of dims");
    return n;
  }
  template <class E, class T>
  T load(std::size_t i) const {
    constexpr std::string_view context = "continua::io::idx_array::get";
    const std::size_t n = checked_size(context);
    // Also within data: a hand-built array may hold fewer bytes than its dims say.
    if (i >= n || i >= data.size() / sizeof(E))
      throw invalid_argument(std::string(context) + ": index " + std::to_string(i) +
                             " out of range for " + std::to_string(n) + " elements (" +
                             std::to_string(data.size()) + " data bytes)");
    E e;
    std::memcpy(&e, data.data() + i * sizeof(E), sizeof(E));
    if constexpr (std::is_integral_v<T>)
      if (!detail::idx_fits_integer<T>(e))
        detail::idx_conversion_fail<T>("continua::io::idx_array::get", i, e, "does not fit");
    return static_cast<T>(e);
  }
  template <class E, class T>
  void convert(std::vector<T>& out, T scale) const {
    const std::uint8_t* p = data.data();
    if constexpr (std::is_integral_v<T>) {
      constexpr std::string_view context = "continua::io::idx_array::to_vector";
      for (std::size_t i = 0; i < out.size(); ++i) {
        E e;
        std::memcpy(&e, p + i * sizeof(E), sizeof(E));
        if (!detail::idx_fits_integer<T>(e))
          detail::idx_conversion_fail<T>(context, i, e, "does not fit");
        if (__builtin_mul_overflow(static_cast<T>(e), scale, &out[i]))
          detail::idx_conversion_fail<T>(
              context, i, e, "times scale " + detail::idx_value_string(scale) + " overflows");
      }
    } else {
      for (std::size_t i = 0; i < out.size(); ++i) {
        E e;
        std::memcpy(&e, p + i * sizeof(E), sizeof(E));
        out[i] = static_cast<T>(e) * scale;
      }
    }
  }
};

namespace detail {

inline std::string idx_where(std::string_view name) {
  return "continua::io: IDX file '" + std::string(name) + "'";
}

[[noreturn]] inline void idx_fail(std::string_view name, const std::string& what) {
  throw io_error(idx_where(name) + ": " + what);
}

// Reverses each element's bytes when the host is little-endian (the format is big-endian).
inline void idx_swap_elements(std::uint8_t* p, std::size_t bytes, std::size_t width) {
  if constexpr (std::endian::native == std::endian::big) return;
  if (width == 1) return;
  for (std::size_t i = 0; i < bytes; i += width) std::reverse(p + i, p + i + width);
}

// A forward-only byte stream over a memory buffer, inflating it first if it is gzip.
class idx_source {
 public:
  idx_source(std::span<const std::uint8_t> bytes, std::string_view name) : in_(bytes), name_(name) {
    gzip_ = bytes.size() >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b;
    if (!gzip_) return;
#if CONTINUA_WITH_ZLIB
    start_member(0);
#else
    idx_fail(name_,
             "is gzip-compressed but continua was built without zlib (CONTINUA_WITH_ZLIB=0)");
#endif
  }
  idx_source(const idx_source&) = delete;
  idx_source& operator=(const idx_source&) = delete;
  ~idx_source() {
#if CONTINUA_WITH_ZLIB
    if (z_open_) inflateEnd(&z_);
#endif
  }

  bool gzip() const { return gzip_; }

  // Copies up to n bytes to out; fewer only at the end of the stream.
  std::size_t read(std::uint8_t* out, std::size_t n) {
    if (!gzip_) {
      const std::size_t k = std::min(n, in_.size() - pos_);
      if (k > 0) std::memcpy(out, in_.data() + pos_, k);
      pos_ += k;
      return k;
    }
#if CONTINUA_WITH_ZLIB
    return inflate_into(out, n);
#else
    return 0;
#endif
  }

  // Bytes left after the current position; for gzip, at most one byte is decoded to find out.
  bool at_end() {
    if (!gzip_) return pos_ == in_.size();
    std::uint8_t probe;
    return read(&probe, 1) == 0;
  }
  // Plain input only: how many bytes remain.
  std::size_t remaining_plain() const { return in_.size() - pos_; }

 private:
#if CONTINUA_WITH_ZLIB
  void start_member(std::size_t offset) {
    std::memset(&z_, 0, sizeof(z_));
    // 15 + 16: a gzip wrapper (header, CRC32 and length trailer checked by zlib), 32 KiB window.
    if (inflateInit2(&z_, 15 + 16) != Z_OK) idx_fail(name_, "zlib inflateInit2 failed");
    z_open_ = true;
    member_offset_ = offset;
    z_.next_in = const_cast<Bytef*>(in_.data() + offset);
    z_.avail_in = 0;
    feed();
  }
  // zlib counts input in uInt; huge buffers are fed in slices.
  void feed() {
    if (z_.avail_in > 0) return;
    const std::size_t consumed = static_cast<std::size_t>(z_.next_in - in_.data());
    const std::size_t left = in_.size() - consumed;
    z_.avail_in = static_cast<uInt>(std::min<std::size_t>(left, 1u << 30));
  }
  std::size_t inflate_into(std::uint8_t* out, std::size_t n) {
    std::size_t done = 0;
    while (done < n && !finished_) {
      const std::size_t want = std::min<std::size_t>(n - done, 1u << 30);
      z_.next_out = out + done;
      z_.avail_out = static_cast<uInt>(want);
      feed();
      const int rc = inflate(&z_, Z_NO_FLUSH);
      done += want - z_.avail_out;
      if (rc == Z_STREAM_END) {
        next_member();
        continue;
      }
      if (rc == Z_OK) continue;
      if (rc == Z_BUF_ERROR) {
        // No progress possible: with all input consumed this is a stream cut short.
        if (z_.avail_in == 0 && static_cast<std::size_t>(z_.next_in - in_.data()) == in_.size())
          idx_fail(name_,
                   "gzip stream is truncated (input ends before the end-of-stream marker, after "
                   "member starting at byte " +
                       std::to_string(member_offset_) + ")");
        continue;
      }
      std::string msg = z_.msg != nullptr ? z_.msg : "zlib error " + std::to_string(rc);
      if (rc == Z_MEM_ERROR) idx_fail(name_, "out of memory while inflating gzip data");
      idx_fail(name_, "gzip data is corrupt (" + msg + ")");
    }
    return done;
  }
  // After one gzip member: another member may follow (gzip allows concatenation); anything
  // else after the trailer is garbage.
  void next_member() {
    const std::size_t consumed = static_cast<std::size_t>(z_.next_in - in_.data());
    inflateEnd(&z_);
    z_open_ = false;
    if (consumed == in_.size()) {
      finished_ = true;
      return;
    }
    if (in_.size() - consumed >= 2 && in_[consumed] == 0x1f && in_[consumed + 1] == 0x8b) {
      start_member(consumed);
      return;
    }
    idx_fail(name_, std::to_string(in_.size() - consumed) +
                        " trailing bytes after the end of the gzip stream (at byte " +
                        std::to_string(consumed) + ")");
  }
  z_stream z_{};
  bool z_open_ = false;
  bool finished_ = false;
  std::size_t member_offset_ = 0;
#endif
  std::span<const std::uint8_t> in_;
  std::string name_;
  std::size_t pos_ = 0;
  bool gzip_ = false;
};

inline std::uint32_t idx_be32(const std::uint8_t* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
         std::uint32_t{p[3]};
}

inline bool idx_known_type(std::uint8_t code) {
  return code == 0x08 || code == 0x09 || code == 0x0B || code == 0x0C || code == 0x0D ||
         code == 0x0E;
}

inline std::string idx_hex(std::uint8_t b) {
  const char* digits = "0123456789abcdef";
  return std::string{digits[b >> 4], digits[b & 15]};
}

inline idx_array idx_parse(idx_source& src, std::string_view name, const idx_read_options& opt) {
  std::uint8_t head[4];
  const std::size_t got = src.read(head, 4);
  if (got < 4)
    idx_fail(name,
             "is truncated: " + std::to_string(got) + " bytes, shorter than the 4-byte header");
  if (head[0] != 0 || head[1] != 0)
    idx_fail(name, "bad magic number " + idx_hex(head[0]) + " " + idx_hex(head[1]) + " " +
                       idx_hex(head[2]) + " " + idx_hex(head[3]) +
                       " (an IDX file starts with two zero bytes, a type code and a rank)");
  if (!idx_known_type(head[2]))
    idx_fail(name, "unsupported element type code 0x" + idx_hex(head[2]) +
                       " (expected 08 ubyte, 09 sbyte, 0b short, 0c int, 0d float, 0e double)");
  const std::size_t rank = head[3];
  if (rank == 0 || rank > idx_max_rank)
    idx_fail(name, "unsupported number of dimensions " + std::to_string(rank) + " (expected 1 to " +
                       std::to_string(idx_max_rank) + ")");

  idx_array a;
  a.type = static_cast<idx_type>(head[2]);
  std::uint8_t dim_bytes[4 * idx_max_rank];
  const std::size_t got_dims = src.read(dim_bytes, 4 * rank);
  if (got_dims < 4 * rank)
    idx_fail(name, "is truncated inside the dimension list (" + std::to_string(rank) +
                       " dimensions need " + std::to_string(4 * rank) + " bytes, found " +
                       std::to_string(got_dims) + ")");
  const std::size_t width = idx_type_size(a.type);
  std::size_t bytes = width;
  a.dims.resize(rank);
  for (std::size_t d = 0; d < rank; ++d) {
    a.dims[d] = idx_be32(dim_bytes + 4 * d);
    if (a.dims[d] != 0 && bytes > std::numeric_limits<std::size_t>::max() / a.dims[d])
      idx_fail(name, "dimensions overflow the addressable size (product of dims * " +
                         std::to_string(width) + " bytes exceeds SIZE_MAX)");
    bytes *= a.dims[d];
  }

  // A plain file knows its length: check before allocating, so a corrupt header cannot ask for
  // terabytes. Gzip data grows the buffer as it inflates, for the same reason.
  if (!src.gzip() && src.remaining_plain() < bytes)
    idx_fail(name, "is truncated: the header promises " + std::to_string(bytes) +
                       " data bytes but only " + std::to_string(src.remaining_plain()) + " follow");
  // Then the caller's cap, before anything is allocated or inflated: the data is exactly the
  // declared bytes (more is an error), so this also bounds what a gzip stream may inflate to.
  if (bytes > opt.max_bytes)
    idx_fail(name, "declares " + std::to_string(bytes) + " data bytes, above the limit of " +
                       std::to_string(opt.max_bytes) +
                       " bytes (raise idx_read_options::max_bytes, the last argument of "
                       "parse_idx / read_idx, to read it)");
  constexpr std::size_t chunk = std::size_t{1} << 24;
  std::size_t have = 0;
  while (have < bytes) {
    const std::size_t step = std::min(chunk, bytes - have);
    a.data.resize(have + step);
    const std::size_t k = src.read(a.data.data() + have, step);
    have += k;
    if (k < step)
      idx_fail(name, "is truncated: the header promises " + std::to_string(bytes) +
                         " data bytes but only " + std::to_string(have) + " follow");
  }
  if (!src.at_end())
    idx_fail(name, "has trailing bytes after the " + std::to_string(bytes) +
                       " data bytes the header describes");
  idx_swap_elements(a.data.data(), a.data.size(), width);
  return a;
}

inline void idx_check_writable(const idx_array& a, std::string_view context) {
  const std::size_t width = idx_type_size(a.type);
  require(width != 0, context, "unknown element type");
  require(
      !a.dims.empty() && a.dims.size() <= idx_max_rank, context,
      "rank " + std::to_string(a.dims.size()) + " is outside 1.." + std::to_string(idx_max_rank));
  std::size_t n = 1;
  for (std::size_t d : a.dims) {
    require(d <= std::numeric_limits<std::uint32_t>::max(), context,
            "dimension " + std::to_string(d) + " does not fit the format's uint32");
    require(d == 0 || n <= std::numeric_limits<std::size_t>::max() / d, context,
            "dimensions overflow SIZE_MAX");
    n *= d;
  }
  require(n <= std::numeric_limits<std::size_t>::max() / width, context,
          "dimensions overflow SIZE_MAX");
  require_same_size(context, "data bytes", a.data.size(), "product of dims * element size",
                    n * width);
}

#if CONTINUA_WITH_ZLIB
inline std::vector<std::uint8_t> gzip_bytes(std::span<const std::uint8_t> raw) {
  z_stream z{};
  if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    throw io_error("gzip: zlib deflateInit2 failed");
  std::vector<std::uint8_t> out;
  std::size_t in_pos = 0;
  int rc = Z_OK;
  do {
    const std::size_t slice = std::min<std::size_t>(raw.size() - in_pos, 1u << 30);
    z.next_in = const_cast<Bytef*>(raw.data() + in_pos);
    z.avail_in = static_cast<uInt>(slice);
    const int flush = in_pos + slice == raw.size() ? Z_FINISH : Z_NO_FLUSH;
    do {
      const std::size_t old = out.size();
      out.resize(old + (1u << 16));
      z.next_out = out.data() + old;
      z.avail_out = 1u << 16;
      rc = deflate(&z, flush);
      out.resize(old + (1u << 16) - z.avail_out);
      if (rc == Z_STREAM_ERROR) {
        deflateEnd(&z);
        throw io_error("gzip: zlib deflate failed");
      }
    } while (z.avail_out == 0 || (flush == Z_FINISH && rc != Z_STREAM_END));
    in_pos += slice;
  } while (rc != Z_STREAM_END);
  deflateEnd(&z);
  return out;
}
#endif

}  // namespace detail

// Reads an IDX array from memory (plain, or gzip when it starts with 1f 8b). `name` appears in
// error messages.
// Throws io_error when the header declares more than opt.max_bytes data bytes.
inline idx_array parse_idx(std::span<const std::uint8_t> bytes, std::string_view name = "<memory>",
                           const idx_read_options& opt = {}) {
  detail::idx_source src(bytes, name);
  return detail::idx_parse(src, name, opt);
}

// Whole-file read; io_error names the file when it is missing, unreadable or not a regular file.
inline std::vector<std::uint8_t> read_file_bytes(const std::filesystem::path& path) {
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (ec || !std::filesystem::exists(status))
    throw io_error("cannot open '" + path.string() +
                   "': " + (ec ? ec.message() : std::string("no such file or directory")));
  if (!std::filesystem::is_regular_file(status))
    throw io_error("cannot read '" + path.string() + "': not a regular file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw io_error("cannot open '" + path.string() + "': " + std::strerror(errno));
  const auto n = static_cast<std::size_t>(std::filesystem::file_size(path, ec));
  if (ec) throw io_error("cannot stat '" + path.string() + "': " + ec.message());
  std::vector<std::uint8_t> bytes(n);
  in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(n));
  if (static_cast<std::size_t>(in.gcount()) != n)
    throw io_error("read error on '" + path.string() + "': got " + std::to_string(in.gcount()) +
                   " of " + std::to_string(n) + " bytes");
  return bytes;
}

// Reads an IDX file, plain or gzip-compressed (detected from its content, not its name).
// Throws io_error when the header declares more than opt.max_bytes data bytes.
inline idx_array read_idx(const std::filesystem::path& path, const idx_read_options& opt = {}) {
  const std::vector<std::uint8_t> bytes = read_file_bytes(path);
  return parse_idx(bytes, path.string(), opt);
}

// The file image of `a`: header, big-endian dims and elements, gzip-wrapped if asked.
inline std::vector<std::uint8_t> encode_idx(const idx_array& a,
                                            idx_compression compression = idx_compression::none) {
  detail::idx_check_writable(a, "encode_idx");
  std::vector<std::uint8_t> out;
  out.reserve(4 + 4 * a.dims.size() + a.data.size());
  out.insert(out.end(),
             {0, 0, static_cast<std::uint8_t>(a.type), static_cast<std::uint8_t>(a.dims.size())});
  for (std::size_t d : a.dims) {
    const auto v = static_cast<std::uint32_t>(d);
    out.insert(out.end(), {static_cast<std::uint8_t>(v >> 24), static_cast<std::uint8_t>(v >> 16),
                           static_cast<std::uint8_t>(v >> 8), static_cast<std::uint8_t>(v)});
  }
  const std::size_t header = out.size();
  out.insert(out.end(), a.data.begin(), a.data.end());
  detail::idx_swap_elements(out.data() + header, a.data.size(), idx_type_size(a.type));
  if (compression == idx_compression::none) return out;
#if CONTINUA_WITH_ZLIB
  return detail::gzip_bytes(out);
#else
  throw io_error("encode_idx: gzip output needs zlib (CONTINUA_WITH_ZLIB=0)");
#endif
}

// Writes `a` to `path` (replacing it). The array is validated before the file is touched.
inline void write_idx(const std::filesystem::path& path, const idx_array& a,
                      idx_compression compression = idx_compression::none) {
  const std::vector<std::uint8_t> bytes = encode_idx(a, compression);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) throw io_error("cannot create '" + path.string() + "': " + std::strerror(errno));
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
  out.flush();
  if (!out) throw io_error("write error on '" + path.string() + "'");
}

}  // namespace continua::io
