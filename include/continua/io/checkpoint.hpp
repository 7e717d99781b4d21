// Checkpoint files: a versioned, CRC32-checked container of named, typed, shaped records, written
// atomically (temp file, fsync, rename). POSIX rename(2)/fsync(2) semantics for crash safety.
//
// Layout (every integer little-endian; docs/checkpoints.md has the byte table):
//   "CONTINUA" | u32 format version | u64 file size | u32 schema version | u32 kind length | kind
//   | u64 record count | records | u32 CRC-32 of every byte before it
//   record: u32 name length | name | u32 dtype | u32 rank | u64 extent x rank | u64 byte count
//           | element bytes (little-endian, row-major)
// The reader loads and validates the whole file (magic, version, size, CRC, structure) before it
// hands out a single value, so a damaged file is rejected as a whole, never read in part.
#pragma once

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <ostream>
#include <span>
#include <sstream>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

#include "continua/core/error.hpp"
#include "continua/io/crc32.hpp"

#if !defined(_WIN32)
#include <fcntl.h>
#include <unistd.h>
#endif

namespace continua::io {

// The container format this header writes, and the only one it reads. Version 2 came with the
// one checkpoint pattern (io/state.hpp), whose record layouts differ from version 1's; there is
// no reader for older layouts before a first release, so a version-1 file is refused by name.
inline constexpr std::uint32_t checkpoint_format_version = 2;
// The 8 bytes every checkpoint file starts with.
inline constexpr char checkpoint_magic[8] = {'C', 'O', 'N', 'T', 'I', 'N', 'U', 'A'};
// Longest record name and kind string, in bytes; a longer length field marks a corrupt file.
inline constexpr std::size_t checkpoint_max_name_length = 4096;
// Highest record rank; a higher rank field marks a corrupt file.
inline constexpr std::size_t checkpoint_max_rank = 16;

// Element type of a record. The numeric codes are part of the file format: never renumber.
enum class dtype : std::uint32_t {
  u8 = 1,
  i8 = 2,
  u16 = 3,
  i16 = 4,
  u32 = 5,
  i32 = 6,
  u64 = 7,
  i64 = 8,
  f32 = 9,
  f64 = 10,
  boolean = 11,  // one byte, 0 or 1
  text = 12,     // UTF-8 bytes, rank 1
};

// Bytes per element of dtype t (1 for boolean and text).
constexpr std::size_t dtype_size(dtype t) {
  switch (t) {
    case dtype::u8:
    case dtype::i8:
    case dtype::boolean:
    case dtype::text:
      return 1;
    case dtype::u16:
    case dtype::i16:
      return 2;
    case dtype::u32:
    case dtype::i32:
    case dtype::f32:
      return 4;
    case dtype::u64:
    case dtype::i64:
    case dtype::f64:
      return 8;
  }
  return 0;
}

// The short name of dtype t ("f32", "bool", ...), as used in error messages.
constexpr std::string_view dtype_name(dtype t) {
  switch (t) {
    case dtype::u8:
      return "u8";
    case dtype::i8:
      return "i8";
    case dtype::u16:
      return "u16";
    case dtype::i16:
      return "i16";
    case dtype::u32:
      return "u32";
    case dtype::i32:
      return "i32";
    case dtype::u64:
      return "u64";
    case dtype::i64:
      return "i64";
    case dtype::f32:
      return "f32";
    case dtype::f64:
      return "f64";
    case dtype::boolean:
      return "bool";
    case dtype::text:
      return "text";
  }
  return "unknown";
}

// Writes dtype_name(t).
inline std::ostream& operator<<(std::ostream& os, dtype t) { return os << dtype_name(t); }

// C++ element types a record can hold: bool, integers of 1/2/4/8 bytes, IEEE float and double.
template <class T>
concept checkpoint_element = std::is_same_v<T, bool> ||
                             (std::is_integral_v<T> && (sizeof(T) == 1 || sizeof(T) == 2 ||
                                                        sizeof(T) == 4 || sizeof(T) == 8)) ||
                             (std::is_floating_point_v<T> && std::numeric_limits<T>::is_iec559 &&
                              (sizeof(T) == 4 || sizeof(T) == 8));

// The dtype that stores C++ type T (int32_t -> i32, float -> f32, bool -> boolean).
template <checkpoint_element T>
constexpr dtype dtype_of() {
  if constexpr (std::is_same_v<T, bool>) {
    return dtype::boolean;
  } else if constexpr (std::is_floating_point_v<T>) {
    return sizeof(T) == 4 ? dtype::f32 : dtype::f64;
  } else if constexpr (std::is_signed_v<T>) {
    constexpr dtype by_size[] = {dtype::i8, dtype::i16, dtype::i32, dtype::i64};
    return by_size[std::countr_zero(sizeof(T))];
  } else {
    constexpr dtype by_size[] = {dtype::u8, dtype::u16, dtype::u32, dtype::u64};
    return by_size[std::countr_zero(sizeof(T))];
  }
}

// What the reader knows about one record after validation.
struct record_info {
  std::string name;
  io::dtype type;
  std::vector<std::uint64_t> shape;  // empty for a scalar
  std::uint64_t count;               // number of elements (1 for a scalar)
  std::size_t offset;                // of the element bytes in the file
};

namespace detail {

inline std::string shape_string(std::span<const std::uint64_t> shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

inline std::string hex32(std::uint32_t v) {
  std::ostringstream os;
  os << "0x" << std::hex << v;
  return os.str();
}

template <class U>
void put_le(std::vector<unsigned char>& out, U v) {
  static_assert(std::is_unsigned_v<U>);
  for (std::size_t i = 0; i < sizeof(U); ++i)
    out.push_back(static_cast<unsigned char>(v >> (8 * i)));
}

template <class U>
U get_le(const unsigned char* p) {
  static_assert(std::is_unsigned_v<U>);
  U v = 0;
  for (std::size_t i = 0; i < sizeof(U); ++i) v = static_cast<U>(v | U(p[i]) << (8 * i));
  return v;
}

template <std::size_t N>
struct unsigned_of;
template <>
struct unsigned_of<1> {
  using type = std::uint8_t;
};
template <>
struct unsigned_of<2> {
  using type = std::uint16_t;
};
template <>
struct unsigned_of<4> {
  using type = std::uint32_t;
};
template <>
struct unsigned_of<8> {
  using type = std::uint64_t;
};

template <checkpoint_element T>
void append_elements(std::vector<unsigned char>& out, std::span<const T> values) {
  if constexpr (std::is_same_v<T, bool>) {
    for (const bool b : values) out.push_back(b ? 1 : 0);
  } else if constexpr (std::endian::native == std::endian::little) {
    const auto* p = reinterpret_cast<const unsigned char*>(values.data());
    out.insert(out.end(), p, p + values.size_bytes());
  } else {
    using U = typename unsigned_of<sizeof(T)>::type;
    for (const T v : values) put_le(out, std::bit_cast<U>(v));
  }
}

// Overflow-checked product of extents; false when it does not fit in 64 bits.
inline bool element_count(std::span<const std::uint64_t> shape, std::uint64_t& count) {
  count = 1;
  for (const std::uint64_t e : shape) {
    if (e != 0 && count > std::numeric_limits<std::uint64_t>::max() / e) return false;
    count *= e;
  }
  return true;
}

[[noreturn]] inline void throw_write_error(const std::filesystem::path& path,
                                           const std::filesystem::path& tmp, std::string_view what,
                                           int err) {
  throw io_error("continua::io: checkpoint: cannot write '" + path.string() +
                 "': " + std::string(what) + " '" + tmp.string() +
                 "': " + std::generic_category().message(err));
}

// Writes the pieces to `path` atomically: a complete new file or the old one, never a mix.
inline void write_atomically(const std::filesystem::path& path,
                             std::span<const std::span<const unsigned char>> pieces) {
  std::filesystem::path tmp = path;
  tmp += ".tmp";
#if defined(_WIN32)
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw_write_error(path, tmp, "cannot create", errno);
    for (const auto piece : pieces)
      out.write(reinterpret_cast<const char*>(piece.data()),
                static_cast<std::streamsize>(piece.size()));
    out.flush();
    if (!out) {
      const int err = errno;
      out.close();
      std::error_code ignored;
      std::filesystem::remove(tmp, ignored);
      throw_write_error(path, tmp, "write failed on", err);
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::error_code ignored;
    std::filesystem::remove(tmp, ignored);
    throw_write_error(path, tmp, "cannot rename", ec.value());
  }
#else
  // A stale temp file from a crashed writer is removed; O_EXCL then guarantees that we write a
  // new regular file, not through a symlink planted under the temp name. Concurrent saves to one
  // path are not supported: they share the temp name.
  if (::unlink(tmp.c_str()) != 0 && errno != ENOENT)
    throw_write_error(path, tmp, "cannot remove stale", errno);
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) throw_write_error(path, tmp, "cannot create", errno);
  int err = 0;
  const char* what = nullptr;
  for (const auto piece : pieces) {
    const unsigned char* p = piece.data();
    std::size_t left = piece.size();
    while (left > 0 && what == nullptr) {
      const ::ssize_t n = ::write(fd, p, left);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        err = n < 0 ? errno : EIO;
        what = "write failed on";
      } else {
        p += n;
        left -= static_cast<std::size_t>(n);
      }
    }
  }
  // The data must be on disk before the rename makes it visible under `path`: otherwise a crash
  // could leave a complete-looking name pointing at unwritten blocks.
  if (what == nullptr && ::fsync(fd) != 0) {
    err = errno;
    what = "fsync failed on";
  }
  if (::close(fd) != 0 && what == nullptr) {
    err = errno;
    what = "close failed on";
  }
  if (what == nullptr && ::rename(tmp.c_str(), path.c_str()) != 0) {
    err = errno;
    what = "cannot rename";
  }
  if (what != nullptr) {
    ::unlink(tmp.c_str());
    throw_write_error(path, tmp, what, err);
  }
  // Persist the directory entry too. Some file systems refuse fsync on directories; the file
  // itself is already complete, so that is not an error.
  std::filesystem::path dir = path.parent_path();
  if (dir.empty()) dir = ".";
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    (void)::fsync(dfd);
    ::close(dfd);
  }
#endif
}

}  // namespace detail

// Builds a checkpoint in memory, record by record, then saves it atomically.
//
//   continua::io::checkpoint_writer w("my.component", 1);
//   w.add("weights", std::span<const float>(v));
//   w.add_scalar("step", std::int64_t{42});
//   w.save("model.ckpt");
class checkpoint_writer {
 public:
  // `kind` names what the file holds (e.g. "optim.chain"); `schema_version` is the version of
  // that content's layout, chosen by whoever defines the kind.
  checkpoint_writer(std::string_view kind, std::uint32_t schema_version)
      : kind_(kind), schema_(schema_version) {
    require(!kind_.empty() && kind_.size() <= checkpoint_max_name_length, "checkpoint_writer",
            "kind must be 1 to " + std::to_string(checkpoint_max_name_length) + " bytes long");
  }

  // An array record of the given shape (row-major); the shape's product must equal values.size().
  template <checkpoint_element T>
  void add(std::string_view name, std::span<const T> values,
           const std::vector<std::uint64_t>& shape) {
    std::uint64_t count = 0;
    if (shape.size() > checkpoint_max_rank)
      throw invalid_argument("continua::io::checkpoint_writer: record '" + std::string(name) +
                             "': rank " + std::to_string(shape.size()) + " exceeds " +
                             std::to_string(checkpoint_max_rank));
    if (!detail::element_count(shape, count) || count != values.size())
      throw invalid_argument("continua::io::checkpoint_writer: record '" + std::string(name) +
                             "': shape " + detail::shape_string(shape) + " does not hold " +
                             std::to_string(values.size()) + " elements");
    add_record(name, dtype_of<T>(), shape,
               [&](std::vector<unsigned char>& out) { detail::append_elements<T>(out, values); });
  }
  // A one-dimensional array record.
  template <checkpoint_element T>
  void add(std::string_view name, std::span<const T> values) {
    add(name, values, {static_cast<std::uint64_t>(values.size())});
  }
  template <checkpoint_element T>
  requires(!std::is_const_v<T>) void add(std::string_view name, std::span<T> values) {
    add(name, std::span<const T>(values));
  }
  template <checkpoint_element T, class A>
  void add(std::string_view name, const std::vector<T, A>& values) {
    if constexpr (std::is_same_v<T, bool>) {
      const std::vector<unsigned char> bytes(values.begin(), values.end());
      add_record(name, dtype::boolean, {static_cast<std::uint64_t>(values.size())},
                 [&](std::vector<unsigned char>& out) {
                   for (const unsigned char b : bytes) out.push_back(b ? 1 : 0);
                 });
    } else {
      add(name, std::span<const T>(values.data(), values.size()));
    }
  }
  // A scalar record (rank 0).
  template <checkpoint_element T>
  void add_scalar(std::string_view name, T value) {
    add(name, std::span<const T>(&value, 1), {});
  }
  // A UTF-8 text record.
  void add_text(std::string_view name, std::string_view text) {
    add_record(
        name, dtype::text, {static_cast<std::uint64_t>(text.size())},
        [&](std::vector<unsigned char>& out) { out.insert(out.end(), text.begin(), text.end()); });
  }

  std::size_t record_count() const { return count_; }

  // The complete file image (header, records, CRC), exactly as save() writes it.
  std::vector<unsigned char> bytes() const {
    const std::vector<unsigned char> head = header();
    std::vector<unsigned char> out(head);
    out.insert(out.end(), body_.begin(), body_.end());
    detail::put_le(out, io::crc32(out.data(), out.size()));
    return out;
  }

  // Writes the checkpoint to `path` atomically: to `path.tmp`, fsync'd, then renamed over `path`.
  // On failure the temp file is removed, any earlier file at `path` is left as it was, and
  // continua::io_error says which step failed and why.
  void save(const std::filesystem::path& path) const {
    const std::vector<unsigned char> head = header();
    std::vector<unsigned char> tail;
    detail::put_le(tail,
                   io::crc32(body_.data(), body_.size(), io::crc32(head.data(), head.size())));
    const std::span<const unsigned char> pieces[] = {head, body_, tail};
    detail::write_atomically(path, pieces);
  }

 private:
  template <class Append>
  void add_record(std::string_view name, dtype type, const std::vector<std::uint64_t>& shape,
                  Append&& append) {
    if (name.empty() || name.size() > checkpoint_max_name_length)
      throw invalid_argument("continua::io::checkpoint_writer: record names must be 1 to " +
                             std::to_string(checkpoint_max_name_length) + " bytes long");
    if (names_.contains(name))
      throw invalid_argument("continua::io::checkpoint_writer: duplicate record name '" +
                             std::string(name) + "'");
    std::uint64_t count = 0;
    detail::element_count(shape, count);
    const std::size_t start = body_.size();
    try {
      detail::put_le(body_, static_cast<std::uint32_t>(name.size()));
      body_.insert(body_.end(), name.begin(), name.end());
      detail::put_le(body_, static_cast<std::uint32_t>(type));
      detail::put_le(body_, static_cast<std::uint32_t>(shape.size()));
      for (const std::uint64_t e : shape) detail::put_le(body_, e);
      detail::put_le(body_, count * dtype_size(type));
      append(body_);
      names_.emplace(name, count_);
    } catch (...) {
      body_.resize(start);  // out of memory part-way: the writer stays as it was
      throw;
    }
    ++count_;
  }

  std::vector<unsigned char> header() const {
    std::vector<unsigned char> h(std::begin(checkpoint_magic), std::end(checkpoint_magic));
    h.reserve(8 + 4 + 8 + 4 + 4 + kind_.size() + 8);
    detail::put_le(h, checkpoint_format_version);
    const std::uint64_t total =
        8 + 4 + 8 + 4 + 4 + kind_.size() + 8 + body_.size() + 4;  // up to and including the CRC
    detail::put_le(h, total);
    detail::put_le(h, schema_);
    detail::put_le(h, static_cast<std::uint32_t>(kind_.size()));
    h.insert(h.end(), kind_.begin(), kind_.end());
    detail::put_le(h, static_cast<std::uint64_t>(count_));
    return h;
  }

  std::string kind_;
  std::uint32_t schema_;
  std::vector<unsigned char> body_;
  std::map<std::string, std::size_t, std::less<>> names_;
  std::size_t count_ = 0;
};

// Reads a whole checkpoint, validates it, then gives typed access to its records by name.
//
//   continua::io::checkpoint_reader r("model.ckpt");   // throws io_error if damaged
//   r.require_kind("my.component", 1);
//   std::vector<float> w = r.get<float>("weights", {1000});
//   auto step = r.get_scalar<std::int64_t>("step");
class checkpoint_reader {
 public:
  explicit checkpoint_reader(const std::filesystem::path& path) : source_(path.string()) {
    std::error_code ec;
    const auto status = std::filesystem::status(path, ec);
    if (ec || !std::filesystem::exists(status))
      throw io_error("continua::io: checkpoint '" + source_ +
                     "': cannot open: " + (ec ? ec.message() : std::string("no such file")));
    if (std::filesystem::is_directory(status))
      throw io_error("continua::io: checkpoint '" + source_ + "': cannot open: is a directory");
    std::ifstream in(path, std::ios::binary);
    if (!in) throw io_error("continua::io: checkpoint '" + source_ + "': cannot open for reading");
    in.seekg(0, std::ios::end);
    const std::streamoff size = in.tellg();
    in.seekg(0, std::ios::beg);
    if (size < 0)
      throw io_error("continua::io: checkpoint '" + source_ + "': cannot determine its size");
    image_.resize(static_cast<std::size_t>(size));
    in.read(reinterpret_cast<char*>(image_.data()), size);
    if (in.gcount() != size)
      throw io_error("continua::io: checkpoint '" + source_ + "': read " +
                     std::to_string(in.gcount()) + " of " + std::to_string(size) + " bytes");
    parse();
  }

  // Validates an in-memory image; `source` names it in error messages.
  static checkpoint_reader from_bytes(std::vector<unsigned char> image,
                                      std::string source = "<memory>") {
    return checkpoint_reader(std::move(image), std::move(source));
  }

  const std::string& source() const { return source_; }
  std::uint32_t format_version() const { return format_; }
  const std::string& kind() const { return kind_; }
  std::uint32_t schema_version() const { return schema_; }
  const std::vector<record_info>& records() const { return records_; }

  // Throws io_error unless the file holds `kind` written with a schema version in
  // [1, newest_schema]: a file from a newer writer must not be misread by older code.
  void require_kind(std::string_view kind, std::uint32_t newest_schema) const {
    if (kind_ != kind)
      throw io_error(where() + "holds '" + kind_ + "', expected '" + std::string(kind) + "'");
    if (schema_ == 0 || schema_ > newest_schema)
      throw io_error(where() + "'" + kind_ + "' schema version " + std::to_string(schema_) +
                     " is not supported (this build reads 1 to " + std::to_string(newest_schema) +
                     ")");
  }

  bool contains(std::string_view name) const { return index_.find(name) != index_.end(); }

  const record_info& info(std::string_view name) const {
    const auto it = index_.find(name);
    if (it == index_.end())
      throw io_error(where() + "record '" + std::string(name) + "' is missing");
    return records_[it->second];
  }

  // Checks that record `name` holds elements of type T in exactly `shape`, without reading it.
  template <checkpoint_element T>
  const record_info& expect(std::string_view name, const std::vector<std::uint64_t>& shape) const {
    const record_info& r = expect_type<T>(name);
    if (r.shape != shape)
      throw io_error(where() + "record '" + r.name + "': expected shape " +
                     detail::shape_string(shape) + ", found " + detail::shape_string(r.shape));
    return r;
  }
  // Checks that record `name` holds `count` elements of type T (any rank).
  template <checkpoint_element T>
  const record_info& expect_count(std::string_view name, std::uint64_t count) const {
    const record_info& r = expect_type<T>(name);
    if (r.count != count)
      throw io_error(where() + "record '" + r.name + "': expected " + std::to_string(count) +
                     " elements, found " + std::to_string(r.count) + " (shape " +
                     detail::shape_string(r.shape) + ")");
    return r;
  }

  // All elements of record `name` (any shape), which must hold T.
  template <checkpoint_element T>
  std::vector<T> get(std::string_view name) const {
    return decode<T>(expect_type<T>(name));
  }
  // All elements of record `name`, which must hold T in exactly `shape`.
  template <checkpoint_element T>
  std::vector<T> get(std::string_view name, const std::vector<std::uint64_t>& shape) const {
    return decode<T>(expect<T>(name, shape));
  }
  // Copies record `name` into `out`, whose size must equal the record's element count.
  template <checkpoint_element T>
  void read_into(std::string_view name, std::span<T> out) const {
    const record_info& r = expect_count<T>(name, out.size());
    decode_into<T>(r, out.data());
  }
  // The value of scalar record `name`.
  template <checkpoint_element T>
  T get_scalar(std::string_view name) const {
    T v{};
    decode_into<T>(expect<T>(name, {}), &v);
    return v;
  }
  std::string get_text(std::string_view name) const {
    const record_info& r = info(name);
    if (r.type != dtype::text)
      throw io_error(where() + "record '" + r.name + "': expected text, found " +
                     std::string(dtype_name(r.type)));
    return std::string(reinterpret_cast<const char*>(image_.data() + r.offset),
                       static_cast<std::size_t>(r.count));
  }

 private:
  checkpoint_reader(std::vector<unsigned char> image, std::string source)
      : source_(std::move(source)), image_(std::move(image)) {
    parse();
  }

  std::string where() const { return "continua::io: checkpoint '" + source_ + "': "; }

  template <checkpoint_element T>
  const record_info& expect_type(std::string_view name) const {
    const record_info& r = info(name);
    if (r.type != dtype_of<T>())
      throw io_error(where() + "record '" + r.name + "': expected " +
                     std::string(dtype_name(dtype_of<T>())) + ", found " +
                     std::string(dtype_name(r.type)));
    return r;
  }

  template <checkpoint_element T>
  std::vector<T> decode(const record_info& r) const {
    std::vector<T> out(static_cast<std::size_t>(r.count));
    if constexpr (std::is_same_v<T, bool>) {
      for (std::size_t i = 0; i < out.size(); ++i) out[i] = bool_at(r, i);
    } else {
      decode_into<T>(r, out.data());
    }
    return out;
  }

  bool bool_at(const record_info& r, std::size_t i) const {
    const unsigned char b = image_[r.offset + i];
    if (b > 1)
      throw io_error(where() + "record '" + r.name + "': element " + std::to_string(i) + " is " +
                     std::to_string(b) + ", not a bool (0 or 1)");
    return b == 1;
  }

  template <checkpoint_element T>
  void decode_into(const record_info& r, T* out) const {
    const unsigned char* p = image_.data() + r.offset;
    const auto n = static_cast<std::size_t>(r.count);
    if constexpr (std::is_same_v<T, bool>) {
      for (std::size_t i = 0; i < n; ++i) out[i] = bool_at(r, i);
    } else if constexpr (std::endian::native == std::endian::little) {
      if (n != 0) std::memcpy(out, p, n * sizeof(T));
    } else {
      using U = typename detail::unsigned_of<sizeof(T)>::type;
      for (std::size_t i = 0; i < n; ++i)
        out[i] = std::bit_cast<T>(detail::get_le<U>(p + i * sizeof(T)));
    }
  }

  [[noreturn]] void corrupt(const std::string& what) const { throw io_error(where() + what); }

  // Validation order: magic (is it ours?), format version (can we read it?), size (truncated?),
  // CRC (damaged?), then the structure, which a correct CRC makes a writer bug or a forgery.
  void parse() {
    const std::size_t size = image_.size();
    const unsigned char* b = image_.data();
    const std::size_t magic_bytes = std::min<std::size_t>(size, 8);
    if (magic_bytes > 0 && std::memcmp(b, checkpoint_magic, magic_bytes) != 0)
      corrupt("not a continua checkpoint (bad magic)");
    constexpr std::size_t fixed = 8 + 4 + 8 + 4 + 4;  // magic, version, size, schema, kind length
    if (size < 12)
      corrupt("truncated: " + std::to_string(size) + " bytes, shorter than a checkpoint header");
    format_ = detail::get_le<std::uint32_t>(b + 8);
    if (format_ != checkpoint_format_version) {
      const std::string reads =
          " (this build reads format version " + std::to_string(checkpoint_format_version) + ")";
      if (format_ > 0 && format_ < checkpoint_format_version)
        corrupt("format version " + std::to_string(format_) +
                " is an older layout that this build does not read" + reads);
      corrupt("format version " + std::to_string(format_) + " is not supported" + reads);
    }
    if (size < fixed + 8 + 4)
      corrupt("truncated: " + std::to_string(size) + " bytes, shorter than a checkpoint header");
    const std::uint64_t declared = detail::get_le<std::uint64_t>(b + 12);
    if (declared > size)
      corrupt("truncated: " + std::to_string(size) + " bytes, the header records " +
              std::to_string(declared));
    if (declared < size)
      corrupt("size mismatch: " + std::to_string(size) + " bytes, the header records " +
              std::to_string(declared) + " (trailing data or a damaged header)");
    const std::uint32_t stored = detail::get_le<std::uint32_t>(b + size - 4);
    const std::uint32_t computed = io::crc32(b, size - 4);
    if (stored != computed)
      corrupt("CRC32 mismatch (stored " + detail::hex32(stored) + ", computed " +
              detail::hex32(computed) + "): the file is corrupted");

    const std::size_t end = size - 4;
    std::size_t pos = 20;
    const auto need = [&](std::uint64_t n, const char* what) {
      if (n > end - pos) corrupt(std::string("malformed: ") + what + " runs past the end");
    };
    schema_ = detail::get_le<std::uint32_t>(b + pos);
    const std::uint32_t kind_len = detail::get_le<std::uint32_t>(b + pos + 4);
    pos += 8;
    need(kind_len, "kind");
    kind_.assign(reinterpret_cast<const char*>(b + pos), kind_len);
    pos += kind_len;
    need(8, "record count");
    const std::uint64_t n_records = detail::get_le<std::uint64_t>(b + pos);
    pos += 8;
    // Each record takes at least 20 bytes, which bounds the count before anything is reserved.
    if (n_records > (end - pos) / 20) corrupt("malformed: record count runs past the end");
    records_.reserve(static_cast<std::size_t>(n_records));
    for (std::uint64_t k = 0; k < n_records; ++k) {
      record_info r;
      need(4, "record name length");
      const std::uint32_t name_len = detail::get_le<std::uint32_t>(b + pos);
      pos += 4;
      if (name_len == 0 || name_len > checkpoint_max_name_length)
        corrupt("malformed: record " + std::to_string(k) + " has a name of " +
                std::to_string(name_len) + " bytes");
      need(name_len + 8, "record name");
      r.name.assign(reinterpret_cast<const char*>(b + pos), name_len);
      pos += name_len;
      const std::uint32_t code = detail::get_le<std::uint32_t>(b + pos);
      const std::uint32_t rank = detail::get_le<std::uint32_t>(b + pos + 4);
      pos += 8;
      if (code < 1 || code > 12)
        corrupt("malformed: record '" + r.name + "' has unknown dtype code " +
                std::to_string(code));
      r.type = static_cast<dtype>(code);
      if (rank > checkpoint_max_rank)
        corrupt("malformed: record '" + r.name + "' has rank " + std::to_string(rank));
      need(std::uint64_t{8} * rank + 8, "record shape");
      for (std::uint32_t d = 0; d < rank; ++d)
        r.shape.push_back(detail::get_le<std::uint64_t>(b + pos + 8 * d));
      pos += 8 * rank;
      const std::uint64_t bytes = detail::get_le<std::uint64_t>(b + pos);
      pos += 8;
      std::uint64_t count = 0;
      if (!detail::element_count(r.shape, count) ||
          count > std::numeric_limits<std::uint64_t>::max() / dtype_size(r.type) ||
          count * dtype_size(r.type) != bytes)
        corrupt("malformed: record '" + r.name + "' of shape " + detail::shape_string(r.shape) +
                " declares " + std::to_string(bytes) + " bytes");
      if (r.type == dtype::text && rank != 1)
        corrupt("malformed: text record '" + r.name + "' has rank " + std::to_string(rank));
      need(bytes, "record data");
      r.count = count;
      r.offset = pos;
      pos += static_cast<std::size_t>(bytes);
      if (!index_.emplace(r.name, records_.size()).second)
        corrupt("malformed: duplicate record '" + r.name + "'");
      records_.push_back(std::move(r));
    }
    if (pos != end)
      corrupt("malformed: " + std::to_string(end - pos) + " unexplained bytes after the records");
  }

  std::string source_;
  std::vector<unsigned char> image_;
  std::uint32_t format_ = 0;
  std::string kind_;
  std::uint32_t schema_ = 0;
  std::vector<record_info> records_;
  std::map<std::string, std::size_t, std::less<>> index_;
};

}  // namespace continua::io
