// MCMC convergence diagnostics: rank-normalised split R-hat, bulk/tail/basic ESS, MCSE of the mean.
// Vehtari, Gelman, Simpson, Carpenter & Buerkner, "Rank-normalization, folding, and localization:
// an improved R-hat for assessing convergence of MCMC", Bayesian Analysis 2021 (as in ArviZ).
#pragma once

#include <algorithm>
#include <cmath>
#include <concepts>
#include <cstddef>
#include <iterator>
#include <limits>
#include <numeric>
#include <ranges>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "continua/core/error.hpp"
#include "continua/core/tensor.hpp"

namespace continua::sample {

// All five diagnostics of one scalar quantity, computed from one validation and one split.
struct convergence_summary {
  double rhat;       // max(bulk, tail) rank-normalised split R-hat; NaN with a single chain
  double ess_bulk;   // split ESS of the rank-normalised draws
  double ess_tail;   // min split ESS of I(x <= q05) and I(x <= q95)
  double ess_basic;  // split ESS of the raw draws (ArviZ method "mean")
  double mcse_mean;  // sd(x) / sqrt(ess_basic)
};

namespace detail::diagnostics {

inline constexpr double nan = std::numeric_limits<double>::quiet_NaN();

// Checks the layout before anything is read: `chains` rows of `draws` draws each, row-major.
inline void validate(std::string_view context, std::size_t size, std::size_t chains,
                     std::size_t draws, std::size_t min_chains) {
  const std::string ctx(context);
  if (chains < min_chains)
    throw invalid_argument(ctx + ": needs at least " + std::to_string(min_chains) +
                           " chain(s), got " + std::to_string(chains));
  if (draws < 4)
    throw invalid_argument(ctx + ": needs at least 4 draws per chain (two per split half), got " +
                           std::to_string(draws));
  if (chains > std::numeric_limits<std::size_t>::max() / draws)
    throw invalid_argument(ctx + ": chains x draws overflows std::size_t");
  require_same_size(context, "draws", size, "chains x draws per chain", chains * draws);
}

// Draws as double; false when any is NaN or infinite (every diagnostic is then NaN).
template <class T>
bool to_double(std::span<const T> in, std::vector<double>& out) {
  out.resize(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    out[i] = static_cast<double>(in[i]);
    if (!std::isfinite(out[i])) return false;
  }
  return true;
}

// Split chains: 2*chains rows of draws/2 values, first halves then second halves (ArviZ's
// order). With an odd number of draws the middle draw of every chain is dropped.
inline std::vector<double> split(const std::vector<double>& x, std::size_t chains,
                                 std::size_t draws) {
  const std::size_t half = draws / 2;
  std::vector<double> out(2 * chains * half);
  for (std::size_t c = 0; c < chains; ++c) {
    const double* row = x.data() + c * draws;
    std::copy(row, row + half, out.begin() + static_cast<std::ptrdiff_t>(c * half));
    std::copy(row + (draws - half), row + draws,
              out.begin() + static_cast<std::ptrdiff_t>((chains + c) * half));
  }
  return out;
}

// Standard normal quantile Phi^-1(p), 0 < p < 1, to about 1e-15 relative: Acklam's rational
// start refined by Halley steps on erfc. Lower tail only; the upper tail by symmetry so 1 - p is
// formed once, as scipy's ndtri does.
inline double normal_quantile(double p) {
  if (p > 0.5) return -normal_quantile(1.0 - p);
  constexpr double a[] = {-3.969683028665376e+01, 2.209460984245205e+02,  -2.759285104469687e+02,
                          1.383577518672690e+02,  -3.066479806614716e+01, 2.506628277459239e+00};
  constexpr double b[] = {-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
                          6.680131188771972e+01, -1.328068155288572e+01};
  constexpr double c[] = {-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
                          -2.549732539343734e+00, 4.374664141464968e+00,  2.938163982698783e+00};
  constexpr double d[] = {7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
                          3.754408661907416e+00};
  double x;
  if (p < 0.02425) {
    const double q = std::sqrt(-2.0 * std::log(p));
    x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
        ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1.0);
  } else {
    const double q = p - 0.5, r = q * q;
    x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
        (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1.0);
  }
  if (p == 0.5) return 0.0;
  const double sqrt_2pi = 2.5066282746310002;
  for (int i = 0; i < 3; ++i) {  // Halley: cubic convergence, the third step is a safety margin
    const double e = 0.5 * std::erfc(-x / std::sqrt(2.0)) - p;
    const double u = e * sqrt_2pi * std::exp(0.5 * x * x);
    x -= u / (1.0 + 0.5 * x * u);
  }
  return x;
}

// Rank normalisation over all values together: average ranks of ties, then
// z = Phi^-1((r - 3/8) / (S + 1/4)) (Blom 1958). O(S log S).
inline std::vector<double> z_scale(const std::vector<double>& v) {
  const std::size_t n = v.size();
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::sort(order.begin(), order.end(), [&](std::size_t i, std::size_t j) { return v[i] < v[j]; });
  std::vector<double> z(n);
  const double denom = static_cast<double>(n) + 0.25;
  for (std::size_t i = 0; i < n;) {
    std::size_t j = i + 1;
    while (j < n && v[order[j]] == v[order[i]]) ++j;
    // Ranks i+1 .. j (1-based) share their mean.
    const double rank = 0.5 * static_cast<double>(i + 1 + j);
    const double zi = normal_quantile((rank - 0.375) / denom);
    for (std::size_t k = i; k < j; ++k) z[order[k]] = zi;
    i = j;
  }
  return z;
}

inline double mean(const double* x, std::size_t n) {
  double s = 0;
  for (std::size_t i = 0; i < n; ++i) s += x[i];
  return s / static_cast<double>(n);
}

// Sample variance (two-pass, as numpy's var).
inline double variance(const double* x, std::size_t n, std::size_t ddof) {
  const double m = mean(x, n);
  double s = 0;
  for (std::size_t i = 0; i < n; ++i) s += (x[i] - m) * (x[i] - m);
  return s / static_cast<double>(n - ddof);
}

inline double median(std::vector<double> v) {
  const std::size_t n = v.size(), mid = n / 2;
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(mid), v.end());
  const double upper = v[mid];
  if (n % 2 == 1) return upper;
  const double lower = *std::max_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(mid));
  return 0.5 * (lower + upper);
}

// Quantile of type 7 (linear interpolation, R's default), in scipy.stats.mstats.mquantiles'
// arithmetic so that I(x <= q) agrees with ArviZ even for draws next to q.
inline double quantile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  const double n = static_cast<double>(v.size());
  const double aleph = n * p + (1.0 - p);
  const double k = std::clamp(std::floor(aleph), 1.0, n - 1.0);
  const double gamma = std::clamp(aleph - k, 0.0, 1.0);
  const auto i = static_cast<std::size_t>(k);
  return (1.0 - gamma) * v[i - 1] + gamma * v[i];
}

// R-hat of m chains (rows) of n draws: sqrt((B/W + n - 1) / n), B = n var(chain means),
// W = mean within-chain variance (Gelman & Rubin 1992 in the form of Vehtari et al. eq. 3-4).
inline double rhat_rows(const std::vector<double>& x, std::size_t m, std::size_t n) {
  std::vector<double> means(m);
  double within = 0;
  for (std::size_t c = 0; c < m; ++c) {
    means[c] = mean(x.data() + c * n, n);
    within += variance(x.data() + c * n, n, 1);
  }
  within /= static_cast<double>(m);
  const double between = static_cast<double>(n) * variance(means.data(), m, 1);
  return std::sqrt((between / within + static_cast<double>(n) - 1.0) / static_cast<double>(n));
}

// Split ESS of m chains (rows) of n draws, Vehtari et al. eq. 10 with Geyer's initial positive
// and monotone sequences, truncation and bound as ArviZ's _ess: ESS <= S log10 S for S = m n.
// Autocovariances are direct sums computed lag by lag only as far as the sequence runs:
// O(m n L) for truncation lag L (about a few integrated autocorrelation times), O(m n^2) at worst.
inline double ess_rows(const std::vector<double>& x, std::size_t m, std::size_t n) {
  const auto [lo, hi] = std::minmax_element(x.begin(), x.end());
  // ArviZ's absolute threshold (numpy float resolution): (nearly) constant draws count fully.
  if (*hi - *lo < 1e-15) return static_cast<double>(x.size());
  std::vector<double> centred(x.size()), means(m);
  for (std::size_t c = 0; c < m; ++c) {
    means[c] = mean(x.data() + c * n, n);
    for (std::size_t i = 0; i < n; ++i) centred[c * n + i] = x[c * n + i] - means[c];
  }
  // Mean over chains of the biased (1/n) autocovariance at lag t.
  auto acov = [&](std::size_t t) {
    double total = 0;
    for (std::size_t c = 0; c < m; ++c) {
      const double* r = centred.data() + c * n;
      double s = 0;
      for (std::size_t i = 0; i + t < n; ++i) s += r[i] * r[i + t];
      total += s / static_cast<double>(n);
    }
    return total / static_cast<double>(m);
  };
  const double nd = static_cast<double>(n);
  const double mean_var = acov(0) * nd / (nd - 1.0);
  double var_plus = mean_var * (nd - 1.0) / nd;
  if (m > 1) var_plus += variance(means.data(), m, 1);
  auto rho_at = [&](std::size_t t) { return 1.0 - (mean_var - acov(t)) / var_plus; };

  const auto ni = static_cast<std::ptrdiff_t>(n);
  std::vector<double> rho(n, 0.0);
  double rho_even = 1.0, rho_odd = rho_at(1);
  rho[0] = rho_even;
  rho[1] = rho_odd;
  // Initial positive sequence: pairs (even, odd) are kept while their sum is positive.
  std::ptrdiff_t t = 1;
  while (t < ni - 3 && rho_even + rho_odd > 0.0) {
    rho_even = rho_at(static_cast<std::size_t>(t + 1));
    rho_odd = rho_at(static_cast<std::size_t>(t + 2));
    if (rho_even + rho_odd >= 0.0) {
      rho[static_cast<std::size_t>(t + 1)] = rho_even;
      rho[static_cast<std::size_t>(t + 2)] = rho_odd;
    }
    t += 2;
  }
  const std::ptrdiff_t max_t = t - 2;  // -1 when no pair was examined
  auto at = [&](std::ptrdiff_t i) -> double& { return rho[static_cast<std::size_t>(i)]; };
  // The last even autocorrelation still helps when positive (antithetic chains).
  if (rho_even > 0.0) at(max_t + 1) = rho_even;
  // Initial monotone sequence: pair sums may not increase.
  for (t = 1; t <= max_t - 2; t += 2) {
    if (at(t + 1) + at(t + 2) > at(t - 1) + at(t)) {
      at(t + 1) = 0.5 * (at(t - 1) + at(t));
      at(t + 2) = at(t + 1);
    }
  }
  double tau = -1.0;
  for (std::ptrdiff_t i = 0; i <= max_t; ++i) tau += 2.0 * at(i);
  tau += at(max_t + 1);
  for (double r : rho)
    if (std::isnan(r)) return nan;
  const double total = static_cast<double>(m * n);
  tau = std::max(tau, 1.0 / std::log10(total));
  return total / tau;
}

inline double rhat_split(const std::vector<double>& s, std::size_t chains, std::size_t half) {
  const double bulk = rhat_rows(z_scale(s), 2 * chains, half);
  const double med = median(s);
  std::vector<double> folded(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) folded[i] = std::fabs(s[i] - med);
  const double tail = rhat_rows(z_scale(folded), 2 * chains, half);
  if (std::isnan(bulk) || std::isnan(tail)) return nan;
  return std::max(bulk, tail);
}

inline double ess_tail_draws(const std::vector<double>& x, std::size_t chains, std::size_t draws) {
  double result = std::numeric_limits<double>::infinity();
  for (double p : {0.05, 0.95}) {
    const double q = quantile(x, p);
    std::vector<double> indicator(x.size());
    for (std::size_t i = 0; i < x.size(); ++i) indicator[i] = x[i] <= q ? 1.0 : 0.0;
    result = std::min(result, ess_rows(split(indicator, chains, draws), 2 * chains, draws / 2));
  }
  return result;
}

inline double mcse_mean_draws(const std::vector<double>& x, double ess_basic) {
  return std::sqrt(variance(x.data(), x.size(), 1)) / std::sqrt(ess_basic);
}

template <class R>
concept floating_range = std::ranges::contiguous_range<R> && std::ranges::sized_range<R> &&
    std::floating_point<std::ranges::range_value_t<R>>;

template <floating_range R>
auto as_span(const R& r) {
  return std::span<const std::ranges::range_value_t<R>>(std::ranges::data(r), std::ranges::size(r));
}

// A host tensor of rank 2 (chains x draws) as row-major draws: a view of row-major storage, a
// row-major copy of column-major storage (e.g. a default Eigen matrix).
template <tensor X>
std::vector<value_t<X>> row_major_draws(std::string_view context, const X& x, std::size_t& chains,
                                        std::size_t& draws) {
  const extents e = continua::shape(x);
  if (e.rank != 2)
    throw invalid_argument(std::string(context) +
                           ": draws must be a chains x draws matrix, got a tensor of rank " +
                           std::to_string(e.rank));
  chains = e[0];
  draws = e[1];
  const auto* p = continua::data(x);
  std::vector<value_t<X>> out(chains * draws);
  const bool rows = continua::storage_order(x) == layout::row_major;
  for (std::size_t c = 0; c < chains; ++c)
    for (std::size_t i = 0; i < draws; ++i)
      out[c * draws + i] = rows ? p[c * draws + i] : p[i * chains + c];
  return out;
}

}  // namespace detail::diagnostics

// --- Draws as a flat chains x draws row-major range: std::vector, std::span, std::array -------
// Each call validates the layout first (continua::invalid_argument / size_mismatch), then returns
// NaN when any draw is NaN or +-Inf. Computation is in double whatever the element type.

// Rank-normalised split R-hat: max of the bulk R-hat (rank-normalised draws) and the tail R-hat
// (rank-normalised |x - median|). Needs chains >= 2 (ArviZ gives NaN for one chain); NaN for
// constant draws (zero within-chain variance).
template <detail::diagnostics::floating_range R>
double rhat(const R& draws, std::size_t chains, std::size_t draws_per_chain) {
  namespace d = detail::diagnostics;
  const auto in = d::as_span(draws);
  d::validate("continua::sample::diagnostics::rhat", in.size(), chains, draws_per_chain, 2);
  std::vector<double> x;
  if (!d::to_double(in, x)) return d::nan;
  return d::rhat_split(d::split(x, chains, draws_per_chain), chains, draws_per_chain / 2);
}

// Bulk ESS: split ESS of the rank-normalised draws. Constant draws give the number of draws used
// (2 chains floor(draws / 2)), as ArviZ.
template <detail::diagnostics::floating_range R>
double ess_bulk(const R& draws, std::size_t chains, std::size_t draws_per_chain) {
  namespace d = detail::diagnostics;
  const auto in = d::as_span(draws);
  d::validate("continua::sample::diagnostics::ess_bulk", in.size(), chains, draws_per_chain, 1);
  std::vector<double> x;
  if (!d::to_double(in, x)) return d::nan;
  return d::ess_rows(d::z_scale(d::split(x, chains, draws_per_chain)), 2 * chains,
                     draws_per_chain / 2);
}

// Tail ESS: the smaller split ESS of I(x <= q05) and I(x <= q95), quantiles of type 7 over all
// draws.
template <detail::diagnostics::floating_range R>
double ess_tail(const R& draws, std::size_t chains, std::size_t draws_per_chain) {
  namespace d = detail::diagnostics;
  const auto in = d::as_span(draws);
  d::validate("continua::sample::diagnostics::ess_tail", in.size(), chains, draws_per_chain, 1);
  std::vector<double> x;
  if (!d::to_double(in, x)) return d::nan;
  return d::ess_tail_draws(x, chains, draws_per_chain);
}

// Basic ESS: split ESS of the draws themselves (posterior's ess_basic, ArviZ's method "mean").
template <detail::diagnostics::floating_range R>
double ess_basic(const R& draws, std::size_t chains, std::size_t draws_per_chain) {
  namespace d = detail::diagnostics;
  const auto in = d::as_span(draws);
  d::validate("continua::sample::diagnostics::ess_basic", in.size(), chains, draws_per_chain, 1);
  std::vector<double> x;
  if (!d::to_double(in, x)) return d::nan;
  return d::ess_rows(d::split(x, chains, draws_per_chain), 2 * chains, draws_per_chain / 2);
}

// Monte Carlo standard error of the mean: sd(all draws, ddof 1) / sqrt(ess_basic); 0 for
// constant draws.
template <detail::diagnostics::floating_range R>
double mcse_mean(const R& draws, std::size_t chains, std::size_t draws_per_chain) {
  namespace d = detail::diagnostics;
  const auto in = d::as_span(draws);
  d::validate("continua::sample::diagnostics::mcse_mean", in.size(), chains, draws_per_chain, 1);
  std::vector<double> x;
  if (!d::to_double(in, x)) return d::nan;
  const double ess =
      d::ess_rows(d::split(x, chains, draws_per_chain), 2 * chains, draws_per_chain / 2);
  return d::mcse_mean_draws(x, ess);
}

// All five at once. One chain is allowed here: rhat is then NaN (ArviZ's value) and the rest are
// computed.
template <detail::diagnostics::floating_range R>
convergence_summary summarize(const R& draws, std::size_t chains, std::size_t draws_per_chain) {
  namespace d = detail::diagnostics;
  const auto in = d::as_span(draws);
  d::validate("continua::sample::diagnostics::summarize", in.size(), chains, draws_per_chain, 1);
  std::vector<double> x;
  if (!d::to_double(in, x)) return {d::nan, d::nan, d::nan, d::nan, d::nan};
  const std::size_t half = draws_per_chain / 2;
  const std::vector<double> s = d::split(x, chains, draws_per_chain);
  convergence_summary out{};
  out.rhat = chains >= 2 ? d::rhat_split(s, chains, half) : d::nan;
  out.ess_bulk = d::ess_rows(d::z_scale(s), 2 * chains, half);
  out.ess_tail = d::ess_tail_draws(x, chains, draws_per_chain);
  out.ess_basic = d::ess_rows(s, 2 * chains, half);
  out.mcse_mean = d::mcse_mean_draws(x, out.ess_basic);
  return out;
}

// --- Draws as a host tensor of rank 2, chains x draws (rows are chains), in either storage order:
// continua::matrix_view, Eigen, xtensor. The draws are copied once into row-major order.
namespace detail::diagnostics {
// The tensor overloads' one body: the draws as a row-major copy, then the span form `f`.
template <class X, class F>
auto on_tensor(std::string_view context, const X& draws, F f) {
  std::size_t chains = 0, n = 0;
  const auto x = row_major_draws(context, draws, chains, n);
  return f(x, chains, n);
}
}  // namespace detail::diagnostics

// The R-hat of a chains x draws host tensor (rows are chains; either storage order).
template <tensor X>
requires std::same_as<memory_space_t<X>, host_space>
double rhat(const X& draws) {
  return detail::diagnostics::on_tensor(
      "continua::sample::diagnostics::rhat", draws,
      [](const auto& x, std::size_t c, std::size_t n) { return rhat(x, c, n); });
}
// The bulk ESS of a chains x draws host tensor (rows are chains; either storage order).
template <tensor X>
requires std::same_as<memory_space_t<X>, host_space>
double ess_bulk(const X& draws) {
  return detail::diagnostics::on_tensor(
      "continua::sample::diagnostics::ess_bulk", draws,
      [](const auto& x, std::size_t c, std::size_t n) { return ess_bulk(x, c, n); });
}
// The tail ESS of a chains x draws host tensor (rows are chains; either storage order).
template <tensor X>
requires std::same_as<memory_space_t<X>, host_space>
double ess_tail(const X& draws) {
  return detail::diagnostics::on_tensor(
      "continua::sample::diagnostics::ess_tail", draws,
      [](const auto& x, std::size_t c, std::size_t n) { return ess_tail(x, c, n); });
}
// The basic ESS of a chains x draws host tensor (rows are chains; either storage order).
template <tensor X>
requires std::same_as<memory_space_t<X>, host_space>
double ess_basic(const X& draws) {
  return detail::diagnostics::on_tensor(
      "continua::sample::diagnostics::ess_basic", draws,
      [](const auto& x, std::size_t c, std::size_t n) { return ess_basic(x, c, n); });
}
// The MCSE of the mean of a chains x draws host tensor (rows are chains; either storage order).
template <tensor X>
requires std::same_as<memory_space_t<X>, host_space>
double mcse_mean(const X& draws) {
  return detail::diagnostics::on_tensor(
      "continua::sample::diagnostics::mcse_mean", draws,
      [](const auto& x, std::size_t c, std::size_t n) { return mcse_mean(x, c, n); });
}
// The five diagnostics of a chains x draws host tensor (rows are chains; either storage order).
template <tensor X>
requires std::same_as<memory_space_t<X>, host_space> convergence_summary summarize(const X& draws) {
  return detail::diagnostics::on_tensor(
      "continua::sample::diagnostics::summarize", draws,
      [](const auto& x, std::size_t c, std::size_t n) { return summarize(x, c, n); });
}

}  // namespace continua::sample
