// Checkpoint container: CRC-32 against published check values and a bitwise reference, the byte
// layout against a hand-assembled image, round trips of every dtype, every kind of damage
// (bit flips, truncation, wrong magic/version/kind), and the atomic write under real failures.
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <bit>
#include <boost/mpl/list.hpp>
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <span>
#include <string>
#include <vector>

#include "../common/files.hpp"
#include "continua/io/checkpoint.hpp"
#include "continua/io/crc32.hpp"

namespace io = continua::io;
namespace fs = std::filesystem;

namespace {

using continua_test::has;
using continua_test::io_error_of;
using continua_test::read_file;
using continua_test::temp_dir;
using continua_test::write_file;

// Bit-at-a-time CRC-32 straight from the definition (reflected, poly 0xEDB88320): the reference
// the table-driven code must match.
std::uint32_t crc32_bitwise(const unsigned char* p, std::size_t n) {
  std::uint32_t c = 0xFFFFFFFFu;
  for (std::size_t i = 0; i < n; ++i) {
    c ^= p[i];
    for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
  }
  return ~c;
}

std::vector<unsigned char> bytes_of(std::string_view s) { return {s.begin(), s.end()}; }

void put_u32(std::vector<unsigned char>& b, std::size_t at, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) b[at + i] = static_cast<unsigned char>(v >> (8 * i));
}

// Recomputes the trailing CRC, so a test can reach the checks that come after it.
void reseal(std::vector<unsigned char>& b) {
  put_u32(b, b.size() - 4, crc32_bitwise(b.data(), b.size() - 4));
}

// The small checkpoint whose exact bytes are spelled out in hand_image().
io::checkpoint_writer small_writer() {
  io::checkpoint_writer w("t", 3);
  w.add_scalar("x", std::int32_t{-2});
  const std::vector<float> v = {1.0f, -0.5f};
  w.add("v", v);
  return w;
}

// docs/checkpoints.md's layout, assembled by hand. The CRC was computed independently:
//   python3 -c 'import struct,zlib; b=b"CONTINUA"+struct.pack("<IQII",2,103,3,1)+b"t"
//     +struct.pack("<Q",2)+struct.pack("<I",1)+b"x"+struct.pack("<IIQ",6,0,4)+struct.pack("<i",-2)
//     +struct.pack("<I",1)+b"v"+struct.pack("<IIQQ",9,1,2,8)+struct.pack("<ff",1.0,-0.5);
//     print(hex(zlib.crc32(b)))'   ->  0x43ce991b
std::vector<unsigned char> hand_image() {
  return {
      'C',  'O',  'N',  'T',  'I', 'N', 'U', 'A',  // magic
      2,    0,    0,    0,                         // format version
      103,  0,    0,    0,    0,   0,   0,   0,    // file size
      3,    0,    0,    0,                         // schema version
      1,    0,    0,    0,    't',                 // kind
      2,    0,    0,    0,    0,   0,   0,   0,    // record count
      1,    0,    0,    0,    'x',                 // record 0: name
      6,    0,    0,    0,                         // i32
      0,    0,    0,    0,                         // rank 0 (scalar)
      4,    0,    0,    0,    0,   0,   0,   0,    // byte count
      0xFE, 0xFF, 0xFF, 0xFF,                      // -2
      1,    0,    0,    0,    'v',                 // record 1: name
      9,    0,    0,    0,                         // f32
      1,    0,    0,    0,                         // rank 1
      2,    0,    0,    0,    0,   0,   0,   0,    // extent 2
      8,    0,    0,    0,    0,   0,   0,   0,    // byte count
      0x00, 0x00, 0x80, 0x3F,                      // 1.0f
      0x00, 0x00, 0x00, 0xBF,                      // -0.5f
      0x1B, 0x99, 0xCE, 0x43,                      // CRC-32
  };
}

template <class T>
bool same_bits(const std::vector<T>& a, const std::vector<T>& b) {
  return a.size() == b.size() &&
         (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(crc32)

BOOST_AUTO_TEST_CASE(standard_check_value_of_123456789_is_cbf43926) {
  static_assert(io::crc32(std::string_view("123456789")) == 0xCBF43926u);
  const auto b = bytes_of("123456789");
  BOOST_TEST(io::crc32(b.data(), b.size()) == 0xCBF43926u);
  BOOST_TEST(io::crc32(std::as_bytes(std::span(b))) == 0xCBF43926u);
}

BOOST_AUTO_TEST_CASE(matches_zlib_on_independent_vectors) {
  // Values from python3 zlib.crc32.
  BOOST_TEST(io::crc32(std::string_view("")) == 0x0u);
  BOOST_TEST(io::crc32(std::string_view("a")) == 0xE8B7BE43u);
  BOOST_TEST(io::crc32(std::string_view("abc")) == 0x352441C2u);
  const auto fox = bytes_of("The quick brown fox jumps over the lazy dog");
  BOOST_TEST(io::crc32(fox.data(), fox.size()) == 0x414FA339u);
  std::string rep;
  for (int i = 0; i < 10; ++i) rep += "CONTINUA";
  BOOST_TEST(io::crc32(rep.data(), rep.size()) == 0x6E054167u);
  std::vector<unsigned char> all(256);
  for (int i = 0; i < 256; ++i) all[i] = static_cast<unsigned char>(i);
  BOOST_TEST(io::crc32(all.data(), all.size()) == 0x29058C73u);
}

BOOST_AUTO_TEST_CASE(slicing_by_8_equals_bitwise_definition_at_every_length_and_alignment) {
  std::vector<unsigned char> data(300);
  std::uint32_t s = 12345;
  for (auto& d : data) d = static_cast<unsigned char>((s = s * 1103515245u + 12345u) >> 24);
  for (std::size_t offset = 0; offset < 8; ++offset)
    for (std::size_t n = 0; n + offset <= 200; ++n)
      BOOST_TEST_REQUIRE(io::crc32(data.data() + offset, n) ==
                         crc32_bitwise(data.data() + offset, n));
}

BOOST_AUTO_TEST_CASE(continuation_equals_crc_of_concatenation) {
  const auto a = bytes_of("continual "), b = bytes_of("learning, 0123456789abcdef");
  auto ab = a;
  ab.insert(ab.end(), b.begin(), b.end());
  BOOST_TEST(io::crc32(b.data(), b.size(), io::crc32(a.data(), a.size())) ==
             crc32_bitwise(ab.data(), ab.size()));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(checkpoint_format)

BOOST_AUTO_TEST_CASE(byte_layout_equals_the_documented_image) {
  const auto image = small_writer().bytes();
  const auto expected = hand_image();
  BOOST_TEST(image == expected, boost::test_tools::per_element());
  BOOST_TEST(crc32_bitwise(expected.data(), expected.size() - 4) == 0x43CE991Bu);
}

BOOST_AUTO_TEST_CASE(save_writes_exactly_the_image) {
  temp_dir d;
  small_writer().save(d.path / "a.ckpt");
  BOOST_TEST(read_file(d.path / "a.ckpt") == hand_image(), boost::test_tools::per_element());
}

template <class T>
std::vector<T> extremes() {
  using L = std::numeric_limits<T>;
  if constexpr (std::is_floating_point_v<T>) {
    // NaN with a payload, signed zero, infinities and a denormal: all must survive bit-exactly.
    using U = std::conditional_t<sizeof(T) == 4, std::uint32_t, std::uint64_t>;
    const T payload_nan = std::bit_cast<T>(std::bit_cast<U>(L::quiet_NaN()) | U(0x5));
    return {T(0),     T(-0.0),     L::infinity(), -L::infinity(), L::denorm_min(),
            L::max(), L::lowest(), L::epsilon(),  payload_nan,    T(1) / T(3)};
  } else {
    return {
        T(0), T(1), L::max(), L::min(), static_cast<T>(L::max() / 3), static_cast<T>(L::min() + 1)};
  }
}

using element_types =
    boost::mpl::list<std::uint8_t, std::int8_t, std::uint16_t, std::int16_t, std::uint32_t,
                     std::int32_t, std::uint64_t, std::int64_t, float, double>;

BOOST_AUTO_TEST_CASE_TEMPLATE(every_dtype_round_trips_bit_exactly, T, element_types) {
  temp_dir d;
  const std::vector<T> v = extremes<T>();
  io::checkpoint_writer w("roundtrip", 1);
  w.add("vec", v);
  w.add("mat", std::span<const T>(v.data(), 6), {2, 3});
  w.add("cube", std::span<const T>(v.data(), 4), {1, 2, 2});
  w.add("empty", std::vector<T>{});
  w.add("empty2d", std::span<const T>(), {3, 0});
  w.add_scalar("scalar", v[2]);
  w.save(d.path / "r.ckpt");

  const io::checkpoint_reader r(d.path / "r.ckpt");
  BOOST_TEST(r.kind() == "roundtrip");
  BOOST_TEST(r.schema_version() == 1u);
  BOOST_TEST(r.format_version() == io::checkpoint_format_version);
  BOOST_TEST(r.records().size() == 6u);
  BOOST_TEST(same_bits(r.get<T>("vec", {v.size()}), v));
  BOOST_TEST(same_bits(r.get<T>("mat", {2, 3}), std::vector<T>(v.begin(), v.begin() + 6)));
  BOOST_TEST(same_bits(r.get<T>("cube"), std::vector<T>(v.begin(), v.begin() + 4)));
  BOOST_TEST(r.get<T>("empty", {0}).empty());
  BOOST_TEST(r.get<T>("empty2d", {3, 0}).empty());
  const T s = r.get_scalar<T>("scalar");
  BOOST_TEST(std::memcmp(&s, &v[2], sizeof(T)) == 0);
  std::vector<T> into(v.size());
  r.read_into<T>("vec", into);
  BOOST_TEST(same_bits(into, v));
  BOOST_TEST(r.info("mat").type == io::dtype_of<T>());
  BOOST_TEST(r.info("scalar").shape.empty());
  BOOST_TEST(r.info("scalar").count == 1u);
}

BOOST_AUTO_TEST_CASE(bool_and_text_round_trip) {
  io::checkpoint_writer w("misc", 2);
  const std::vector<bool> flags = {true, false, false, true, true};
  w.add("flags", flags);
  w.add_scalar("flag", true);
  w.add_text("note", "Adam, ICLR 2015 \xE2\x9C\x93");
  w.add_text("blank", "");
  const auto r = io::checkpoint_reader::from_bytes(w.bytes());
  BOOST_TEST(r.get<bool>("flags", {5}) == flags);
  BOOST_TEST(r.get_scalar<bool>("flag") == true);
  BOOST_TEST(r.get_text("note") == "Adam, ICLR 2015 \xE2\x9C\x93");
  BOOST_TEST(r.get_text("blank").empty());
  BOOST_TEST(r.info("flags").type == io::dtype::boolean);
}

BOOST_AUTO_TEST_CASE(records_keep_insertion_order) {
  io::checkpoint_writer w("order", 1);
  for (const char* n : {"zeta", "alpha", "mid"}) w.add_scalar(n, 1.0);
  const auto r = io::checkpoint_reader::from_bytes(w.bytes());
  BOOST_TEST_REQUIRE(r.records().size() == 3u);
  BOOST_TEST(r.records()[0].name == "zeta");
  BOOST_TEST(r.records()[1].name == "alpha");
  BOOST_TEST(r.records()[2].name == "mid");
}

BOOST_AUTO_TEST_CASE(typed_access_names_the_record_and_both_types_or_shapes) {
  io::checkpoint_writer w("typed", 1);
  w.add("weights", std::vector<float>(6, 1.f));
  w.add_scalar("step", std::int64_t{7});
  w.add_text("name", "adam");
  const auto r = io::checkpoint_reader::from_bytes(w.bytes(), "typed.ckpt");

  auto m = io_error_of([&] { (void)r.get<double>("weights"); });
  BOOST_TEST(has(m, "typed.ckpt"));
  BOOST_TEST(has(m, "'weights'"));
  BOOST_TEST(has(m, "expected f64, found f32"));
  m = io_error_of([&] { (void)r.get<float>("weights", {2, 3}); });
  BOOST_TEST(has(m, "expected shape [2, 3], found [6]"));
  m = io_error_of([&] {
    std::vector<float> out(5);
    r.read_into<float>("weights", out);
  });
  BOOST_TEST(has(m, "expected 5 elements, found 6"));
  m = io_error_of([&] { (void)r.get_scalar<std::int32_t>("step"); });
  BOOST_TEST(has(m, "expected i32, found i64"));
  m = io_error_of([&] { (void)r.get_scalar<float>("weights"); });
  BOOST_TEST(has(m, "expected shape [], found [6]"));
  m = io_error_of([&] { (void)r.get<float>("bias"); });
  BOOST_TEST(has(m, "record 'bias' is missing"));
  m = io_error_of([&] { (void)r.get_text("step"); });
  BOOST_TEST(has(m, "expected text, found i64"));
  BOOST_TEST(r.get_scalar<std::int64_t>("step") == 7);
  BOOST_TEST(r.contains("name"));
  BOOST_TEST(!r.contains("bias"));
}

BOOST_AUTO_TEST_CASE(kind_and_schema_are_checked) {
  io::checkpoint_writer w("optim.chain", 2);
  const auto r = io::checkpoint_reader::from_bytes(w.bytes());
  BOOST_CHECK_NO_THROW(r.require_kind("optim.chain", 2));
  BOOST_CHECK_NO_THROW(r.require_kind("optim.chain", 5));
  auto m = io_error_of([&] { r.require_kind("regularize.ewc", 2); });
  BOOST_TEST(has(m, "holds 'optim.chain', expected 'regularize.ewc'"));
  m = io_error_of([&] { r.require_kind("optim.chain", 1); });
  BOOST_TEST(has(m, "schema version 2 is not supported (this build reads 1 to 1)"));
}

BOOST_AUTO_TEST_CASE(writer_rejects_bad_records_and_stays_usable) {
  io::checkpoint_writer w("bad", 1);
  w.add_scalar("a", 1.0);
  const auto before = w.bytes();
  BOOST_CHECK_THROW(w.add_scalar("a", 2.0), continua::invalid_argument);
  BOOST_CHECK_THROW(w.add_scalar("", 2.0), continua::invalid_argument);
  const std::vector<float> v(5);
  BOOST_CHECK_THROW(w.add("m", std::span<const float>(v), {2, 3}), continua::invalid_argument);
  BOOST_CHECK_THROW(w.add("m", std::span<const float>(v), std::vector<std::uint64_t>(17, 1)),
                    continua::invalid_argument);
  BOOST_CHECK_THROW(io::checkpoint_writer("", 1), continua::invalid_argument);
  BOOST_TEST(w.bytes() == before, boost::test_tools::per_element());
  BOOST_TEST(w.record_count() == 1u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(checkpoint_damage)

BOOST_AUTO_TEST_CASE(every_single_bit_flip_is_rejected) {
  const auto good = hand_image();
  for (std::size_t at = 0; at < good.size(); ++at)
    for (int bit = 0; bit < 8; ++bit) {
      auto bad = good;
      bad[at] ^= static_cast<unsigned char>(1u << bit);
      const auto m = io_error_of([&] { (void)io::checkpoint_reader::from_bytes(bad); });
      BOOST_TEST_REQUIRE(m != "<no io_error thrown>", "byte " << at << " bit " << bit);
      // Past the magic, version and size fields only the CRC can notice.
      if (at >= 20) BOOST_TEST_REQUIRE(has(m, "CRC32 mismatch"), m);
    }
}

BOOST_AUTO_TEST_CASE(every_truncation_is_rejected_as_truncated) {
  const auto good = hand_image();
  for (std::size_t n = 0; n < good.size(); ++n) {
    const std::vector<unsigned char> cut(good.begin(), good.begin() + n);
    const auto m = io_error_of([&] { (void)io::checkpoint_reader::from_bytes(cut); });
    BOOST_TEST_REQUIRE(has(m, "truncated"), "length " << n << ": " << m);
  }
}

BOOST_AUTO_TEST_CASE(truncated_file_on_disk_is_rejected) {
  temp_dir d;
  auto image = hand_image();
  for (std::size_t n :
       {std::size_t{0}, std::size_t{5}, std::size_t{30}, std::size_t{60}, image.size() - 1}) {
    write_file(d.path / "cut.ckpt", std::vector<unsigned char>(image.begin(), image.begin() + n));
    const auto m = io_error_of([&] { io::checkpoint_reader r(d.path / "cut.ckpt"); });
    BOOST_TEST(has(m, "truncated"), m);
    BOOST_TEST(has(m, "cut.ckpt"), m);
  }
}

BOOST_AUTO_TEST_CASE(trailing_bytes_are_rejected) {
  auto image = hand_image();
  image.push_back(0);
  const auto m = io_error_of([&] { (void)io::checkpoint_reader::from_bytes(image); });
  BOOST_TEST(has(m, "size mismatch: 104 bytes, the header records 103"), m);
}

BOOST_AUTO_TEST_CASE(wrong_magic_is_not_a_checkpoint) {
  auto image = hand_image();
  image[0] = 'X';
  BOOST_TEST(has(io_error_of([&] { (void)io::checkpoint_reader::from_bytes(image); }),
                 "not a continua checkpoint (bad magic)"));
  const auto png = bytes_of("\x89PNG\r\n\x1a\n and so on");
  BOOST_TEST(has(io_error_of([&] { (void)io::checkpoint_reader::from_bytes(png); }), "bad magic"));
}

BOOST_AUTO_TEST_CASE(future_and_zero_format_versions_are_refused_even_with_a_valid_crc) {
  BOOST_TEST(io::checkpoint_format_version == 2u);
  for (const std::uint32_t version : {3u, 0xFFFFFFFFu, 0u}) {
    auto image = hand_image();
    put_u32(image, 8, version);
    reseal(image);
    const auto m = io_error_of([&] { (void)io::checkpoint_reader::from_bytes(image); });
    BOOST_TEST(has(m, "format version " + std::to_string(version) +
                          " is not supported (this build reads format version 2)"),
               m);
  }
}

// Format 1 is the layout before the one checkpoint pattern: there is no reader for it, and the
// refusal names both versions. data/optim_adam_format_v1.ckpt was written by the format-1 code
// (tests/reference/write_v1_checkpoint.cpp); the hand image relabelled as version 1 shows the
// refusal does not depend on what the file holds.
BOOST_AUTO_TEST_CASE(format_1_files_are_refused_naming_both_versions) {
  const std::string expected =
      "format version 1 is an older layout that this build does not read (this build reads "
      "format version 2)";
  const fs::path v1 = fs::path(__FILE__).parent_path() / "data" / "optim_adam_format_v1.ckpt";
  BOOST_TEST_REQUIRE(fs::exists(v1), v1);
  const auto file = read_file(v1);
  BOOST_TEST_REQUIRE(file.size() > 12u);
  BOOST_TEST(std::memcmp(file.data(), "CONTINUA\x01\0\0\0", 12) == 0);  // it is format 1
  BOOST_TEST(crc32_bitwise(file.data(), file.size() - 4) ==
             (std::uint32_t(file[file.size() - 4]) | std::uint32_t(file[file.size() - 3]) << 8 |
              std::uint32_t(file[file.size() - 2]) << 16 |
              std::uint32_t(file[file.size() - 1]) << 24));  // and intact
  auto m = io_error_of([&] { (void)io::checkpoint_reader(v1); });
  BOOST_TEST(has(m, "checkpoint '" + v1.string() + "': " + expected), m);

  auto image = hand_image();
  put_u32(image, 8, 1);
  reseal(image);
  m = io_error_of([&] { (void)io::checkpoint_reader::from_bytes(image); });
  BOOST_TEST(has(m, expected), m);
}

BOOST_AUTO_TEST_CASE(malformed_structure_behind_a_valid_crc_is_rejected) {
  // Offsets into hand_image(): the record count at 29, record 0's dtype at 42 and its byte count
  // at 50, record 1's name at 66.
  auto image = hand_image();
  put_u32(image, 42, 99);
  reseal(image);
  BOOST_TEST(has(io_error_of([&] { (void)io::checkpoint_reader::from_bytes(image); }),
                 "unknown dtype code 99"));
  image = hand_image();
  image[50] = 5;
  reseal(image);
  BOOST_TEST(has(io_error_of([&] { (void)io::checkpoint_reader::from_bytes(image); }),
                 "record 'x' of shape [] declares 5 bytes"));
  image = hand_image();
  image[29] = 3;
  reseal(image);
  BOOST_TEST(
      has(io_error_of([&] { (void)io::checkpoint_reader::from_bytes(image); }), "malformed"));
  image = hand_image();
  image[66] = 'x';  // second record renamed to the first's name
  reseal(image);
  BOOST_TEST(has(io_error_of([&] { (void)io::checkpoint_reader::from_bytes(image); }),
                 "duplicate record 'x'"));
}

BOOST_AUTO_TEST_CASE(missing_file_and_directory_are_reported) {
  temp_dir d;
  auto m = io_error_of([&] { io::checkpoint_reader r(d.path / "none.ckpt"); });
  BOOST_TEST(has(m, "none.ckpt"));
  BOOST_TEST(has(m, "cannot open"));
  m = io_error_of([&] { io::checkpoint_reader r(d.path); });
  BOOST_TEST(has(m, "is a directory"));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(checkpoint_atomic_write)

BOOST_AUTO_TEST_CASE(save_replaces_and_leaves_no_temp_file) {
  temp_dir d;
  const auto path = d.path / "state.ckpt";
  small_writer().save(path);
  io::checkpoint_writer w2("second", 1);
  w2.add("big", std::vector<double>(1000, 2.5));
  w2.save(path);
  BOOST_TEST(!d.has_tmp_files());
  BOOST_TEST(read_file(path) == w2.bytes(), boost::test_tools::per_element());
  BOOST_TEST(io::checkpoint_reader(path).kind() == "second");
}

BOOST_AUTO_TEST_CASE(stale_temp_file_from_a_crashed_writer_is_replaced) {
  temp_dir d;
  const auto path = d.path / "state.ckpt";
  write_file(d.path / "state.ckpt.tmp", bytes_of("half a checkpoint"));
  small_writer().save(path);
  BOOST_TEST(!d.has_tmp_files());
  BOOST_TEST(read_file(path) == hand_image(), boost::test_tools::per_element());
}

// RLIMIT_FSIZE makes the kernel fail write(2) with EFBIG part-way through the file: a real
// disk-full style failure in the middle of the data.
BOOST_AUTO_TEST_CASE(failed_write_keeps_the_old_checkpoint_and_removes_the_temp_file) {
  temp_dir d;
  const auto path = d.path / "state.ckpt";
  small_writer().save(path);
  io::checkpoint_writer big("big", 1);
  big.add("x", std::vector<double>(4096, 1.0));

  rlimit old_limit{};
  BOOST_TEST_REQUIRE(::getrlimit(RLIMIT_FSIZE, &old_limit) == 0);
  auto* old_handler = ::signal(SIGXFSZ, SIG_IGN);
  rlimit small = old_limit;
  small.rlim_cur = 1000;
  BOOST_TEST_REQUIRE(::setrlimit(RLIMIT_FSIZE, &small) == 0);
  const auto m = io_error_of([&] { big.save(path); });
  ::setrlimit(RLIMIT_FSIZE, &old_limit);
  ::signal(SIGXFSZ, old_handler);

  BOOST_TEST(has(m, "write failed"), m);
  BOOST_TEST(has(m, "state.ckpt.tmp"), m);
  BOOST_TEST(!d.has_tmp_files());
  BOOST_TEST(read_file(path) == hand_image(), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(failed_rename_removes_the_temp_file) {
  temp_dir d;
  const auto path = d.path / "occupied";
  fs::create_directories(path / "inside");  // rename(2) cannot replace a non-empty directory
  const auto m = io_error_of([&] { small_writer().save(path); });
  BOOST_TEST(has(m, "cannot rename"), m);
  BOOST_TEST(!d.has_tmp_files());
  BOOST_TEST(fs::is_directory(path / "inside"));
}

BOOST_AUTO_TEST_CASE(unwritable_locations_fail_cleanly) {
  temp_dir d;
  const auto path = d.path / "state.ckpt";
  small_writer().save(path);
  // A directory squatting on the temp name cannot be removed or opened as a file.
  fs::create_directories(d.path / "state.ckpt.tmp" / "x");
  io::checkpoint_writer w("other", 1);
  auto m = io_error_of([&] { w.save(path); });
  BOOST_TEST(has(m, "state.ckpt.tmp"), m);
  BOOST_TEST(read_file(path) == hand_image(), boost::test_tools::per_element());
  BOOST_TEST(fs::is_directory(d.path / "state.ckpt.tmp" / "x"));
  fs::remove_all(d.path / "state.ckpt.tmp");
  // A parent directory that does not exist.
  m = io_error_of([&] { w.save(d.path / "no" / "such" / "dir.ckpt"); });
  BOOST_TEST(has(m, "cannot create"), m);
  BOOST_TEST(!fs::exists(d.path / "no"));
}

BOOST_AUTO_TEST_SUITE_END()
