// The one checkpoint pattern (io/state.hpp): a component that describes its state once is saved
// and loaded by io::save / io::load. Checked here on a test component holding every kind of field:
// the round trip is bit-exact and the records are named, typed and shaped as described; every
// refusal (setting, kind, schema, missing, extra, retyped or reshaped record, meaning of the
// state, nested or whole) leaves the component exactly as it was; a field's shape may depend on
// a field loaded before it; derived members are rebuilt; and describing a record twice is a bug
// that both walks report.
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <memory>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "../common/files.hpp"
#include "continua/core/buffer.hpp"
#include "continua/core/error.hpp"
#include "continua/core/random.hpp"
#include "continua/io/checkpoint.hpp"
#include "continua/io/state.hpp"

namespace io = continua::io;
namespace fs = std::filesystem;

namespace {

using continua_test::has;
using continua_test::io_error_of;
using continua_test::read_file;
using continua_test::temp_dir;
using continua_test::write_file;

enum class mode : std::int16_t { plain = 1, online = 7 };

// A nested part whose weights' length is the field `k` read just before them.
struct head {
  std::uint64_t k = 2;
  std::vector<float> w = {0.5f, -0.25f};

  template <class V>
  void describe_state(V& v) {
    v.field("k", k);
    v.field("w", w, {k});
  }
  void validate_state() const {
    for (const float x : w) continua::require(std::isfinite(x), "head", "weights hold NaN or Inf");
  }
};

// One field of every kind the pattern supports, a setting, a derived member and a meaning check.
struct widget {
  static constexpr std::string_view checkpoint_kind = "test.widget";
  static constexpr std::uint32_t checkpoint_schema = 2;

  std::size_t capacity = 3;  // a setting: fixed at construction, must match on load
  double x = 0.0;
  std::int32_t count = 0;
  bool flag = false;
  mode m = mode::plain;
  std::string note = "fresh";
  std::vector<std::int32_t> labels;
  std::vector<bool> mask;
  continua::buffer<double> moments{3};
  continua::buffer<float> matrix{6};
  continua::philox_engine rng{continua::philox_key{11, 2}, 0};
  head h;
  std::int64_t label_sum = 0;  // derived from labels, not stored

  template <class V>
  void describe_state(V& v) {
    v.expect("capacity", capacity);
    v.expect("policy", "cholesky");
    v.field("x", x);
    v.field("count", count);
    v.field("flag", flag);
    v.field("mode", m);
    v.field("note", note);
    v.field("labels", labels);
    v.field("mask", mask);
    v.field("moments", moments);
    v.field("matrix", matrix, {2, 3});
    v.field("rng", rng);
    v.field("head", h);
    if constexpr (V::loading) {
      label_sum = 0;
      for (const auto l : labels) label_sum += l;
    }
  }
  void validate_state() const {
    continua::require(count == static_cast<std::int32_t>(labels.size()), "widget",
                      "count must equal the number of labels");
    continua::require(m == mode::plain || m == mode::online, "widget", "unknown mode");
  }
};

// Everything a widget holds, comparable bit for bit (NaN payloads included).
struct snapshot {
  std::uint64_t x_bits;
  std::int32_t count;
  bool flag;
  mode m;
  std::string note;
  std::vector<std::int32_t> labels;
  std::vector<bool> mask;
  std::vector<std::uint64_t> moment_bits;
  std::vector<float> matrix;
  std::uint64_t rng_seed, rng_stream, rng_position;
  std::uint64_t k;
  std::vector<float> w;
  std::int64_t label_sum;
  bool operator==(const snapshot&) const = default;
};
snapshot snap(const widget& w) {
  std::vector<std::uint64_t> bits;
  for (const double d : w.moments.to_host()) bits.push_back(std::bit_cast<std::uint64_t>(d));
  return {std::bit_cast<std::uint64_t>(w.x),
          w.count,
          w.flag,
          w.m,
          w.note,
          w.labels,
          w.mask,
          bits,
          w.matrix.to_host(),
          w.rng.key().seed,
          w.rng.key().stream,
          w.rng.position(),
          w.h.k,
          w.h.w,
          w.label_sum};
}

// A widget far from the default one, with a NaN payload and a signed zero among its values.
widget busy() {
  widget w;
  w.x = -0.0;
  w.labels = {4, -9, 12, 3};
  w.count = 4;
  w.flag = true;
  w.m = mode::online;
  w.note = "after task 3";
  w.mask = {true, false, false, true, true};
  w.moments.assign_from_host(
      {1.5, std::bit_cast<double>(std::uint64_t{0x7FF8000000000ABCu}), -1e-310});
  w.matrix.assign_from_host({1, 2, 3, 4, 5, 6});
  for (int i = 0; i < 9; ++i) w.rng();
  w.h.k = 5;
  w.h.w = {1, 2, 3, 4, 5};
  w.label_sum = 10;
  return w;
}

// Copies a checkpoint record by record through the generic API, letting `edit` drop or replace
// records: forged files that are intact as files but wrong as a widget's state.
template <class Edit>
void rewrite(const fs::path& from, const fs::path& to, Edit&& edit) {
  const io::checkpoint_reader r(from);
  io::checkpoint_writer w(r.kind(), r.schema_version());
  for (const auto& rec : r.records()) {
    if (edit(rec, w)) continue;
    const auto copy = [&]<class T>(std::type_identity<T>) {
      const std::vector<T> v = r.get<T>(rec.name);
      if constexpr (std::is_same_v<T, bool>) {
        const std::unique_ptr<bool[]> b(new bool[v.size()]);
        std::copy(v.begin(), v.end(), b.get());
        w.add(rec.name, std::span<const bool>(b.get(), v.size()), rec.shape);
      } else {
        w.add(rec.name, std::span<const T>(v), rec.shape);
      }
    };
    switch (rec.type) {
      case io::dtype::text:
        w.add_text(rec.name, r.get_text(rec.name));
        break;
      case io::dtype::boolean:
        copy(std::type_identity<bool>{});
        break;
      case io::dtype::i16:
        copy(std::type_identity<std::int16_t>{});
        break;
      case io::dtype::i32:
        copy(std::type_identity<std::int32_t>{});
        break;
      case io::dtype::i64:
        copy(std::type_identity<std::int64_t>{});
        break;
      case io::dtype::u64:
        copy(std::type_identity<std::uint64_t>{});
        break;
      case io::dtype::f32:
        copy(std::type_identity<float>{});
        break;
      case io::dtype::f64:
        copy(std::type_identity<double>{});
        break;
      default:
        BOOST_FAIL("unexpected dtype in a widget checkpoint");
    }
  }
  w.save(to);
}

// Replaces record `name` by what `add` writes.
template <class Add>
auto replacing(std::string name, Add add) {
  return [name, add](const io::record_info& r, io::checkpoint_writer& w) {
    if (r.name != name) return false;
    add(w);
    return true;
  };
}

struct fixture {
  temp_dir d;
  fs::path good = d.path / "good.ckpt";
  fs::path bad = d.path / "bad.ckpt";
  widget target;  // the default widget: every refused load must leave it so
  fixture() { io::save(good, busy()); }
  std::string refused(const fs::path& file) {
    const snapshot before = snap(target);
    const auto m = io_error_of([&] { io::load(file, target); });
    BOOST_TEST(m != "<no io_error thrown>");
    BOOST_TEST((snap(target) == before), "state changed by a failed load: " << m);
    return m;
  }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(state_pattern)

BOOST_FIXTURE_TEST_CASE(round_trip_is_bit_exact_and_rebuilds_derived_members, fixture) {
  const widget saved = busy();  // const: io::save takes any const component
  io::save(good, saved);
  io::load(good, target);
  BOOST_TEST((snap(target) == snap(saved)));
  BOOST_TEST(target.label_sum == 10);  // rebuilt by describe_state, not read
  // The generator continues where the saved one stood.
  widget other = busy();
  BOOST_TEST(target.rng() == other.rng());
}

BOOST_FIXTURE_TEST_CASE(records_are_named_typed_and_shaped_as_described, fixture) {
  const io::checkpoint_reader r(good);
  BOOST_TEST(r.format_version() == io::checkpoint_format_version);
  BOOST_TEST(r.kind() == "test.widget");
  BOOST_TEST(r.schema_version() == 2u);
  struct expected_record {
    std::string name;
    io::dtype type;
    std::vector<std::uint64_t> shape;
  };
  const std::vector<expected_record> expected = {
      {"capacity", io::dtype::u64, {}},   {"policy", io::dtype::text, {8}},
      {"x", io::dtype::f64, {}},          {"count", io::dtype::i32, {}},
      {"flag", io::dtype::boolean, {}},   {"mode", io::dtype::i16, {}},
      {"note", io::dtype::text, {12}},    {"labels", io::dtype::i32, {4}},
      {"mask", io::dtype::boolean, {5}},  {"moments", io::dtype::f64, {3}},
      {"matrix", io::dtype::f32, {2, 3}}, {"rng", io::dtype::u64, {3}},
      {"head/k", io::dtype::u64, {}},     {"head/w", io::dtype::f32, {5}},
  };
  BOOST_TEST_REQUIRE(r.records().size() == expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    BOOST_TEST(r.records()[i].name == expected[i].name);
    BOOST_TEST((r.records()[i].type == expected[i].type), expected[i].name);
    BOOST_TEST(r.records()[i].shape == expected[i].shape, boost::test_tools::per_element());
  }
  BOOST_TEST(r.get_text("policy") == "cholesky");
  BOOST_TEST(r.get_scalar<std::int16_t>("mode") == 7);
  BOOST_TEST(r.get<std::uint64_t>("rng", {3}) == (std::vector<std::uint64_t>{11, 2, 9}),
             boost::test_tools::per_element());
  BOOST_TEST(r.get<bool>("mask") == (std::vector<bool>{true, false, false, true, true}),
             boost::test_tools::per_element());
}

BOOST_FIXTURE_TEST_CASE(a_shape_may_depend_on_a_field_loaded_before_it, fixture) {
  // The file's head has k = 5 weights, the target's k = 2: k is read first, then w as [5].
  BOOST_TEST(target.h.w.size() == 2u);
  io::load(good, target);
  BOOST_TEST(target.h.k == 5u);
  BOOST_TEST(target.h.w == (std::vector<float>{1, 2, 3, 4, 5}), boost::test_tools::per_element());
}

BOOST_FIXTURE_TEST_CASE(another_setting_is_refused, fixture) {
  target.capacity = 4;
  BOOST_TEST(has(refused(good), "checkpoint '" + good.string() +
                                    "': record 'capacity' holds 3, but this test.widget has 4"));
  target.capacity = 3;
  rewrite(good, bad, replacing("policy", [](auto& w) { w.add_text("policy", "woodbury"); }));
  BOOST_TEST(
      has(refused(bad), "record 'policy' holds 'woodbury', but this test.widget has 'cholesky'"));
}

BOOST_FIXTURE_TEST_CASE(another_kind_and_a_newer_schema_are_refused, fixture) {
  io::checkpoint_writer other("test.gadget", 2);
  other.save(bad);
  BOOST_TEST(has(refused(bad), "holds 'test.gadget', expected 'test.widget'"));
  io::checkpoint_writer newer("test.widget", 3);
  newer.save(bad);
  BOOST_TEST(has(refused(bad), "'test.widget' schema version 3 is not supported"));
}

BOOST_FIXTURE_TEST_CASE(missing_extra_retyped_and_reshaped_records_are_refused, fixture) {
  rewrite(good, bad,
          [](const io::record_info& r, io::checkpoint_writer&) { return r.name == "head/w"; });
  BOOST_TEST(has(refused(bad), "record 'head/w' is missing"));

  rewrite(good, bad, [](const io::record_info& r, io::checkpoint_writer& w) {
    if (r.name == "x") w.add_scalar("head/bias", 1.0f);
    return false;
  });
  BOOST_TEST(has(refused(bad), "record 'head/bias' has no place in this state"));

  rewrite(good, bad, replacing("count", [](auto& w) { w.add_scalar("count", std::int64_t{4}); }));
  BOOST_TEST(has(refused(bad), "record 'count': expected i32, found i64"));

  // A buffer keeps its size: the record must hold exactly that many elements.
  rewrite(good, bad,
          replacing("moments", [](auto& w) { w.add("moments", std::vector<double>(4)); }));
  BOOST_TEST(has(refused(bad), "record 'moments': expected shape [3], found [4]"));

  // A field described with a shape takes exactly that shape.
  rewrite(good, bad, replacing("matrix", [](auto& w) {
            const std::vector<float> v(6);
            w.add("matrix", std::span<const float>(v), {3, 2});
          }));
  BOOST_TEST(has(refused(bad), "record 'matrix': expected shape [2, 3], found [3, 2]"));

  // A std::vector takes any length, but one dimension.
  rewrite(good, bad, replacing("labels", [](auto& w) {
            const std::vector<std::int32_t> v(4);
            w.add("labels", std::span<const std::int32_t>(v), {2, 2});
          }));
  BOOST_TEST(has(refused(bad),
                 "record 'labels': expected a one-dimensional array, found shape "
                 "[2, 2]"));

  rewrite(good, bad,
          replacing("rng", [](auto& w) { w.add("rng", std::vector<std::uint64_t>(2)); }));
  BOOST_TEST(has(refused(bad), "record 'rng': expected shape [3], found [2]"));
}

// The meaning checks run on the fully read copy, after the last record: a loader that stored
// values as it went would already have overwritten every field.
BOOST_FIXTURE_TEST_CASE(an_invalid_state_is_refused_whole_or_nested, fixture) {
  rewrite(good, bad, replacing("count", [](auto& w) { w.add_scalar("count", std::int32_t{3}); }));
  BOOST_TEST(has(refused(bad),
                 "the state it holds is invalid: widget: count must equal the "
                 "number of labels"));

  rewrite(good, bad, replacing("mode", [](auto& w) { w.add_scalar("mode", std::int16_t{2}); }));
  BOOST_TEST(has(refused(bad), "invalid: widget: unknown mode"));

  rewrite(
      good, bad, replacing("head/w", [](auto& w) {
        w.add("head/w", std::vector<float>{1, 2, std::numeric_limits<float>::quiet_NaN(), 4, 5});
      }));
  BOOST_TEST(has(refused(bad),
                 "part 'head' of the state it holds is invalid: head: weights hold "
                 "NaN or Inf"));
}

BOOST_FIXTURE_TEST_CASE(damaged_files_are_refused, fixture) {
  BOOST_TEST(has(refused(d.path / "none.ckpt"), "cannot open"));
  std::vector<unsigned char> image;
  {
    std::ifstream in(good, std::ios::binary);
    image.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  image[image.size() / 2] ^= 0x10;
  {
    std::ofstream out(bad, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(image.data()),
              static_cast<std::streamsize>(image.size()));
  }
  BOOST_TEST(has(refused(bad), "CRC32 mismatch"));
}

BOOST_FIXTURE_TEST_CASE(a_reader_in_memory_loads_the_same, fixture) {
  std::vector<unsigned char> image;
  {
    std::ifstream in(good, std::ios::binary);
    image.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  io::load(io::checkpoint_reader::from_bytes(image), target);
  BOOST_TEST((snap(target) == snap(busy())));
}

BOOST_FIXTURE_TEST_CASE(save_bytes_is_the_file_image_and_load_bytes_reads_it_all_or_nothing,
                        fixture) {
  // The in-memory image equals, byte for byte, the file io::save writes for the same state.
  const std::vector<unsigned char> image = io::save_bytes(busy());
  BOOST_TEST((image == read_file(good)));
  io::load_bytes(image, target);
  BOOST_TEST((snap(target) == snap(busy())));
  BOOST_TEST((io::save_bytes(target) == image));
  // A damaged image is refused, naming the source, and the component keeps its state.
  std::vector<unsigned char> damaged = image;
  damaged[damaged.size() / 2] ^= 0x01;
  const widget fresh;
  const snapshot before = snap(fresh);
  widget w = fresh;
  const auto m = io_error_of([&] { io::load_bytes(damaged, w, "sent-state"); });
  BOOST_TEST(has(m, "sent-state"));
  BOOST_TEST(has(m, "CRC32 mismatch"));
  BOOST_TEST((snap(w) == before));
}

// A describe_state that names a record twice is a bug in the component, reported by both walks.
struct twice {
  static constexpr std::string_view checkpoint_kind = "test.twice";
  static constexpr std::uint32_t checkpoint_schema = 1;
  int a = 1, b = 2;
  template <class V>
  void describe_state(V& v) {
    v.field("a", a);
    v.field("a", b);
  }
};

BOOST_AUTO_TEST_CASE(a_record_described_twice_is_a_bug_both_walks_report) {
  temp_dir d;
  BOOST_CHECK_THROW(io::save(d.path / "t.ckpt", twice{}), continua::invalid_argument);
  io::checkpoint_writer w("test.twice", 1);
  w.add_scalar("a", std::int32_t{5});
  w.save(d.path / "t.ckpt");
  twice t;
  BOOST_CHECK_THROW(io::load(d.path / "t.ckpt", t), continua::invalid_argument);
  BOOST_TEST(t.a == 1);
  BOOST_TEST(t.b == 2);
}

BOOST_AUTO_TEST_CASE(checkpointable_says_what_a_component_needs) {
  static_assert(io::checkpointable<widget>);
  static_assert(io::describes_state<head>);
  static_assert(!io::checkpointable<head>);  // a part: no kind or schema of its own
  static_assert(!io::describes_state<snapshot>);
  BOOST_TEST(true);
}

BOOST_AUTO_TEST_SUITE_END()
