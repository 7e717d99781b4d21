// Random numbers: Philox-4x32-10 against Random123's published known answers, the documented
// word layout of every draw, the in-house log/sin/cos against libm, distribution tests with a
// stated false-alarm rate, offset composition, stream independence, option validation, and (in
// the Thrust build) device fills bit-identical to host fills.
#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <numbers>
#include <random>
#include <string>
#include <vector>

#include "containers.hpp"
#include "continua/core/random.hpp"

namespace {

using namespace continua_test;
using continua::philox_key;
using continua::uint32x4;
using real_types = boost::mpl::list<float, double>;

// Every statistical check below is two-sided at significance 1e-6: a correct generator fails a
// given check with probability 1e-6 (about 2e-5 for the whole suite). The seeds are fixed, so a
// pass is reproducible; a failure means the numbers are wrong, not unlucky.
constexpr double alpha = 1e-6;
// Normal quantile 1 - alpha / 2 (CLT bounds for means, variances and correlations).
constexpr double z_crit = 4.891638475698590;
// Sample size of the distribution tests.
constexpr std::size_t n_stat = 1'000'000;

// Dvoretzky-Kiefer-Wolfowitz inequality with Massart's constant: P(sup|F_n - F| > eps) <=
// 2 exp(-2 n eps^2) for every n, so this eps is an exact (not asymptotic) critical value.
double ks_critical(std::size_t n) {
  return std::sqrt(std::log(2.0 / alpha) / (2.0 * static_cast<double>(n)));
}

template <class T, class Cdf>
double ks_statistic(std::vector<T> x, Cdf cdf) {
  std::sort(x.begin(), x.end());
  const double n = static_cast<double>(x.size());
  double d = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double f = cdf(static_cast<double>(x[i]));
    d = std::max({d, static_cast<double>(i + 1) / n - f, f - static_cast<double>(i) / n});
  }
  return d;
}

double normal_cdf(double x) { return 0.5 * std::erfc(-x / std::numbers::sqrt2); }

struct moments {
  long double mean = 0, var = 0;
};
template <class T>
moments sample_moments(const std::vector<T>& x) {
  moments m;
  for (T v : x) m.mean += v;
  m.mean /= static_cast<long double>(x.size());
  for (T v : x) m.var += (v - m.mean) * (v - m.mean);
  m.var /= static_cast<long double>(x.size() - 1);
  return m;
}

// Pearson correlation of a[i] and b[i + lag].
template <class T>
double correlation(const std::vector<T>& a, const std::vector<T>& b, std::size_t lag = 0) {
  const std::size_t n = a.size() - lag;
  long double ma = 0, mb = 0;
  for (std::size_t i = 0; i < n; ++i) ma += a[i], mb += b[i + lag];
  ma /= n;
  mb /= n;
  long double sab = 0, saa = 0, sbb = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const long double da = a[i] - ma, db = b[i + lag] - mb;
    sab += da * db;
    saa += da * da;
    sbb += db * db;
  }
  return static_cast<double>(sab / std::sqrt(saa * sbb));
}

template <class T>
bool bit_equal(const std::vector<T>& a, const std::vector<T>& b) {
  // Empty vectors may hold null data pointers, which memcmp must not be given (UBSan).
  return a.size() == b.size() &&
         (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0);
}

bool same(const uint32x4& a, const uint32x4& b) {
  return a.w[0] == b.w[0] && a.w[1] == b.w[1] && a.w[2] == b.w[2] && a.w[3] == b.w[3];
}

std::uint64_t key_of(std::uint32_t k0, std::uint32_t k1) { return (std::uint64_t{k1} << 32) | k0; }

struct kat {
  uint32x4 ctr;
  std::uint32_t k0, k1;
  uint32x4 expect;
};

}  // namespace

BOOST_AUTO_TEST_SUITE(rng)

BOOST_AUTO_TEST_CASE(philox4x32_10_matches_random123_known_answers) {
  // Random123 tests/kat_vectors, the "philox4x32 10" lines (CTR[4] KEY[2] EXPECTED[4], word 0
  // first), as published in DEShawResearch/random123 (commit 9545ff64) and quoted identically by
  // several independent ports.
  const kat standard[] = {
      {{{0, 0, 0, 0}}, 0, 0, {{0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}}},
      {{{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}},
       0xffffffff,
       0xffffffff,
       {{0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}}},
      {{{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}},
       0xa4093822,
       0x299f31d0,
       {{0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}}},
  };
  // More rows of the longer Random123 vector file (examples/kat_vectors, as mirrored in
  // girving/random123-manual): single-bit keys in either key word.
  const kat extra[] = {
      {{{1, 0, 0, 0}}, 1, 0, {{0xac08141b, 0xdfc5ccbe, 0x79c07a47, 0xa7f66093}}},
      {{{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}},
       0,
       1,
       {{0x126514c3, 0xd1898b69, 0xda2707b3, 0x6e6fb436}}},
      {{{0, 0, 0, 0x80000000}}, 0, 0x80000000, {{0xf7a0b371, 0xe51dc93d, 0x56ce135d, 0x1d4b5580}}},
  };
  for (const auto* set : {&standard, &extra})
    for (const kat& k : *set) {
      const uint32x4 got = continua::philox4x32(k.ctr, key_of(k.k0, k.k1));
      BOOST_TEST_CONTEXT("ctr " << std::hex << k.ctr.w[0] << " " << k.ctr.w[1] << " " << k.ctr.w[2]
                                << " " << k.ctr.w[3] << " key " << k.k0 << " " << k.k1) {
        for (int j = 0; j < 4; ++j) BOOST_TEST(got.w[j] == k.expect.w[j]);
      }
    }
  // Usable in constant expressions: the bijection is a pure function.
  static_assert(continua::philox4x32(uint32x4{{0, 0, 0, 0}}, 0).w[0] == 0x6627e8d5u);
}

BOOST_AUTO_TEST_CASE(stream_key_maps_to_philox_key_and_counter_as_documented) {
  // seed = key words (k0, k1), stream = counter words 2-3, block = counter words 0-1: the third
  // known answer reached through the stream interface.
  const philox_key key{key_of(0xa4093822, 0x299f31d0), 0x0370734413198a2eULL};
  const uint32x4 got = continua::random_block(key, 0x85a308d3243f6a88ULL);
  BOOST_TEST(same(got, uint32x4{{0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}}));
  // Raw word i is lane i % 4 of block i / 4.
  for (std::uint64_t b :
       {std::uint64_t{0}, std::uint64_t{1}, std::uint64_t{123456789}, std::uint64_t{1} << 40}) {
    const uint32x4 blk = continua::random_block(key, b);
    for (std::uint64_t j = 0; j < 4; ++j)
      BOOST_TEST(continua::random_bits(key, 4 * b + j) == blk.w[j]);
  }
}

BOOST_AUTO_TEST_CASE(word_to_unit_conversions_are_exact) {
  using continua::unit_double;
  using continua::unit_double_oc;
  using continua::unit_float;
  using continua::unit_float_oc;
  const std::uint32_t max = 0xffffffffu;
  BOOST_TEST(unit_float(0) == 0.0f);
  BOOST_TEST(unit_float(0xff) == 0.0f);  // only the top 24 bits count
  BOOST_TEST(unit_float(0x100) == std::ldexp(1.0f, -24));
  BOOST_TEST(unit_float(max) == 1.0f - std::ldexp(1.0f, -24));
  BOOST_TEST(unit_float(max) < 1.0f);
  BOOST_TEST(unit_float_oc(0) == std::ldexp(1.0f, -24));
  BOOST_TEST(unit_float_oc(max) == 1.0f);
  BOOST_TEST(unit_double(0, 0) == 0.0);
  BOOST_TEST(unit_double(0, 0x7ff) == 0.0);  // only the top 53 bits count
  BOOST_TEST(unit_double(0, 0x800) == std::ldexp(1.0, -53));
  BOOST_TEST(unit_double(1, 0) == std::ldexp(1.0, -32));  // hi is the more significant word
  BOOST_TEST(unit_double(max, max) == 1.0 - std::ldexp(1.0, -53));
  BOOST_TEST(unit_double(max, max) < 1.0);
  BOOST_TEST(unit_double_oc(0, 0) == std::ldexp(1.0, -53));
  BOOST_TEST(unit_double_oc(max, max) == 1.0);
}

BOOST_AUTO_TEST_CASE(uniform_draws_use_the_documented_words) {
  const philox_key key{2024, 3};
  for (std::uint64_t i = 0; i < 20000; ++i) {
    const std::uint32_t w = continua::random_bits(key, i);
    BOOST_REQUIRE(continua::uniform_draw<float>(key, i) ==
                  std::ldexp(static_cast<float>(w >> 8), -24));
    const std::uint64_t hi = continua::random_bits(key, 2 * i),
                        lo = continua::random_bits(key, 2 * i + 1);
    BOOST_REQUIRE(continua::uniform_draw<double>(key, i) ==
                  std::ldexp(static_cast<double>(((hi << 32) | lo) >> 11), -53));
  }
}

BOOST_AUTO_TEST_CASE(portable_log_matches_libm_to_4_ulp) {
  // Bound: the atanh series is truncated below 1e-18 relative; s = f / (2 + f) and the Horner
  // steps add a few roundings, and log u is never a cancellation (k != 0 only when |log u| >
  // ln sqrt 2). 4 ulp relative covers that with margin.
  const double eps = std::numeric_limits<double>::epsilon();
  std::vector<std::pair<std::uint64_t, int>> cases;
  for (int bits : {32, 53}) {
    const std::uint64_t top = std::uint64_t{1} << bits;
    for (std::uint64_t n : {std::uint64_t{1}, std::uint64_t{2}, std::uint64_t{3}, top / 2 - 1,
                            top / 2, top / 2 + 1, top - 1, top})
      cases.push_back({n, bits});
    for (int e = 0; e < bits; ++e)  // around sqrt(2) 2^e, where the reduction switches
      for (std::int64_t d = -2; d <= 2; ++d) {
        const auto n = static_cast<std::uint64_t>(std::llround(std::ldexp(std::sqrt(2.0L), e)) + d);
        if (n >= 1 && n <= top) cases.push_back({n, bits});
      }
    continua::philox_engine gen({99, static_cast<std::uint64_t>(bits)});
    for (int i = 0; i < 200000; ++i) {
      const std::uint64_t r = (std::uint64_t{gen()} << 32) | gen();
      cases.push_back({(r >> (64 - bits)) + 1, bits});
    }
  }
  double worst = 0;
  for (auto [n, bits] : cases) {
    const long double ref = std::log(std::ldexp(static_cast<long double>(n), -bits));
    const double got = continua::detail::log_scaled(n, bits);
    if (ref == 0) {
      BOOST_REQUIRE(got == 0.0);
      continue;
    }
    const double rel = static_cast<double>(std::fabs((got - ref) / ref)) / eps;
    worst = std::max(worst, rel);
    BOOST_REQUIRE_MESSAGE(rel <= 4.0,
                          "log(" << n << " 2^-" << bits << ") off by " << rel << " ulp");
  }
  BOOST_TEST_MESSAGE("portable log: worst error " << worst << " ulp");
}

BOOST_AUTO_TEST_CASE(portable_sincos_matches_libm_to_4_eps_absolute) {
  // Bound: the quadrant reduction is exact, the Taylor tails are below 1e-19, and each of the
  // nine Horner steps rounds once with |z| <= 0.62 damping earlier errors; 4 eps absolute covers
  // that with margin.
  const double eps = std::numeric_limits<double>::epsilon();
  const long double two_pi = 2 * std::numbers::pi_v<long double>;
  std::vector<std::pair<std::uint64_t, int>> cases;
  for (int bits : {32, 53}) {
    const std::uint64_t top = std::uint64_t{1} << bits, eighth = top / 8;
    for (std::uint64_t k = 0; k < 8; ++k)  // octant boundaries, where quadrants switch
      for (std::int64_t d = -2; d <= 2; ++d) {
        const auto m = static_cast<std::int64_t>(k * eighth) + d;
        if (m >= 0 && static_cast<std::uint64_t>(m) < top)
          cases.push_back({static_cast<std::uint64_t>(m), bits});
      }
    cases.push_back({top - 1, bits});
    continua::philox_engine gen({98, static_cast<std::uint64_t>(bits)});
    for (int i = 0; i < 200000; ++i) {
      const std::uint64_t r = (std::uint64_t{gen()} << 32) | gen();
      cases.push_back({r >> (64 - bits), bits});
    }
  }
  double worst = 0;
  for (auto [m, bits] : cases) {
    const long double angle = two_pi * std::ldexp(static_cast<long double>(m), -bits);
    const auto sc = continua::detail::sincos_2pi_scaled(m, bits);
    const double es = static_cast<double>(std::fabs(sc.sin - std::sin(angle))) / eps;
    const double ec = static_cast<double>(std::fabs(sc.cos - std::cos(angle))) / eps;
    worst = std::max({worst, es, ec});
    BOOST_REQUIRE_MESSAGE(es <= 4.0 && ec <= 4.0, "sincos(2 pi " << m << " 2^-" << bits
                                                                 << "): errors " << es << ", " << ec
                                                                 << " eps");
  }
  BOOST_TEST_MESSAGE("portable sincos: worst error " << worst << " eps");
}

BOOST_AUTO_TEST_CASE(normal_draws_are_box_muller_of_the_documented_words) {
  // Reference: r = sqrt(-2 log u1), z = r (cos, sin)(2 pi u2) in long double with libm, from the
  // words the layout names. Allowed error: rounding to T (eps_T |z|) plus the double evaluation
  // (8 eps_double r: a few ulp in log, sqrt and sin/cos, scaled by r).
  const philox_key key{77, 5};
  const long double two_pi = 2 * std::numbers::pi_v<long double>;
  const double eps_d = std::numeric_limits<double>::epsilon();
  const double eps_f = std::numeric_limits<float>::epsilon();
  for (std::uint64_t b = 0; b < 20000; ++b) {
    const uint32x4 w = continua::random_block(key, b);
    for (int pair = 0; pair < 2; ++pair) {  // float: words (0, 1) and (2, 3)
      const long double u1 = std::ldexp(static_cast<long double>(w.w[2 * pair]) + 1, -32);
      const long double u2 = std::ldexp(static_cast<long double>(w.w[2 * pair + 1]), -32);
      const long double r = std::sqrt(-2 * std::log(u1));
      const long double ref[2] = {r * std::cos(two_pi * u2), r * std::sin(two_pi * u2)};
      for (int j = 0; j < 2; ++j) {
        const float got = continua::normal_draw<float>(key, 4 * b + 2 * pair + j);
        const double tol = eps_f * std::fabs(static_cast<double>(ref[j])) + 8 * eps_d * r;
        BOOST_REQUIRE_MESSAGE(std::fabs(got - ref[j]) <= tol,
                              "float draw " << 4 * b + 2 * pair + j << ": " << got << " vs "
                                            << static_cast<double>(ref[j]));
      }
    }
    // double: u1 from 53 bits of words (0, 1), u2 from 53 bits of words (2, 3).
    const std::uint64_t a = ((std::uint64_t{w.w[0]} << 32) | w.w[1]) >> 11;
    const std::uint64_t c = ((std::uint64_t{w.w[2]} << 32) | w.w[3]) >> 11;
    const long double u1 = std::ldexp(static_cast<long double>(a) + 1, -53);
    const long double u2 = std::ldexp(static_cast<long double>(c), -53);
    const long double r = std::sqrt(-2 * std::log(u1));
    const long double ref[2] = {r * std::cos(two_pi * u2), r * std::sin(two_pi * u2)};
    for (int j = 0; j < 2; ++j) {
      const double got = continua::normal_draw<double>(key, 2 * b + j);
      const double tol = eps_d * std::fabs(static_cast<double>(ref[j])) + 8 * eps_d * r;
      BOOST_REQUIRE_MESSAGE(
          std::fabs(got - ref[j]) <= tol,
          "double draw " << 2 * b + j << ": " << got << " vs " << static_cast<double>(ref[j]));
    }
  }
}

BOOST_AUTO_TEST_CASE_TEMPLATE(block_decodes_give_exactly_the_values_of_the_fills, T, real_types) {
  // normals_from_block / uniforms_from_block are the public decodes of one Philox block, for
  // kernels that generate each block once (regularize::refresh_unlearn): lane j of block b must
  // be, bit for bit, draw b * draws_per_block + j of fill_normal / fill_uniform with the default
  // (standard) parameters.
  constexpr unsigned per = continua::draws_per_block<T>;
  const philox_key keys[] = {{0, 0}, {31337, 2}, {~std::uint64_t{0}, std::uint64_t{1} << 40}};
  for (const philox_key& key : keys) {
    const std::uint64_t first = 1000;  // the fills start at draw first * per: block `first`
    const std::size_t blocks = 257;
    std::vector<T> normal(blocks * per), uniform(blocks * per);
    continua::fill_normal(normal, key, first * per);
    continua::fill_uniform(uniform, key, first * per);
    for (std::size_t b = 0; b < blocks; ++b) {
      T z[per], u[per];
      const uint32x4 r = continua::random_block(key, first + b);
      continua::normals_from_block(r, z);
      continua::uniforms_from_block(r, u);
      BOOST_REQUIRE_MESSAGE(std::memcmp(z, &normal[b * per], sizeof z) == 0,
                            "normals of block " << first + b << ", seed " << key.seed);
      BOOST_REQUIRE_MESSAGE(std::memcmp(u, &uniform[b * per], sizeof u) == 0,
                            "uniforms of block " << first + b << ", seed " << key.seed);
    }
  }
}

BOOST_AUTO_TEST_CASE_TEMPLATE(for_each_normal_draw_hands_out_the_fill_normal_values, T,
                              real_types) {
  // Property: sink(i, z) receives, once for each i in [0, n) and bit for bit, the value
  // fill_normal writes to x[i] at the same offset (offsets that start and end inside blocks).
  const philox_key key{2024, 3};
  for (std::size_t n : {0, 1, 5, 1003})
    for (std::uint64_t offset : {std::uint64_t{0}, std::uint64_t{3}, std::uint64_t{1} << 33}) {
      std::vector<T> expect(n), got(n, T(-7));
      std::vector<int> calls(n, 0);
      continua::fill_normal(expect, key, offset);
      continua::for_each_normal_draw<T>(continua::host_space{}, key, offset, n,
                                        [&](std::size_t i, T z) {
                                          got[i] = z;
                                          ++calls[i];
                                        });
      BOOST_TEST_CONTEXT("n " << n << " offset " << offset) {
        BOOST_TEST(bit_equal(expect, got));
        BOOST_TEST(std::count(calls.begin(), calls.end(), 1) == static_cast<std::ptrdiff_t>(n));
      }
    }
}

BOOST_AUTO_TEST_CASE_TEMPLATE(fills_equal_the_drawn_sequence_on_every_tensor_type, C,
                              tensor_types) {
  using T = continua::value_t<C>;
  const philox_key key{31337, 2};
  for (std::size_t n : {0, 1, 7, 1001})
    for (std::uint64_t offset :
         {std::uint64_t{0}, std::uint64_t{3}, (std::uint64_t{1} << 40) + 1}) {
      BOOST_TEST_CONTEXT("n " << n << " offset " << offset) {
        C x = make<C>::from(std::vector<double>(n, 0.0));
        continua::fill_uniform(x, key, offset, -2.0, 3.0);
        auto h = to_host(x);
        for (std::size_t i = 0; i < n; ++i) {
          const T expect = std::fma(T(5), continua::uniform_draw<T>(key, offset + i), T(-2));
          BOOST_REQUIRE(h[i] == static_cast<double>(expect));
        }
        continua::fill_normal(x, key, offset, 1.5, 0.5);
        h = to_host(x);
        for (std::size_t i = 0; i < n; ++i) {
          const T expect = std::fma(T(0.5), continua::normal_draw<T>(key, offset + i), T(1.5));
          BOOST_REQUIRE(h[i] == static_cast<double>(expect));
        }
      }
    }
}

BOOST_AUTO_TEST_CASE_TEMPLATE(two_halves_with_offsets_equal_one_fill, T, real_types) {
  const philox_key key{5, 9};
  const std::size_t n = 1001;
  for (std::uint64_t offset : {0, 1, 6})
    for (std::size_t split : {0, 1, 2, 3, 5, 500, 1000, 1001}) {
      BOOST_TEST_CONTEXT("offset " << offset << " split " << split) {
        std::vector<T> whole(n), parts(n);
        continua::span<T> p(parts.data(), n);
        continua::fill_uniform(whole, key, offset);
        continua::fill_uniform(p.subspan(0, split), key, offset);
        continua::fill_uniform(p.subspan(split, n - split), key, offset + split);
        BOOST_TEST(bit_equal(whole, parts));
        continua::fill_normal(whole, key, offset, -1.0, 3.0);
        continua::fill_normal(p.subspan(0, split), key, offset, -1.0, 3.0);
        continua::fill_normal(p.subspan(split, n - split), key, offset + split, -1.0, 3.0);
        BOOST_TEST(bit_equal(whole, parts));
      }
    }
}

BOOST_AUTO_TEST_CASE(the_last_draw_of_a_stream_is_reachable_and_overflow_is_rejected) {
  const philox_key key{1, 1};
  const std::uint64_t last = std::numeric_limits<std::uint64_t>::max();
  std::vector<double> one(1), two(2, 42.0);
  continua::fill_uniform(one, key, last);
  BOOST_TEST(one[0] == continua::uniform_draw<double>(key, last));
  BOOST_CHECK_THROW(continua::fill_uniform(two, key, last), continua::invalid_argument);
  BOOST_TEST(two[0] == 42.0);
  BOOST_TEST(two[1] == 42.0);
}

#if CONTINUA_TEST_THRUST
BOOST_AUTO_TEST_CASE_TEMPLATE(device_fill_is_bit_identical_to_host_fill, T, real_types) {
  const philox_key key{4242, 17};
  const std::size_t n = 100003;
  std::vector<T> host(n);
  thrust::device_vector<T> dev(n);
  continua::fill_uniform(host, key, 11, -1.0, 4.0);
  continua::fill_uniform(dev, key, 11, -1.0, 4.0);
  std::vector<T> back(n);
  thrust::copy(dev.begin(), dev.end(), back.begin());
  BOOST_TEST(bit_equal(host, back));
  continua::fill_normal(host, key, 5, 2.0, 0.25);
  continua::fill_normal(dev, key, 5, 2.0, 0.25);
  thrust::copy(dev.begin(), dev.end(), back.begin());
  BOOST_TEST(bit_equal(host, back));
}
#endif

BOOST_AUTO_TEST_CASE_TEMPLATE(uniform_mean_and_variance_within_clt_bounds, T, real_types) {
  // U[lo, hi): mean (lo + hi) / 2, variance w^2 / 12, fourth central moment w^4 / 80; the sample
  // variance has standard deviation sqrt((mu4 - sigma^4) / n).
  for (auto [lo, hi] : {std::pair{0.0, 1.0}, std::pair{-2.0, 3.0}}) {
    std::vector<T> x(n_stat);
    continua::fill_uniform(x, {123, 0}, 0, lo, hi);
    const double w = hi - lo, n = static_cast<double>(n_stat);
    const double var = w * w / 12, mu4 = std::pow(w, 4) / 80;
    const moments m = sample_moments(x);
    BOOST_TEST_CONTEXT("U[" << lo << ", " << hi << ")") {
      BOOST_TEST(std::fabs(static_cast<double>(m.mean) - (lo + hi) / 2) <=
                 z_crit * std::sqrt(var / n));
      BOOST_TEST(std::fabs(static_cast<double>(m.var) - var) <=
                 z_crit * std::sqrt((mu4 - var * var) / n));
      BOOST_TEST(*std::min_element(x.begin(), x.end()) >= T(lo));
      BOOST_TEST(*std::max_element(x.begin(), x.end()) <= T(hi));
    }
  }
}

BOOST_AUTO_TEST_CASE_TEMPLATE(normal_mean_and_variance_within_clt_bounds, T, real_types) {
  // N(mu, s^2): the sample mean has sd s / sqrt(n), the sample variance s^2 sqrt(2 / n).
  const double mu = 1.5, s = 2.0, n = static_cast<double>(n_stat);
  std::vector<T> x(n_stat);
  continua::fill_normal(x, {321, 4}, 0, mu, s);
  const moments m = sample_moments(x);
  BOOST_TEST(std::fabs(static_cast<double>(m.mean) - mu) <= z_crit * s / std::sqrt(n));
  BOOST_TEST(std::fabs(static_cast<double>(m.var) - s * s) <= z_crit * s * s * std::sqrt(2 / n));
}

BOOST_AUTO_TEST_CASE_TEMPLATE(kolmogorov_smirnov_against_the_exact_cdfs, T, real_types) {
  const double crit = ks_critical(n_stat);
  std::vector<T> x(n_stat);
  continua::fill_uniform(x, {55, 1});
  const double du = ks_statistic(x, [](double v) { return v; });
  BOOST_TEST(du <= crit, "uniform: D = " << du << ", critical " << crit);
  continua::fill_normal(x, {55, 2});
  const double dn = ks_statistic(x, normal_cdf);
  BOOST_TEST(dn <= crit, "normal: D = " << dn << ", critical " << crit);
  // Lanes of the same block and the sin/cos halves of a Box-Muller pair are independent: the KS
  // test on every fourth draw (one lane only) must pass too.
  for (std::size_t lane = 0; lane < 4; ++lane) {
    std::vector<T> sub;
    for (std::size_t i = lane; i < n_stat; i += 4) sub.push_back(x[i]);
    const double d = ks_statistic(sub, normal_cdf);
    BOOST_TEST(d <= ks_critical(sub.size()), "normal lane " << lane << ": D = " << d);
  }
}

BOOST_AUTO_TEST_CASE(streams_and_seeds_give_distinct_uncorrelated_sequences) {
  // Under independence the sample correlation is approximately N(0, 1 / n).
  std::vector<float> a(n_stat), b(n_stat), c(n_stat);
  continua::fill_uniform(a, {7, 0});
  continua::fill_uniform(b, {7, 1});
  continua::fill_uniform(c, {8, 0});
  const double bound = z_crit / std::sqrt(static_cast<double>(n_stat));
  BOOST_TEST(std::fabs(correlation(a, b)) <= bound);
  BOOST_TEST(std::fabs(correlation(a, c)) <= bound);
  BOOST_TEST(std::fabs(correlation(b, c)) <= bound);
  // Neighbouring lanes (lag 1), the same lane of the next block (lag 4), a Box-Muller pair.
  BOOST_TEST(std::fabs(correlation(a, a, 1)) <= bound);
  BOOST_TEST(std::fabs(correlation(a, a, 4)) <= bound);
  std::vector<double> z(n_stat), even, odd;
  continua::fill_normal(z, {7, 0});
  for (std::size_t i = 0; i + 1 < n_stat; i += 2) even.push_back(z[i]), odd.push_back(z[i + 1]);
  BOOST_TEST(std::fabs(correlation(even, odd)) <=
             z_crit / std::sqrt(static_cast<double>(even.size())));
  // Equal 24-bit values at the same position: Poisson with mean n 2^-24 ~ 0.06, so >= 10 has
  // probability below 1e-15.
  std::size_t equal_ab = 0, equal_ac = 0;
  for (std::size_t i = 0; i < n_stat; ++i) equal_ab += a[i] == b[i], equal_ac += a[i] == c[i];
  BOOST_TEST(equal_ab < 10u);
  BOOST_TEST(equal_ac < 10u);
}

BOOST_AUTO_TEST_CASE(engine_yields_the_raw_words_of_its_stream) {
  static_assert(std::uniform_random_bit_generator<continua::philox_engine>);
  const philox_key key{2718, 28};
  continua::philox_engine gen(key);
  for (std::uint64_t k = 0; k < 4099; ++k) BOOST_REQUIRE(gen() == continua::random_bits(key, k));
  gen.discard(1000);
  BOOST_TEST(gen() == continua::random_bits(key, 4099 + 1000));
  BOOST_TEST(gen.position() == 5100u);
  continua::philox_engine later(key, 5100);
  BOOST_TEST(later() == gen());
}

BOOST_AUTO_TEST_CASE(zero_stddev_gives_the_mean) {
  std::vector<float> x(37);
  continua::fill_normal(x, {1, 2}, 0, -0.75, 0.0);
  for (float v : x) BOOST_TEST(v == -0.75f);
}

BOOST_AUTO_TEST_CASE(bad_options_throw_naming_the_field_and_leave_the_tensor_untouched) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  std::vector<float> x(10, 42.0f);
  const auto untouched = [&] {
    return std::all_of(x.begin(), x.end(), [](float v) { return v == 42.0f; });
  };
  const auto throws = [&](auto call, const std::string& field) {
    try {
      call();
    } catch (const continua::invalid_argument& e) {
      const std::string what = e.what();
      return what.find("'" + field + "'") != std::string::npos && untouched();
    }
    return false;
  };
  BOOST_TEST(throws([&] { continua::fill_uniform(x, {}, 0, 1.0, 1.0); }, "hi"));
  BOOST_TEST(throws([&] { continua::fill_uniform(x, {}, 0, 2.0, 1.0); }, "hi"));
  BOOST_TEST(throws([&] { continua::fill_uniform(x, {}, 0, nan, 1.0); }, "lo"));
  BOOST_TEST(throws([&] { continua::fill_uniform(x, {}, 0, 0.0, inf); }, "hi"));
  BOOST_TEST(throws([&] { continua::fill_uniform(x, {}, 0, 0.0, 1e39); }, "hi"));  // float inf
  BOOST_TEST(throws([&] { continua::fill_uniform(x, {}, 0, -3e38, 3e38); }, "hi"));
  BOOST_TEST(throws([&] { continua::fill_uniform(x, {}, 0, 1.0, 1.0 + 1e-12); }, "hi"));
  BOOST_TEST(throws([&] { continua::fill_normal(x, {}, 0, 0.0, -1.0); }, "stddev"));
  BOOST_TEST(throws([&] { continua::fill_normal(x, {}, 0, 0.0, nan); }, "stddev"));
  BOOST_TEST(throws([&] { continua::fill_normal(x, {}, 0, inf, 1.0); }, "mean"));
  BOOST_TEST(throws([&] { continua::fill_normal(x, {}, 0, nan, 1.0); }, "mean"));
}

BOOST_AUTO_TEST_SUITE_END()
