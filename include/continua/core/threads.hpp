// How many OpenMP threads a host kernel starts: one below a work threshold (a team costs more
// than it saves on small work), never more than the CPUs this thread may run on.
#pragma once

#include <algorithm>
#include <cstddef>

#include "continua/config.hpp"

#if CONTINUA_WITH_OPENMP
#include <omp.h>
#endif

namespace continua::detail {

// Threads for a kernel of `work` units that shares well from `threshold` units up: 1 without
// OpenMP, inside a parallel region or below the threshold; otherwise omp_get_max_threads()
// capped by omp_get_num_procs(), the CPUs in the calling thread's affinity mask (about 0.2 us).
// The cap matters on a shared machine: with OMP_NUM_THREADS=2 under `taskset -c 0`, two threads
// on one CPU take turns, and every barrier waits for a time slice of the other.
inline int host_threads([[maybe_unused]] double work, [[maybe_unused]] double threshold) {
#if CONTINUA_WITH_OPENMP
  if (work < threshold || omp_in_parallel()) return 1;
  return std::max(1, std::min(omp_get_max_threads(), omp_get_num_procs()));
#else
  return 1;
#endif
}

// Where slab `part` of `parts` begins when `extent` rows or columns are shared among threads:
// boundaries are multiples of 16 (whole register tiles of a GEMM kernel), the last slab ends at
// `extent`. Slab `part` is [slab_begin(part), slab_begin(part + 1)).
inline std::size_t slab_begin(std::size_t extent, std::size_t part, std::size_t parts) {
  return part >= parts ? extent : (extent * part / parts) / 16 * 16;
}

// Keeps Eigen's own GEMM on the calling thread while alive. Eigen 3.4 parallelises a product
// from 50000 multiply-adds per thread on omp_get_max_threads() threads (unless Eigen::setNbThreads
// was called), and its threads busy-wait on each other without ever sleeping: with two threads on
// one CPU each product then costs time slices, not microseconds. The guard lowers this thread's
// nthreads-var to 1 (it is per thread, so other threads are not affected) and restores it; the
// team of a `parallel num_threads(n)` region inside it inherits the 1, so Eigen stays serial
// there too.
class serial_eigen_scope {
 public:
#if CONTINUA_WITH_OPENMP
  serial_eigen_scope() : saved_(omp_get_max_threads()) { omp_set_num_threads(1); }
  ~serial_eigen_scope() { omp_set_num_threads(saved_); }
#else
  // User-provided, so a scope variable does not read as unused without OpenMP either.
  serial_eigen_scope() {}
  ~serial_eigen_scope() {}
#endif
  serial_eigen_scope(const serial_eigen_scope&) = delete;
  serial_eigen_scope& operator=(const serial_eigen_scope&) = delete;

 private:
#if CONTINUA_WITH_OPENMP
  int saved_;
#endif
};

}  // namespace continua::detail
