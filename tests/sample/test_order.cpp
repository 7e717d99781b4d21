// Data-order samplers: the cyclical curriculum follows Kesgin & Amasyali's geometric recurrence
// (and the triangle / cosine waves) exactly and draws uniformly from the easiest admissible
// items; power-law rehearsal and the learning-progress task sampler match their closed-form
// probabilities; selection frequencies pass Pearson chi-square tests at a false-alarm rate of
// 0.001 each (p-value from the exact chi-square tail, checked against table critical values);
// the draws are the documented Philox words; bad options and bad input are refused with the
// state unchanged; checkpoints resume bit-identically and forged ones are refused.
#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <limits>
#include <numeric>
#include <set>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "../common/files.hpp"
#include "../common/forge.hpp"
#include "continua/io/state.hpp"
#include "continua/sample.hpp"
#include "continua/sample/replay.hpp"

namespace s = continua::sample;
namespace io = continua::io;
namespace fs = std::filesystem;

namespace {

using continua_test::forge;
using continua_test::io_error_of;
using continua_test::temp_dir;

constexpr double false_alarm = 1e-3;

// Upper tail P(X >= x) of chi^2(dof): 1 - P(dof/2, x/2), the regularised lower incomplete gamma
// as its power series (accurate to ~1e-13 for the statistics met here, x < 200).
double chi2_sf(double x, double dof) {
  const double a = dof / 2, z = x / 2;
  double term = 1.0 / a, sum = term;
  for (int k = 1; k < 5000 && term > sum * 1e-17; ++k) {
    term *= z / (a + k);
    sum += term;
  }
  return 1.0 - std::exp(a * std::log(z) - z - std::lgamma(a)) * sum;
}

// Pearson's statistic of counts against probabilities p (summing to 1) over `draws` draws.
double pearson(const std::vector<double>& counts, const std::vector<double>& p, double draws) {
  double q = 0;
  for (std::size_t i = 0; i < counts.size(); ++i) {
    const double e = draws * p[i];
    q += (counts[i] - e) * (counts[i] - e) / e;
  }
  return q;
}

// Passes unless the chi-square p-value of the counts is below the false-alarm rate.
void check_frequencies(const std::vector<double>& counts, const std::vector<double>& p,
                       const std::string& what) {
  const double draws = std::accumulate(counts.begin(), counts.end(), 0.0);
  const double q = pearson(counts, p, draws);
  const double pv = chi2_sf(q, static_cast<double>(counts.size() - 1));
  BOOST_TEST_MESSAGE(what << ": chi2 = " << q << " (df " << counts.size() - 1 << "), p = " << pv);
  BOOST_TEST(pv >= false_alarm,
             what << ": chi2 = " << q << ", df = " << counts.size() - 1 << ", p = " << pv);
}

template <class E>
std::string invalid_argument_of(E&& f) {
  try {
    f();
  } catch (const continua::invalid_argument& e) {
    return e.what();
  }
  return "<no invalid_argument thrown>";
}

bool has(const std::string& text, std::string_view part) {
  return text.find(part) != std::string::npos;
}

using forgery = std::pair<std::string, std::function<void(const fs::path&, const fs::path&)>>;
template <class E, class Edit>
forgery edit(std::string expected, std::string name, Edit e) {
  return {expected,
          [name, e](const fs::path& from, const fs::path& to) { forge<E>(from, to, name, e); }};
}

// Loads each forged copy of `good` into `target`: io_error with the expected words, and the
// target's checkpoint image unchanged; the untouched file still loads.
template <class C>
void check_forgeries(const C& saved, C& target, const std::vector<forgery>& forgeries) {
  temp_dir dir;
  const fs::path good = dir.path / "good.ckpt", bad = dir.path / "bad.ckpt";
  io::save(good, saved);
  const auto before = io::save_bytes(target);
  for (const auto& [expected, make] : forgeries) {
    make(good, bad);
    const std::string m = io_error_of([&] { io::load(bad, target); });
    BOOST_TEST(has(m, expected), m << " (expected: " << expected << ")");
    BOOST_TEST((io::save_bytes(target) == before));
  }
  io::load(good, target);
  BOOST_TEST((io::save_bytes(target) == io::save_bytes(saved)));
}

// Rank of each item by (difficulty, index): computed by counting, not sorting.
std::vector<std::size_t> ranks(const std::vector<double>& d) {
  std::vector<std::size_t> r(d.size(), 0);
  for (std::size_t i = 0; i < d.size(); ++i)
    for (std::size_t j = 0; j < d.size(); ++j)
      if (d[j] < d[i] || (d[j] == d[i] && j < i)) ++r[i];
  return r;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(order)

// The tail function gives the table's 0.001 critical values (Abramowitz & Stegun, table 26.8).
BOOST_AUTO_TEST_CASE(chi2_tail_matches_table_critical_values) {
  const std::vector<std::pair<double, double>> table{
      {1, 10.828}, {3, 16.266}, {5, 20.515}, {7, 24.322}, {11, 31.264}, {15, 37.697}, {19, 43.820}};
  for (const auto& [df, crit] : table)
    BOOST_TEST(chi2_sf(crit, df) == 1e-3, boost::test_tools::tolerance(2e-3));
  BOOST_TEST(chi2_sf(3.0, 2) == std::exp(-1.5), boost::test_tools::tolerance(1e-12));
}

// ---------------------------------------------------------------- cyclical curriculum

// floor 0.2, multiplier 0.5: 0.2, 0.4, 0.8, 1 (min(1.6, 1)), 0.5, 0.25, then max(0.125, 0.2)
// = 0.2 closes the cycle: the paper's schedule, values exact in binary.
BOOST_AUTO_TEST_CASE(geometric_schedule_is_the_papers_recurrence) {
  s::cyclical_curriculum cc({.floor = 0.2, .ceiling = 1.0, .multiplier = 0.5});
  const std::vector<double> cycle{0.2, 0.4, 0.8, 1.0, 0.5, 0.25};
  BOOST_TEST(cc.cycle_length() == 6u);
  for (std::uint64_t t = 0; t < 40; ++t) BOOST_TEST(cc.fraction_at(t) == cycle[t % 6]);
  // A generic case against the recurrence run step by step (rising by 1/m, falling by m).
  const double lo = 0.13, hi = 0.9, m = 0.7;
  s::cyclical_curriculum g({.floor = lo, .ceiling = hi, .multiplier = m});
  double f = lo;
  bool rising = true;
  for (std::uint64_t t = 0; t < 100; ++t) {
    BOOST_TEST_REQUIRE(g.fraction_at(t) == f, "t = " << t);
    if (f == lo) rising = true;
    if (f == hi) rising = false;
    f = rising ? std::min(f / m, hi) : std::max(f * m, lo);
  }
  // floor == ceiling: constant.
  s::cyclical_curriculum flat({.floor = 0.5, .ceiling = 0.5});
  BOOST_TEST(flat.cycle_length() == 1u);
  BOOST_TEST(flat.fraction_at(12345) == 0.5);
}

BOOST_AUTO_TEST_CASE(triangle_and_cosine_waves) {
  s::cyclical_curriculum tri(
      {.floor = 0.25, .ceiling = 0.75, .wave = s::curriculum_wave::triangle, .period = 8});
  s::cyclical_curriculum cosw(
      {.floor = 0.25, .ceiling = 0.75, .wave = s::curriculum_wave::cosine, .period = 8});
  BOOST_TEST(tri.cycle_length() == 8u);
  for (std::uint64_t t = 0; t < 24; ++t) {
    const double p = static_cast<double>(t % 8) / 8;
    BOOST_TEST(tri.fraction_at(t) == 0.25 + 0.5 * (1 - std::abs(1 - 2 * p)),
               boost::test_tools::tolerance(1e-15));
    BOOST_TEST(cosw.fraction_at(t) == 0.25 + 0.25 * (1 - std::cos(2 * M_PI * p)),
               boost::test_tools::tolerance(1e-15));
  }
  BOOST_TEST(tri.fraction_at(0) == 0.25);
  BOOST_TEST(tri.fraction_at(4) == 0.75);
  BOOST_TEST(tri.fraction_at(2) == 0.5);
  BOOST_TEST(cosw.fraction_at(4) == 0.75);
  // Admissible counts: round(f N) clamped to [1, N]; N = 10, f = 0.25 -> 3 (2.5 rounds up).
  tri.set_difficulty(std::vector<double>(10, 1.0));
  BOOST_TEST(tri.admissible_at(0) == 3u);
  BOOST_TEST(tri.admissible_at(2) == 5u);
  BOOST_TEST(tri.admissible_at(4) == 8u);  // 7.5
  s::cyclical_curriculum tiny({.floor = 0.01, .ceiling = 1.0, .multiplier = 0.5});
  tiny.set_difficulty(std::vector<float>{3.f, 1.f, 2.f});
  BOOST_TEST(tiny.admissible_at(0) == 1u);  // round(0.03) = 0, clamped to 1
  BOOST_TEST(tiny.easiest_first()[0] == 1u);
}

// 20 items with tied scores; over one geometric cycle (k = 4, 8, 16, 20, 10, 5) 15000 draws per
// step land only on the k easiest items by (score, index), and uniformly among them.
BOOST_AUTO_TEST_CASE(curriculum_draws_uniformly_from_the_easiest_items) {
  const std::size_t n = 20;
  std::vector<double> d(n);
  for (std::size_t i = 0; i < n; ++i) d[i] = static_cast<double>(((7 * i) % n) / 2);
  const auto rank = ranks(d);
  s::cyclical_curriculum cc({.floor = 0.2, .multiplier = 0.5, .seed = 42});
  cc.set_difficulty(d);
  const std::vector<std::size_t> expected_k{4, 8, 16, 20, 10, 5};
  std::vector<std::uint64_t> batch(15000);
  for (std::size_t t = 0; t < 6; ++t) {
    const std::size_t k = cc.admissible();
    BOOST_TEST_REQUIRE(k == expected_k[t]);
    for (std::size_t j = 0; j < k; ++j) BOOST_TEST(rank[cc.easiest_first()[j]] == j);
    cc.sample(batch);
    std::vector<double> counts(k, 0.0);
    for (const auto item : batch) {
      BOOST_TEST_REQUIRE(item < n);
      BOOST_TEST_REQUIRE(rank[item] < k, "step " << t << ": item " << item << " not admissible");
      counts[rank[item]] += 1;
    }
    check_frequencies(counts, std::vector<double>(k, 1.0 / static_cast<double>(k)),
                      "curriculum step " + std::to_string(t));
    cc.advance();
  }
  BOOST_TEST(cc.step() == 6u);
  BOOST_TEST(cc.admissible() == 4u);  // the next cycle starts easy again
}

// Draw j is order[x mod k] with x = the 64-bit value of Philox words 2j, 2j + 1 of stream
// {seed, 0} (rejection, probability k / 2^64, does not occur here); same seed, same draws.
BOOST_AUTO_TEST_CASE(curriculum_draws_are_the_documented_philox_words) {
  const std::vector<double> d{5, 1, 4, 2, 3, 0, 9, 8};
  s::cyclical_curriculum a({.floor = 0.5, .multiplier = 0.5, .seed = 9});
  s::cyclical_curriculum b({.floor = 0.5, .multiplier = 0.5, .seed = 9});
  s::cyclical_curriculum other({.floor = 0.5, .multiplier = 0.5, .seed = 10});
  a.set_difficulty(d);
  b.set_difficulty(std::vector<float>(d.begin(), d.end()));
  other.set_difficulty(d);
  std::vector<std::uint64_t> xa(64), xb(64), xo(64);
  a.sample(xa);
  b.sample(xb);
  other.sample(xo);
  BOOST_TEST(xa == xb);
  BOOST_TEST(xa != xo);
  const auto order = a.easiest_first();
  for (std::size_t j = 0; j < 64; ++j) {
    const continua::philox_key key{9, 0};
    const std::uint64_t x = (std::uint64_t{continua::random_bits(key, 2 * j)} << 32) |
                            continua::random_bits(key, 2 * j + 1);
    BOOST_TEST(xa[j] == order[x % 4]);
  }
}

// The items are a replay buffer's slots: scored by the stored row (here its stream position),
// a batch holds only the admissible rows, copied with their labels.
BOOST_AUTO_TEST_CASE(curriculum_samples_a_replay_buffer) {
  s::class_balanced_buffer<double> memory({.capacity = 12, .feature_dim = 2, .seed = 6});
  std::vector<double> rows(2 * 30);
  std::vector<std::int32_t> labels(30);
  for (std::size_t t = 0; t < 30; ++t) {
    rows[2 * t] = static_cast<double>(t);
    rows[2 * t + 1] = 0.5 * static_cast<double>(t);
    labels[t] = static_cast<std::int32_t>(t % 3);
  }
  memory.add(rows, labels);
  std::vector<double> score(memory.size());
  for (std::size_t i = 0; i < score.size(); ++i) score[i] = memory.features()[2 * i];
  const auto rank = ranks(score);
  s::cyclical_curriculum cc({.floor = 0.25, .multiplier = 0.5, .seed = 2});
  std::vector<double> f(2 * 64);
  std::vector<std::int32_t> l(64);
  BOOST_CHECK_THROW(cc.sample_batch(memory, f, l), continua::invalid_argument);  // no scores
  cc.set_difficulty(std::vector<double>(5, 1.0));
  BOOST_CHECK_THROW(cc.sample_batch(memory, f, l), continua::size_mismatch);  // 5 scores, 12 rows
  cc.set_difficulty(score);
  std::vector<double> wrong(3);
  BOOST_CHECK_THROW(cc.sample_batch(memory, wrong, l), continua::size_mismatch);
  for (int t = 0; t < 4; ++t) {
    const std::size_t k = cc.admissible();
    cc.sample_batch(memory, f, l);
    for (std::size_t b = 0; b < l.size(); ++b) {
      const double x = f[2 * b];
      const auto slot =
          static_cast<std::size_t>(std::find(score.begin(), score.end(), x) - score.begin());
      BOOST_TEST_REQUIRE(slot < score.size());
      BOOST_TEST(rank[slot] < k);
      BOOST_TEST(f[2 * b + 1] == 0.5 * x);
      BOOST_TEST(l[b] == static_cast<std::int32_t>(static_cast<std::size_t>(x) % 3));
    }
    cc.advance();
  }
}

BOOST_AUTO_TEST_CASE(curriculum_options_are_validated) {
  using o = s::cyclical_curriculum_options;
  const auto msg = [](o opt) {
    return invalid_argument_of([&] { s::cyclical_curriculum c(opt); });
  };
  BOOST_TEST(has(msg({.floor = 0}), "option 'floor'"));
  BOOST_TEST(has(msg({.floor = 0.8, .ceiling = 0.5}), "option 'floor'"));
  BOOST_TEST(has(msg({.floor = std::nan("")}), "option 'floor'"));
  BOOST_TEST(has(msg({.ceiling = 1.5}), "option 'ceiling'"));
  BOOST_TEST(has(msg({.ceiling = 0}), "option 'ceiling'"));
  BOOST_TEST(has(msg({.multiplier = 1.0}), "option 'multiplier'"));
  BOOST_TEST(has(msg({.multiplier = 0.0}), "option 'multiplier'"));
  BOOST_TEST(has(msg({.floor = 1e-9, .multiplier = 0.99999999}), "longer than 2^20"));
  BOOST_TEST(has(msg({.wave = s::curriculum_wave::cosine, .period = 1}), "option 'period'"));
  BOOST_TEST(has(msg({.wave = static_cast<s::curriculum_wave>(7)}), "option 'wave'"));
  // The multiplier is not used by the periodic waves, so it is not checked for them.
  s::cyclical_curriculum ok({.wave = s::curriculum_wave::triangle, .multiplier = 5});
  BOOST_TEST(ok.cycle_length() == 10u);
}

BOOST_AUTO_TEST_CASE(curriculum_bad_input_leaves_it_unchanged) {
  s::cyclical_curriculum cc({.seed = 3}), twin({.seed = 3});
  std::vector<std::uint64_t> out(5);
  BOOST_TEST(has(invalid_argument_of([&] { cc.sample(out); }), "call set_difficulty first"));
  const std::vector<double> d{0.3, 0.1, 0.2, 0.5};
  cc.set_difficulty(d);
  twin.set_difficulty(d);
  cc.advance(3);
  twin.advance(3);
  const auto before = io::save_bytes(cc);
  BOOST_CHECK_THROW(cc.set_difficulty(std::vector<double>{}), continua::invalid_argument);
  try {
    cc.set_difficulty(std::vector<double>{0.1, std::nan(""), 0.3});
    BOOST_FAIL("a NaN score was accepted");
  } catch (const continua::non_finite_error& e) {
    BOOST_TEST(e.index() == 1u);
  }
  BOOST_CHECK_THROW(cc.set_difficulty(std::vector<float>{1.f, INFINITY}),
                    continua::non_finite_error);
  BOOST_CHECK_THROW(cc.advance(std::numeric_limits<std::uint64_t>::max()),
                    continua::invalid_argument);
  BOOST_TEST((io::save_bytes(cc) == before));
  std::vector<std::uint64_t> a(50), b(50);
  cc.sample(a);
  twin.sample(b);
  BOOST_TEST(a == b);
}

// Saved mid-run and loaded into one built with another seed: the same draws from there on,
// across steps and a re-scoring. Another setting: io_error, the target unchanged.
BOOST_AUTO_TEST_CASE(curriculum_checkpoint_resumes_bit_identically) {
  std::vector<double> d(30);
  for (std::size_t i = 0; i < d.size(); ++i) d[i] = std::sin(static_cast<double>(i));
  s::cyclical_curriculum a({.floor = 0.3, .multiplier = 0.75, .seed = 17});
  a.set_difficulty(d);
  std::vector<std::uint64_t> x(7), y(7);
  for (int t = 0; t < 5; ++t) {
    a.sample(x);
    a.advance();
  }
  const auto image = io::save_bytes(a);
  s::cyclical_curriculum b({.floor = 0.3, .multiplier = 0.75, .seed = 1});
  io::load_bytes(image, b);
  BOOST_TEST(b.step() == 5u);
  for (int t = 0; t < 12; ++t) {
    if (t == 6) {
      std::reverse(d.begin(), d.end());
      a.set_difficulty(d);
      b.set_difficulty(d);
    }
    a.sample(x);
    b.sample(y);
    BOOST_TEST(x == y);
    a.advance();
    b.advance();
  }
  BOOST_TEST((io::save_bytes(a) == io::save_bytes(b)));
  s::cyclical_curriculum other({.floor = 0.3, .multiplier = 0.8});
  const auto kept = io::save_bytes(other);
  BOOST_TEST(has(io_error_of([&] { io::load_bytes(image, other); }), "multiplier"));
  BOOST_TEST((io::save_bytes(other) == kept));
}

BOOST_AUTO_TEST_CASE(curriculum_forged_checkpoints_are_refused) {
  s::cyclical_curriculum a({.seed = 5}), target({.seed = 6});
  a.set_difficulty(std::vector<double>{0.5, 0.25, 1.0});
  a.advance(2);
  target.set_difficulty(std::vector<double>{1, 2});
  using u64 = std::vector<std::uint64_t>;
  check_forgeries(
      a, target,
      {edit<double>("a difficulty is NaN or Inf", "difficulty",
                    [](std::vector<double>& v) { v[1] = std::nan(""); }),
       edit<std::uint64_t>("the sampler is not stream 0 of the seed", "sampler",
                           [](u64& v) { v[1] = 1; }),
       edit<std::uint64_t>("the sampler is not stream 0 of the seed", "seed",
                           [](u64& v) { v[0] += 1; }),
       edit<double>("record 'floor'", "floor", [](std::vector<double>& v) { v[0] = 0.5; }),
       edit<std::uint32_t>("record 'wave'", "wave",
                           [](std::vector<std::uint32_t>& v) { v[0] = 1; })});
}

// ---------------------------------------------------------------- power-law rehearsal

BOOST_AUTO_TEST_CASE(rehearsal_probabilities_are_the_power_law) {
  const std::vector<std::uint64_t> pos{0, 3, 9, 9, 4};
  const std::uint64_t now = 9;
  for (const double alpha : {0.0, 0.5, 1.5, 4.0}) {
    s::power_law_rehearsal r({.alpha = alpha});
    std::vector<double> p(5);
    r.probabilities(pos, now, p);
    std::vector<double> w(5);
    double total = 0;
    for (std::size_t i = 0; i < 5; ++i) total += w[i] = std::pow(10.0 - pos[i], -alpha);
    for (std::size_t i = 0; i < 5; ++i)
      BOOST_TEST(p[i] == w[i] / total, boost::test_tools::tolerance(1e-14));
  }
  // Exponents that underflow (age + 1)^-alpha for every item still give a distribution.
  s::power_law_rehearsal steep({.alpha = 2000});
  std::vector<double> p(3);
  steep.probabilities(std::vector<std::uint64_t>{1000, 998, 500}, 5000, p);
  BOOST_TEST(std::pow(4001.0, -2000.0) == 0.0);  // the naive weights are all zero
  const double w1 = std::pow(4001.0 / 4003.0, 2000), w2 = std::pow(4001.0 / 4501.0, 2000);
  BOOST_TEST(p[0] == 1.0 / (1.0 + w1 + w2), boost::test_tools::tolerance(1e-12));
  BOOST_TEST(p[1] == w1 / (1.0 + w1 + w2), boost::test_tools::tolerance(1e-12));
  BOOST_TEST(p[2] == w2 / (1.0 + w1 + w2), boost::test_tools::tolerance(1e-9));
  BOOST_TEST(p[2] < 1e-100);
  std::vector<std::uint64_t> slots(100);
  steep.sample(std::vector<std::uint64_t>{1000, 998, 500}, 5000, slots);
  for (const auto sl : slots) BOOST_TEST(sl != 2u);
}

// 12 items of ages 0..33, alpha = 1: 60000 draws against p_i (chi-square, df 11); draw j uses
// Philox words 2j, 2j + 1 of stream {seed, 0} as a 53-bit uniform u and returns the first i with
// cumulative weight above u * total.
BOOST_AUTO_TEST_CASE(rehearsal_frequencies_match_the_power_law) {
  std::vector<std::uint64_t> pos(12);
  for (std::size_t i = 0; i < pos.size(); ++i) pos[i] = 100 - 3 * i;
  s::power_law_rehearsal r({.alpha = 1.0, .seed = 21});
  std::vector<double> p(12);
  r.probabilities(pos, 100, p);
  std::vector<std::uint64_t> slots(60000);
  r.sample(pos, 100, slots);
  std::vector<double> counts(12, 0.0);
  for (const auto sl : slots) counts[sl] += 1;
  check_frequencies(counts, p, "power-law rehearsal");
  // The documented words, and the same draws from a second sampler with the same seed.
  std::vector<double> cum(12);
  std::partial_sum(p.begin(), p.end(), cum.begin());
  for (std::size_t j = 0; j < 200; ++j) {
    const continua::philox_key key{21, 0};
    const double u = continua::unit_double(continua::random_bits(key, 2 * j),
                                           continua::random_bits(key, 2 * j + 1));
    std::size_t i = 0;
    while (cum[i] <= u * cum.back()) ++i;  // an u on a rounding boundary would not occur here
    BOOST_TEST(slots[j] == i);
  }
  s::power_law_rehearsal again({.alpha = 1.0, .seed = 21});
  std::vector<std::uint64_t> slots2(60000);
  again.sample(pos, 100, slots2);
  BOOST_TEST(slots == slots2);
}

// With a reservoir buffer: rows come back with their labels and features, each stored row at
// the rate its age (seen - 1 - position) gives (chi-square over the 10 slots).
BOOST_AUTO_TEST_CASE(rehearsal_samples_a_replay_buffer_by_age) {
  s::reservoir_buffer<float> memory({.capacity = 10, .feature_dim = 2, .seed = 4});
  std::vector<float> rows(2 * 40);
  std::vector<std::int32_t> labels(40);
  for (std::size_t t = 0; t < 40; ++t) {
    rows[2 * t] = static_cast<float>(t);
    rows[2 * t + 1] = -static_cast<float>(t);
    labels[t] = static_cast<std::int32_t>(1000 + t);
  }
  memory.add(rows, labels);
  s::power_law_rehearsal r({.alpha = 0.8, .seed = 2});
  std::vector<double> w(10);
  double total = 0;
  const auto pos = memory.stream_positions();
  for (std::size_t i = 0; i < 10; ++i)
    total += w[i] = std::pow(static_cast<double>(39 - pos[i]) + 1, -0.8);
  std::vector<double> counts(10, 0.0);
  std::vector<float> f(2 * 500);
  std::vector<std::int32_t> l(500);
  for (int round = 0; round < 80; ++round) {
    r.sample_batch(memory, f, l);
    for (std::size_t b = 0; b < l.size(); ++b) {
      const auto t = static_cast<std::uint64_t>(l[b] - 1000);
      const auto slot =
          static_cast<std::size_t>(std::find(pos.begin(), pos.end(), t) - pos.begin());
      BOOST_TEST_REQUIRE(slot < 10u);
      BOOST_TEST_REQUIRE(f[2 * b] == static_cast<float>(t));
      BOOST_TEST_REQUIRE(f[2 * b + 1] == -static_cast<float>(t));
      counts[slot] += 1;
    }
  }
  for (auto& x : w) x /= total;
  check_frequencies(counts, w, "rehearsal over a reservoir");
}

BOOST_AUTO_TEST_CASE(rehearsal_bad_options_and_input) {
  BOOST_TEST(
      has(invalid_argument_of([] { s::power_law_rehearsal r({.alpha = -1}); }), "option 'alpha'"));
  BOOST_TEST(has(invalid_argument_of([] { s::power_law_rehearsal r({.alpha = INFINITY}); }),
                 "option 'alpha'"));
  s::power_law_rehearsal r({.seed = 8}), twin({.seed = 8});
  const std::vector<std::uint64_t> pos{4, 7, 2};
  std::vector<std::uint64_t> out(6);
  std::vector<double> p(2);
  BOOST_TEST(has(invalid_argument_of([&] { r.sample({}, 5, out); }), "positions is empty"));
  BOOST_TEST(has(invalid_argument_of([&] { r.sample(pos, 6, out); }), "lies after now = 6"));
  BOOST_CHECK_THROW(r.probabilities(pos, 9, p), continua::size_mismatch);
  s::class_balanced_buffer<double> empty({.capacity = 4, .feature_dim = 3});
  std::vector<double> f(6);
  std::vector<std::int32_t> l(2);
  BOOST_TEST(has(invalid_argument_of([&] { r.sample_batch(empty, f, l); }), "buffer is empty"));
  std::vector<double> wrong(5);
  BOOST_CHECK_THROW(r.sample_batch(empty, wrong, l), continua::size_mismatch);
  // Nothing was drawn: both samplers give the same draws from here.
  std::vector<std::uint64_t> a(20), b(20);
  r.sample(pos, 7, a);
  twin.sample(pos, 7, b);
  BOOST_TEST(a == b);
}

BOOST_AUTO_TEST_CASE(rehearsal_checkpoints_resume_and_forgeries_are_refused) {
  const std::vector<std::uint64_t> pos{10, 2, 7, 5, 0};
  s::power_law_rehearsal a({.alpha = 1.25, .seed = 31});
  std::vector<std::uint64_t> x(13), y(13);
  a.sample(pos, 12, x);
  const auto image = io::save_bytes(a);
  s::power_law_rehearsal b({.alpha = 1.25, .seed = 2});
  io::load_bytes(image, b);
  for (int i = 0; i < 4; ++i) {
    a.sample(pos, 12 + i, x);
    b.sample(pos, 12 + i, y);
    BOOST_TEST(x == y);
  }
  s::power_law_rehearsal other({.alpha = 1.0});
  BOOST_TEST(has(io_error_of([&] { io::load_bytes(image, other); }), "record 'alpha'"));
  s::power_law_rehearsal target({.alpha = 1.25, .seed = 3});
  using u64 = std::vector<std::uint64_t>;
  check_forgeries(a, target,
                  {edit<std::uint64_t>("the sampler is not stream 0 of the seed", "sampler",
                                       [](u64& v) { v[0] ^= 1; }),
                   edit<std::uint64_t>("the sampler is not stream 0 of the seed", "sampler",
                                       [](u64& v) { v[1] = 2; })});
}

// ---------------------------------------------------------------- learning progress

// The EMAs equal their closed forms (first loss, then weights r (1 - r)^(n - k)); the
// probabilities are epsilon / K + (1 - epsilon) LP_i / sum LP.
BOOST_AUTO_TEST_CASE(learning_progress_follows_its_formula) {
  const double fast = 0.3, slow = 0.05, eps = 0.2;
  s::learning_progress_sampler lp({.tasks = 4, .fast = fast, .slow = slow, .epsilon = eps});
  std::vector<double> p(4);
  lp.probabilities(p);
  for (const double x : p) BOOST_TEST(x == 0.25);  // nothing observed: uniform
  std::vector<std::vector<double>> losses(4);
  for (int step = 0; step < 40; ++step) {
    losses[0].push_back(2.0 * std::exp(-0.1 * step));     // learning
    losses[1].push_back(1.0);                             // flat
    losses[2].push_back(0.5 + 0.02 * step);               // forgetting
    if (step < 3) losses[3].push_back(1.0 - 0.2 * step);  // observed briefly
  }
  // Interleaved, in batches of mixed tasks (float losses for the batch API).
  for (std::size_t step = 0; step < 40; ++step) {
    std::vector<std::uint64_t> tasks{0, 1, 2};
    std::vector<float> l{static_cast<float>(losses[0][step]), static_cast<float>(losses[1][step]),
                         static_cast<float>(losses[2][step])};
    lp.observe(std::span<const std::uint64_t>(tasks), std::span<const float>(l));
    if (step < 3) lp.observe(3, losses[3][step]);
  }
  const auto ema = [](const std::vector<double>& l, double r) {
    const std::size_t n = l.size();
    double m =
        std::pow(1 - r, static_cast<double>(n - 1)) * static_cast<double>(static_cast<float>(l[0]));
    for (std::size_t k = 1; k < n; ++k)
      m += r * std::pow(1 - r, static_cast<double>(n - 1 - k)) *
           static_cast<double>(static_cast<float>(l[k]));
    return m;
  };
  std::vector<double> lps(4);
  double total = 0;
  for (std::size_t i = 0; i < 4; ++i) {
    std::vector<double> li = losses[i];
    if (i == 3)  // task 3 was observed through the double API: no rounding to float
      for (auto& v : li) v = static_cast<double>(static_cast<float>(v));
    BOOST_TEST(lp.observations()[i] == li.size());
    const double f = ema(li, fast), sl = ema(li, slow);
    if (i != 3) {
      BOOST_TEST(lp.fast_average()[i] == f, boost::test_tools::tolerance(1e-12));
      BOOST_TEST(lp.slow_average()[i] == sl, boost::test_tools::tolerance(1e-12));
    }
    lps[i] = std::abs(lp.fast_average()[i] - lp.slow_average()[i]);
    total += lps[i];
  }
  BOOST_TEST(lps[1] == 0.0);  // a flat loss makes no progress
  BOOST_TEST(lps[0] > 0.0);
  BOOST_TEST(lps[2] > 0.0);  // forgetting counts
  lp.probabilities(p);
  for (std::size_t i = 0; i < 4; ++i)
    BOOST_TEST(p[i] == eps / 4 + (1 - eps) * lps[i] / total, boost::test_tools::tolerance(1e-14));
  BOOST_TEST(p[1] == eps / 4, boost::test_tools::tolerance(1e-14));
  std::vector<double> prog(4);
  lp.progress(prog);
  BOOST_TEST(prog == lps);
}

// Task 3's closed form in double (observed through the one-loss API).
BOOST_AUTO_TEST_CASE(learning_progress_single_observations_in_double) {
  s::learning_progress_sampler lp({.tasks = 1, .fast = 0.5, .slow = 0.25});
  lp.observe(0, 1.0);
  BOOST_TEST(lp.fast_average()[0] == 1.0);
  BOOST_TEST(lp.slow_average()[0] == 1.0);
  lp.observe(0, 3.0);
  BOOST_TEST(lp.fast_average()[0] == 2.0);
  BOOST_TEST(lp.slow_average()[0] == 1.5);
  lp.observe(0, 0.0);
  BOOST_TEST(lp.fast_average()[0] == 1.0);
  BOOST_TEST(lp.slow_average()[0] == 1.125);
}

// Six tasks with different progress (one with none), epsilon = 0.2: 60000 draws against p
// (chi-square, df 5). With epsilon = 0 a task without progress is never drawn.
BOOST_AUTO_TEST_CASE(learning_progress_frequencies_match_the_probabilities) {
  for (const double eps : {0.2, 0.0}) {
    s::learning_progress_sampler lp(
        {.tasks = 6, .fast = 0.5, .slow = 0.1, .epsilon = eps, .seed = 77});
    for (std::uint64_t i = 0; i < 6; ++i) {
      lp.observe(i, 1.0);
      lp.observe(i, 1.0 - 0.1 * static_cast<double>(i));  // task 0: no progress
    }
    std::vector<double> p(6);
    lp.probabilities(p);
    std::vector<std::uint64_t> draws(60000);
    lp.sample(draws);
    std::vector<double> counts(6, 0.0);
    for (const auto t : draws) counts[t] += 1;
    if (eps > 0) {
      check_frequencies(counts, p, "learning progress, epsilon 0.2");
    } else {
      BOOST_TEST(counts[0] == 0.0);
      check_frequencies(std::vector<double>(counts.begin() + 1, counts.end()),
                        std::vector<double>(p.begin() + 1, p.end()),
                        "learning progress, epsilon 0");
    }
  }
  // Before any observation: uniform.
  s::learning_progress_sampler fresh({.tasks = 5, .seed = 3});
  std::vector<std::uint64_t> draws(30000);
  fresh.sample(draws);
  std::vector<double> counts(5, 0.0);
  for (const auto t : draws) counts[t] += 1;
  check_frequencies(counts, std::vector<double>(5, 0.2), "learning progress, uniform start");
}

BOOST_AUTO_TEST_CASE(learning_progress_options_are_validated) {
  using o = s::learning_progress_options;
  const auto msg = [](o opt) {
    return invalid_argument_of([&] { s::learning_progress_sampler l(opt); });
  };
  BOOST_TEST(has(msg({.tasks = 0}), "option 'tasks'"));
  BOOST_TEST(has(msg({.tasks = 2, .fast = 0}), "option 'fast'"));
  BOOST_TEST(has(msg({.tasks = 2, .fast = 1.5}), "option 'fast'"));
  BOOST_TEST(has(msg({.tasks = 2, .fast = std::nan("")}), "option 'fast'"));
  BOOST_TEST(has(msg({.tasks = 2, .fast = 0.1, .slow = 0.1}), "option 'slow'"));
  BOOST_TEST(has(msg({.tasks = 2, .slow = 0}), "option 'slow'"));
  BOOST_TEST(has(msg({.tasks = 2, .epsilon = -0.1}), "option 'epsilon'"));
  BOOST_TEST(has(msg({.tasks = 2, .epsilon = 1.5}), "option 'epsilon'"));
  s::learning_progress_sampler ok({.tasks = 2, .fast = 1.0, .slow = 0.5, .epsilon = 1.0});
  BOOST_TEST(ok.tasks() == 2u);
}

BOOST_AUTO_TEST_CASE(learning_progress_bad_input_leaves_it_unchanged) {
  s::learning_progress_sampler lp({.tasks = 3, .seed = 4}), twin({.tasks = 3, .seed = 4});
  for (auto* x : {&lp, &twin}) {
    x->observe(0, 2.0);
    x->observe(1, 1.0);
    x->observe(0, 1.5);
  }
  const auto before = io::save_bytes(lp);
  const std::vector<std::uint64_t> tasks{0, 2, 1};
  BOOST_CHECK_THROW(lp.observe(std::span<const std::uint64_t>(tasks),
                               std::span<const double>(std::vector<double>{1, 2})),
                    continua::size_mismatch);
  const std::vector<double> nan_last{0.5, 0.5, std::nan("")};
  try {
    lp.observe(std::span<const std::uint64_t>(tasks), std::span<const double>(nan_last));
    BOOST_FAIL("a NaN loss was accepted");
  } catch (const continua::non_finite_error& e) {
    BOOST_TEST(e.index() == 2u);
  }
  const std::vector<std::uint64_t> bad_task{1, 3};
  BOOST_TEST(has(invalid_argument_of([&] {
                   lp.observe(std::span<const std::uint64_t>(bad_task),
                              std::span<const double>(std::vector<double>{1, 1}));
                 }),
                 "task 3 (entry 1) is not in [0, 3)"));
  std::vector<double> wrong(2);
  BOOST_CHECK_THROW(lp.probabilities(wrong), continua::size_mismatch);
  BOOST_CHECK_THROW(lp.progress(wrong), continua::size_mismatch);
  BOOST_TEST((io::save_bytes(lp) == before));
  std::vector<std::uint64_t> a(40), b(40);
  lp.sample(a);
  twin.sample(b);
  BOOST_TEST(a == b);
}

BOOST_AUTO_TEST_CASE(learning_progress_checkpoints_resume_and_forgeries_are_refused) {
  s::learning_progress_sampler a({.tasks = 4, .seed = 12});
  std::vector<std::uint64_t> x(9), y(9);
  for (int step = 0; step < 30; ++step) {
    a.sample(x);
    for (const auto t : x) a.observe(t, 1.0 / (1.0 + static_cast<double>(step + t)));
  }
  const auto image = io::save_bytes(a);
  s::learning_progress_sampler b({.tasks = 4, .seed = 99});
  io::load_bytes(image, b);
  for (int step = 30; step < 60; ++step) {
    a.sample(x);
    b.sample(y);
    BOOST_TEST(x == y);
    for (const auto t : x) {
      a.observe(t, std::cos(static_cast<double>(step * t)));
      b.observe(t, std::cos(static_cast<double>(step * t)));
    }
  }
  BOOST_TEST((io::save_bytes(a) == io::save_bytes(b)));
  s::learning_progress_sampler other({.tasks = 5});
  BOOST_TEST(has(io_error_of([&] { io::load_bytes(image, other); }), "record 'tasks'"));
  s::learning_progress_sampler other_eps({.tasks = 4, .epsilon = 0.3});
  BOOST_TEST(has(io_error_of([&] { io::load_bytes(image, other_eps); }), "record 'epsilon'"));

  // A count at its maximum saturates instead of wrapping back to "never observed".
  {
    temp_dir dir;
    io::save(dir.path / "a.ckpt", a);
    forge<std::uint64_t>(dir.path / "a.ckpt", dir.path / "max.ckpt", "observations",
                         [](std::vector<std::uint64_t>& v) {
                           for (auto& c : v) c = std::numeric_limits<std::uint64_t>::max();
                         });
    s::learning_progress_sampler m({.tasks = 4});
    io::load(dir.path / "max.ckpt", m);
    const double before = m.fast_average()[2];
    m.observe(2, 10.0);
    BOOST_TEST(m.observations()[2] == std::numeric_limits<std::uint64_t>::max());
    BOOST_TEST(m.fast_average()[2] == 0.9 * before + 0.1 * 10.0);
  }

  s::learning_progress_sampler saved({.tasks = 3, .seed = 1}), target({.tasks = 3, .seed = 2});
  saved.observe(0, 1.0);
  saved.observe(0, 0.5);
  saved.observe(1, 2.0);
  target.observe(2, 3.0);
  using u64 = std::vector<std::uint64_t>;
  using f64 = std::vector<double>;
  check_forgeries(saved, target,
                  {edit<double>("a loss average is NaN or Inf", "fast_average",
                                [](f64& v) { v[0] = INFINITY; }),
                   edit<double>("a loss average is NaN or Inf", "slow_average",
                                [](f64& v) { v[1] = std::nan(""); }),
                   edit<double>("a task never observed has a non-zero loss average", "fast_average",
                                [](f64& v) { v[2] = 0.5; }),
                   edit<double>("a task observed once has two different loss averages",
                                "slow_average", [](f64& v) { v[1] = 1.0; }),
                   edit<std::uint64_t>("a task never observed has a non-zero loss average",
                                       "observations", [](u64& v) { v[1] = 0; }),
                   edit<std::uint64_t>("the sampler is not stream 0 of the seed", "sampler",
                                       [](u64& v) { v[1] = 5; })});
}

BOOST_AUTO_TEST_SUITE_END()
