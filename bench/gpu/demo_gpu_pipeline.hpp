// The pipeline of demo_gpu (see demo_gpu.cu), written once over the memory space: the device
// instance is compiled by nvcc (demo_gpu.cu) and the host instance by the C++ compiler with OpenMP
// and Eigen (demo_gpu_host.cpp), since the host linalg backend is not compiled under nvcc.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <span>
#include <vector>

#include "common/pixel_standardisation.hpp"
#include "continua/analytic/classifier.hpp"
#include "continua/analytic/random_features.hpp"
#include "continua/io/fashion_mnist.hpp"

namespace demo_gpu {

namespace an = continua::analytic;
namespace io = continua::io;
using continua::matrix_view;

inline constexpr std::size_t features = 4096, phases = 5, chunk = 2048;

struct data {
  std::size_t rows = 0;
  std::vector<float> x;  // rows x 784, sorted by phase (classes 2t, 2t + 1)
  std::vector<std::int32_t> y;
  std::vector<std::size_t> phase_end;  // row where each phase ends
};

inline data sorted_by_phase(const io::labelled_images& s) {
  data d;
  d.rows = s.rows;
  for (std::size_t t = 0; t < phases; ++t) {
    for (std::size_t i = 0; i < s.rows; ++i)
      if (std::size_t(s.labels[i] / 2) == t) {
        d.x.insert(d.x.end(), s.images.begin() + i * s.cols, s.images.begin() + (i + 1) * s.cols);
        d.y.push_back(s.labels[i]);
      }
    d.phase_end.push_back(d.y.size());
  }
  return d;
}

struct result {
  double accuracy = 0, feature_s = 0, fit_s = 0, predict_s = 0;
};

inline double seconds(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Vec: std::vector<float> (host) or thrust::device_vector<float> (device); sync() waits for
// queued device work so the phase times are complete.
template <class Space, class Vec, class Sync>
result run(const data& train, const data& test, const continua_examples::pixel_moments& moments,
           Sync sync) {
  constexpr std::size_t p = io::fashion_mnist_pixels;
  result r;
  auto t0 = std::chrono::steady_clock::now();
  Vec xtr(train.x.begin(), train.x.end()), xte(test.x.begin(), test.x.end());
  Vec htr(train.rows * features), hte(test.rows * features);
  an::random_features<float, an::relu, Space> layer(
      {.inputs = p, .outputs = features, .seed = 2024, .weight_scale = 2.0});
  layer.normalize_inputs(moments.mean, moments.deviation);
  const auto transform = [&](Vec& x, Vec& h, std::size_t rows) {
    for (std::size_t r0 = 0; r0 < rows; r0 += chunk) {
      const std::size_t n = std::min(chunk, rows - r0);
      layer.transform(matrix_view<const float, Space>(continua::data(x) + r0 * p, n, p),
                      matrix_view<float, Space>(continua::data(h) + r0 * features, n, features));
    }
  };
  transform(xtr, htr, train.rows);
  transform(xte, hte, test.rows);
  sync();
  r.feature_s = seconds(t0);

  an::analytic_classifier<float, an::cholesky, Space> head({.gamma = 100.0}, features);
  std::vector<std::int32_t> predicted;
  std::size_t begin = 0;
  for (std::size_t t = 0; t < phases; ++t) {
    t0 = std::chrono::steady_clock::now();
    for (std::size_t r0 = begin; r0 < train.phase_end[t]; r0 += chunk) {
      const std::size_t n = std::min(chunk, train.phase_end[t] - r0);
      head.fit(matrix_view<const float, Space>(continua::data(htr) + r0 * features, n, features),
               std::span(train.y).subspan(r0, n));
    }
    (void)head.weights();  // the solve belongs to the fit
    sync();
    r.fit_s += seconds(t0);
    begin = train.phase_end[t];
    t0 = std::chrono::steady_clock::now();
    predicted =
        head.predict(matrix_view<const float, Space>(continua::data(hte), test.rows, features));
    r.predict_s += seconds(t0);
  }
  std::size_t correct = 0;
  for (std::size_t i = 0; i < test.rows; ++i) correct += predicted[i] == test.y[i];
  r.accuracy = double(correct) / double(test.rows);
  return r;
}

// The host instance (demo_gpu_host.cpp).
result run_host(const data& train, const data& test,
                const continua_examples::pixel_moments& moments);

}  // namespace demo_gpu
