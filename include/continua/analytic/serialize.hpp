// Checkpoints of analytic learners (classifier heads and sufficient statistics) through
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

inline void put_bookkeeping(io::checkpoint_writer& w, std::size_t features,
                            const std::vector<std::int32_t>& labels,
                            const std::vector<std::uint64_t>& counts, std::uint64_t samples) {
  w.add_scalar<std::uint64_t>("features", features);
  w.add("labels", labels);
  w.add("counts", counts);
  w.add_scalar<std::uint64_t>("samples", samples);
}

struct bookkeeping {
  std::size_t classes;
  std::vector<std::int32_t> labels;
  std::vector<std::uint64_t> counts;
  std::uint64_t samples;
};

inline bookkeeping take_bookkeeping(const io::checkpoint_reader& r, std::size_t features) {
  const auto d = r.get_scalar<std::uint64_t>("features");
  if (d != features)
    throw io_error("checkpoint '" + r.source() + "': holds " + std::to_string(d) +
                   " features, the learner has " + std::to_string(features));
  bookkeeping b{0, r.get<std::int32_t>("labels"), r.get<std::uint64_t>("counts"),
                r.get_scalar<std::uint64_t>("samples")};
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

template <class T, class Policy, class Space>
void save(const std::filesystem::path& path, const analytic_classifier<T, Policy, Space>& head) {
  io::checkpoint_writer w("analytic.classifier", checkpoint_schema);
  const std::size_t d = head.features();
  const std::size_t k = head.classes();
  w.add_text("policy", Policy::name);
  w.add_text("scalar", detail::scalar_name<T>());
  w.add_scalar<double>("gamma", head.options().gamma);
  detail::put_bookkeeping(w, d, head.labels(), head.counts(), head.samples());
  const auto& st = head.regressor().policy_state();
  if constexpr (std::is_same_v<Policy, woodbury>) {
    detail::put(w, "inverse", st.inverse(), {d, d});
    detail::put(w, "weights", st.weight_buffer(), {d, k});
    w.add_scalar<std::uint64_t>("since_symmetrized", st.since_symmetrized());
  } else {
    detail::put(w, "gram", st.gram(), {d, d});
    detail::put(w, "cross", st.cross(), {d, k});
  }
  w.save(path);
}

// Reads a head saved by save() into `head`, which must have the same policy, scalar type,
// features and gamma. Everything is validated before `head` changes.
template <class T, class Policy, class Space>
void load(const std::filesystem::path& path, analytic_classifier<T, Policy, Space>& head) {
  const io::checkpoint_reader r(path);
  r.require_kind("analytic.classifier", checkpoint_schema);
  const auto where = "checkpoint '" + r.source() + "': ";
  if (r.get_text("policy") != Policy::name)
    throw io_error(where + "written by the '" + r.get_text("policy") + "' policy, loading into '" +
                   std::string(Policy::name) + "'");
  if (r.get_text("scalar") != detail::scalar_name<T>())
    throw io_error(where + "holds " + r.get_text("scalar") + " state, the learner is " +
                   detail::scalar_name<T>());
  if (r.get_scalar<double>("gamma") != head.options().gamma)
    throw io_error(where + "gamma differs from the learner's");
  const std::size_t d = head.features();
  auto book = detail::take_bookkeeping(r, d);
  const std::size_t k = book.classes;
  auto& st = head.regressor().policy_state();
  if constexpr (std::is_same_v<Policy, woodbury>) {
    auto inverse = detail::take<T, Space>(r, "inverse", {d, d});
    auto weights = detail::take<T, Space>(r, "weights", {d, k});
    const auto since = r.get_scalar<std::uint64_t>("since_symmetrized");
    st.resize_outputs(k);
    st.inverse() = std::move(inverse);
    st.weight_buffer() = std::move(weights);
    st.since_symmetrized() = since;
  } else {
    auto gram = detail::take<T, Space>(r, "gram", {d, d});
    auto cross = detail::take<T, Space>(r, "cross", {d, k});
    st.resize_outputs(k);
    st.gram() = std::move(gram);
    st.cross() = std::move(cross);
    st.invalidate();
  }
  head.restore(std::move(book.labels), std::move(book.counts), book.samples);
}

template <class T, class Space>
void save(const std::filesystem::path& path, const sufficient_statistics<T, Space>& s) {
  io::checkpoint_writer w("analytic.statistics", checkpoint_schema);
  const std::size_t d = s.features();
  w.add_text("scalar", detail::scalar_name<T>());
  detail::put_bookkeeping(w, d, s.labels(), s.counts(), s.samples());
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
  auto book = detail::take_bookkeeping(r, d);
  auto gram = detail::take<T, Space>(r, "gram", {d, d});
  auto cross = detail::take<T, Space>(r, "cross", {d, book.classes});
  s.gram_buffer() = std::move(gram);
  s.cross_buffer() = std::move(cross);
  s.restore(std::move(book.labels), std::move(book.counts), book.samples);
}

}  // namespace continua::analytic
