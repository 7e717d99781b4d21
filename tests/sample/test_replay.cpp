// Replay buffers: the reservoir keeps every stream position with probability k/n (chi-square over
// independent seeded runs), the class-balanced buffer keeps per-class counts within one of each
// other, batches are drawn only from stored rows, uniformly and without replacement; bad input
// and damaged or forged checkpoints are refused with the buffer unchanged, and io::save/io::load
// resumes the random decisions bit-identically.
#include <unistd.h>
#include <algorithm>
#include <boost/mpl/list.hpp>
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <numeric>
#include <set>
#include <span>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "../common/files.hpp"
#include "../common/forge.hpp"
#include "continua/io/state.hpp"
#include "continua/sample.hpp"

namespace s = continua::sample;
namespace io = continua::io;
namespace fs = std::filesystem;

namespace {

using continua_test::forge;
using continua_test::io_error_of;

using real_types = boost::mpl::list<float, double>;

struct temp_file {
  fs::path path;
  temp_file() {
    static int counter = 0;
    path = fs::temp_directory_path() /
           ("continua_replay_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
  }
  ~temp_file() {
    std::error_code ec;
    fs::remove(path, ec);
  }
};

void flip_byte(const fs::path& p, std::size_t offset) {
  std::fstream f(p, std::ios::in | std::ios::out | std::ios::binary);
  f.seekg(static_cast<std::streamoff>(offset));
  char c = 0;
  f.read(&c, 1);
  c = static_cast<char>(c ^ 0x21);
  f.seekp(static_cast<std::streamoff>(offset));
  f.write(&c, 1);
}

// Upper tail P(X >= x) of chi^2(dof): 1 - P(dof/2, x/2), the regularised lower incomplete
// gamma summed as its power series (exact to ~1e-14 for the arguments used here).
double chi2_sf(double x, double dof) {
  const double a = dof / 2, z = x / 2;
  double term = 1.0 / a, sum = term;
  for (int k = 1; k < 2000 && term > sum * 1e-17; ++k) {
    term *= z / (a + k);
    sum += term;
  }
  return 1.0 - std::exp(a * std::log(z) - z - std::lgamma(a)) * sum;
}

// Row t of the test stream: features (t, -t/2, t mod 3), label t mod `classes` (or given).
template <class T>
std::vector<T> stream_rows(std::uint64_t first, std::size_t n) {
  std::vector<T> f(n * 3);
  for (std::size_t i = 0; i < n; ++i) {
    const double t = static_cast<double>(first + i);
    f[i * 3] = static_cast<T>(t);
    f[i * 3 + 1] = static_cast<T>(-t / 2);
    f[i * 3 + 2] = static_cast<T>(std::fmod(t, 3.0));
  }
  return f;
}

// Every stored row is the stream row its position names, with that row's label.
template <class B>
void check_rows_match_positions(const B& b, const std::vector<std::int32_t>& stream_labels) {
  using T = std::remove_cvref_t<decltype(b.features()[0])>;
  const auto pos = b.stream_positions();
  for (std::size_t i = 0; i < b.size(); ++i) {
    const auto expect = stream_rows<T>(pos[i], 1);
    BOOST_TEST(std::equal(expect.begin(), expect.end(), b.features().begin() + 3 * i));
    BOOST_TEST(b.labels()[i] == stream_labels[pos[i]]);
  }
  std::set<std::uint64_t> distinct(pos.begin(), pos.end());
  BOOST_TEST(distinct.size() == b.size());
}

// Q = (n - 1)/n * sum (c_t - E)^2 / (R p (1 - p)) for counts of R draws of k items without
// replacement out of n (p = k/n): the without-replacement correlations make Q ~ chi^2(n - 1).
double inclusion_statistic(const std::vector<double>& counts, double runs, double p) {
  const double n = static_cast<double>(counts.size());
  double q = 0;
  for (double c : counts) q += (c - runs * p) * (c - runs * p);
  return q / (runs * p * (1 - p)) * (n - 1) / n;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(replay)

BOOST_AUTO_TEST_CASE(chi2_tail_matches_known_values) {
  // chi^2(2) tail is exp(-x/2); chi^2(49) median is 48.33 (tables).
  BOOST_TEST(chi2_sf(3.0, 2) == std::exp(-1.5), boost::test_tools::tolerance(1e-12));
  BOOST_TEST(chi2_sf(48.335, 49) == 0.5, boost::test_tools::tolerance(1e-3));
}

// k = 10, n = 50, 2000 runs with seeds 0..1999: each position's inclusion count is compared with
// 2000 * 10 / 50 = 400; the test fails only when the chi-square p-value is below 1e-4 (the
// false-alarm rate of a correct sampler).
BOOST_AUTO_TEST_CASE_TEMPLATE(reservoir_keeps_every_position_with_probability_k_over_n, T,
                              real_types) {
  const std::size_t k = 10, n = 50, runs = 2000;
  std::vector<double> counts(n, 0.0);
  const auto rows = stream_rows<T>(0, n);
  std::vector<std::int32_t> labels(n);
  std::iota(labels.begin(), labels.end(), 0);
  for (std::uint64_t seed = 0; seed < runs; ++seed) {
    s::reservoir_buffer<T> b({.capacity = k, .feature_dim = 3, .seed = seed});
    // Offered in uneven chunks: the result must not depend on how the stream is cut.
    b.add(std::span<const T>(rows.data(), 7 * 3), std::span<const std::int32_t>(labels.data(), 7));
    b.add(std::span<const T>(rows.data() + 21, (n - 7) * 3),
          std::span<const std::int32_t>(labels.data() + 7, n - 7));
    BOOST_TEST_REQUIRE(b.size() == k);
    BOOST_TEST_REQUIRE(b.seen() == n);
    for (const auto pos : b.stream_positions()) counts[pos] += 1;
    if (seed < 5) check_rows_match_positions(b, labels);
  }
  const double q = inclusion_statistic(counts, static_cast<double>(runs),
                                       static_cast<double>(k) / static_cast<double>(n));
  const double p_value = chi2_sf(q, static_cast<double>(n - 1));
  BOOST_TEST_MESSAGE("reservoir chi2 = " << q << ", p = " << p_value);
  BOOST_TEST(p_value >= 1e-4);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(reservoir_fills_before_it_replaces, T, real_types) {
  s::reservoir_buffer<T> b({.capacity = 8, .feature_dim = 3, .seed = 1});
  std::vector<std::int32_t> labels(30);
  for (std::size_t t = 0; t < labels.size(); ++t) labels[t] = static_cast<std::int32_t>(t % 4);
  const auto rows = stream_rows<T>(0, 30);
  for (std::size_t t = 0; t < 30; ++t) {
    b.add(std::span<const T>(rows.data() + 3 * t, 3), std::span<const std::int32_t>(&labels[t], 1));
    BOOST_TEST(b.size() == std::min<std::size_t>(t + 1, 8));
    if (t < 8) BOOST_TEST(b.stream_positions()[t] == t);
  }
  check_rows_match_positions(b, labels);
  BOOST_TEST(b.capacity() == 8u);
  BOOST_TEST(b.feature_dim() == 3u);
}

// Classes arriving one after another, interleaved at random, or with very different sizes: the
// per-class counts end within one of each other, and the buffer never holds more than capacity.
BOOST_AUTO_TEST_CASE_TEMPLATE(class_balanced_counts_are_equal, T, real_types) {
  const std::size_t capacity = 100;
  for (int order = 0; order < 3; ++order) {
    s::class_balanced_buffer<T> b({.capacity = capacity, .feature_dim = 3, .seed = 5u + order});
    std::vector<std::int32_t> stream;
    const std::int32_t classes = 7;
    if (order == 0) {  // blocks 0, 1, ..., 6 of 250 rows each
      for (std::int32_t c = 0; c < classes; ++c) stream.insert(stream.end(), 250, c);
    } else if (order == 1) {  // interleaved pseudo-randomly
      std::uint64_t x = 17;
      for (int i = 0; i < 2000; ++i) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        stream.push_back(static_cast<std::int32_t>((x >> 33) % classes));
      }
    } else {  // blocks of decreasing size, largest first (class 6: 600 rows ... class 0: 120)
      for (std::int32_t c = classes - 1; c >= 0; --c)
        stream.insert(stream.end(), static_cast<std::size_t>(120 + 80 * c), c);
    }
    const auto rows = stream_rows<T>(0, stream.size());
    for (std::size_t t = 0; t < stream.size(); t += 13) {
      const std::size_t m = std::min<std::size_t>(13, stream.size() - t);
      b.add(std::span<const T>(rows.data() + 3 * t, 3 * m),
            std::span<const std::int32_t>(stream.data() + t, m));
      BOOST_TEST_REQUIRE(b.size() <= capacity);
      std::size_t total = 0;
      for (std::int32_t c = 0; c < classes; ++c) total += b.count(c);
      BOOST_TEST_REQUIRE(total == b.size());
    }
    BOOST_TEST(b.size() == capacity);
    BOOST_TEST(b.classes_seen() == static_cast<std::size_t>(classes));
    std::size_t lo = capacity, hi = 0;
    for (std::int32_t c = 0; c < classes; ++c) {
      lo = std::min(lo, b.count(c));
      hi = std::max(hi, b.count(c));
      // count() agrees with the stored labels.
      BOOST_TEST(b.count(c) ==
                 static_cast<std::size_t>(std::count(b.labels().begin(), b.labels().end(), c)));
    }
    BOOST_TEST(hi - lo <= 1u, "order " << order << ": counts " << lo << ".." << hi);
    BOOST_TEST(b.count(99) == 0u);
    check_rows_match_positions(b, stream);
  }
}

// Within one class the class-balanced buffer is a reservoir: with a single class, k = 10 of
// n = 50, 2000 seeds, each position is kept with probability 1/5 (chi-square p >= 1e-4).
BOOST_AUTO_TEST_CASE(class_balanced_is_uniform_within_a_class) {
  const std::size_t k = 10, n = 50, runs = 2000;
  std::vector<double> counts(n, 0.0);
  const auto rows = stream_rows<double>(0, n);
  const std::vector<std::int32_t> labels(n, 3);
  for (std::uint64_t seed = 0; seed < runs; ++seed) {
    s::class_balanced_buffer<double> b({.capacity = k, .feature_dim = 3, .seed = seed});
    b.add(rows, labels);
    for (const auto pos : b.stream_positions()) counts[pos] += 1;
  }
  const double q = inclusion_statistic(counts, static_cast<double>(runs), 0.2);
  BOOST_TEST(chi2_sf(q, static_cast<double>(n - 1)) >= 1e-4);
}

// Batches hold stored rows only, distinct when batch <= size, each slot equally likely
// (20000 batches of 3 from 10 rows: chi-square p >= 1e-4); larger batches reuse rows.
BOOST_AUTO_TEST_CASE_TEMPLATE(sample_batch_draws_stored_rows_uniformly, T, real_types) {
  s::reservoir_buffer<T> b({.capacity = 10, .feature_dim = 3, .seed = 11});
  const auto rows = stream_rows<T>(0, 25);
  std::vector<std::int32_t> labels(25);
  for (std::size_t t = 0; t < 25; ++t) labels[t] = static_cast<std::int32_t>(100 + t);
  b.add(rows, labels);
  std::vector<double> counts(25, 0.0);
  std::vector<T> f(3 * 3);
  std::vector<std::int32_t> l(3);
  const std::set<std::uint64_t> stored(b.stream_positions().begin(), b.stream_positions().end());
  const std::size_t batches = 20000;
  for (std::size_t i = 0; i < batches; ++i) {
    b.sample_batch(f, l);
    std::set<std::int32_t> distinct(l.begin(), l.end());
    BOOST_TEST_REQUIRE(distinct.size() == 3u);
    for (std::size_t j = 0; j < 3; ++j) {
      const auto t = static_cast<std::uint64_t>(l[j] - 100);
      BOOST_TEST_REQUIRE(stored.count(t) == 1u);
      const auto expect = stream_rows<T>(t, 1);
      BOOST_TEST_REQUIRE(std::equal(expect.begin(), expect.end(), f.begin() + 3 * j));
      counts[t] += 1;
    }
  }
  std::vector<double> stored_counts;
  for (const auto t : stored) stored_counts.push_back(counts[t]);
  const double q = inclusion_statistic(stored_counts, static_cast<double>(batches), 0.3);
  BOOST_TEST(chi2_sf(q, 9.0) >= 1e-4);
  // batch 25 > size 10: with replacement, still only stored rows.
  std::vector<T> fb(25 * 3);
  std::vector<std::int32_t> lb(25);
  b.sample_batch(fb, lb);
  for (const auto x : lb) BOOST_TEST(stored.count(static_cast<std::uint64_t>(x - 100)) == 1u);
}

template <class B>
struct snapshot {
  using T = std::remove_cvref_t<decltype(std::declval<const B&>().features()[0])>;
  std::vector<T> features;
  std::vector<std::int32_t> labels;
  std::vector<std::uint64_t> positions;
  std::uint64_t seen;
  explicit snapshot(const B& b)
      : features(b.features().begin(), b.features().end()),
        labels(b.labels().begin(), b.labels().end()),
        positions(b.stream_positions().begin(), b.stream_positions().end()),
        seen(b.seen()) {}
  bool operator==(const snapshot&) const = default;
};

// After a rejected call the buffer equals, and keeps behaving like, a twin that never saw it.
template <class B>
void bad_input_case() {
  using T = typename snapshot<B>::T;
  BOOST_CHECK_THROW(B({.capacity = 0, .feature_dim = 3}), continua::invalid_argument);
  BOOST_CHECK_THROW(B({.capacity = 4, .feature_dim = 0}), continua::invalid_argument);
  B b({.capacity = 6, .feature_dim = 3, .seed = 2});
  B twin({.capacity = 6, .feature_dim = 3, .seed = 2});
  std::vector<T> f(3);
  std::vector<std::int32_t> l(1);
  BOOST_CHECK_THROW(b.sample_batch(f, l), continua::invalid_argument);  // empty
  const auto rows = stream_rows<T>(0, 9);
  const std::vector<std::int32_t> labels{0, 1, 0, 1, 2, 2, 0, 1, 2};
  b.add(rows, labels);
  twin.add(rows, labels);
  const snapshot<B> before(b);
  BOOST_CHECK_THROW(
      b.add(std::span<const T>(rows.data(), 8), std::span<const std::int32_t>(labels.data(), 2)),
      continua::invalid_argument);  // 8 values, not a multiple of 3
  BOOST_CHECK_THROW(
      b.add(std::span<const T>(rows.data(), 9), std::span<const std::int32_t>(labels.data(), 2)),
      continua::size_mismatch);  // 3 rows, 2 labels
  auto nan_rows = rows;
  nan_rows[10] = std::numeric_limits<T>::quiet_NaN();
  BOOST_CHECK_THROW(b.add(nan_rows, labels), continua::non_finite_error);
  std::vector<T> f_wrong(5);
  std::vector<std::int32_t> l2(2);
  BOOST_CHECK_THROW(b.sample_batch(f_wrong, l2), continua::size_mismatch);
  BOOST_TEST((snapshot<B>(b) == before));
  // Neither generator advanced: both buffers keep and sample the same from here on.
  const auto more = stream_rows<T>(9, 20);
  const std::vector<std::int32_t> more_labels(20, 1);
  b.add(more, more_labels);
  twin.add(more, more_labels);
  BOOST_TEST((snapshot<B>(b) == snapshot<B>(twin)));
  std::vector<T> fa(12), fb(12);
  std::vector<std::int32_t> la(4), lb(4);
  b.sample_batch(fa, la);
  twin.sample_batch(fb, lb);
  BOOST_TEST(fa == fb);
  BOOST_TEST(la == lb);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(bad_input_leaves_reservoir_unchanged, T, real_types) {
  bad_input_case<s::reservoir_buffer<T>>();
}
BOOST_AUTO_TEST_CASE_TEMPLATE(bad_input_leaves_class_balanced_unchanged, T, real_types) {
  bad_input_case<s::class_balanced_buffer<T>>();
}

// Saved mid-stream and loaded into a buffer built with another seed: both continue bit for bit
// (kept rows, sampled batches). A damaged byte, another capacity or element type: io_error and
// the loading buffer unchanged.
template <class B, class Other>
void checkpoint_case() {
  using T = typename snapshot<B>::T;
  std::vector<std::int32_t> labels(300);
  for (std::size_t t = 0; t < labels.size(); ++t)
    labels[t] = static_cast<std::int32_t>((t / 40) % 5);
  const auto rows = stream_rows<T>(0, 300);
  B a({.capacity = 32, .feature_dim = 3, .seed = 77});
  a.add(std::span<const T>(rows.data(), 3 * 150),
        std::span<const std::int32_t>(labels.data(), 150));
  std::vector<T> f(15);
  std::vector<std::int32_t> l(5);
  a.sample_batch(f, l);
  temp_file file;
  io::save(file.path, a);
  B b({.capacity = 32, .feature_dim = 3, .seed = 1234});
  io::load(file.path, b);
  BOOST_TEST((snapshot<B>(a) == snapshot<B>(b)));
  for (int round = 0; round < 5; ++round) {
    const std::size_t from = 150 + 30 * static_cast<std::size_t>(round);
    a.add(std::span<const T>(rows.data() + 3 * from, 90),
          std::span<const std::int32_t>(labels.data() + from, 30));
    b.add(std::span<const T>(rows.data() + 3 * from, 90),
          std::span<const std::int32_t>(labels.data() + from, 30));
    std::vector<T> fa(30), fb(30);
    std::vector<std::int32_t> la(10), lb(10);
    a.sample_batch(fa, la);
    b.sample_batch(fb, lb);
    BOOST_TEST(std::memcmp(fa.data(), fb.data(), fa.size() * sizeof(T)) == 0);
    BOOST_TEST(la == lb);
  }
  BOOST_TEST((snapshot<B>(a) == snapshot<B>(b)));

  B fresh({.capacity = 32, .feature_dim = 3, .seed = 9});
  fresh.add(std::span<const T>(rows.data(), 30), std::span<const std::int32_t>(labels.data(), 10));
  const snapshot<B> kept(fresh);
  B wrong_cap({.capacity = 31, .feature_dim = 3});
  BOOST_CHECK_THROW(io::load(file.path, wrong_cap), continua::io_error);
  BOOST_TEST(wrong_cap.size() == 0u);
  Other wrong_type({.capacity = 32, .feature_dim = 3});
  BOOST_CHECK_THROW(io::load(file.path, wrong_type), continua::io_error);
  BOOST_TEST(wrong_type.size() == 0u);
  flip_byte(file.path, static_cast<std::size_t>(fs::file_size(file.path) / 2));
  BOOST_CHECK_THROW(io::load(file.path, fresh), continua::io_error);
  BOOST_TEST((snapshot<B>(fresh) == kept));
}

BOOST_AUTO_TEST_CASE(reservoir_checkpoints_resume_bit_identically) {
  checkpoint_case<s::reservoir_buffer<float>, s::reservoir_buffer<double>>();
  checkpoint_case<s::reservoir_buffer<double>, s::reservoir_buffer<float>>();
}
BOOST_AUTO_TEST_CASE(class_balanced_checkpoints_resume_bit_identically) {
  checkpoint_case<s::class_balanced_buffer<float>, s::class_balanced_buffer<double>>();
  checkpoint_case<s::class_balanced_buffer<double>, s::class_balanced_buffer<float>>();
  // A reservoir file is not a class-balanced one.
  s::reservoir_buffer<float> r({.capacity = 4, .feature_dim = 3});
  temp_file file;
  io::save(file.path, r);
  s::class_balanced_buffer<float> c({.capacity = 4, .feature_dim = 3});
  BOOST_CHECK_THROW(io::load(file.path, c), continua::io_error);
}

// Each forged checkpoint breaks one rule a loaded buffer relies on (rows within the stream,
// a permutation, stream positions, finite features, the generators' keys, the reservoir's size,
// the class lists); loading it must throw io_error saying which, and leave the buffer as it was.
template <class B>
void forged_case(
    const std::vector<
        std::pair<std::string, std::function<void(const fs::path&, const fs::path&)>>>& forgeries) {
  using T = typename snapshot<B>::T;
  const auto rows = stream_rows<T>(0, 40);
  std::vector<std::int32_t> labels(40);
  for (std::size_t t = 0; t < labels.size(); ++t) labels[t] = static_cast<std::int32_t>(t % 3);
  B a({.capacity = 16, .feature_dim = 3, .seed = 5});
  a.add(std::span<const T>(rows.data(), 3 * 10), std::span<const std::int32_t>(labels.data(), 10));
  temp_file good, bad;
  io::save(good.path, a);
  B target({.capacity = 16, .feature_dim = 3, .seed = 8});
  target.add(std::span<const T>(rows.data() + 30, 3 * 20),
             std::span<const std::int32_t>(labels.data() + 10, 20));
  const snapshot<B> before(target);
  for (const auto& [expected, make] : forgeries) {
    make(good.path, bad.path);
    const auto m = io_error_of([&] { io::load(bad.path, target); });
    BOOST_TEST(m.find(expected) != std::string::npos, m << " (expected: " << expected << ")");
    BOOST_TEST((snapshot<B>(target) == before));
  }
  io::load(good.path, target);  // and the untouched file loads
  BOOST_TEST((snapshot<B>(target) == snapshot<B>(a)));
}

using forgery = std::function<void(const fs::path&, const fs::path&)>;
template <class E, class Edit>
forgery edit(std::string name, Edit e) {
  return [name, e](const fs::path& from, const fs::path& to) { forge<E>(from, to, name, e); };
}

template <class T>
std::vector<std::pair<std::string, forgery>> store_forgeries() {
  using u64 = std::vector<std::uint64_t>;
  return {
      {"holds more rows than the stream had",
       edit<std::uint64_t>("seen", [](u64& v) { v[0] = 9; })},
      {"perm is not a permutation of the rows",
       edit<std::uint64_t>("perm", [](u64& v) { v[3] = v[4]; })},
      {"a stream position lies past the end of the stream",
       edit<std::uint64_t>("positions", [](u64& v) { v[2] = 10; })},
      {"features hold NaN or Inf",
       edit<T>("features", [](std::vector<T>& v) { v[7] = std::numeric_limits<T>::infinity(); })},
      {"the sampler is not stream 1 of the seed",
       edit<std::uint64_t>("sampler", [](u64& v) { v[1] = 0; })},
      {"the chooser is not stream 0 of the seed",
       edit<std::uint64_t>("chooser", [](u64& v) { v[0] += 1; })},
      {"record 'capacity' holds 17, but this",
       edit<std::uint64_t>("capacity", [](u64& v) { v[0] = 17; })},
  };
}

BOOST_AUTO_TEST_CASE_TEMPLATE(forged_reservoir_checkpoints_are_refused_unchanged, T, real_types) {
  auto f = store_forgeries<T>();
  f.push_back({"a reservoir holds min(seen, capacity) rows",
               edit<std::uint64_t>("seen", [](std::vector<std::uint64_t>& v) { v[0] = 11; })});
  forged_case<s::reservoir_buffer<T>>(f);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(forged_class_balanced_checkpoints_are_refused_unchanged, T,
                              real_types) {
  using u64 = std::vector<std::uint64_t>;
  auto f = store_forgeries<T>();
  f.push_back({"class slot lists do not match the stored labels",
               edit<std::uint64_t>("class_slots", [](u64& v) { std::swap(v[0], v.back()); })});
  f.push_back({"class slot lists overrun the stored rows",
               edit<std::uint64_t>("class_counts", [](u64& v) { v[0] += 5; })});
  f.push_back({"class slot lists do not cover the stored rows",
               edit<std::uint64_t>("class_counts", [](u64& v) { v[0] -= 1; })});
  f.push_back(
      {"a class holds more rows than it offered", edit<std::uint64_t>("class_seen", [](u64& v) {
         v[0] -= 3;
         v[1] += 3;
       })});
  f.push_back({"per-class seen counts do not add up to seen",
               edit<std::uint64_t>("class_seen", [](u64& v) { v[0] += 1; })});
  f.push_back(
      {"duplicate class label", edit<std::int32_t>("class_labels", [](auto& v) { v[1] = v[0]; })});
  // Issue 10: per-class counts whose sum wraps around to `seen` (two of them 2^63 too large)
  // passed the check that the sum equals seen.
  f.push_back(
      {"the sum of the per-class seen counts", edit<std::uint64_t>("class_seen", [](u64& v) {
         v[1] += std::uint64_t{1} << 63;
         v[2] += std::uint64_t{1} << 63;
       })});
  forged_case<s::class_balanced_buffer<T>>(f);
}

// Issue 10: a loaded stream counter `seen` at UINT64_MAX made the next add() draw from an empty
// range (division by zero) or wrap the stream positions. An add() that would take seen past
// UINT64_MAX now throws, naming the counter, and leaves the buffer as it was; one row below the
// limit still adds. `raise(good, bad, by)` forges a checkpoint whose stream is `by` rows longer.
template <class B, class Raise>
void saturated_stream_case(Raise&& raise) {
  using T = typename snapshot<B>::T;
  const std::uint64_t max = std::numeric_limits<std::uint64_t>::max();
  const auto rows = stream_rows<T>(0, 24);
  std::vector<std::int32_t> labels(24);
  for (std::size_t t = 0; t < labels.size(); ++t) labels[t] = static_cast<std::int32_t>(t % 3);
  B a({.capacity = 8, .feature_dim = 3, .seed = 5});
  a.add(std::span<const T>(rows.data(), 3 * 20), std::span<const std::int32_t>(labels.data(), 20));
  temp_file good, bad;
  io::save(good.path, a);
  raise(good.path, bad.path, max - 1 - a.seen());
  B b({.capacity = 8, .feature_dim = 3, .seed = 5});
  io::load(bad.path, b);
  BOOST_TEST_REQUIRE(b.seen() == max - 1);
  const auto one = std::span<const T>(rows.data() + 60, 3);
  const auto one_label = std::span<const std::int32_t>(labels.data() + 20, 1);
  b.add(one, one_label);  // seen becomes UINT64_MAX: still counted
  BOOST_TEST(b.seen() == max);
  BOOST_TEST(b.size() == 8u);
  const snapshot<B> before(b);
  try {
    b.add(one, one_label);
    BOOST_FAIL("add past UINT64_MAX rows did not throw");
  } catch (const continua::invalid_argument& e) {
    const std::string m = e.what();
    BOOST_TEST_INFO(m);
    BOOST_TEST((m.find("::add") != std::string::npos &&
                m.find("seen = 18446744073709551615") != std::string::npos &&
                m.find("overflowing") != std::string::npos));
  }
  BOOST_TEST((snapshot<B>(b) == before));
  std::vector<T> f(6);
  std::vector<std::int32_t> l(2);
  b.sample_batch(f, l);  // sampling still works
}

BOOST_AUTO_TEST_CASE(reservoir_refuses_to_count_past_uint64_max) {
  saturated_stream_case<s::reservoir_buffer<double>>(
      [](const fs::path& from, const fs::path& to, std::uint64_t by) {
        forge<std::uint64_t>(from, to, "seen", [by](std::vector<std::uint64_t>& v) { v[0] += by; });
      });
}

BOOST_AUTO_TEST_CASE(class_balanced_refuses_to_count_past_uint64_max) {
  saturated_stream_case<s::class_balanced_buffer<double>>(
      [](const fs::path& from, const fs::path& to, std::uint64_t by) {
        temp_file mid;
        forge<std::uint64_t>(from, mid.path, "seen",
                             [by](std::vector<std::uint64_t>& v) { v[0] += by; });
        forge<std::uint64_t>(mid.path, to, "class_seen",
                             [by](std::vector<std::uint64_t>& v) { v[0] += by; });
      });
}

BOOST_AUTO_TEST_SUITE_END()
