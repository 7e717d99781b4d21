// Continual-learning accuracy matrix R[i][j] and the metrics read from it: ACC, BWT, FWT,
// forgetting, intransigence; text table and CSV output.
// Lopez-Paz & Ranzato, "Gradient Episodic Memory for Continual Learning", NeurIPS 2017 (ACC, BWT,
// FWT); Chaudhry et al., "Riemannian Walk for Incremental Learning", ECCV 2018 (forgetting,
// intransigence).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <ostream>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "continua/core/error.hpp"

namespace continua::metrics {

// R[i][j]: accuracy on task j after training task i (0-based). Entries start unset, so a metric
// that reads an entry nobody measured throws instead of silently using zero.
class accuracy_matrix {
 public:
  explicit accuracy_matrix(std::size_t tasks) : tasks_(tasks) {
    require_option(tasks >= 1, "continua::metrics::accuracy_matrix", "tasks", tasks,
                   "must be >= 1");
    // tasks * tasks wrapping (2^32 tasks) would leave the matrix empty while set() accepts indices.
    const std::size_t cells =
        checked_mul(tasks, tasks, "continua::metrics::accuracy_matrix", "tasks * tasks");
    values_.assign(cells, 0.0);
    set_.assign(cells, 0);
  }

  std::size_t tasks() const { return tasks_; }

  void set(std::size_t trained, std::size_t evaluated, double accuracy) {
    constexpr std::string_view context = "continua::metrics::accuracy_matrix::set";
    check_index(context, trained, evaluated);
    // The negated comparison also rejects NaN.
    if (!(accuracy >= 0.0 && accuracy <= 1.0))
      throw invalid_argument(std::string(context) + ": accuracy R[" + std::to_string(trained) +
                             "][" + std::to_string(evaluated) + "] = " + number(accuracy) +
                             " is not a finite value in [0, 1]");
    values_[trained * tasks_ + evaluated] = accuracy;
    set_[trained * tasks_ + evaluated] = 1;
  }

  double at(std::size_t trained, std::size_t evaluated) const {
    constexpr std::string_view context = "continua::metrics::accuracy_matrix::at";
    check_index(context, trained, evaluated);
    if (!set_[trained * tasks_ + evaluated])
      throw invalid_argument(std::string(context) + ": R[" + std::to_string(trained) + "][" +
                             std::to_string(evaluated) + "] (accuracy on task " +
                             std::to_string(evaluated) + " after training task " +
                             std::to_string(trained) + ") has not been set");
    return values_[trained * tasks_ + evaluated];
  }

  bool has(std::size_t trained, std::size_t evaluated) const {
    check_index("continua::metrics::accuracy_matrix::has", trained, evaluated);
    return set_[trained * tasks_ + evaluated] != 0;
  }

 private:
  static std::string number(double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%g", v);
    return buf;
  }
  void check_index(std::string_view context, std::size_t trained, std::size_t evaluated) const {
    if (trained >= tasks_ || evaluated >= tasks_)
      throw invalid_argument(std::string(context) + ": index (" + std::to_string(trained) + ", " +
                             std::to_string(evaluated) + ") is out of range for " +
                             std::to_string(tasks_) + " tasks");
  }

  std::size_t tasks_;
  std::vector<double> values_;
  std::vector<unsigned char> set_;
};

// Fraction of positions where predicted equals truth.
inline double accuracy(std::span<const std::int32_t> predicted,
                       std::span<const std::int32_t> truth) {
  constexpr std::string_view context = "continua::metrics::accuracy";
  require_same_size(context, "predicted", predicted.size(), "truth", truth.size());
  require(!truth.empty(), context, "predicted and truth are empty; accuracy is undefined");
  std::size_t correct = 0;
  for (std::size_t i = 0; i < truth.size(); ++i) correct += predicted[i] == truth[i];
  return static_cast<double>(correct) / static_cast<double>(truth.size());
}

// Mean over j <= i of R[i][j]: the accuracy averaged over the tasks seen after training task i.
inline double average_accuracy(const accuracy_matrix& r, std::size_t after_task) {
  require(after_task < r.tasks(), "continua::metrics::average_accuracy",
          "after_task = " + std::to_string(after_task) + " is out of range for " +
              std::to_string(r.tasks()) + " tasks");
  double s = 0;
  for (std::size_t j = 0; j <= after_task; ++j) s += r.at(after_task, j);
  return s / static_cast<double>(after_task + 1);
}

// ACC: average accuracy after the last task.
inline double average_accuracy(const accuracy_matrix& r) {
  return average_accuracy(r, r.tasks() - 1);
}

namespace detail {
inline void require_two_tasks(const accuracy_matrix& r, std::string_view context) {
  require(r.tasks() >= 2, context,
          "needs >= 2 tasks (the matrix has " + std::to_string(r.tasks()) +
              "): with one task nothing is learned after it");
}
}  // namespace detail

// BWT = 1/(T-1) sum_{j<T-1} (R[T-1][j] - R[j][j]); negative means forgetting.
inline double backward_transfer(const accuracy_matrix& r) {
  detail::require_two_tasks(r, "continua::metrics::backward_transfer");
  const std::size_t t = r.tasks();
  double s = 0;
  for (std::size_t j = 0; j + 1 < t; ++j) s += r.at(t - 1, j) - r.at(j, j);
  return s / static_cast<double>(t - 1);
}

// FWT = 1/(T-1) sum_{j>=1} (R[j-1][j] - b_j), b_j the accuracy of a model that never trained on
// task j (e.g. at random initialisation). baseline has one entry per task; b_0 is not used.
inline double forward_transfer(const accuracy_matrix& r, std::span<const double> baseline) {
  constexpr std::string_view context = "continua::metrics::forward_transfer";
  detail::require_two_tasks(r, context);
  require_same_size(context, "baseline", baseline.size(), "tasks", r.tasks());
  for (std::size_t j = 0; j < baseline.size(); ++j)
    if (!std::isfinite(baseline[j])) throw non_finite_error(context, "baseline", j);
  const std::size_t t = r.tasks();
  double s = 0;
  for (std::size_t j = 1; j < t; ++j) s += r.at(j - 1, j) - baseline[j];
  return s / static_cast<double>(t - 1);
}

// f_j = max_{l in 0..T-2} R[l][j] - R[T-1][j] for j = 0..T-2. Entries R[l][j] with l < j are
// included when set (Chaudhry et al. take the max over every earlier phase) and skipped when
// unset; R[j][j] and R[T-1][j] must be set.
inline std::vector<double> forgetting_per_task(const accuracy_matrix& r) {
  detail::require_two_tasks(r, "continua::metrics::forgetting_per_task");
  const std::size_t t = r.tasks();
  std::vector<double> f(t - 1);
  for (std::size_t j = 0; j + 1 < t; ++j) {
    double best = r.at(j, j);
    for (std::size_t l = 0; l + 1 < t; ++l)
      if (r.has(l, j)) best = std::max(best, r.at(l, j));
    f[j] = best - r.at(t - 1, j);
  }
  return f;
}

// Mean of forgetting_per_task.
inline double forgetting(const accuracy_matrix& r) {
  const std::vector<double> f = forgetting_per_task(r);
  double s = 0;
  for (double v : f) s += v;
  return s / static_cast<double>(f.size());
}

// Mean over k of I_k = a*_k - R[k][k], a*_k the accuracy on task k of a reference model trained
// jointly on tasks 0..k: how much the continual learner fails to learn the new task.
inline double intransigence(const accuracy_matrix& r, std::span<const double> joint_accuracy) {
  constexpr std::string_view context = "continua::metrics::intransigence";
  require_same_size(context, "joint_accuracy", joint_accuracy.size(), "tasks", r.tasks());
  for (std::size_t k = 0; k < joint_accuracy.size(); ++k)
    if (!std::isfinite(joint_accuracy[k])) throw non_finite_error(context, "joint_accuracy", k);
  double s = 0;
  for (std::size_t k = 0; k < r.tasks(); ++k) s += joint_accuracy[k] - r.at(k, k);
  return s / static_cast<double>(r.tasks());
}

// Aligned text table: one row per trained task, one column per evaluated task, "-" where unset.
inline std::string format_table(const accuracy_matrix& r, int decimals = 4) {
  require_option(decimals >= 0 && decimals <= 12, "continua::metrics::format_table", "decimals",
                 decimals, "must be in 0..12");
  const std::size_t t = r.tasks();
  std::vector<std::string> cells;
  cells.reserve(t * t);
  std::size_t width = 0;
  for (std::size_t i = 0; i < t; ++i)
    for (std::size_t j = 0; j < t; ++j) {
      char buf[64] = "-";
      if (r.has(i, j)) std::snprintf(buf, sizeof buf, "%.*f", decimals, r.at(i, j));
      cells.emplace_back(buf);
      width = std::max(width, cells.back().size());
    }
  const std::string corner = "trained\\eval";
  std::vector<std::string> col_names(t), row_names(t);
  std::size_t row_width = corner.size();
  for (std::size_t j = 0; j < t; ++j) {
    col_names[j] = "task" + std::to_string(j);
    width = std::max(width, col_names[j].size());
    row_names[j] = "after task" + std::to_string(j);
    row_width = std::max(row_width, row_names[j].size());
  }
  auto pad_left = [](const std::string& s, std::size_t w) {
    return std::string(w > s.size() ? w - s.size() : 0, ' ') + s;
  };
  auto pad_right = [](const std::string& s, std::size_t w) {
    return s + std::string(w > s.size() ? w - s.size() : 0, ' ');
  };
  std::string out = pad_right(corner, row_width);
  for (std::size_t j = 0; j < t; ++j) out += "  " + pad_left(col_names[j], width);
  out += '\n';
  for (std::size_t i = 0; i < t; ++i) {
    out += pad_right(row_names[i], row_width);
    for (std::size_t j = 0; j < t; ++j) out += "  " + pad_left(cells[i * t + j], width);
    out += '\n';
  }
  return out;
}

// CSV: header `trained\evaluated,task0,...`, one row per trained task, %.6f, empty cell if unset.
inline void write_csv(const accuracy_matrix& r, std::ostream& out) {
  const std::size_t t = r.tasks();
  std::string text = "trained\\evaluated";
  for (std::size_t j = 0; j < t; ++j) text += ",task" + std::to_string(j);
  text += '\n';
  for (std::size_t i = 0; i < t; ++i) {
    text += std::to_string(i);
    for (std::size_t j = 0; j < t; ++j) {
      text += ',';
      if (r.has(i, j)) {
        char buf[64];
        std::snprintf(buf, sizeof buf, "%.6f", r.at(i, j));
        text += buf;
      }
    }
    text += '\n';
  }
  out << text;
  if (!out) throw io_error("continua::metrics::write_csv: writing to the stream failed");
}

// Writes the CSV table to the file at `path` (replacing it); throws io_error if that fails.
inline void write_csv(const accuracy_matrix& r, const std::filesystem::path& path) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out)
    throw io_error("continua::metrics::write_csv: cannot open '" + path.string() + "' for writing");
  write_csv(r, static_cast<std::ostream&>(out));
  out.close();
  if (!out) throw io_error("continua::metrics::write_csv: writing '" + path.string() + "' failed");
}

}  // namespace continua::metrics
