// Counter-based random numbers: Philox-4x32-10, keyed streams, uniform and normal draws, fills.
// Salmon, Moraes, Dror & Shaw, "Parallel random numbers: as easy as 1, 2, 3", SC 2011.
//
// Every number is a pure function of (seed, stream, index), so a fill gives the same values on
// the host, under OpenMP and on a GPU, whatever the thread order. The layout, fixed here so host
// and device agree bit for bit:
//
//   block b of key {seed, stream}:  philox4x32(counter, seed) with
//       counter = {lo32(b), hi32(b), lo32(stream), hi32(stream)}   (word 0 least significant)
//       key     = {lo32(seed), hi32(seed)}
//   raw word i:                     block i / 4, lane i % 4                    (random_bits)
//   uniform float draw i   [0,1):   block i / 4, word w = i % 4:   (w >> 8) * 2^-24
//   uniform double draw i  [0,1):   block i / 2, words (hi, lo) = (2j, 2j+1), j = i % 2:
//                                   (((hi << 32) | lo) >> 11) * 2^-53
//   normal float draws 4b..4b+3:    Box-Muller on words (0, 1) gives draws 4b (cos), 4b+1 (sin);
//                                   on words (2, 3) gives draws 4b+2 (cos), 4b+3 (sin); with
//                                   u1 = (w0 + 1) * 2^-32 in (0, 1], angle = 2 pi w1 * 2^-32
//   normal double draws 2b, 2b+1:   Box-Muller with u1 = (53 bits of words 0,1 + 1) * 2^-53 in
//                                   (0, 1] and angle = 2 pi (53 bits of words 2,3) * 2^-53;
//                                   draw 2b is r cos, draw 2b+1 is r sin
//
// Box-Muller is evaluated in double for both types (the float draw is the double result rounded)
// with a log and a sin/cos written here from +, -, *, /, sqrt and explicit fma only: those are
// correctly rounded on every IEEE target, whereas libm and CUDA's log/sin/cos differ in the last
// bits. Bit-for-bit agreement therefore holds unless fast-math options (nvcc --use_fast_math,
// -ffast-math) relax IEEE arithmetic; every multiply-add on the path is an explicit fma so FMA
// contraction (nvcc's default, or g++ -march=native) cannot change a result.
// Consequences worth knowing: the normal tails are cut where u1 is smallest, at |z| <= 6.66
// (float, u1 >= 2^-32) and |z| <= 8.57 (double, u1 >= 2^-53); and float normals cost double
// arithmetic, which is slow on GPUs with reduced FP64 rate.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string_view>
#include <type_traits>

#include "continua/config.hpp"
#include "continua/core/error.hpp"
#include "continua/core/finite.hpp"
#include "continua/core/kernel.hpp"
#include "continua/core/tensor.hpp"

namespace continua {

// Four 32-bit words: a Philox counter (word 0 least significant) or one output block.
struct uint32x4 {
  std::uint32_t w[4];
};

// Philox-4x32-10 bijection of a 128-bit counter under a 64-bit key (key word 0 = low 32 bits).
// Matches Random123's philox4x32_10 (verified against its published known-answer vectors).
CONTINUA_HD constexpr uint32x4 philox4x32(uint32x4 ctr, std::uint64_t key) {
  constexpr std::uint32_t m0 = 0xD2511F53u, m1 = 0xCD9E8D57u;  // round multipliers
  constexpr std::uint32_t w0 = 0x9E3779B9u, w1 = 0xBB67AE85u;  // Weyl key increments
  std::uint32_t k0 = static_cast<std::uint32_t>(key);
  std::uint32_t k1 = static_cast<std::uint32_t>(key >> 32);
  for (int round = 0; round < 10; ++round) {
    if (round > 0) {
      k0 += w0;
      k1 += w1;
    }
    // 32x32 -> 64-bit products give mulhi and mullo without intrinsics on any target.
    const std::uint64_t p0 = static_cast<std::uint64_t>(m0) * ctr.w[0];
    const std::uint64_t p1 = static_cast<std::uint64_t>(m1) * ctr.w[2];
    ctr = uint32x4{
        {static_cast<std::uint32_t>(p1 >> 32) ^ ctr.w[1] ^ k0, static_cast<std::uint32_t>(p1),
         static_cast<std::uint32_t>(p0 >> 32) ^ ctr.w[3] ^ k1, static_cast<std::uint32_t>(p0)}};
  }
  return ctr;
}

// A random stream: the Philox key is `seed`; `stream` selects an independent counter range.
struct philox_key {
  std::uint64_t seed = 0;
  std::uint64_t stream = 0;
};

// Output block `block` of a stream (see the layout at the top of this file).
CONTINUA_HD constexpr uint32x4 random_block(philox_key key, std::uint64_t block) {
  return philox4x32(
      uint32x4{{static_cast<std::uint32_t>(block), static_cast<std::uint32_t>(block >> 32),
                static_cast<std::uint32_t>(key.stream),
                static_cast<std::uint32_t>(key.stream >> 32)}},
      key.seed);
}

// Raw 32-bit word i of a stream: block i / 4, lane i % 4.
CONTINUA_HD constexpr std::uint32_t random_bits(philox_key key, std::uint64_t i) {
  return random_block(key, i / 4).w[i % 4];
}

// Word -> uniform conversions. All are exact (no rounding), so they agree on every target.
// [0, 1): the top 24 bits, k * 2^-24 for k in [0, 2^24).
CONTINUA_HD constexpr float unit_float(std::uint32_t w) {
  return static_cast<float>(w >> 8) * 0x1p-24f;
}
// (0, 1]: (k + 1) * 2^-24; safe to take the log of.
CONTINUA_HD constexpr float unit_float_oc(std::uint32_t w) {
  return static_cast<float>((w >> 8) + 1u) * 0x1p-24f;
}
// [0, 1) from 53 bits: the top 53 bits of (hi:lo), k * 2^-53.
CONTINUA_HD constexpr double unit_double(std::uint32_t hi, std::uint32_t lo) {
  return static_cast<double>(((static_cast<std::uint64_t>(hi) << 32) | lo) >> 11) * 0x1p-53;
}
// (0, 1] from 53 bits: (k + 1) * 2^-53.
CONTINUA_HD constexpr double unit_double_oc(std::uint32_t hi, std::uint32_t lo) {
  return static_cast<double>((((static_cast<std::uint64_t>(hi) << 32) | lo) >> 11) + 1u) * 0x1p-53;
}

// The two standard normals one Box-Muller step makes from two uniforms.
template <class T>
struct normal_pair {
  T first;   // r cos(angle)
  T second;  // r sin(angle)
};

namespace detail {

// c0 + z (c1 + z (c2 + ...)) with one fma per step, so every target rounds identically.
CONTINUA_HD inline double horner(double, double c) { return c; }
template <class... C>
CONTINUA_HD inline double horner(double z, double c0, C... rest) {
  return std::fma(z, horner(z, rest...), c0);
}

// log(n * 2^-bits) for an integer n in [1, 2^bits], bits <= 53: n is exact in double, its
// binary exponent is found with integer shifts, and log of the mantissa x in [sqrt(1/2), sqrt(2))
// is 2 atanh(s) with s = (x - 1) / (x + 1), |s| <= 0.172, summed to s^21 (next term < 1e-18).
CONTINUA_HD inline double log_scaled(std::uint64_t n, int bits) {
  int e = 0;  // floor(log2 n), by binary search on the bit length
  for (int step = 32; step > 0; step /= 2)
    if (n >> (e + step)) e += step;
  // Mantissa bits moved to positions 52..0; exact because n has at most 54 significant bits and
  // the only 54-bit value (2^53) has zero low bits.
  const std::uint64_t m = e <= 52 ? n << (52 - e) : n >> (e - 52);
  double x = static_cast<double>(m) * 0x1p-52;  // in [1, 2)
  if (x > 1.4142135623730951) {
    x *= 0.5;
    ++e;
  }
  const double f = x - 1.0;  // exact (Sterbenz)
  const double s = f / (2.0 + f);
  const double z = s * s;
  const double log_x =
      (2.0 * s) * horner(z, 1.0, 0.3333333333333333, 0.2, 0.14285714285714285, 0.1111111111111111,
                         0.09090909090909091, 0.07692307692307693, 0.06666666666666667,
                         0.058823529411764705, 0.05263157894736842, 0.047619047619047616);
  return std::fma(static_cast<double>(e - bits), 0.6931471805599453, log_x);
}

// (sin, cos) of 2 pi m 2^-bits for an integer m in [0, 2^bits), 3 <= bits <= 53. The quadrant
// q and the remainder t in [-1/2, 1/2) come from integer arithmetic (exact), then
// sin, cos(pi t / 2) are Taylor polynomials to degree 17 / 16 (next terms < 1e-19).
struct sin_cos {
  double sin;
  double cos;
};
CONTINUA_HD inline sin_cos sincos_2pi_scaled(std::uint64_t m, int bits) {
  const int shift = bits - 2;  // 2^shift units per quarter turn
  const std::uint64_t q = (m + (std::uint64_t{1} << (shift - 1))) >> shift;
  const auto r = static_cast<std::int64_t>(m) - static_cast<std::int64_t>(q << shift);
  // r and 2^-shift (shift <= 51) are exact doubles, so t is exact.
  const double t = static_cast<double>(r) * (1.0 / static_cast<double>(std::uint64_t{1} << shift));
  const double z = t * t;
  const double s =
      t * horner(z, 1.5707963267948966, -0.6459640975062463, 0.07969262624616705,
                 -0.004681754135318688, 0.00016044118478735983, -3.598843235212085e-06,
                 5.692172921967927e-08, -6.688035109811468e-10, 6.0669357311061955e-12);
  const double c = horner(z, 1.0, -1.2337005501361697, 0.25366950790104803, -0.02086348076335296,
                          0.0009192602748394266, -2.5202042373060607e-05, 4.710874778818172e-07,
                          -6.386603083791852e-09, 6.565963114979473e-11);
  switch (q & 3u) {
    case 0:
      return {s, c};
    case 1:
      return {c, -s};
    case 2:
      return {-s, -c};
    default:
      return {-c, s};
  }
}

CONTINUA_HD inline normal_pair<double> box_muller_scaled(std::uint64_t n1, std::uint64_t m2,
                                                         int bits) {
  const double r = std::sqrt(-2.0 * log_scaled(n1, bits));
  const sin_cos sc = sincos_2pi_scaled(m2, bits);
  return {r * sc.cos, r * sc.sin};
}

}  // namespace detail

// Two standard normals from two words: u1 = (w0 + 1) 2^-32 in (0, 1] (so log(u1) is finite),
// angle = 2 pi w1 2^-32; computed in double and rounded to float.
CONTINUA_HD inline normal_pair<float> box_muller_float(std::uint32_t w0, std::uint32_t w1) {
  const normal_pair<double> z = detail::box_muller_scaled(std::uint64_t{w0} + 1u, w1, 32);
  return {static_cast<float>(z.first), static_cast<float>(z.second)};
}

// Two standard normals from a block: u1 from 53 bits of (w0:w1) as unit_double_oc, angle from
// 53 bits of (w2:w3) as 2 pi unit_double.
CONTINUA_HD inline normal_pair<double> box_muller_double(uint32x4 r) {
  const std::uint64_t a = ((std::uint64_t{r.w[0]} << 32) | r.w[1]) >> 11;
  const std::uint64_t b = ((std::uint64_t{r.w[2]} << 32) | r.w[3]) >> 11;
  return detail::box_muller_scaled(a + 1u, b, 53);
}

// Draws of type T taken from one Philox block: 4 for float, 2 for double.
template <class T>
inline constexpr unsigned draws_per_block = sizeof(T) == sizeof(float) ? 4u : 2u;

namespace detail {
template <class T>
inline constexpr bool is_random_real_v = std::is_same_v<T, float> || std::is_same_v<T, double>;
}  // namespace detail

// The block decodes: the draws of type T (float or double) that one output block r of a stream
// holds, written to out[0, draws_per_block<T>). For block b, out[j] is draw
// b * draws_per_block<T> + j of the stream (the layout at the top of this file), so a kernel that
// wants each block's draws once (one thread per block, values combined with its own data) gets
// exactly the numbers of uniform_draw / normal_draw and of fill_uniform / fill_normal with
// lo = 0, hi = 1 / mean = 0, stddev = 1:
//   T z[draws_per_block<T>];  normals_from_block(random_block(key, b), z);
template <class T>
CONTINUA_HD inline void uniforms_from_block(const uint32x4& r, T* out) {
  static_assert(detail::is_random_real_v<T>,
                "continua::uniforms_from_block: T must be float or double");
  if constexpr (std::is_same_v<T, float>) {
    for (unsigned j = 0; j < 4; ++j) out[j] = unit_float(r.w[j]);
  } else {
    out[0] = unit_double(r.w[0], r.w[1]);
    out[1] = unit_double(r.w[2], r.w[3]);
  }
}

// The normal draws of block r (see uniforms_from_block): 4 for float, 2 for double.
template <class T>
CONTINUA_HD inline void normals_from_block(const uint32x4& r, T* out) {
  static_assert(detail::is_random_real_v<T>,
                "continua::normals_from_block: T must be float or double");
  if constexpr (std::is_same_v<T, float>) {
    const normal_pair<float> a = box_muller_float(r.w[0], r.w[1]);
    const normal_pair<float> b = box_muller_float(r.w[2], r.w[3]);
    out[0] = a.first;
    out[1] = a.second;
    out[2] = b.first;
    out[3] = b.second;
  } else {
    const normal_pair<double> a = box_muller_double(r);
    out[0] = a.first;
    out[1] = a.second;
  }
}

// Draw i of the uniform [0, 1) sequence of type T (float or double) of a stream.
template <class T>
CONTINUA_HD T uniform_draw(philox_key key, std::uint64_t i) {
  static_assert(detail::is_random_real_v<T>, "continua::uniform_draw: T must be float or double");
  T out[draws_per_block<T>];
  uniforms_from_block(random_block(key, i / draws_per_block<T>), out);
  return out[i % draws_per_block<T>];
}

// Draw i of the standard normal sequence of type T (float or double) of a stream.
template <class T>
CONTINUA_HD T normal_draw(philox_key key, std::uint64_t i) {
  static_assert(detail::is_random_real_v<T>, "continua::normal_draw: T must be float or double");
  T out[draws_per_block<T>];
  normals_from_block(random_block(key, i / draws_per_block<T>), out);
  return out[i % draws_per_block<T>];
}

// A host-side std::uniform_random_bit_generator over the raw words of a stream, for standard
// algorithms (std::shuffle, std::sample). Word k of the engine is random_bits(key, position + k).
class philox_engine {
 public:
  using result_type = std::uint32_t;
  static constexpr result_type min() { return 0; }
  static constexpr result_type max() { return std::numeric_limits<result_type>::max(); }

  explicit philox_engine(philox_key key = {}, std::uint64_t position = 0)
      : key_(key), position_(position) {}

  result_type operator()() {
    const std::uint64_t block = position_ / 4;
    if (!cached_ || block != cached_block_) {
      cache_ = random_block(key_, block);
      cached_block_ = block;
      cached_ = true;
    }
    return cache_.w[position_++ % 4];
  }
  void discard(std::uint64_t n) { position_ += n; }
  std::uint64_t position() const { return position_; }
  philox_key key() const { return key_; }

 private:
  philox_key key_;
  std::uint64_t position_;
  uint32x4 cache_{};
  std::uint64_t cached_block_ = 0;
  bool cached_ = false;
};

namespace detail {

// Scaled uniforms: lo + width u as one fma (no contraction ambiguity between targets).
template <class T>
struct scaled_uniform {
  T lo, width;
  CONTINUA_HD void operator()(const uint32x4& r, T* out) const {
    uniforms_from_block(r, out);
    for (unsigned j = 0; j < draws_per_block<T>; ++j) out[j] = std::fma(width, out[j], lo);
  }
};

template <class T>
struct scaled_normal {
  T mean, stddev;
  CONTINUA_HD void operator()(const uint32x4& r, T* out) const {
    normals_from_block(r, out);
    for (unsigned j = 0; j < draws_per_block<T>; ++j) out[j] = std::fma(stddev, out[j], mean);
  }
};

// One call per Philox block covering draws [offset, offset + n): each block is generated once,
// decoded, and its draws that fall inside the range are handed to sink(draw - offset, value).
template <class T, class Decode, class Sink>
struct block_draws {
  std::uint64_t n;
  std::uint64_t offset;
  std::uint64_t first_block;
  philox_key key;
  Decode decode;
  Sink sink;
  CONTINUA_HD void operator()(std::size_t b) const {
    constexpr unsigned per = draws_per_block<T>;
    const std::uint64_t block = first_block + b;
    T out[per];
    decode(random_block(key, block), out);
    for (unsigned j = 0; j < per; ++j) {
      const std::uint64_t draw = block * per + j;
      if (draw >= offset && draw - offset < n)
        sink(static_cast<std::size_t>(draw - offset), out[j]);
    }
  }
};

template <class T, class Space, class Decode, class Sink>
void run_block_draws(std::string_view context, Space, philox_key key, std::uint64_t offset,
                     std::uint64_t n, Decode decode, Sink sink) {
  if (n == 0) return;
  require(n - 1 <= std::numeric_limits<std::uint64_t>::max() - offset, context,
          "offset + size exceeds the 2^64 draws of a stream");
  constexpr unsigned per = draws_per_block<T>;
  const std::uint64_t first_block = offset / per;
  const std::uint64_t blocks = (offset + (n - 1)) / per - first_block + 1;
  for_each_index(Space{}, static_cast<std::size_t>(blocks),
                 block_draws<T, Decode, Sink>{n, offset, first_block, key, decode, sink});
}

template <class T>
struct standard_normal {
  CONTINUA_HD void operator()(const uint32x4& r, T* out) const { normals_from_block(r, out); }
};

template <class T>
struct store_draw {
  T* x;
  CONTINUA_HD void operator()(std::size_t i, T v) const { x[i] = v; }
};

template <class X, class Transform>
void run_block_fill(std::string_view context, X& x, philox_key key, std::uint64_t offset,
                    Transform transform) {
  using T = value_t<X>;
  run_block_draws<T>(context, memory_space_t<X>{}, key, offset,
                     static_cast<std::uint64_t>(continua::size(x)), transform,
                     store_draw<T>{continua::data(x)});
}

template <class X>
constexpr void check_fill_target() {
  static_assert(!std::is_const_v<element_t<X>>,
                "continua::fill_uniform/fill_normal: the tensor must be writable");
  static_assert(is_random_real_v<value_t<X>>,
                "continua::fill_uniform/fill_normal: elements must be float or double");
}

}  // namespace detail

// x[i] = lo + (hi - lo) u_{offset + i}, u_k the uniform [0, 1) draws of type value_t<X> (float
// draws for float tensors, 53-bit double draws for double tensors). Values lie in [lo, hi]; hi
// itself is reached only when rounding lo + (hi - lo) u reaches it (never for lo = 0, hi = 1).
// Filling [0, a) at offset o and [a, n) at offset o + a equals one fill of [0, n) at offset o.
// Throws continua::invalid_argument, before writing anything, unless lo < hi, both finite and
// hi - lo finite in the element type.
template <tensor X>
void fill_uniform(X&& x, philox_key key, std::uint64_t offset = 0, double lo = 0.0,
                  double hi = 1.0) {
  detail::check_fill_target<X>();
  using T = value_t<X>;
  const T tlo = static_cast<T>(lo), thi = static_cast<T>(hi);
  require_option(is_finite(tlo), "continua::fill_uniform", "lo", lo,
                 "must be finite in the element type");
  require_option(is_finite(thi), "continua::fill_uniform", "hi", hi,
                 "must be finite in the element type");
  require_option(thi > tlo, "continua::fill_uniform", "hi", hi, "must be greater than lo");
  require_option(is_finite(thi - tlo), "continua::fill_uniform", "hi", hi,
                 "hi - lo overflows the element type");
  detail::run_block_fill("continua::fill_uniform", x, key, offset,
                         detail::scaled_uniform<T>{tlo, static_cast<T>(thi - tlo)});
}

// x[i] = mean + stddev z_{offset + i}, z_k the standard normal draws of type value_t<X>.
// Offsets compose as for fill_uniform. Throws continua::invalid_argument, before writing
// anything, unless mean is finite and stddev is finite and >= 0.
template <tensor X>
void fill_normal(X&& x, philox_key key, std::uint64_t offset = 0, double mean = 0.0,
                 double stddev = 1.0) {
  detail::check_fill_target<X>();
  using T = value_t<X>;
  const T tmean = static_cast<T>(mean), tstd = static_cast<T>(stddev);
  require_option(is_finite(tmean), "continua::fill_normal", "mean", mean,
                 "must be finite in the element type");
  require_option(is_finite(tstd) && tstd >= T(0), "continua::fill_normal", "stddev", stddev,
                 "must be finite and >= 0");
  detail::run_block_fill("continua::fill_normal", x, key, offset,
                         detail::scaled_normal<T>{tmean, tstd});
}

// sink(i, z_{offset + i}) for every i in [0, n), z_k the standard normal draws of type T (float
// or double), run on Space with each Philox block generated once: for kernels that combine the
// noise with their own data in one pass (fill_normal is the sink x[i] = mean + stddev z). sink is
// a functor (CONTINUA_HD for device_space) called concurrently for distinct i. Throws
// continua::invalid_argument, before calling sink, if offset + n exceeds the 2^64 draws.
template <class T, class Space, class Sink>
void for_each_normal_draw(Space space, philox_key key, std::uint64_t offset, std::uint64_t n,
                          const Sink& sink) {
  static_assert(detail::is_random_real_v<T>,
                "continua::for_each_normal_draw: T must be float or double");
  detail::run_block_draws<T>("for_each_normal_draw", space, key, offset, n,
                             detail::standard_normal<T>{}, sink);
}

}  // namespace continua
