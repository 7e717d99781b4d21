// The demo's gradient-trained baselines on the analytic head's own features: a softmax head trained
// by SGD with momentum, phase after phase, as plain fine-tuning, with EWC, or with experience
// replay. Kirkpatrick et al., PNAS 2017 (EWC); Chaudhry et al., "On Tiny Episodic Memories in
// Continual Learning", 2019 (replay of a reservoir mixed into every mini-batch).
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <numeric>
#include <span>
#include <string>
#include <vector>

#include "common/linear_softmax.hpp"
#include "continua/core/random.hpp"
#include "continua/metrics.hpp"
#include "continua/optim/chain.hpp"
#include "continua/optim/optimizer.hpp"
#include "continua/optim/scale.hpp"
#include "continua/optim/trace.hpp"
#include "continua/regularize/add_regularizer.hpp"
#include "continua/regularize/ewc.hpp"
#include "continua/sample/reservoir_buffer.hpp"

namespace continua_demo {

using head_type = continua_examples::basic_linear_softmax<float>;
using params_type = head_type::params_type;

// Rows of a feature matrix (row-major, `dim` columns) with their labels.
struct labelled_features {
  const std::vector<float>& features;
  const std::vector<std::int32_t>& labels;
  std::size_t dim;
  std::size_t rows() const { return labels.size(); }
};

struct baseline_options {
  std::size_t epochs = 1;
  std::size_t batch = 64;
  double learning_rate = 0.01;
  double momentum = 0.9;
  double ewc_strength = 100;
  std::size_t fisher_samples = 500;
  std::size_t replay_capacity = 2000;
  std::uint64_t seed = 1;
};

enum class baseline { finetune, ewc, replay };

inline const char* name_of(baseline b) {
  return b == baseline::finetune ? "SGD fine-tuning" : b == baseline::ewc ? "EWC" : "replay";
}

struct baseline_result {
  continua::metrics::accuracy_matrix r;
  double final_accuracy = 0;
  double seconds = 0;
};

namespace detail {

// Copies the listed rows into a contiguous batch.
inline void gather(const labelled_features& src, std::span<const std::size_t> rows,
                   std::vector<float>& x, std::vector<std::int32_t>& y) {
  x.resize(rows.size() * src.dim);
  y.resize(rows.size());
  for (std::size_t i = 0; i < rows.size(); ++i) {
    std::copy_n(src.features.begin() + std::ptrdiff_t(rows[i] * src.dim), src.dim,
                x.begin() + std::ptrdiff_t(i * src.dim));
    y[i] = src.labels[rows[i]];
  }
}

// Class-incremental predictions of every evaluation row (all ten outputs compete).
inline std::vector<std::int32_t> predict_all(const head_type& head, const labelled_features& eval) {
  std::vector<std::int32_t> out(eval.rows());
  std::vector<float> scratch;
  constexpr std::size_t chunk = 2048;
  for (std::size_t r = 0; r < eval.rows(); r += chunk) {
    const std::size_t n = std::min(chunk, eval.rows() - r);
    head.predict({eval.features.data() + r * eval.dim, n, eval.dim}, std::span(out).subspan(r, n),
                 scratch);
  }
  return out;
}

// One phase of SGD over `rows`, with the optimizer chain `opt` and, for replay, a reservoir whose
// mini-batch is appended to every step's batch once it holds rows of an earlier phase.
template <class Optimizer>
void train_phase(head_type& head, Optimizer& opt, const labelled_features& train,
                 std::vector<std::size_t> rows, const baseline_options& o, std::size_t phase,
                 continua::sample::reservoir_buffer<float>* memory) {
  continua::philox_engine rng(continua::philox_key{o.seed, 1000 + phase});
  std::vector<float> x, rx;
  std::vector<std::int32_t> y, ry;
  std::vector<float> scratch;
  auto grads = head.zeros_like();
  for (std::size_t epoch = 0; epoch < o.epochs; ++epoch) {
    std::shuffle(rows.begin(), rows.end(), rng);
    for (std::size_t s = 0; s + o.batch <= rows.size(); s += o.batch) {
      gather(train, std::span(rows).subspan(s, o.batch), x, y);
      std::size_t n = o.batch;
      if (memory != nullptr) {
        if (phase > 0) {
          rx.resize(o.batch * train.dim);
          ry.resize(o.batch);
          memory->sample_batch(rx, ry);
        }
        if (epoch == 0) memory->add(x, y);
        if (phase > 0) {
          x.insert(x.end(), rx.begin(), rx.end());
          y.insert(y.end(), ry.begin(), ry.end());
          n += o.batch;
        }
      }
      head.loss_and_gradient({x.data(), n, train.dim}, y, grads, scratch);
      opt.step(head.params(), grads);
    }
  }
}

}  // namespace detail

// Trains a fresh head on the phases in order (phase_rows[t] indexes `train`) and scores it on
// `eval` after each phase: R[t][j] is the accuracy on phase j's classes among all classes.
inline baseline_result run_baseline(baseline method, const labelled_features& train,
                                    const std::vector<std::vector<std::size_t>>& phase_rows,
                                    const labelled_features& eval, std::size_t classes_per_phase,
                                    const baseline_options& o) {
  namespace o_ = continua::optim;
  namespace rg = continua::regularize;
  const auto t0 = std::chrono::steady_clock::now();
  const std::size_t phases = phase_rows.size();
  head_type head(train.dim, phases * classes_per_phase);
  rg::ewc<params_type> ewc({.strength = method == baseline::ewc ? o.ewc_strength : 0.0},
                           head.params());
  continua::sample::reservoir_buffer<float> memory(
      {.capacity = o.replay_capacity, .feature_dim = train.dim, .seed = o.seed});
  baseline_result result{continua::metrics::accuracy_matrix(phases), 0, 0};
  std::vector<std::int32_t> predicted;
  for (std::size_t t = 0; t < phases; ++t) {
    // Fresh momentum per phase: the previous phase's velocity points at its own optimum.
    if (method == baseline::ewc) {
      o_::optimizer opt(o_::chain(rg::add_regularizer(ewc), o_::trace({.decay = o.momentum}),
                                  o_::scale_by_learning_rate(o.learning_rate)),
                        head.params());
      detail::train_phase(head, opt, train, phase_rows[t], o, t, nullptr);
      // Empirical Fisher: squared per-sample gradients at the phase's solution.
      std::vector<std::size_t> sample = phase_rows[t];
      continua::philox_engine rng(continua::philox_key{o.seed, 2000 + t});
      std::shuffle(sample.begin(), sample.end(), rng);
      sample.resize(std::min(o.fisher_samples, sample.size()));
      std::vector<float> x, scratch;
      std::vector<std::int32_t> y;
      auto g = head.zeros_like();
      for (std::size_t i : sample) {
        detail::gather(train, std::span(&i, 1), x, y);
        head.loss_and_gradient({x.data(), 1, train.dim}, y, g, scratch);
        ewc.observe(g);
      }
      ewc.consolidate(head.params());
    } else {
      o_::optimizer opt(
          o_::chain(o_::trace({.decay = o.momentum}), o_::scale_by_learning_rate(o.learning_rate)),
          head.params());
      detail::train_phase(head, opt, train, phase_rows[t], o, t,
                          method == baseline::replay ? &memory : nullptr);
    }
    predicted = detail::predict_all(head, eval);
    std::vector<std::size_t> correct(phases, 0), count(phases, 0);
    for (std::size_t i = 0; i < eval.rows(); ++i) {
      const std::size_t j = std::size_t(eval.labels[i]) / classes_per_phase;
      ++count[j];
      correct[j] += predicted[i] == eval.labels[i];
    }
    for (std::size_t j = 0; j <= t; ++j) result.r.set(t, j, double(correct[j]) / double(count[j]));
  }
  result.final_accuracy = continua::metrics::accuracy(predicted, eval.labels);
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return result;
}

}  // namespace continua_demo
