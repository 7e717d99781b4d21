// continua::distributed under mpiexec (2 and 4 ranks): statistics summed over ranks equal the
// joint long-double ridge over all rows (tests/analytic/reference.hpp), gradient sums and means
// equal their closed forms, and disagreeing ranks get an exception on every rank (no hang).
// Plain main: every rank runs every check; failures are gathered to rank 0, which reports; the
// exit code is nonzero on every rank when any rank failed.
#include <mpi.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <map>
#include <set>
#include <span>
#include <string>
#include <tuple>
#include <vector>

#include "../analytic/reference.hpp"
#include "continua/analytic/classifier.hpp"
#include "continua/analytic/statistics.hpp"
#include "continua/distributed.hpp"

namespace an = continua::analytic;
namespace dist = continua::distributed;
using analytic_test::data_set;
using continua::matrix_view;

namespace {

int rank = 0;
int ranks = 1;
int checks = 0;
std::vector<std::string> failures;

void check(bool ok, const std::string& what) {
  ++checks;
  if (!ok) failures.push_back("rank " + std::to_string(rank) + ": " + what);
}

template <class F>
void expect_invalid_argument(F&& f, const std::string& what) {
  try {
    f();
    check(false, what + ": no exception");
  } catch (const continua::invalid_argument&) {
    check(true, what);
  } catch (const std::exception& e) {
    check(false, what + ": wrong exception: " + e.what());
  }
}

template <class T>
std::vector<T> cast(const std::vector<double>& v) {
  return std::vector<T>(v.begin(), v.end());
}

// Row i belongs to rank i % ranks, except that rank r never gets a class y with y % ranks == r
// (those rows go to the next rank): ranks hold different class sets, and every row one rank.
int owner(std::size_t i, std::int32_t label) {
  int r = int(i % std::size_t(ranks));
  if (ranks > 1 && label % ranks == r) r = (r + 1) % ranks;
  return r;
}

// This rank's rows in batches of 7; odd ranks go backwards so their columns appear in another
// order than on even ranks.
template <class T>
an::sufficient_statistics<T> local_statistics(const data_set& s, const std::vector<T>& x) {
  std::vector<std::size_t> mine;
  for (std::size_t i = 0; i < s.rows; ++i)
    if (owner(i, s.labels[i]) == rank) mine.push_back(i);
  if (rank % 2 == 1) std::reverse(mine.begin(), mine.end());
  an::sufficient_statistics<T> stats(s.features);
  for (std::size_t b = 0; b < mine.size(); b += 7) {
    const std::size_t n = std::min<std::size_t>(7, mine.size() - b);
    std::vector<T> rows;
    std::vector<std::int32_t> labels;
    for (std::size_t j = b; j < b + n; ++j) {
      rows.insert(rows.end(), x.begin() + std::ptrdiff_t(mine[j] * s.features),
                  x.begin() + std::ptrdiff_t((mine[j] + 1) * s.features));
      labels.push_back(s.labels[mine[j]]);
    }
    stats.add(matrix_view<const T>(rows.data(), n, s.features), labels);
  }
  return stats;
}

template <class T, class Policy>
double error_against_joint(const an::sufficient_statistics<T>& global, const data_set& s,
                           double gamma) {
  an::analytic_classifier<T, Policy> head({.gamma = gamma}, s.features);
  head.merge(global);
  const auto w = head.weights();
  const std::vector<T> weights(w.data(), w.data() + w.size());
  const auto ref = analytic_test::joint_ridge(s, gamma, head.labels());
  return analytic_test::relative_error(weights, head.classes(), ref, head.classes(), s.features);
}

// Statistics of disjoint slices, summed by allreduce, give the joint ridge over all rows.
template <class T>
void statistics_equal_the_joint_fit(double tolerance) {
  const std::string name =
      std::string("allreduce statistics (") + (sizeof(T) == 8 ? "double" : "float") + ")";
  const data_set s = analytic_test::make_data(420, 10, 6, 2024);
  const double gamma = 0.5;
  const std::vector<T> x = cast<T>(s.x);
  const auto local = local_statistics(s, x);
  if (ranks > 1) check(local.classes() < 6, name + ": this rank should lack some classes");

  const auto global = dist::allreduce(local, MPI_COMM_WORLD);

  const std::set<std::int32_t> all(s.labels.begin(), s.labels.end());
  check(global.labels() == std::vector<std::int32_t>(all.begin(), all.end()),
        name + ": columns are the sorted union of labels");
  std::map<std::int32_t, std::uint64_t> per_class;
  for (const auto y : s.labels) ++per_class[y];
  bool counts_ok = global.counts().size() == global.labels().size();
  for (std::size_t c = 0; counts_ok && c < global.labels().size(); ++c)
    counts_ok = global.counts()[c] == per_class[global.labels()[c]];
  check(counts_ok, name + ": per-class counts equal those of the whole data set");
  check(global.samples() == s.rows, name + ": samples = " + std::to_string(global.samples()) +
                                        ", expected " + std::to_string(s.rows));
  check(global.features() == s.features, name + ": features kept");

  const double e_w = error_against_joint<T, an::woodbury>(global, s, gamma);
  const double e_c = error_against_joint<T, an::cholesky>(global, s, gamma);
  check(e_w <= tolerance, name + ": woodbury relative error " + std::to_string(e_w));
  check(e_c <= tolerance, name + ": cholesky relative error " + std::to_string(e_c));
  if (rank == 0)
    std::printf("%s: relative error to the joint ridge: woodbury %.2e, cholesky %.2e\n",
                name.c_str(), e_w, e_c);
}

// Ranks holding no rows (fresh statistics) add nothing: all rows on rank 0 still give the joint
// fit.
void ranks_without_rows_contribute_nothing() {
  const data_set s = analytic_test::make_data(90, 5, 3, 7);
  an::sufficient_statistics<double> local(s.features);
  if (rank == 0) local.add(matrix_view<const double>(s.x.data(), s.rows, s.features), s.labels);
  const auto global = dist::allreduce(local, MPI_COMM_WORLD);
  check(global.samples() == s.rows, "empty ranks: sample count");
  const double e = error_against_joint<double, an::cholesky>(global, s, 1.0);
  check(e <= 1e-9, "empty ranks: cholesky relative error " + std::to_string(e));
}

// A handler of the test's own, to see that the call puts it back.
void ignore_errors(MPI_Comm*, int*, ...) {}

// Disagreeing feature counts: every rank throws (and none hangs); the handler is put back.
void features_mismatch_throws_on_every_rank() {
  MPI_Comm comm = MPI_COMM_NULL;
  MPI_Comm_dup(MPI_COMM_WORLD, &comm);
  MPI_Errhandler mine = MPI_ERRHANDLER_NULL;
  MPI_Comm_create_errhandler(ignore_errors, &mine);
  MPI_Comm_set_errhandler(comm, mine);

  an::sufficient_statistics<double> local(rank == 0 ? 5 : 6);
  const std::vector<double> row(local.features(), 1.0);
  const std::vector<std::int32_t> label{rank};
  local.add(matrix_view<const double>(row.data(), 1, row.size()), label);
  expect_invalid_argument([&] { (void)dist::allreduce(local, comm); },
                          "features 5 on rank 0 and 6 elsewhere");
  check(local.samples() == 1 && local.classes() == 1, "features mismatch: local unchanged");

  MPI_Errhandler after = MPI_ERRHANDLER_NULL;
  MPI_Comm_get_errhandler(comm, &after);
  check(after == mine, "the communicator's error handler is restored after a throw");
  MPI_Errhandler_free(&after);
  MPI_Errhandler_free(&mine);
  MPI_Comm_free(&comm);

  expect_invalid_argument(
      [&] { (void)dist::allreduce(an::sufficient_statistics<double>(6), MPI_COMM_NULL); },
      "MPI_COMM_NULL is refused");
}

// Sum and mean of a tuple of mixed tensors and of a range, against closed forms. Entry j of
// rank r is r + j / 2: sums of such small halves are exact in float and double, and so is the
// mean (a correctly rounded division whose exact quotient is representable): equality is the
// right test.
void gradient_sums_and_means() {
  std::tuple<std::vector<double>, std::vector<float>, std::array<double, 3>> grads{
      std::vector<double>(5), std::vector<float>(1000), {}};
  const auto fill = [](auto& t) {
    for (std::size_t j = 0; j < t.size(); ++j) t[j] = decltype(+t[0])(rank + 0.5 * double(j));
  };
  std::apply([&](auto&... t) { (fill(t), ...); }, grads);
  dist::allreduce_mean(grads, MPI_COMM_WORLD);
  const double mean_rank = (ranks - 1) / 2.0;
  bool ok = true;
  std::apply(
      [&](const auto&... t) {
        ((ok = ok &&
               [&] {
                 for (std::size_t j = 0; j < t.size(); ++j)
                   if (double(t[j]) != mean_rank + 0.5 * double(j)) return false;
                 return true;
               }()),
         ...);
      },
      grads);
  check(ok, "allreduce_mean of a tuple equals (ranks - 1) / 2 + j / 2");

  std::vector<std::vector<float>> layers{std::vector<float>(17), std::vector<float>(4)};
  for (auto& l : layers) fill(l);
  dist::allreduce_sum(layers, MPI_COMM_WORLD);
  const double rank_sum = ranks * (ranks - 1) / 2.0;
  ok = true;
  for (const auto& l : layers)
    for (std::size_t j = 0; j < l.size(); ++j)
      ok = ok && double(l[j]) == rank_sum + ranks * 0.5 * double(j);
  check(ok, "allreduce_sum of a range equals ranks (ranks - 1) / 2 + ranks j / 2");

  std::vector<double> single(3, 1.0);
  dist::allreduce_sum(single, MPI_COMM_WORLD);
  check(single == std::vector<double>(3, double(ranks)), "allreduce_sum of one tensor of ones");
}

// Different shapes on different ranks: every rank throws before reducing, values untouched.
void parameter_structure_mismatch_throws() {
  std::tuple<std::vector<double>, std::vector<double>> same_total{
      std::vector<double>(rank == 0 ? 3 : 4, 2.0), std::vector<double>(rank == 0 ? 4 : 3, 2.0)};
  expect_invalid_argument([&] { dist::allreduce_sum(same_total, MPI_COMM_WORLD); },
                          "tensor sizes (3, 4) on rank 0 and (4, 3) elsewhere");
  check(std::get<0>(same_total) == std::vector<double>(rank == 0 ? 3 : 4, 2.0) &&
            std::get<1>(same_total) == std::vector<double>(rank == 0 ? 4 : 3, 2.0),
        "structure mismatch: values untouched");

  std::vector<float> longer(rank == 0 ? 8 : 9, 1.0f);
  expect_invalid_argument([&] { dist::allreduce_mean(longer, MPI_COMM_WORLD); },
                          "8 elements on rank 0 and 9 elsewhere");
  check(longer == std::vector<float>(rank == 0 ? 8 : 9, 1.0f), "size mismatch: values untouched");

  std::tuple<std::vector<double>> wide{std::vector<double>(4, 1.0)};
  std::tuple<std::vector<float>> narrow{std::vector<float>(4, 1.0f)};
  expect_invalid_argument(
      [&] {
        if (rank == 0)
          dist::allreduce_sum(wide, MPI_COMM_WORLD);
        else
          dist::allreduce_sum(narrow, MPI_COMM_WORLD);
      },
      "double on rank 0, float elsewhere");
}

// MPI error codes become distributed_error carrying MPI's own error string.
void mpi_errors_carry_the_mpi_message() {
  char text[MPI_MAX_ERROR_STRING] = {};
  int length = 0;
  MPI_Error_string(MPI_ERR_COUNT, text, &length);
  try {
    dist::detail::check(MPI_ERR_COUNT, "context", "MPI_Allreduce");
    check(false, "distributed_error: no exception");
  } catch (const dist::distributed_error& e) {
    const std::string what = e.what();
    check(e.code() == MPI_ERR_COUNT &&
              what.find(std::string(text, std::size_t(length))) != std::string::npos &&
              what.find("MPI_Allreduce") != std::string::npos,
          std::string("distributed_error message: ") + e.what());
  }
}

// All ranks' failure messages on rank 0.
std::vector<std::string> gather_failures() {
  std::string mine;
  for (const auto& f : failures) mine += f + "\n";
  const int length = int(mine.size());
  std::vector<int> lengths(static_cast<std::size_t>(ranks)), offsets(lengths.size());
  MPI_Gather(&length, 1, MPI_INT, lengths.data(), 1, MPI_INT, 0, MPI_COMM_WORLD);
  int total = 0;
  for (int r = 0; r < ranks; ++r) {
    offsets[std::size_t(r)] = total;
    total += lengths[std::size_t(r)];
  }
  std::string all(std::size_t(std::max(total, 1)), '\0');
  MPI_Gatherv(mine.data(), length, MPI_CHAR, all.data(), lengths.data(), offsets.data(), MPI_CHAR,
              0, MPI_COMM_WORLD);
  std::vector<std::string> out;
  if (rank != 0) return out;
  all.resize(std::size_t(total));
  for (std::size_t b = 0, e; (e = all.find('\n', b)) != std::string::npos; b = e + 1)
    out.push_back(all.substr(b, e - b));
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  // Before MPI_Init: a clear error instead of a crash inside MPI.
  std::vector<double> early(2, 1.0);
  bool refused_before_init = false;
  try {
    dist::allreduce_sum(early, MPI_COMM_WORLD);
  } catch (const continua::invalid_argument&) {
    refused_before_init = true;
  }

  MPI_Init(&argc, &argv);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &ranks);
  check(refused_before_init, "a reduction before MPI_Init throws invalid_argument");
  check(early == std::vector<double>(2, 1.0), "a reduction before MPI_Init changes nothing");

  try {
    statistics_equal_the_joint_fit<double>(1e-9);
    statistics_equal_the_joint_fit<float>(1e-3);
    ranks_without_rows_contribute_nothing();
    gradient_sums_and_means();
    // Disagreement needs a second rank; ctest runs 2 and 4.
    if (ranks > 1) {
      features_mismatch_throws_on_every_rank();
      parameter_structure_mismatch_throws();
    }
    mpi_errors_carry_the_mpi_message();
  } catch (const std::exception& e) {
    // Other ranks may now wait in a collective; abort rather than hang.
    std::fprintf(stderr, "rank %d: unexpected exception: %s\n", rank, e.what());
    MPI_Abort(MPI_COMM_WORLD, 2);
  }

  int failed = int(failures.size());
  MPI_Allreduce(MPI_IN_PLACE, &failed, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  int total_checks = checks;
  MPI_Allreduce(MPI_IN_PLACE, &total_checks, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  const auto messages = gather_failures();
  if (rank == 0) {
    for (const auto& m : messages) std::fprintf(stderr, "FAILED %s\n", m.c_str());
    std::printf("test_mpi: %d ranks, %d checks, %d failures\n", ranks, total_checks, failed);
  }
  MPI_Finalize();
  return failed == 0 ? 0 : 1;
}
