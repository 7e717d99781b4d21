// The GPM call sequence templated on the memory space, inputs and outputs in host vectors:
// test_projection_cuda.cu runs it on device_space, gpm_host.cpp (host compiler, Eigen backend of
// core/linalg) on host_space, so both get the same inputs and the same calls.
#pragma once

#include <cstddef>
#include <filesystem>
#include <vector>

#include "continua/core/buffer.hpp"
#include "continua/core/span.hpp"
#include "continua/core/vector_ops.hpp"
#include "continua/io/state.hpp"
#include "continua/regularize/gradient_projection.hpp"

namespace gpm_drivers {

using continua::buffer;
using continua::layout;
using continua::matrix_view;

template <class T>
struct gpm_result {
  std::size_t rank1 = 0, rank2 = 0;
  std::vector<T> basis;      // dim x rank2, row-major
  std::vector<T> projected;  // the gradient after project()
};

inline constexpr continua::regularize::gpm_options gpm_opt{.threshold = 0.9,
                                                           .threshold_increment = 0.05};

// Task 1 inputs: n1 x dim row-major; task 2 inputs: n2 x dim stored column-major; gradient:
// out x dim row-major. If save_to is given, the memory is saved there after both tasks.
template <class T, class Space>
gpm_result<T> gpm_run(const std::vector<T>& task1, std::size_t n1, const std::vector<T>& task2,
                      std::size_t n2, std::size_t dim, const std::vector<T>& grad, std::size_t out,
                      const std::filesystem::path& save_to = {}) {
  buffer<T, Space> t1, t2, g;
  t1.assign_from_host(task1);
  t2.assign_from_host(task2);
  g.assign_from_host(grad);
  continua::regularize::gradient_projection<T, Space> gpm(gpm_opt, dim);
  gpm_result<T> r;
  gpm.consolidate(matrix_view<const T, Space>(t1.data(), n1, dim, layout::row_major));
  r.rank1 = gpm.rank();
  gpm.consolidate(matrix_view<const T, Space>(t2.data(), n2, dim, layout::col_major));
  r.rank2 = gpm.rank();
  buffer<T, Space> b(dim * gpm.rank());
  continua::copy(gpm.basis(), b);
  r.basis = b.to_host();
  gpm.project(matrix_view<T, Space>(g.data(), out, dim));
  r.projected = g.to_host();
  if (!save_to.empty()) continua::io::save(save_to, gpm);
  return r;
}

// Loads a GPM checkpoint into a fresh memory in Space and saves it again.
template <class T, class Space>
void gpm_resave(const std::filesystem::path& in, const std::filesystem::path& out,
                std::size_t dim) {
  continua::regularize::gradient_projection<T, Space> gpm(gpm_opt, dim);
  continua::io::load(in, gpm);
  continua::io::save(out, gpm);
}

// host_space instances, defined in gpm_host.cpp for float and double.
template <class T>
gpm_result<T> host_gpm(const std::vector<T>& task1, std::size_t n1, const std::vector<T>& task2,
                       std::size_t n2, std::size_t dim, const std::vector<T>& grad,
                       std::size_t out);
template <class T>
void host_gpm_resave(const std::filesystem::path& in, const std::filesystem::path& out,
                     std::size_t dim);

}  // namespace gpm_drivers
