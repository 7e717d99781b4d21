// MPI reductions: sufficient statistics summed over ranks (labels merged by value) and gradient /
// parameter sets summed or averaged in place. Host memory only; the only header that includes MPI.
// MPI Forum, "MPI: A Message-Passing Interface Standard", v4.0, 2021, §6.9 (MPI_Allreduce); the
// sum of statistics equals the centralised fit: Zhuang et al., "AFL", 2024.
#pragma once

#include <mpi.h>

#include <algorithm>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "continua/analytic/class_index.hpp"
#include "continua/analytic/statistics.hpp"
#include "continua/config.hpp"
#include "continua/core/buffer.hpp"
#include "continua/core/error.hpp"
#include "continua/core/kernel.hpp"
#include "continua/core/memory_space.hpp"
#include "continua/core/parameter_set.hpp"
#include "continua/core/tensor.hpp"

namespace continua::distributed {

// An MPI call returned an error code; what() carries the context and MPI's own error string.
class distributed_error : public std::runtime_error {
 public:
  distributed_error(std::string_view context, std::string_view call, int code)
      : std::runtime_error(format(context, call, code)), code_(code) {}
  // The MPI error code (MPI_Error_class gives its class).
  int code() const noexcept { return code_; }

 private:
  static std::string format(std::string_view context, std::string_view call, int code) {
    char text[MPI_MAX_ERROR_STRING] = {};
    int length = 0;
    if (MPI_Error_string(code, text, &length) != MPI_SUCCESS) length = 0;
    return std::string(context) + ": " + std::string(call) + " failed with MPI error " +
           std::to_string(code) + (length > 0 ? ": " + std::string(text, std::size_t(length)) : "");
  }
  int code_;
};

namespace detail {

inline void check(int rc, std::string_view context, std::string_view call) {
  if (rc != MPI_SUCCESS) throw distributed_error(context, call, rc);
}

template <class T>
MPI_Datatype datatype() {
  using U = std::remove_const_t<T>;
  if constexpr (std::is_same_v<U, float>)
    return MPI_FLOAT;
  else if constexpr (std::is_same_v<U, double>)
    return MPI_DOUBLE;
  else if constexpr (std::is_same_v<U, long double>)
    return MPI_LONG_DOUBLE;
  else if constexpr (std::is_same_v<U, std::uint64_t>)
    return MPI_UINT64_T;
  else if constexpr (std::is_same_v<U, std::int32_t>)
    return MPI_INT32_T;
  else
    static_assert(always_false<U>, "continua::distributed: no MPI datatype for this element type");
}

// Under the default MPI_ERRORS_ARE_FATAL a failing call aborts the job before returning, so a
// return code could never become an exception. The caller's handler is put back on exit.
class errors_return_scope {
 public:
  errors_return_scope(MPI_Comm comm, std::string_view context) : comm_(comm) {
    check(MPI_Comm_get_errhandler(comm, &previous_), context, "MPI_Comm_get_errhandler");
    const int rc = MPI_Comm_set_errhandler(comm, MPI_ERRORS_RETURN);
    if (rc != MPI_SUCCESS) {
      MPI_Errhandler_free(&previous_);
      throw distributed_error(context, "MPI_Comm_set_errhandler", rc);
    }
  }
  errors_return_scope(const errors_return_scope&) = delete;
  errors_return_scope& operator=(const errors_return_scope&) = delete;
  ~errors_return_scope() {
    MPI_Comm_set_errhandler(comm_, previous_);
    MPI_Errhandler_free(&previous_);
  }

 private:
  MPI_Comm comm_;
  MPI_Errhandler previous_ = MPI_ERRHANDLER_NULL;
};

// MPI is running and comm is a communicator: checked before anything else touches comm.
inline void require_usable(MPI_Comm comm, std::string_view context) {
  int initialized = 0, finalized = 0;
  check(MPI_Initialized(&initialized), context, "MPI_Initialized");
  check(MPI_Finalized(&finalized), context, "MPI_Finalized");
  require(initialized != 0 && finalized == 0, context,
          "MPI is not running (call MPI_Init before and MPI_Finalize after continua's reductions)");
  require(comm != MPI_COMM_NULL, context, "the communicator is MPI_COMM_NULL");
}

// Counts are int in MPI-3: larger arrays go in pieces.
template <class T>
void allreduce_in_place(T* data, std::size_t n, MPI_Op op, MPI_Comm comm,
                        std::string_view context) {
  constexpr std::size_t piece = std::size_t{1} << 30;
  static_assert(piece <= std::size_t(INT_MAX));
  for (std::size_t begin = 0; begin < n; begin += piece) {
    const int count = static_cast<int>(std::min(piece, n - begin));
    check(MPI_Allreduce(MPI_IN_PLACE, data + begin, count, datatype<T>(), op, comm), context,
          "MPI_Allreduce");
  }
}

// Per value: (minimum, maximum) over the ranks, from one MPI_MIN of v and ~v (~ reverses order).
inline std::vector<std::pair<std::uint64_t, std::uint64_t>> min_max(
    const std::vector<std::uint64_t>& values, MPI_Comm comm, std::string_view context) {
  std::vector<std::uint64_t> both(values);
  for (const std::uint64_t v : values) both.push_back(~v);
  allreduce_in_place(both.data(), both.size(), MPI_MIN, comm, context);
  std::vector<std::pair<std::uint64_t, std::uint64_t>> out;
  for (std::size_t i = 0; i < values.size(); ++i)
    out.emplace_back(both[i], ~both[values.size() + i]);
  return out;
}

// Every rank's labels, sorted and without duplicates: the same vector on every rank.
inline std::vector<std::int32_t> label_union(const std::vector<std::int32_t>& local, MPI_Comm comm,
                                             std::string_view context) {
  int ranks = 0;
  check(MPI_Comm_size(comm, &ranks), context, "MPI_Comm_size");
  require(local.size() <= std::size_t(INT_MAX), context, "more than INT_MAX classes");
  const int mine = static_cast<int>(local.size());
  std::vector<int> sizes(std::size_t(ranks), 0), offsets(std::size_t(ranks), 0);
  check(MPI_Allgather(&mine, 1, MPI_INT, sizes.data(), 1, MPI_INT, comm), context, "MPI_Allgather");
  std::size_t total = 0;
  for (std::size_t r = 0; r < sizes.size(); ++r) {
    require(total + std::size_t(sizes[r]) <= std::size_t(INT_MAX), context,
            "more than INT_MAX labels over all ranks");
    offsets[r] = static_cast<int>(total);
    total += std::size_t(sizes[r]);
  }
  std::vector<std::int32_t> all(std::max<std::size_t>(total, 1));
  check(MPI_Allgatherv(local.data(), mine, MPI_INT32_T, all.data(), sizes.data(), offsets.data(),
                       MPI_INT32_T, comm),
        context, "MPI_Allgatherv");
  all.resize(total);
  std::sort(all.begin(), all.end());
  all.erase(std::unique(all.begin(), all.end()), all.end());
  return all;
}

template <class T>
struct divide_fn {
  T* x;
  T by;
  CONTINUA_HD void operator()(std::size_t i) const { x[i] /= by; }
};

// FNV-1a over the tensor sizes and element widths: equal on ranks with the same structure.
inline std::uint64_t mix(std::uint64_t h, std::uint64_t v) {
  for (int byte = 0; byte < 8; ++byte) {
    h ^= (v >> (8 * byte)) & 0xffu;
    h *= 0x100000001b3ull;
  }
  return h;
}

template <parameter_set P>
void reduce_parameters(P& set, MPI_Comm comm, std::string_view context, bool mean) {
  require_usable(comm, context);
  std::uint64_t hash = 0xcbf29ce484222325ull;
  for_each_tensor(set, [&](std::size_t, auto& t) {
    using tensor_type = std::remove_cvref_t<decltype(t)>;
    static_assert(std::is_same_v<memory_space_t<tensor_type>, host_space>,
                  "continua::distributed: tensors must live in host memory (device-aware MPI is "
                  "not supported; copy to the host first)");
    static_assert(!std::is_const_v<std::remove_pointer_t<decltype(continua::data(t))>>,
                  "continua::distributed: the parameter set is reduced in place and must be "
                  "writable");
    hash = mix(mix(hash, continua::size(t)), sizeof(value_t<tensor_type>));
  });
  const errors_return_scope scope(comm, context);
  // Agree on the structure first: mismatched counts in MPI_Allreduce would hang or corrupt.
  const auto agreed = min_max({tensor_count(set), total_size(set), hash}, comm, context);
  if (agreed[0].first != agreed[0].second || agreed[1].first != agreed[1].second ||
      agreed[2].first != agreed[2].second)
    throw invalid_argument(
        std::string(context) + ": ranks disagree on the parameter set (tensor count " +
        std::to_string(agreed[0].first) + ".." + std::to_string(agreed[0].second) +
        ", total elements " + std::to_string(agreed[1].first) + ".." +
        std::to_string(agreed[1].second) +
        (agreed[0].first == agreed[0].second && agreed[1].first == agreed[1].second
             ? ", equal totals but different per-tensor sizes or element types"
             : "") +
        "); nothing was reduced");
  int ranks = 1;
  check(MPI_Comm_size(comm, &ranks), context, "MPI_Comm_size");
  for_each_tensor(set, [&](std::size_t, auto& t) {
    using T = value_t<std::remove_cvref_t<decltype(t)>>;
    T* p = continua::data(t);
    const std::size_t n = continua::size(t);
    allreduce_in_place(p, n, MPI_SUM, comm, context);
    if (mean && n != 0) for_each_index(host_space{}, n, divide_fn<T>{p, T(ranks)});
  });
}

}  // namespace detail

// Sums sufficient statistics over all ranks of comm, so every rank holds what one centralised
// fit on all ranks' rows would have accumulated. Ranks may hold different classes in different
// column orders: the result's columns are the union of all labels in ascending order (the same
// on every rank). Collective: every rank of comm must call it. local is not changed; on any
// throw nothing is returned. Statistics in host memory only.
// Throws invalid_argument on every rank when ranks disagree on features (or hold none), and
// distributed_error when an MPI call fails (the communicator's error handler is set to
// MPI_ERRORS_RETURN for the call and restored after).
template <class T>
analytic::sufficient_statistics<T> allreduce(const analytic::sufficient_statistics<T>& local,
                                             MPI_Comm comm) {
  constexpr std::string_view context = "continua::distributed::allreduce";
  detail::require_usable(comm, context);
  const detail::errors_return_scope scope(comm, context);
  const std::size_t d = local.features();
  const auto features = detail::min_max({d}, comm, context)[0];
  if (features.first != features.second)
    throw invalid_argument(std::string(context) + ": ranks disagree on features (from " +
                           std::to_string(features.first) + " to " +
                           std::to_string(features.second) + "; this rank has " +
                           std::to_string(d) + ")");
  require(d > 0, context, "the statistics have no features (default-constructed on every rank)");

  // This rank's statistics aligned to the union's column order (a superset of its labels).
  const analytic::class_index all(detail::label_union(local.labels(), comm, context));
  const auto aligned = all.plan_merge(context, local.index());
  const std::size_t k = aligned.classes();
  analytic::sufficient_statistics<T> out = local;
  buffer<T> cross(d * k);
  analytic::scatter_columns(aligned, local.cross_buffer(), d, cross);
  // Per-column counts, then the sample count, in one message.
  std::vector<std::uint64_t> counts = aligned.counts();
  counts.push_back(aligned.samples());

  detail::allreduce_in_place(out.gram_buffer().data(), out.gram_buffer().size(), MPI_SUM, comm,
                             context);
  detail::allreduce_in_place(cross.data(), cross.size(), MPI_SUM, comm, context);
  detail::allreduce_in_place(counts.data(), counts.size(), MPI_SUM, comm, context);

  const std::uint64_t samples = counts[k];
  counts.pop_back();
  out.cross_buffer() = std::move(cross);
  out.restore(aligned.labels(), std::move(counts), samples);
  return out;
}

// Sums a gradient (or any parameter set: one tensor, a tuple, a range) over all ranks in place.
// Collective. Ranks must agree on tensor count, sizes and element types: checked first with one
// small allreduce, and a mismatch throws invalid_argument on every rank with grads unchanged.
// Host memory only (a device tensor is a compile error).
template <parameter_set P>
void allreduce_sum(P& grads, MPI_Comm comm) {
  detail::reduce_parameters(grads, comm, "continua::distributed::allreduce_sum", false);
}

// As allreduce_sum, then divides by the number of ranks: data-parallel gradient averaging.
template <parameter_set P>
void allreduce_mean(P& grads, MPI_Comm comm) {
  detail::reduce_parameters(grads, comm, "continua::distributed::allreduce_mean", true);
}

}  // namespace continua::distributed
