// One call sequence per analytic component, templated on the memory space, with inputs and
// outputs in host vectors. test_features_cuda.cu runs it on device_space; analytic_host.cpp
// (compiled by the host compiler, where the Eigen backend of core/linalg exists) runs it on
// host_space. So the device and its host reference get the same inputs and the same calls.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "continua/analytic/dual_stream.hpp"
#include "continua/analytic/random_features.hpp"
#include "continua/analytic/statistics.hpp"
#include "continua/config.hpp"
#include "continua/core/buffer.hpp"
#include "continua/core/kernel.hpp"
#include "continua/core/span.hpp"
#include "continua/core/vector_ops.hpp"

namespace analytic_drivers {

namespace an = continua::analytic;
using continua::buffer;
using continua::matrix_view;

// A contiguous matrix view's elements in storage order.
template <class T, class Space>
std::vector<T> read(matrix_view<const T, Space> m) {
  buffer<T, Space> b(m.size());
  continua::copy(m, b);
  return b.to_host();
}

template <class T, class Space>
buffer<T, Space> upload(const std::vector<T>& v) {
  buffer<T, Space> b;
  b.assign_from_host(v);
  return b;
}

template <class T, class Space>
matrix_view<const T, Space> rows_of(const buffer<T, Space>& b, std::size_t first, std::size_t n,
                                    std::size_t cols) {
  return {b.data() + first * cols, n, cols};
}

// The standardisation folded in by normalize_inputs (any fixed positive values do).
template <class T>
void standardisation(std::size_t inputs, std::vector<T>& mean, std::vector<T>& sd) {
  mean.resize(inputs);
  sd.resize(inputs);
  for (std::size_t j = 0; j < inputs; ++j) {
    mean[j] = T(0.1 * double(j) - 0.3);
    sd[j] = T(0.5 + 0.125 * double(j % 8));
  }
}

template <class T>
struct feature_result {
  std::vector<T> w0, b0;  // as drawn
  std::vector<T> w1, b1;  // after normalize_inputs (empty without it)
  std::vector<T> h;       // features of x (rows x outputs)
};

template <class T, class Act, class Space>
feature_result<T> random_features_run(const an::random_feature_options& opt,
                                      const std::vector<T>& x, std::size_t rows, bool normalize) {
  an::random_features<T, Act, Space> layer(opt);
  feature_result<T> r{layer.projection().to_host(), layer.bias().to_host(), {}, {}, {}};
  if (normalize) {
    std::vector<T> mean, sd;
    standardisation(opt.inputs, mean, sd);
    layer.normalize_inputs(std::span<const T>(mean), std::span<const T>(sd));
    r.w1 = layer.projection().to_host();
    r.b1 = layer.bias().to_host();
  }
  const auto dx = upload<T, Space>(x);
  buffer<T, Space> h(rows * opt.outputs);
  layer.transform(rows_of(dx, 0, rows, opt.inputs),
                  matrix_view<T, Space>(h.data(), rows, opt.outputs));
  r.h = h.to_host();
  return r;
}

template <class T>
struct gaussian_result {
  std::vector<T> centers, h;
  double bandwidth = 0;
};

// Centres drawn from `data` (rows x cols); features of the same rows.
template <class T, class Space>
gaussian_result<T> gaussian_run(const an::gaussian_kernel_options& opt, const std::vector<T>& data,
                                std::size_t rows, std::size_t cols) {
  const auto d = upload<T, Space>(data);
  const an::gaussian_kernel_features<T, Space> g(opt, rows_of(d, 0, rows, cols));
  buffer<T, Space> h(rows * g.outputs());
  g.transform(rows_of(d, 0, rows, cols), matrix_view<T, Space>(h.data(), rows, g.outputs()));
  return {read(g.centers()), h.to_host(), g.bandwidth()};
}

template <class T>
struct stats_result {
  std::vector<T> gram_total, cross_total, gram_left, cross_left;
  std::vector<std::int32_t> labels_total, labels_left;
  std::vector<std::uint64_t> counts_total, counts_left;
  std::uint64_t samples_total = 0, samples_left = 0;
};

// Client a holds the first half of the rows (added in two batches), client b the second half
// (which may carry classes a lacks); total = aggregate(a, b) merges both; left = total minus a.
template <class T, class Space>
stats_result<T> statistics_run(const std::vector<T>& x, const std::vector<std::int32_t>& labels,
                               std::size_t rows, std::size_t d) {
  using S = an::sufficient_statistics<T, Space>;
  const auto dx = upload<T, Space>(x);
  const std::span<const std::int32_t> y(labels);
  const std::size_t half = rows / 2, quarter = rows / 4;
  std::vector<S> clients(2, S(d));
  clients[0].add(rows_of(dx, 0, quarter, d), y.subspan(0, quarter));
  clients[0].add(rows_of(dx, quarter, half - quarter, d), y.subspan(quarter, half - quarter));
  clients[1].add(rows_of(dx, half, rows - half, d), y.subspan(half));
  const S total = an::aggregate(std::span<const S>(clients));
  S left = total;
  left.subtract(clients[0]);
  return {read(total.gram()), read(total.cross()), read(left.gram()), read(left.cross()),
          total.labels(),     left.labels(),       total.counts(),    left.counts(),
          total.samples(),    left.samples()};
}

template <class T>
struct dual_result {
  std::vector<T> w_main, w_comp, scores;
  std::vector<std::int32_t> labels;
};

// DS-AL fitted in two batches on main features xm (rows x dm) and compensation features xc
// (rows x dc); scores of all rows.
template <class T, class Policy, class Space>
dual_result<T> dual_stream_run(const an::dual_stream_options& opt, const std::vector<T>& xm,
                               const std::vector<T>& xc, const std::vector<std::int32_t>& labels,
                               std::size_t rows, std::size_t dm, std::size_t dc) {
  const auto dxm = upload<T, Space>(xm), dxc = upload<T, Space>(xc);
  const std::span<const std::int32_t> y(labels);
  const std::size_t half = rows / 2;
  an::dual_stream_classifier<T, Policy, Space> ds(opt, dm, dc);
  ds.fit(rows_of(dxm, 0, half, dm), rows_of(dxc, 0, half, dc), y.subspan(0, half));
  ds.fit(rows_of(dxm, half, rows - half, dm), rows_of(dxc, half, rows - half, dc), y.subspan(half));
  buffer<T, Space> s(rows * ds.classes());
  ds.scores(rows_of(dxm, 0, rows, dm), rows_of(dxc, 0, rows, dc),
            matrix_view<T, Space>(s.data(), rows, ds.classes()));
  return {read(ds.main_stream().weights()), read(ds.compensation_stream().weights()), s.to_host(),
          ds.labels()};
}

// The host_space runs, defined in analytic_host.cpp (explicitly instantiated for float and
// double; the activations relu and tanh_activation; the policy cholesky and woodbury).
template <class T, class Act>
feature_result<T> host_random_features(const an::random_feature_options& opt,
                                       const std::vector<T>& x, std::size_t rows, bool normalize);
template <class T>
gaussian_result<T> host_gaussian(const an::gaussian_kernel_options& opt, const std::vector<T>& data,
                                 std::size_t rows, std::size_t cols);
template <class T>
stats_result<T> host_statistics(const std::vector<T>& x, const std::vector<std::int32_t>& labels,
                                std::size_t rows, std::size_t d);
template <class T, class Policy>
dual_result<T> host_dual_stream(const an::dual_stream_options& opt, const std::vector<T>& xm,
                                const std::vector<T>& xc, const std::vector<std::int32_t>& labels,
                                std::size_t rows, std::size_t dm, std::size_t dc);

}  // namespace analytic_drivers
