// Checkpoints of analytic learners (classifier heads, DS-AL, random-feature layers and sufficient
// statistics) through
// continua::io checkpoints: versioned, CRC-checked, atomic; a loaded learner resumes
// bit-identically.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "continua/analytic/classifier.hpp"
#include "continua/analytic/dual_stream.hpp"
#include "continua/analytic/random_features.hpp"
#include "continua/analytic/statistics.hpp"
#include "continua/io/checkpoint.hpp"

namespace continua::analytic {

inline constexpr std::uint32_t checkpoint_schema = 1;

namespace detail {

template <class T, class Space>
void put(io::checkpoint_writer& w, std::string_view name, const buffer<T, Space>& b,
         std::vector<std::uint64_t> shape) {
  const std::vector<T> host = b.to_host();
  w.add(name, std::span<const T>(host.data(), host.size()), shape);
}

template <class T, class Space>
buffer<T, Space> take(const io::checkpoint_reader& r, std::string_view name,
                      std::vector<std::uint64_t> shape) {
  buffer<T, Space> b;
  b.assign_from_host(r.get<T>(name, shape));
  return b;
}

inline void put_bookkeeping(io::checkpoint_writer& w, const std::string& prefix,
                            std::size_t features, const std::vector<std::int32_t>& labels,
                            const std::vector<std::uint64_t>& counts, std::uint64_t samples) {
  w.add_scalar<std::uint64_t>(prefix + "features", features);
  w.add(prefix + "labels", labels);
  w.add(prefix + "counts", counts);
  w.add_scalar<std::uint64_t>(prefix + "samples", samples);
}

struct bookkeeping {
  std::size_t classes;
  std::vector<std::int32_t> labels;
  std::vector<std::uint64_t> counts;
  std::uint64_t samples;
};

inline bookkeeping take_bookkeeping(const io::checkpoint_reader& r, const std::string& prefix,
                                    std::size_t features) {
  const auto d = r.get_scalar<std::uint64_t>(prefix + "features");
  if (d != features)
    throw io_error("checkpoint '" + r.source() + "': holds " + std::to_string(d) +
                   " features, the learner has " + std::to_string(features));
  bookkeeping b{0, r.get<std::int32_t>(prefix + "labels"), r.get<std::uint64_t>(prefix + "counts"),
                r.get_scalar<std::uint64_t>(prefix + "samples")};
  b.classes = b.labels.size();
  if (b.counts.size() != b.classes)
    throw io_error("checkpoint '" + r.source() + "': " + std::to_string(b.counts.size()) +
                   " counts for " + std::to_string(b.classes) + " labels");
  return b;
}

template <class T>
std::string scalar_name() {
  return std::is_same_v<T, float> ? "f32" : "f64";
}

}  // namespace detail

namespace detail {

// The policy's state under field names prefixed by `prefix` ("" for a lone head).
template <class T, class Policy, class Space>
void put_policy_state(io::checkpoint_writer& w, const std::string& prefix,
                      const recursive_least_squares<T, Policy, Space>& rls) {
  const std::size_t d = rls.features(), k = rls.outputs();
  const auto& st = rls.policy_state();
  w.add_text(prefix + "policy", Policy::name);
  w.add_text(prefix + "scalar", scalar_name<T>());
  w.add_scalar<double>(prefix + "gamma", rls.options().gamma);
  if constexpr (std::is_same_v<Policy, woodbury>) {
    put(w, prefix + "inverse", st.inverse(), {d, d});
    put(w, prefix + "weights", st.weight_buffer(), {d, k});
    w.add_scalar<std::uint64_t>(prefix + "since_symmetrized", st.since_symmetrized());
  } else {
    put(w, prefix + "gram", st.gram(), {d, d});
    put(w, prefix + "cross", st.cross(), {d, k});
  }
}

// A policy state read and checked against `rls` (policy, scalar type, gamma, shapes with k
// outputs) but not yet installed: commit() does that and cannot fail.
template <class T, class Policy, class Space>
struct policy_payload {
  std::size_t outputs = 0;
  buffer<T, Space> first, second;  // (inverse, weights) or (gram, cross)
  std::uint64_t since_symmetrized = 0;

  policy_payload(const io::checkpoint_reader& r, const std::string& prefix,
                 const recursive_least_squares<T, Policy, Space>& rls, std::size_t k)
      : outputs(k) {
    const auto where = "checkpoint '" + r.source() + "': ";
    if (r.get_text(prefix + "policy") != Policy::name)
      throw io_error(where + "written by the '" + r.get_text(prefix + "policy") +
                     "' policy, loading into '" + std::string(Policy::name) + "'");
    if (r.get_text(prefix + "scalar") != scalar_name<T>())
      throw io_error(where + "holds " + r.get_text(prefix + "scalar") + " state, the learner is " +
                     scalar_name<T>());
    if (r.get_scalar<double>(prefix + "gamma") != rls.options().gamma)
      throw io_error(where + "gamma differs from the learner's");
    const std::size_t d = rls.features();
    if constexpr (std::is_same_v<Policy, woodbury>) {
      first = take<T, Space>(r, prefix + "inverse", {d, d});
      second = take<T, Space>(r, prefix + "weights", {d, k});
      since_symmetrized = r.get_scalar<std::uint64_t>(prefix + "since_symmetrized");
    } else {
      first = take<T, Space>(r, prefix + "gram", {d, d});
      second = take<T, Space>(r, prefix + "cross", {d, k});
    }
  }

  void commit(recursive_least_squares<T, Policy, Space>& rls) {
    auto& st = rls.policy_state();
    st.resize_outputs(outputs);
    if constexpr (std::is_same_v<Policy, woodbury>) {
      st.inverse() = std::move(first);
      st.weight_buffer() = std::move(second);
      st.since_symmetrized() = since_symmetrized;
    } else {
      st.gram() = std::move(first);
      st.cross() = std::move(second);
      st.invalidate();
    }
  }
};

template <class T, class Policy, class Space>
void put_head(io::checkpoint_writer& w, const std::string& prefix,
              const analytic_classifier<T, Policy, Space>& head) {
  put_bookkeeping(w, prefix, head.features(), head.labels(), head.counts(), head.samples());
  put_policy_state(w, prefix, head.regressor());
}

// A head read and checked against `head`, installed by commit().
template <class T, class Policy, class Space>
struct head_payload {
  bookkeeping book;
  policy_payload<T, Policy, Space> state;

  head_payload(const io::checkpoint_reader& r, const std::string& prefix,
               const analytic_classifier<T, Policy, Space>& head)
      : book(take_bookkeeping(r, prefix, head.features())),
        state(r, prefix, head.regressor(), book.classes) {}

  void commit(analytic_classifier<T, Policy, Space>& head) {
    state.commit(head.regressor());
    head.restore(std::move(book.labels), std::move(book.counts), book.samples);
  }
};

}  // namespace detail

template <class T, class Policy, class Space>
void save(const std::filesystem::path& path, const analytic_classifier<T, Policy, Space>& head) {
  io::checkpoint_writer w("analytic.classifier", checkpoint_schema);
  detail::put_head(w, "", head);
  w.save(path);
}

// Reads a head saved by save() into `head`, which must have the same policy, scalar type,
// features and gamma. Everything is validated before `head` changes.
template <class T, class Policy, class Space>
void load(const std::filesystem::path& path, analytic_classifier<T, Policy, Space>& head) {
  const io::checkpoint_reader r(path);
  r.require_kind("analytic.classifier", checkpoint_schema);
  detail::head_payload<T, Policy, Space>(r, "", head).commit(head);
}

// DS-AL: both streams in one checkpoint ("main." and "compensation." fields) plus the ratio C.
template <class T, class Policy, class Space>
void save(const std::filesystem::path& path,
          const dual_stream_classifier<T, Policy, Space>& model) {
  io::checkpoint_writer w("analytic.dual_stream", checkpoint_schema);
  w.add_scalar<double>("compensation_ratio", model.options().compensation_ratio);
  detail::put_head(w, "main.", model.main_stream());
  w.add_scalar<std::uint64_t>("compensation.features", model.compensation_stream().features());
  w.add_scalar<std::uint64_t>("compensation.outputs", model.compensation_stream().outputs());
  detail::put_policy_state(w, "compensation.", model.compensation_stream());
  w.save(path);
}

// Reads a model saved by save() into `model` (same policy, scalar type, feature counts, gamma of
// both streams and ratio C); validated in full before `model` changes.
template <class T, class Policy, class Space>
void load(const std::filesystem::path& path, dual_stream_classifier<T, Policy, Space>& model) {
  const io::checkpoint_reader r(path);
  r.require_kind("analytic.dual_stream", checkpoint_schema);
  const auto where = "checkpoint '" + r.source() + "': ";
  if (r.get_scalar<double>("compensation_ratio") != model.options().compensation_ratio)
    throw io_error(where + "compensation_ratio differs from the model's");
  const auto dc = r.get_scalar<std::uint64_t>("compensation.features");
  if (dc != model.compensation_stream().features())
    throw io_error(where + "holds " + std::to_string(dc) +
                   " compensation features, the model has " +
                   std::to_string(model.compensation_stream().features()));
  detail::head_payload<T, Policy, Space> main(r, "main.", model.main_stream());
  // The compensation stream has one output per class once it has been fitted, none before.
  const auto k = r.get_scalar<std::uint64_t>("compensation.outputs");
  if (k != 0 && k != main.book.classes)
    throw io_error(where + std::to_string(k) + " compensation outputs for " +
                   std::to_string(main.book.classes) + " classes");
  detail::policy_payload<T, Policy, Space> comp(r, "compensation.", model.compensation_stream(), k);
  main.commit(model.main_stream());
  comp.commit(model.compensation_stream());
}

// A random-feature layer's W and b (which normalize_inputs() may have changed since
// construction), checked against the layer's options.
template <class T, class Activation, class Space>
void save(const std::filesystem::path& path, const random_features<T, Activation, Space>& layer) {
  io::checkpoint_writer w("analytic.random_features", checkpoint_schema);
  w.add_text("activation", Activation::name);
  w.add_text("scalar", detail::scalar_name<T>());
  w.add_scalar<std::uint64_t>("inputs", layer.inputs());
  w.add_scalar<std::uint64_t>("outputs", layer.outputs());
  w.add_scalar<std::uint64_t>("seed", layer.options().seed);
  detail::put(w, "projection", layer.projection(), {layer.outputs(), layer.inputs()});
  detail::put(w, "bias", layer.bias(), {layer.outputs()});
  w.save(path);
}

template <class T, class Activation, class Space>
void load(const std::filesystem::path& path, random_features<T, Activation, Space>& layer) {
  const io::checkpoint_reader r(path);
  r.require_kind("analytic.random_features", checkpoint_schema);
  const auto where = "checkpoint '" + r.source() + "': ";
  if (r.get_text("activation") != Activation::name)
    throw io_error(where + "holds a '" + r.get_text("activation") + "' layer, loading into '" +
                   std::string(Activation::name) + "'");
  if (r.get_text("scalar") != detail::scalar_name<T>())
    throw io_error(where + "holds " + r.get_text("scalar") + " weights, the layer is " +
                   detail::scalar_name<T>());
  if (r.get_scalar<std::uint64_t>("inputs") != layer.inputs() ||
      r.get_scalar<std::uint64_t>("outputs") != layer.outputs() ||
      r.get_scalar<std::uint64_t>("seed") != layer.options().seed)
    throw io_error(where + "inputs, outputs or seed differ from the layer's");
  auto projection = detail::take<T, Space>(r, "projection", {layer.outputs(), layer.inputs()});
  auto bias = detail::take<T, Space>(r, "bias", {layer.outputs()});
  layer.restore(std::move(projection), std::move(bias));
}

template <class T, class Space>
void save(const std::filesystem::path& path, const sufficient_statistics<T, Space>& s) {
  io::checkpoint_writer w("analytic.statistics", checkpoint_schema);
  const std::size_t d = s.features();
  w.add_text("scalar", detail::scalar_name<T>());
  detail::put_bookkeeping(w, "", d, s.labels(), s.counts(), s.samples());
  detail::put(w, "gram", s.gram_buffer(), {d, d});
  detail::put(w, "cross", s.cross_buffer(), {d, s.classes()});
  w.save(path);
}

template <class T, class Space>
void load(const std::filesystem::path& path, sufficient_statistics<T, Space>& s) {
  const io::checkpoint_reader r(path);
  r.require_kind("analytic.statistics", checkpoint_schema);
  if (r.get_text("scalar") != detail::scalar_name<T>())
    throw io_error("checkpoint '" + r.source() + "': holds " + r.get_text("scalar") +
                   " statistics, loading into " + detail::scalar_name<T>());
  const std::size_t d = s.features();
  auto book = detail::take_bookkeeping(r, "", d);
  auto gram = detail::take<T, Space>(r, "gram", {d, d});
  auto cross = detail::take<T, Space>(r, "cross", {d, book.classes});
  s.gram_buffer() = std::move(gram);
  s.cross_buffer() = std::move(cross);
  s.restore(std::move(book.labels), std::move(book.counts), book.samples);
}

}  // namespace continua::analytic
