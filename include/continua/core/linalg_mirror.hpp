// Host kernels of core/linalg shared by the Eigen and BLAS backends: copies one triangle of a
// square column-major matrix onto the other, which is what turns a one-triangle syrk into a full
// one, and saves one triangle so that a failed Cholesky can restore its input.
#pragma once

#include <algorithm>
#include <cstddef>
#include <vector>

#include "continua/config.hpp"
#include "continua/core/threads.hpp"

namespace continua::linalg::detail {

// c(j, i) = c(i, j) for every (i, j) of the strict upper (upper) or lower triangle of the n x n
// column-major c. Square tiles keep the strided side in cache; from 512 x 512 the tiles are shared
// among threads (a memory-bound pass: more threads only help on large matrices).
template <class T>
void mirror_triangle_host(bool upper, std::size_t n, T* c) {
  constexpr std::size_t tile = 64;
  const std::ptrdiff_t tiles = static_cast<std::ptrdiff_t>((n + tile - 1) / tile);
  [[maybe_unused]] const int threads =
      continua::detail::host_threads(double(n) * double(n), 512.0 * 512.0);
#if CONTINUA_WITH_OPENMP
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads) if (threads > 1)
#endif
  for (std::ptrdiff_t tj = 0; tj < tiles; ++tj)
    for (std::ptrdiff_t ti = tj; ti < tiles; ++ti) {
      // Tile (ti, tj) of the lower triangle and its transpose (tj, ti) of the upper one.
      const std::size_t j0 = std::size_t(tj) * tile, i0 = std::size_t(ti) * tile;
      for (std::size_t i = i0; i < std::min(n, i0 + tile); ++i)
        for (std::size_t j = j0; j < std::min({n, j0 + tile, i}); ++j) {
          // c[j * n + i] is (i, j) below the diagonal; c[i * n + j] is (j, i) above it.
          if (upper)
            c[j * n + i] = c[i * n + j];
          else
            c[i * n + j] = c[j * n + i];
        }
    }
}

// to = from over the upper (upper) or lower triangle, diagonal included, of n x n column-major
// matrices: per column one contiguous run (rows 0..j or j..n-1).
template <class T>
void copy_triangle_host(bool upper, std::size_t n, const T* from, T* to) {
  for (std::size_t j = 0; j < n; ++j) {
    const std::size_t begin = upper ? j * n : j * n + j, count = upper ? j + 1 : n - j;
    std::copy_n(from + begin, count, to + begin);
  }
}

// The upper (upper) or lower triangle of the n x n column-major `a`, saved in `workspace` (n * n
// scalars, or null: a buffer of its own) so that a failed in-place Cholesky can put `a` back bit
// for bit. The factor reads and writes only that triangle, so only that is copied: half the
// matrix.
template <class T>
class triangle_backup {
 public:
  triangle_backup(bool upper, std::size_t n, const T* a, T* workspace)
      : upper_(upper), n_(n), saved_(workspace) {
    if (saved_ == nullptr) {
      own_.resize(n * n);
      saved_ = own_.data();
    }
    copy_triangle_host(upper_, n_, a, saved_);
  }
  triangle_backup(const triangle_backup&) = delete;
  triangle_backup& operator=(const triangle_backup&) = delete;

  void restore(T* a) const { copy_triangle_host(upper_, n_, static_cast<const T*>(saved_), a); }

 private:
  bool upper_;
  std::size_t n_;
  std::vector<T> own_;
  T* saved_;
};

}  // namespace continua::linalg::detail
