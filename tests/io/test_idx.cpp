// IDX reader/writer: byte-exact format checks against hand-written files and gzip streams made by
// Python's gzip module, every rejection path with a crafted file, and the real Fashion-MNIST files.
#include <boost/test/unit_test.hpp>

#include <unistd.h>
#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include <zlib.h>
#include "continua/io/fashion_mnist.hpp"
#include "continua/io/idx.hpp"

namespace fs = std::filesystem;
using continua::io::idx_array;
using continua::io::idx_compression;
using continua::io::idx_type;
using bytes_t = std::vector<std::uint8_t>;

namespace {

// A fresh directory per test case, removed afterwards.
struct temp_dir {
  fs::path path;
  temp_dir() {
    static std::atomic<int> counter{0};
    path = fs::temp_directory_path() /
           ("continua_test_io_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    fs::create_directories(path);
  }
  ~temp_dir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  fs::path file(const std::string& name, const bytes_t& content) const {
    const fs::path p = path / name;
    std::ofstream out(p, std::ios::binary);
    out.write(reinterpret_cast<const char*>(content.data()),
              static_cast<std::streamsize>(content.size()));
    return p;
  }
};

// Runs f, requires an io_error whose message contains every one of `parts`.
template <class F>
void expect_io_error(F&& f, std::initializer_list<std::string> parts) {
  try {
    f();
    BOOST_FAIL("expected continua::io_error");
  } catch (const continua::io_error& e) {
    const std::string msg = e.what();
    for (const std::string& p : parts)
      BOOST_TEST(msg.find(p) != std::string::npos, "message '" << msg << "' lacks '" << p << "'");
  }
}

// Both entry points must reject the same bytes: from memory (named) and from a file.
void expect_rejected(const temp_dir& dir, const bytes_t& content, const std::string& fragment) {
  expect_io_error([&] { (void)continua::io::parse_idx(content, "crafted-buffer"); },
                  {"crafted-buffer", fragment});
  const fs::path p = dir.file("crafted.idx", content);
  expect_io_error([&] { (void)continua::io::read_idx(p); }, {p.string(), fragment});
}

// Gzip streams produced independently by Python 3:
//   import gzip, struct
//   idx = bytes([0,0,0x0B,2]) + struct.pack('>II',2,3) + struct.pack('>6h',1,-2,300,-32768,32767,0)
//   one = gzip.compress(idx, mtime=0)
//   two = gzip.compress(idx[:7], mtime=0) + gzip.compress(idx[7:], mtime=0)   # two members
const bytes_t python_gzip_one = {0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x03, 0x63,
                                 0x60, 0xe0, 0x66, 0x62, 0x60, 0x60, 0x00, 0x61, 0x66, 0x06, 0xc6,
                                 0xff, 0xff, 0x18, 0x75, 0x1a, 0x18, 0xea, 0xff, 0x33, 0x30, 0x00,
                                 0x00, 0x41, 0x6f, 0xf6, 0x87, 0x18, 0x00, 0x00, 0x00};
const bytes_t python_gzip_two = {
    0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x03, 0x63, 0x60, 0xe0, 0x66, 0x62, 0x60,
    0x60, 0x00, 0x00, 0xe4, 0x26, 0xb5, 0x40, 0x07, 0x00, 0x00, 0x00, 0x1f, 0x8b, 0x08, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x02, 0x03, 0x63, 0x62, 0x60, 0x60, 0x60, 0x66, 0x60, 0xfc, 0xff, 0x8f, 0x51,
    0xa7, 0x81, 0xa1, 0xfe, 0x3f, 0x03, 0x03, 0x00, 0xe1, 0xde, 0x27, 0x89, 0x11, 0x00, 0x00, 0x00};
const std::vector<std::int16_t> python_values = {1, -2, 300, -32768, 32767, 0};

// Gzip through zlib's file API (gzopen/gzwrite), not the library's own deflate path.
bytes_t gzip_with_zlib_file_api(const temp_dir& dir, const bytes_t& content) {
  const fs::path p = dir.path / "via-gzwrite.gz";
  gzFile f = gzopen(p.c_str(), "wb");
  BOOST_REQUIRE(f != nullptr);
  BOOST_REQUIRE(gzwrite(f, content.data(), static_cast<unsigned>(content.size())) ==
                static_cast<int>(content.size()));
  BOOST_REQUIRE(gzclose(f) == Z_OK);
  return continua::io::read_file_bytes(p);
}

// The file image of a small valid ubyte array, 2 x 3.
bytes_t small_ubyte() { return {0, 0, 0x08, 2, 0, 0, 0, 2, 0, 0, 0, 3, 10, 20, 30, 40, 50, 60}; }

template <class E>
std::vector<E> sample_values(std::size_t n) {
  // Extremes first, then a deterministic spread of ordinary values.
  std::vector<E> v;
  if constexpr (std::is_floating_point_v<E>) {
    v = {E(0),
         E(-0.0),
         E(1),
         E(-2.5),
         std::numeric_limits<E>::max(),
         std::numeric_limits<E>::lowest(),
         std::numeric_limits<E>::denorm_min(),
         std::numeric_limits<E>::infinity(),
         std::numeric_limits<E>::quiet_NaN()};
  } else {
    v = {E(0), E(1), std::numeric_limits<E>::max(), std::numeric_limits<E>::min()};
  }
  for (std::size_t i = v.size(); i < n; ++i) {
    const std::uint64_t h = (i + 1) * 0x9E3779B97F4A7C15ull;
    if constexpr (std::is_floating_point_v<E>)
      v.push_back(static_cast<E>((static_cast<double>(h >> 11) * 0x1p-53 - 0.5) * 1e3));
    else
      v.push_back(static_cast<E>(h >> 40));
  }
  v.resize(n);
  return v;
}

template <class E>
void check_round_trip(const temp_dir& dir, idx_compression c) {
  const std::vector<std::vector<std::size_t>> shapes = {
      {1}, {7}, {3, 4}, {2, 3, 5}, {2, 1, 2, 1, 3}, {0, 4}};
  for (const auto& dims : shapes) {
    std::size_t n = 1;
    for (std::size_t d : dims) n *= d;
    const std::vector<E> values = sample_values<E>(n);
    const idx_array a = idx_array::from_values<E>(dims, values);
    const fs::path p = dir.path / "rt.idx";
    continua::io::write_idx(p, a, c);
    const bytes_t raw = continua::io::read_file_bytes(p);
    // The gzip magic is present exactly when asked for.
    BOOST_TEST((raw.size() >= 2 && raw[0] == 0x1f && raw[1] == 0x8b) ==
               (c == idx_compression::gzip));
    for (const idx_array& b : {continua::io::read_idx(p), continua::io::parse_idx(raw),
                               continua::io::parse_idx(continua::io::encode_idx(a, c))}) {
      BOOST_TEST(static_cast<int>(b.type) == static_cast<int>(continua::io::idx_type_of<E>));
      BOOST_TEST(b.dims == dims);
      BOOST_TEST(b.size() == n);
      BOOST_TEST(b.data == a.data);  // bit-exact, NaN and -0 included
      const std::vector<double> as_double = b.to_vector<double>();
      for (std::size_t i = 0; i < n; ++i) {
        if (std::isnan(static_cast<double>(values[i]))) {
          BOOST_TEST(std::isnan(as_double[i]));
          continue;
        }
        BOOST_TEST(as_double[i] == static_cast<double>(values[i]));
        BOOST_TEST(b.get<double>(i) == static_cast<double>(values[i]));
      }
    }
  }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(idx_format)

// The encoder writes what the format description says, byte by byte: zero magic, type, rank,
// big-endian dims and big-endian elements (IEEE-754 bit patterns for floats).
BOOST_AUTO_TEST_CASE(encoding_matches_hand_written_bytes) {
  const std::vector<std::int16_t> s = {1, -2};
  BOOST_TEST(continua::io::encode_idx(idx_array::from_values<std::int16_t>({2}, s)) ==
                 (bytes_t{0, 0, 0x0B, 1, 0, 0, 0, 2, 0x00, 0x01, 0xFF, 0xFE}),
             boost::test_tools::per_element());
  const std::vector<std::int32_t> i = {0x01020304};
  BOOST_TEST(continua::io::encode_idx(idx_array::from_values<std::int32_t>({1, 1}, i)) ==
                 (bytes_t{0, 0, 0x0C, 2, 0, 0, 0, 1, 0, 0, 0, 1, 1, 2, 3, 4}),
             boost::test_tools::per_element());
  const std::vector<float> f = {1.0f, -0.5f};  // 0x3F800000, 0xBF000000
  BOOST_TEST(continua::io::encode_idx(idx_array::from_values<float>({2}, f)) ==
                 (bytes_t{0, 0, 0x0D, 1, 0, 0, 0, 2, 0x3F, 0x80, 0, 0, 0xBF, 0, 0, 0}),
             boost::test_tools::per_element());
  const std::vector<double> d = {-2.0};  // 0xC000000000000000
  BOOST_TEST(continua::io::encode_idx(idx_array::from_values<double>({1}, d)) ==
                 (bytes_t{0, 0, 0x0E, 1, 0, 0, 0, 1, 0xC0, 0, 0, 0, 0, 0, 0, 0}),
             boost::test_tools::per_element());
  const std::vector<std::int8_t> b = {-1, 127};
  BOOST_TEST(continua::io::encode_idx(idx_array::from_values<std::int8_t>({2}, b)) ==
                 (bytes_t{0, 0, 0x09, 1, 0, 0, 0, 2, 0xFF, 0x7F}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(decoding_hand_written_bytes) {
  const idx_array a = continua::io::parse_idx(small_ubyte());
  BOOST_TEST(static_cast<int>(a.type) == 0x08);
  BOOST_TEST(a.dims == (std::vector<std::size_t>{2, 3}), boost::test_tools::per_element());
  BOOST_TEST(a.data == (bytes_t{10, 20, 30, 40, 50, 60}), boost::test_tools::per_element());
  const std::vector<float> scaled = a.to_vector<float>(0.5f);
  BOOST_TEST(scaled[5] == 30.0f);
  // Big-endian float 0xC0490FDB is -3.14159274f (the float nearest -pi).
  const idx_array f =
      continua::io::parse_idx(bytes_t{0, 0, 0x0D, 1, 0, 0, 0, 1, 0xC0, 0x49, 0x0F, 0xDB});
  BOOST_TEST(f.get<float>(0) == -3.14159274f);
}

BOOST_AUTO_TEST_CASE(reads_gzip_made_by_python_single_and_multi_member) {
  temp_dir dir;
  for (const bytes_t* g : {&python_gzip_one, &python_gzip_two}) {
    for (const idx_array& a :
         {continua::io::parse_idx(*g), continua::io::read_idx(dir.file("py.idx.gz", *g))}) {
      BOOST_TEST(static_cast<int>(a.type) == 0x0B);
      BOOST_TEST(a.dims == (std::vector<std::size_t>{2, 3}), boost::test_tools::per_element());
      BOOST_TEST(
          a.to_vector<double>() == std::vector<double>(python_values.begin(), python_values.end()),
          boost::test_tools::per_element());
    }
  }
  // Our own gzip output decompresses to exactly the plain encoding (checked by zlib's CRC too).
  const idx_array a = idx_array::from_values<std::int16_t>({2, 3}, python_values);
  BOOST_TEST(continua::io::parse_idx(continua::io::encode_idx(a, idx_compression::gzip)).data ==
             a.data);
}

BOOST_AUTO_TEST_CASE(round_trip_every_type_plain_and_gzip) {
  temp_dir dir;
  for (idx_compression c : {idx_compression::none, idx_compression::gzip}) {
    check_round_trip<std::uint8_t>(dir, c);
    check_round_trip<std::int8_t>(dir, c);
    check_round_trip<std::int16_t>(dir, c);
    check_round_trip<std::int32_t>(dir, c);
    check_round_trip<float>(dir, c);
    check_round_trip<double>(dir, c);
  }
}

BOOST_AUTO_TEST_CASE(round_trip_of_a_large_array_spanning_several_read_chunks) {
  // 20 MB of int32: larger than the reader's 16 MiB chunk, plain and gzip.
  temp_dir dir;
  const std::size_t n = 5'000'000;
  std::vector<std::int32_t> v(n);
  // Periodic values keep gzip fast; every byte lane still varies.
  for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<std::int32_t>((i % 4099) * 524287u);
  const idx_array a = idx_array::from_values<std::int32_t>({n / 1000, 1000}, v);
  for (idx_compression c : {idx_compression::none, idx_compression::gzip}) {
    const fs::path p = dir.path / "big.idx";
    continua::io::write_idx(p, a, c);
    const idx_array b = continua::io::read_idx(p);
    BOOST_TEST(b.dims == a.dims);
    BOOST_TEST((b.data == a.data));
    BOOST_TEST(b.get<std::int32_t>(n - 1) == v[n - 1]);
  }
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(idx_errors)

BOOST_AUTO_TEST_CASE(missing_file_and_directory) {
  temp_dir dir;
  const fs::path missing = dir.path / "no-such-file.idx";
  expect_io_error([&] { (void)continua::io::read_idx(missing); },
                  {missing.string(), "cannot open"});
  expect_io_error([&] { (void)continua::io::read_idx(dir.path); },
                  {dir.path.string(), "not a regular file"});
}

BOOST_AUTO_TEST_CASE(header_errors) {
  temp_dir dir;
  expect_rejected(dir, {}, "shorter than the 4-byte header");
  expect_rejected(dir, {0, 0, 8}, "shorter than the 4-byte header");
  bytes_t b = small_ubyte();
  b[1] = 0x01;
  expect_rejected(dir, b, "bad magic number 00 01 08 02");
  b = small_ubyte();
  b[0] = 0x7f;
  expect_rejected(dir, b, "bad magic");
  for (std::uint8_t code : {0x00, 0x07, 0x0A, 0x0F, 0xFF}) {
    b = small_ubyte();
    b[2] = code;
    expect_rejected(dir, b, "unsupported element type code");
  }
  b = small_ubyte();
  b[3] = 0;
  expect_rejected(dir, b, "unsupported number of dimensions 0");
  b = {0, 0, 8, 9};
  b.resize(4 + 9 * 4 + 1, 1);
  expect_rejected(dir, b, "unsupported number of dimensions 9");
  // Rank 2 but only one dimension word present.
  expect_rejected(dir, {0, 0, 8, 2, 0, 0, 0, 2}, "truncated inside the dimension list");
}

BOOST_AUTO_TEST_CASE(dimension_product_overflow) {
  temp_dir dir;
  // Rank 3 of 0xFFFFFFFF each: ~2^96 doubles, beyond any 64-bit size.
  bytes_t b = {0, 0, 0x0E, 3};
  for (int d = 0; d < 3; ++d) b.insert(b.end(), {0xFF, 0xFF, 0xFF, 0xFF});
  expect_rejected(dir, b, "overflow");
  // Rank 2, 2^32-1 x 2^32-1 ubytes = 2^64 - 2^33 + 1 fits size_t, but x8 for doubles does not.
  b = {0, 0, 0x0E, 2, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF};
  expect_rejected(dir, b, "overflow");
  // The ubyte version fits size_t: then it is an honest truncation, reported without allocating.
  b[2] = 0x08;
  expect_rejected(dir, b, "is truncated: the header promises 18446744065119617025 data bytes");
}

BOOST_AUTO_TEST_CASE(truncated_and_trailing_data) {
  temp_dir dir;
  bytes_t b = small_ubyte();
  b.pop_back();
  expect_rejected(dir, b, "is truncated: the header promises 6 data bytes but only 5 follow");
  expect_rejected(dir, gzip_with_zlib_file_api(dir, b),
                  "is truncated: the header promises 6 data bytes but only 5 follow");
  b = small_ubyte();
  b.push_back(0);
  expect_rejected(dir, b, "trailing bytes after the 6 data bytes");
  expect_rejected(dir, gzip_with_zlib_file_api(dir, b), "trailing bytes after the 6 data bytes");
  // Wider elements: a float array missing its last byte.
  b = continua::io::encode_idx(idx_array::from_values<float>({2}, std::vector<float>{1, 2}));
  b.pop_back();
  expect_rejected(dir, b, "the header promises 8 data bytes but only 7 follow");
}

BOOST_AUTO_TEST_CASE(gzip_stream_errors) {
  temp_dir dir;
  const bytes_t good = python_gzip_one;
  BOOST_REQUIRE_NO_THROW(continua::io::parse_idx(good));
  // CRC32 in the trailer (bytes -8..-5) no longer matches the data.
  bytes_t b = good;
  b[b.size() - 8] ^= 0x01;
  expect_rejected(dir, b, "gzip data is corrupt (incorrect data check)");
  // Stored length (last 4 bytes) wrong.
  b = good;
  b.back() ^= 0x01;
  expect_rejected(dir, b, "gzip data is corrupt (incorrect length check)");
  // Deflate block header with the reserved block type 11.
  b = good;
  b[10] = 0x07;
  expect_rejected(dir, b, "gzip data is corrupt (invalid block type)");
  // Damage anywhere in the compressed body is caught (by the decoder or by the CRC). The last
  // body byte is skipped: its high bits are padding after the end-of-block code, which deflate
  // ignores, so flipping them leaves a valid stream.
  for (std::size_t k = 10; k + 9 < good.size(); ++k) {
    b = good;
    b[k] ^= 0x5A;
    expect_io_error([&] { (void)continua::io::parse_idx(b, "flipped"); }, {"flipped"});
  }
  // Cut short: inside the body, and with only the trailer missing.
  for (std::size_t keep : {std::size_t{12}, std::size_t{20}, good.size() - 8, good.size() - 1}) {
    b.assign(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(keep));
    expect_rejected(dir, b, "gzip stream is truncated");
  }
  // Bytes after the gzip trailer that are not another gzip member.
  b = good;
  b.insert(b.end(), {'x', 'y', 'z'});
  expect_rejected(dir, b, "3 trailing bytes after the end of the gzip stream (at byte 42)");
  b = good;
  b.push_back(0);
  expect_rejected(dir, b, "1 trailing bytes after the end of the gzip stream");
  // A second member that is itself damaged.
  b = python_gzip_two;
  b[b.size() - 8] ^= 0xFF;
  expect_rejected(dir, b, "incorrect data check");
}

BOOST_AUTO_TEST_CASE(writer_validates_before_touching_the_file) {
  temp_dir dir;
  const fs::path p = dir.path / "w.idx";
  idx_array bad{idx_type::f32, {2, 2}, bytes_t(15)};  // 4 floats need 16 bytes
  BOOST_CHECK_THROW(continua::io::write_idx(p, bad), continua::size_mismatch);
  BOOST_TEST(!fs::exists(p));
  bad = {idx_type::u8, {}, {}};
  BOOST_CHECK_THROW(continua::io::write_idx(p, bad), continua::invalid_argument);
  bad = {idx_type::u8, std::vector<std::size_t>(9, 1), {1}};
  BOOST_CHECK_THROW(continua::io::write_idx(p, bad), continua::invalid_argument);
  bad = {idx_type::u8, {std::size_t{1} << 32}, {}};
  BOOST_CHECK_THROW(continua::io::write_idx(p, bad), continua::invalid_argument);
  bad = {static_cast<idx_type>(0x0A), {1}, {1}};
  BOOST_CHECK_THROW(continua::io::write_idx(p, bad), continua::invalid_argument);
  BOOST_TEST(!fs::exists(p));
  // An unwritable destination is an io_error naming it.
  const fs::path nowhere = dir.path / "missing-dir" / "w.idx";
  expect_io_error([&] { continua::io::write_idx(nowhere, continua::io::parse_idx(small_ubyte())); },
                  {nowhere.string(), "cannot create"});
  // get() out of range is an argument error, not undefined behaviour.
  BOOST_CHECK_THROW((void)continua::io::parse_idx(small_ubyte()).get<int>(6),
                    continua::invalid_argument);
}

// Issue 10: a float element converted to an integer type was a static_cast (UB for NaN, Inf or
// out of range; a silent wrap for a narrowing integer). Now only values the type holds exactly
// convert; every other one throws naming the element and its value.
BOOST_AUTO_TEST_CASE(integer_conversion_refuses_values_that_do_not_fit) {
  const double inf = std::numeric_limits<double>::infinity();
  const std::vector<double> v = {3.0, -128.0, std::nan(""), inf, 1.7e308, 2.5, 255.0, 2147483648.0};
  const idx_array a = idx_array::from_values<double>({v.size()}, v);
  // Values that fit convert exactly.
  BOOST_TEST(a.get<std::int8_t>(0) == 3);
  BOOST_TEST(a.get<std::int8_t>(1) == -128);
  BOOST_TEST(a.get<std::uint8_t>(6) == 255);
  BOOST_TEST(a.get<std::int64_t>(7) == std::int64_t{2147483648});
  expect_io_error([&] { (void)a.get<int>(2); }, {"element 2", "nan", "int32"});
  expect_io_error([&] { (void)a.get<int>(3); }, {"element 3", "inf", "int32"});
  expect_io_error([&] { (void)a.get<std::uint8_t>(4); }, {"element 4", "e+308", "uint8"});
  expect_io_error([&] { (void)a.get<int>(5); }, {"element 5", "2.5"});
  expect_io_error([&] { (void)a.get<std::uint8_t>(1); }, {"element 1", "-128", "uint8"});
  expect_io_error([&] { (void)a.get<std::int32_t>(7); }, {"element 7", "2147483648"});
  // The bounds of int32 from float: 2^31 does not fit (float(INT32_MAX) rounds up to it).
  const std::vector<float> f = {-2147483648.0f, 2147483648.0f};
  const idx_array b = idx_array::from_values<float>({2}, f);
  BOOST_TEST(b.get<std::int32_t>(0) == std::numeric_limits<std::int32_t>::min());
  expect_io_error([&] { (void)b.get<std::int32_t>(1); }, {"element 1", "2147483648"});
  // to_vector: the first element that does not fit is named, and a product that overflows too.
  expect_io_error([&] { (void)a.to_vector<int>(); }, {"to_vector", "element 2", "nan"});
  const std::vector<std::int32_t> big = {1, 70000};
  const idx_array c = idx_array::from_values<std::int32_t>({2}, big);
  expect_io_error([&] { (void)c.to_vector<std::int16_t>(); }, {"element 1", "70000", "int16"});
  BOOST_TEST(c.to_vector<std::int32_t>(2) == (std::vector<std::int32_t>{2, 140000}));
  expect_io_error([&] { (void)c.to_vector<std::int32_t>(40000); },
                  {"element 1", "70000", "times scale 40000 overflows"});
  const std::vector<std::int8_t> neg = {-1};
  expect_io_error(
      [&] { (void)idx_array::from_values<std::int8_t>({1}, neg).to_vector<std::uint32_t>(); },
      {"element 0", "-1", "uint32"});
  // Into floating types nothing changes: NaN stays NaN.
  BOOST_TEST(std::isnan(a.to_vector<double>()[2]));
  // A hand-built array whose dims overflow size_t (size() wraps to 0 here) or promise more than
  // its data holds is refused, not read past.
  const idx_array wraps{idx_type::u8, {std::size_t{1} << 32, std::size_t{1} << 32, 2}, bytes_t(4)};
  BOOST_CHECK_THROW((void)wraps.to_vector<float>(), continua::invalid_argument);
  BOOST_CHECK_THROW((void)wraps.get<float>(0), continua::invalid_argument);
  const idx_array short_data{idx_type::f64, {4}, bytes_t(16)};
  BOOST_TEST(short_data.get<double>(1) == 0.0);
  BOOST_CHECK_THROW((void)short_data.get<double>(2), continua::invalid_argument);
}

// Issue 10: no cap on what a gzip file inflates to. The declared data size is now checked
// against idx_read_options::max_bytes before anything is allocated or inflated, plain or gzip.
BOOST_AUTO_TEST_CASE(declared_size_is_capped_by_the_read_limit) {
  // 16 MiB of zeros in a ~16 KB gzip.
  const std::size_t n = std::size_t{1} << 24;
  const idx_array zeros{idx_type::u8, {n}, bytes_t(n, 0)};
  const bytes_t gz = continua::io::encode_idx(zeros, idx_compression::gzip);
  const bytes_t plain = continua::io::encode_idx(zeros);
  BOOST_TEST(gz.size() < n / 100);
  const continua::io::idx_read_options small{.max_bytes = n - 1};
  for (const bytes_t* file : {&gz, &plain}) {
    expect_io_error([&] { (void)continua::io::parse_idx(*file, "zeros", small); },
                    {"zeros", std::to_string(n) + " data bytes",
                     "limit of " + std::to_string(n - 1), "idx_read_options::max_bytes"});
    const idx_array back =
        continua::io::parse_idx(*file, "zeros", continua::io::idx_read_options{.max_bytes = n});
    BOOST_TEST(back.data.size() == n);
    BOOST_TEST(std::all_of(back.data.begin(), back.data.end(), [](auto b) { return b == 0; }));
  }
  // The default (1 GiB) reads it, and read_idx takes the same options.
  BOOST_TEST(continua::io::parse_idx(gz).size() == n);
  temp_dir dir;
  const fs::path p = dir.file("zeros.idx.gz", gz);
  expect_io_error([&] { (void)continua::io::read_idx(p, small); }, {p.string(), "limit of"});
  BOOST_TEST(continua::io::read_idx(p).size() == n);
  // A header declaring 4 GiB in a tiny gzip is refused under the default before inflating.
  const bytes_t huge_header = {0, 0, 0x08, 2, 0, 1, 0, 0, 0, 1, 0, 0};
  const bytes_t huge_gz = continua::io::detail::gzip_bytes(huge_header);
  expect_io_error([&] { (void)continua::io::parse_idx(huge_gz); },
                  {"4294967296 data bytes", "limit of 1073741824"});
}

BOOST_AUTO_TEST_SUITE_END()

// The real dataset, as installed by Debian's dataset-fashion-mnist. Expected values were read
// independently with Python's gzip module, e.g. for the train labels:
//   python3 -c 'import gzip;
//   d=gzip.open("/usr/share/datasets/fashion-mnist/train-labels-idx1-ubyte.gz").read();
//   print(list(d[8:28]))'
// and for row 14 of the first image and the pixel sum of that image:
//   python3 -c 'import gzip;
//   d=gzip.open("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz").read();
//   print(list(d[16+14*28:16+15*28]), sum(d[16:16+784]))'
// (the same commands with t10k-* for the test split).
BOOST_AUTO_TEST_SUITE(fashion_mnist)

const fs::path dataset_dir{continua::io::fashion_mnist_default_dir};

struct split_facts {
  const char* prefix;
  std::size_t n;
  std::vector<int> first_labels;
  std::vector<int> image0_row14;
  long image0_sum;
};

const split_facts train_facts{"train",
                              60000,
                              {9, 0, 0, 3, 0, 2, 7, 2, 5, 5, 0, 9, 5, 5, 7, 9, 1, 0, 6, 4},
                              {0,   0,   1,   4,   6,   7,   2,   0,   0,   0,   0,   0,   237, 226,
                               217, 223, 222, 219, 222, 221, 216, 223, 229, 215, 218, 255, 77,  0},
                              76247};
const split_facts test_facts{"t10k",
                             10000,
                             {9, 2, 1, 1, 6, 1, 4, 6, 5, 7, 4, 5, 7, 3, 4, 1, 2, 4, 8, 0},
                             {0,   0,   0,   0,   0,   0,   2,   4,   1,   0,   0,   0,   98,  136,
                              110, 109, 110, 162, 135, 144, 149, 159, 167, 144, 158, 169, 119, 0},
                             33456};

void check_raw_files(const split_facts& f) {
  const idx_array img =
      continua::io::read_idx(dataset_dir / (std::string(f.prefix) + "-images-idx3-ubyte.gz"));
  const idx_array lab =
      continua::io::read_idx(dataset_dir / (std::string(f.prefix) + "-labels-idx1-ubyte.gz"));
  BOOST_TEST(static_cast<int>(img.type) == 0x08);
  BOOST_TEST(img.dims == (std::vector<std::size_t>{f.n, 28, 28}), boost::test_tools::per_element());
  BOOST_TEST(img.data.size() == f.n * 784);
  BOOST_TEST(lab.dims == (std::vector<std::size_t>{f.n}), boost::test_tools::per_element());
  // The dataset is exactly balanced: n / 10 images per class.
  std::array<std::size_t, 10> counts{};
  for (std::uint8_t l : lab.data) {
    BOOST_REQUIRE(l < 10);
    ++counts[l];
  }
  for (std::size_t c = 0; c < 10; ++c) BOOST_TEST(counts[c] == f.n / 10, "class " << c);
  const std::vector<int> first(lab.data.begin(), lab.data.begin() + 20);
  BOOST_TEST(first == f.first_labels, boost::test_tools::per_element());
  const std::vector<int> row(img.data.begin() + 14 * 28, img.data.begin() + 15 * 28);
  BOOST_TEST(row == f.image0_row14, boost::test_tools::per_element());
  long sum = 0;
  for (std::size_t i = 0; i < 784; ++i) sum += img.data[i];
  BOOST_TEST(sum == f.image0_sum);
}

BOOST_AUTO_TEST_CASE(raw_train_files) { check_raw_files(train_facts); }
BOOST_AUTO_TEST_CASE(raw_test_files) { check_raw_files(test_facts); }

BOOST_AUTO_TEST_CASE(loader_scales_pixels_and_keeps_labels) {
  for (auto [split, facts] : {std::pair{continua::io::dataset_split::train, &train_facts},
                              std::pair{continua::io::dataset_split::test, &test_facts}}) {
    const auto d = continua::io::load_fashion_mnist(dataset_dir, split);
    BOOST_TEST(d.rows == facts->n);
    BOOST_TEST(d.cols == 784u);
    BOOST_TEST(d.images.size() == facts->n * 784);
    BOOST_TEST(d.labels.size() == facts->n);
    const std::vector<int> first(d.labels.begin(), d.labels.begin() + 20);
    BOOST_TEST(first == facts->first_labels, boost::test_tools::per_element());
    const auto m = d.image_matrix();
    BOOST_TEST(m.rows() == facts->n);
    for (std::size_t c = 0; c < 28; ++c)
      BOOST_TEST(m(0, 14 * 28 + c) == static_cast<float>(facts->image0_row14[c]) / 255.0f);
    float lo = 1, hi = 0;
    for (float v : d.images) {
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
    BOOST_TEST(lo == 0.0f);
    BOOST_TEST(hi == 1.0f);  // pixel 255 occurs (row 14 of train image 0 has one)
  }
}

BOOST_AUTO_TEST_CASE(loader_errors_are_specific) {
  temp_dir dir;
  const fs::path missing = dir.path / "nowhere";
  expect_io_error([&] { (void)continua::io::load_fashion_mnist(missing); },
                  {missing.string(), "dataset-fashion-mnist"});
  expect_io_error([&] { (void)continua::io::load_fashion_mnist(dir.path); },
                  {"train-images-idx3-ubyte.gz", "exists"});

  auto images = [&](std::size_t n, std::size_t side) {
    continua::io::write_idx(dir.path / "train-images-idx3-ubyte",
                            idx_array{idx_type::u8, {n, side, 28}, bytes_t(n * side * 28, 7)});
  };
  auto labels = [&](bytes_t l) {
    const std::size_t n = l.size();
    continua::io::write_idx(dir.path / "train-labels-idx1-ubyte.gz",
                            idx_array{idx_type::u8, {n}, std::move(l)}, idx_compression::gzip);
  };
  images(3, 28);
  labels({1, 2});
  expect_io_error([&] { (void)continua::io::load_fashion_mnist(dir.path); },
                  {"3 images", "2 labels"});
  labels({1, 10, 2});
  expect_io_error([&] { (void)continua::io::load_fashion_mnist(dir.path); },
                  {"label 10 at index 1 is outside 0..9"});
  images(3, 27);
  labels({1, 9, 2});
  expect_io_error([&] { (void)continua::io::load_fashion_mnist(dir.path); },
                  {"expected ubyte n x 28 x 28, found ubyte 3 x 27 x 28"});
  // A well-formed miniature: plain images, gzip labels, pixel 7 -> 7/255.
  images(3, 28);
  const auto d = continua::io::load_fashion_mnist(dir.path);
  BOOST_TEST(d.rows == 3u);
  BOOST_TEST(d.images[100] == 7.0f / 255.0f);
  BOOST_TEST(d.labels == (bytes_t{1, 9, 2}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_SUITE_END()
