// Split Fashion-MNIST (5 tasks x 2 classes): an MLP trained task after task with fine-tuning, EWC,
// online EWC, SI, MAS, GPM, experience replay and A-GEM; prints and writes the accuracy matrices.
//
//   split_fashion_mnist_regularizers [--epochs 2] [--hidden 256] [--methods all|a,b,...]
//       [--out ./split_fmnist_out] [--data DIR] [--validate] [--seed 1] [--lr 0.01]
//       [--ewc-strength X] [--online-ewc-strength X] [--si-strength X] [--mas-strength X]
//       [--gpm-threshold X] [--replay-capacity N] [--threads 1]
//
// Class-incremental accuracy: arg-max over the shared 10-way head. Task-incremental accuracy: the
// same network, arg-max over the task's own two classes. --validate evaluates on the last 10,000
// training images (held out from training) instead of the test set: tune there, report on test.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <numeric>
#include <span>
#include <sstream>
#include <string>
#include <vector>
#if defined(_OPENMP)
#include <omp.h>
#endif

#include "common/mlp.hpp"
#include "continua/core/random.hpp"
#include "continua/io/fashion_mnist.hpp"
#include "continua/metrics.hpp"
#include "continua/optim.hpp"
#include "continua/regularize/add_regularizer.hpp"
#include "continua/regularize/agem.hpp"
#include "continua/regularize/ewc.hpp"
#include "continua/regularize/gradient_projection.hpp"
#include "continua/regularize/mas.hpp"
#include "continua/regularize/synaptic_intelligence.hpp"
#include "continua/sample/reservoir_buffer.hpp"

namespace o = continua::optim;
namespace rg = continua::regularize;
namespace mt = continua::metrics;
using continua_examples::mlp;
using params_type = mlp::params_type;

namespace {

constexpr std::size_t n_tasks = 5, classes_per_task = 2, n_classes = 10;
constexpr std::size_t pixels = continua::io::fashion_mnist_pixels;

struct config {
  std::size_t epochs = 2, hidden = 256, batch = 64, seed = 1, threads = 1;
  double lr = 0.01, momentum = 0.9;
  std::string out = "./split_fmnist_out", data{continua::io::fashion_mnist_default_dir};
  std::vector<std::string> methods;
  bool validate = false;
  // Tuned with --validate --epochs 1 (docs/regularize.md); much larger values make the explicit
  // SGD step unstable (lr * strength * importance > 2 (1 + momentum)) and training diverges.
  double ewc_strength = 300, online_ewc_strength = 300, si_strength = 30, mas_strength = 0.1;
  double gpm_threshold = 0.97;
  std::size_t replay_capacity = 500, importance_samples = 500, gpm_samples = 300;
};

struct task_data {
  std::vector<float> x;
  std::vector<std::int32_t> y;
  std::size_t rows() const { return y.size(); }
  continua::matrix_view<const float> rows_view(std::size_t first, std::size_t n) const {
    return {x.data() + first * pixels, n, pixels};
  }
};

// Splits rows [begin, end) of a labelled set into the five two-class tasks.
std::vector<task_data> split(const continua::io::labelled_images& d, std::size_t begin,
                             std::size_t end) {
  std::vector<task_data> t(n_tasks);
  for (std::size_t i = begin; i < end; ++i) {
    auto& task = t[d.labels[i] / classes_per_task];
    task.x.insert(task.x.end(), d.images.begin() + std::ptrdiff_t(i * pixels),
                  d.images.begin() + std::ptrdiff_t((i + 1) * pixels));
    task.y.push_back(d.labels[i]);
  }
  return t;
}

// Everything a method changes in the shared training loop; the defaults are plain fine-tuning.
struct method_base {
  // Extra rows appended to the current batch (replay); returns how many were added.
  std::size_t extra_rows(std::size_t /*task*/, std::span<const float> /*x*/,
                         std::span<const std::int32_t> /*y*/, std::vector<float>& /*xb*/,
                         std::vector<std::int32_t>& /*yb*/) {
    return 0;
  }
  // Rewrites the task-loss gradient before the optimizer sees it (projections).
  void adjust(std::size_t /*task*/, params_type& /*grads*/, const mlp& /*model*/) {}
  // After the parameter update, with the unregularised task gradient of the step.
  static constexpr bool wants_step_gradient = false;
  void after_step(const params_type& /*task_grads*/, const params_type& /*params*/) {}
  void end_task(std::size_t /*task*/, const task_data& /*train*/, mlp& /*model*/) {}
};

// The optimizer: SGD with heavy-ball momentum, plus the regularizer's gradient when there is one.
template <class M>
auto make_transformation(M& m, const config& cfg) {
  if constexpr (requires { m.reg; })
    return o::chain(rg::add_regularizer(*m.reg), o::trace({.decay = cfg.momentum}),
                    o::scale_by_learning_rate(cfg.lr));
  else
    return o::chain(o::trace({.decay = cfg.momentum}), o::scale_by_learning_rate(cfg.lr));
}

// A fixed subset of a task's training rows for importance estimates and GPM's representations.
std::vector<std::size_t> subset(const task_data& t, std::size_t n, std::uint64_t seed) {
  std::vector<std::size_t> idx(t.rows());
  std::iota(idx.begin(), idx.end(), std::size_t{0});
  continua::philox_engine rng(continua::philox_key{seed, 99});
  std::shuffle(idx.begin(), idx.end(), rng);
  idx.resize(std::min(n, idx.size()));
  return idx;
}

// Importance from per-sample signals on a subset of the finished task, at its solution: EWC's
// empirical Fisher squares log-likelihood gradients, MAS squares (label-free) output-norm ones.
template <class Reg, bool label_free>
struct importance_method : method_base {
  std::unique_ptr<Reg> reg;
  std::size_t samples;
  std::uint64_t seed;
  importance_method(typename Reg::options_type opt, const mlp& m, const config& cfg)
      : reg(std::make_unique<Reg>(opt, m.params())),
        samples(cfg.importance_samples),
        seed(cfg.seed) {}
  void end_task(std::size_t task, const task_data& train, mlp& model) {
    mlp::cache c;
    auto g = model.zeros_like();
    for (std::size_t i : subset(train, samples, seed + task)) {
      if constexpr (label_free)
        model.output_norm_gradient(train.rows_view(i, 1), g, c);
      else
        model.loss_and_gradient(train.rows_view(i, 1), std::span(&train.y[i], 1), g, c);
      reg->observe(g);
    }
    reg->consolidate(model.params());
  }
};
using ewc_method = importance_method<rg::ewc<params_type>, false>;
using mas_method = importance_method<rg::mas<params_type>, true>;

struct si_method : method_base {
  std::unique_ptr<rg::synaptic_intelligence<params_type>> reg;
  si_method(rg::si_options opt, const mlp& m)
      : reg(std::make_unique<rg::synaptic_intelligence<params_type>>(opt, m.params())) {}
  static constexpr bool wants_step_gradient = true;
  // The path integral uses the task loss's gradient (Zenke et al.), not the surrogate's.
  void after_step(const params_type& task_grads, const params_type& params) {
    reg->observe(task_grads, params);
  }
  void end_task(std::size_t, const task_data&, mlp& model) { reg->consolidate(model.params()); }
};

// GPM: one projection memory per weight matrix, fed with that layer's inputs on the finished task.
// Biases are not projected (the paper's networks have none); they stay free.
struct gpm_method : method_base {
  rg::gradient_projection<float> layer1, layer2;
  std::size_t samples;
  std::uint64_t seed;
  gpm_method(const config& cfg, std::size_t hidden)
      : layer1({.threshold = cfg.gpm_threshold}, pixels),
        layer2({.threshold = cfg.gpm_threshold}, hidden),
        samples(cfg.gpm_samples),
        seed(cfg.seed) {}
  void adjust(std::size_t task, params_type& grads, const mlp& model) {
    if (task == 0) return;
    layer1.project({std::get<0>(grads).data(), model.hidden(), pixels});
    layer2.project({std::get<2>(grads).data(), n_classes, model.hidden()});
  }
  void end_task(std::size_t task, const task_data& train, mlp& model) {
    const auto idx = subset(train, samples, seed + task);
    std::vector<float> x(idx.size() * pixels);
    for (std::size_t r = 0; r < idx.size(); ++r)
      std::copy_n(train.x.begin() + std::ptrdiff_t(idx[r] * pixels), pixels,
                  x.begin() + std::ptrdiff_t(r * pixels));
    mlp::cache c;
    model.forward({x.data(), idx.size(), pixels}, c);
    layer1.consolidate({x.data(), idx.size(), pixels});
    layer2.consolidate({c.hidden.data(), idx.size(), model.hidden()});
  }
};

// Experience replay: every training row is offered to a reservoir; from task 1 on each step's
// batch is the current mini-batch plus an equally large batch drawn from the reservoir.
struct replay_method : method_base {
  continua::sample::reservoir_buffer<float> memory;
  std::vector<float> rx;
  std::vector<std::int32_t> ry;
  replay_method(const config& cfg)
      : memory({.capacity = cfg.replay_capacity, .feature_dim = pixels, .seed = cfg.seed}) {}
  std::size_t extra_rows(std::size_t task, std::span<const float> x,
                         std::span<const std::int32_t> y, std::vector<float>& xb,
                         std::vector<std::int32_t>& yb) {
    std::size_t added = 0;
    if (task > 0) {
      rx.resize(x.size());
      ry.resize(y.size());
      memory.sample_batch(rx, ry);
      xb.insert(xb.end(), rx.begin(), rx.end());
      yb.insert(yb.end(), ry.begin(), ry.end());
      added = ry.size();
    }
    memory.add(x, y);
    return added;
  }
};

// A-GEM: the same reservoir; from task 1 on, the step's gradient is projected so that it does not
// increase the loss on a replay batch (first order).
struct agem_method : method_base {
  continua::sample::reservoir_buffer<float> memory;
  rg::agem<params_type> projector;
  std::vector<float> rx;
  std::vector<std::int32_t> ry;
  std::size_t batch;
  std::size_t projected = 0, steps = 0;
  agem_method(const config& cfg, const mlp& m)
      : memory({.capacity = cfg.replay_capacity, .feature_dim = pixels, .seed = cfg.seed}),
        projector(m.params()),
        batch(cfg.batch) {}
  std::size_t extra_rows(std::size_t, std::span<const float> x, std::span<const std::int32_t> y,
                         std::vector<float>&, std::vector<std::int32_t>&) {
    memory.add(x, y);
    return 0;
  }
  void adjust(std::size_t task, params_type& grads, const mlp& model) {
    if (task == 0) return;
    rx.resize(batch * pixels);
    ry.resize(batch);
    memory.sample_batch(rx, ry);
    auto ref = model.zeros_like();
    mlp::cache c;
    model.loss_and_gradient({rx.data(), batch, pixels}, ry, ref, c);
    projector.set_reference(ref);
    projected += projector.project(grads);
    ++steps;
  }
};

struct evaluation {
  mt::accuracy_matrix class_il{n_tasks}, task_il{n_tasks};
  double seconds = 0;
};

void evaluate(const mlp& model, const std::vector<task_data>& eval, std::size_t after,
              evaluation& e) {
  mlp::cache c;
  for (std::size_t j = 0; j <= after; ++j) {
    const task_data& t = eval[j];
    std::vector<std::int32_t> pc(t.rows()), pt(t.rows());
    const std::size_t chunk = 1000;
    for (std::size_t r = 0; r < t.rows(); r += chunk) {
      const std::size_t n = std::min(chunk, t.rows() - r);
      model.predict(t.rows_view(r, n), std::span(pc).subspan(r, n), c);
      model.predict(t.rows_view(r, n), std::span(pt).subspan(r, n), c, j * classes_per_task,
                    (j + 1) * classes_per_task);
    }
    e.class_il.set(after, j, mt::accuracy(pc, t.y));
    e.task_il.set(after, j, mt::accuracy(pt, t.y));
  }
}

template <class M>
evaluation run(const config& cfg, const std::vector<task_data>& train,
               const std::vector<task_data>& eval, mlp& model, M& method) {
  const auto t0 = std::chrono::steady_clock::now();
  evaluation e;
  mlp::cache c;
  auto grads = model.zeros_like();
  auto task_grads = model.zeros_like();
  std::vector<float> xb;
  std::vector<std::int32_t> yb;
  for (std::size_t task = 0; task < n_tasks; ++task) {
    const task_data& t = train[task];
    // Fresh momentum per task: the previous task's velocity points at its own optimum.
    o::optimizer opt(make_transformation(method, cfg), model.params());
    std::vector<std::size_t> order(t.rows());
    std::iota(order.begin(), order.end(), std::size_t{0});
    continua::philox_engine rng(continua::philox_key{cfg.seed, 1000 + task});
    for (std::size_t epoch = 0; epoch < cfg.epochs; ++epoch) {
      std::shuffle(order.begin(), order.end(), rng);
      for (std::size_t s = 0; s + cfg.batch <= t.rows(); s += cfg.batch) {
        xb.resize(cfg.batch * pixels);
        yb.resize(cfg.batch);
        for (std::size_t r = 0; r < cfg.batch; ++r) {
          std::copy_n(t.x.begin() + std::ptrdiff_t(order[s + r] * pixels), pixels,
                      xb.begin() + std::ptrdiff_t(r * pixels));
          yb[r] = t.y[order[s + r]];
        }
        const std::vector<float> cur_x = xb;
        const std::vector<std::int32_t> cur_y = yb;
        const std::size_t rows = cfg.batch + method.extra_rows(task, cur_x, cur_y, xb, yb);
        model.loss_and_gradient({xb.data(), rows, pixels}, yb, grads, c);
        method.adjust(task, grads, model);
        if constexpr (M::wants_step_gradient) task_grads = grads;
        opt.step(model.params(), grads);
        if constexpr (M::wants_step_gradient) method.after_step(task_grads, model.params());
      }
    }
    method.end_task(task, t, model);
    evaluate(model, eval, task, e);
  }
  e.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return e;
}

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  for (std::string item; std::getline(in, item, ',');)
    if (!item.empty()) out.push_back(item);
  return out;
}

config parse(int argc, char** argv) {
  config cfg;
  std::string methods = "all";
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw continua::invalid_argument("option " + a + " needs a value");
      return argv[++i];
    };
    if (a == "--epochs")
      cfg.epochs = std::stoul(value());
    else if (a == "--hidden")
      cfg.hidden = std::stoul(value());
    else if (a == "--methods")
      methods = value();
    else if (a == "--out")
      cfg.out = value();
    else if (a == "--data")
      cfg.data = value();
    else if (a == "--seed")
      cfg.seed = std::stoul(value());
    else if (a == "--lr")
      cfg.lr = std::stod(value());
    else if (a == "--validate")
      cfg.validate = true;
    else if (a == "--ewc-strength")
      cfg.ewc_strength = std::stod(value());
    else if (a == "--online-ewc-strength")
      cfg.online_ewc_strength = std::stod(value());
    else if (a == "--si-strength")
      cfg.si_strength = std::stod(value());
    else if (a == "--mas-strength")
      cfg.mas_strength = std::stod(value());
    else if (a == "--gpm-threshold")
      cfg.gpm_threshold = std::stod(value());
    else if (a == "--replay-capacity")
      cfg.replay_capacity = std::stoul(value());
    else if (a == "--help" || a == "-h") {
      std::printf(
          "usage: %s [--epochs N] [--hidden N] [--methods all|finetune,ewc,online_ewc,si,mas,gpm,"
          "replay,agem] [--out DIR] [--data DIR] [--validate] [--seed N] [--lr X] "
          "[--ewc-strength X] [--online-ewc-strength X] [--si-strength X] [--mas-strength X] "
          "[--gpm-threshold X] [--replay-capacity N] [--threads N]\n",
          argv[0]);
      std::exit(0);
    } else
      throw continua::invalid_argument("unknown option '" + a + "' (see --help)");
  }
  const std::vector<std::string> known = {"finetune", "ewc", "online_ewc", "si",
                                          "mas",      "gpm", "replay",     "agem"};
  cfg.methods = methods == "all" ? known : split_list(methods);
  for (const auto& m : cfg.methods)
    if (std::find(known.begin(), known.end(), m) == known.end())
      throw continua::invalid_argument("unknown method '" + m + "'");
  continua::require(cfg.epochs > 0 && cfg.hidden > 0, "split_fashion_mnist",
                    "--epochs and --hidden must be positive");
  return cfg;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const config cfg = parse(argc, argv);
#if defined(_OPENMP)
    // Eigen's GEMM threads over OpenMP; at batch 64 the fork/join and spinning cost more than
    // they save on a shared machine, so one thread is the default.
    omp_set_num_threads(static_cast<int>(cfg.threads));
#endif
    const auto train_set =
        continua::io::load_fashion_mnist(cfg.data, continua::io::dataset_split::train);
    // --validate: hold out the last 10,000 training images and evaluate on them.
    const std::size_t train_end = cfg.validate ? train_set.rows - 10000 : train_set.rows;
    const auto train = split(train_set, 0, train_end);
    std::vector<task_data> eval;
    if (cfg.validate) {
      eval = split(train_set, train_end, train_set.rows);
    } else {
      const auto test_set =
          continua::io::load_fashion_mnist(cfg.data, continua::io::dataset_split::test);
      eval = split(test_set, 0, test_set.rows);
    }
    std::filesystem::create_directories(cfg.out);
    std::printf(
        "Split Fashion-MNIST: %zu tasks x %zu classes, MLP 784-%zu-10, %zu epoch(s)/task, "
        "SGD lr %g momentum %g, batch %zu, evaluated on %s\n",
        n_tasks, classes_per_task, cfg.hidden, cfg.epochs, cfg.lr, cfg.momentum, cfg.batch,
        cfg.validate ? "held-out training images" : "the test set");

    struct row {
      std::string name;
      evaluation e;
    };
    std::vector<row> rows;
    for (const auto& name : cfg.methods) {
      mlp model(pixels, cfg.hidden, n_classes, cfg.seed);
      evaluation e;
      try {
        if (name == "finetune") {
          method_base m;
          e = run(cfg, train, eval, model, m);
        } else if (name == "ewc") {
          ewc_method m({.strength = cfg.ewc_strength}, model, cfg);
          e = run(cfg, train, eval, model, m);
        } else if (name == "online_ewc") {
          ewc_method m(
              {.strength = cfg.online_ewc_strength, .mode = rg::ewc_mode::online, .decay = 1.0},
              model, cfg);
          e = run(cfg, train, eval, model, m);
        } else if (name == "si") {
          si_method m({.strength = cfg.si_strength, .damping = 0.1}, model);
          e = run(cfg, train, eval, model, m);
        } else if (name == "mas") {
          mas_method m({.strength = cfg.mas_strength, .blend = 0.5}, model, cfg);
          e = run(cfg, train, eval, model, m);
        } else if (name == "gpm") {
          gpm_method m(cfg, cfg.hidden);
          e = run(cfg, train, eval, model, m);
          std::printf("gpm: basis ranks %zu (layer 1, of 784) and %zu (layer 2, of %zu)\n",
                      m.layer1.rank(), m.layer2.rank(), cfg.hidden);
        } else if (name == "replay") {
          replay_method m(cfg);
          e = run(cfg, train, eval, model, m);
        } else if (name == "agem") {
          agem_method m(cfg, model);
          e = run(cfg, train, eval, model, m);
          std::printf("agem: projected %zu of %zu steps after task 0\n", m.projected, m.steps);
        }
      } catch (const continua::non_finite_error& ex) {
        // A too-large strength makes the penalty's gradient step unstable; say so and go on.
        std::printf("\n== %s diverged (%s); lower its strength\n", name.c_str(), ex.what());
        continue;
      }
      std::printf("\n== %s (%.1f s)\nclass-incremental accuracy R[i][j]:\n%s", name.c_str(),
                  e.seconds, mt::format_table(e.class_il).c_str());
      std::printf(
          "ACC %.4f  BWT %+.4f  forgetting %.4f   (task-incremental: ACC %.4f  BWT %+.4f)\n",
          mt::average_accuracy(e.class_il), mt::backward_transfer(e.class_il),
          mt::forgetting(e.class_il), mt::average_accuracy(e.task_il),
          mt::backward_transfer(e.task_il));
      std::fflush(stdout);
      const std::filesystem::path out(cfg.out);
      mt::write_csv(e.class_il, out / (name + "_class_il.csv"));
      mt::write_csv(e.task_il, out / (name + "_task_il.csv"));
      mt::write_svg(e.class_il, out / (name + "_class_il.svg"),
                    "Split Fashion-MNIST, " + name + ", class-incremental");
      rows.push_back({name, std::move(e)});
    }

    std::printf("\n%-11s %9s %9s %10s %9s %9s %8s\n", "method", "ACC", "BWT", "forgetting",
                "TIL ACC", "TIL BWT", "seconds");
    for (const auto& r : rows)
      std::printf("%-11s %9.4f %+9.4f %10.4f %9.4f %+9.4f %8.1f\n", r.name.c_str(),
                  mt::average_accuracy(r.e.class_il), mt::backward_transfer(r.e.class_il),
                  mt::forgetting(r.e.class_il), mt::average_accuracy(r.e.task_il),
                  mt::backward_transfer(r.e.task_il), r.e.seconds);
    std::printf(
        "(ACC/BWT/forgetting: class-incremental, 10-way head; TIL: task-incremental)\n"
        "CSV and SVG files in %s\n",
        cfg.out.c_str());
  } catch (const std::exception& ex) {
    std::fprintf(stderr, "split_fashion_mnist_regularizers: %s\n", ex.what());
    return 1;
  }
}
