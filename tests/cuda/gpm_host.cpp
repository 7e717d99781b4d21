// The host_space twins of gpm_drivers.hpp, compiled by the host compiler so that core/linalg
// has its Eigen backend (nvcc translation units have none by default).
#include "gpm_drivers.hpp"

namespace gpm_drivers {

template <class T>
gpm_result<T> host_gpm(const std::vector<T>& task1, std::size_t n1, const std::vector<T>& task2,
                       std::size_t n2, std::size_t dim, const std::vector<T>& grad,
                       std::size_t out) {
  return gpm_run<T, continua::host_space>(task1, n1, task2, n2, dim, grad, out);
}

template <class T>
void host_gpm_resave(const std::filesystem::path& in, const std::filesystem::path& out,
                     std::size_t dim) {
  gpm_resave<T, continua::host_space>(in, out, dim);
}

template gpm_result<float> host_gpm<float>(const std::vector<float>&, std::size_t,
                                           const std::vector<float>&, std::size_t, std::size_t,
                                           const std::vector<float>&, std::size_t);
template gpm_result<double> host_gpm<double>(const std::vector<double>&, std::size_t,
                                             const std::vector<double>&, std::size_t, std::size_t,
                                             const std::vector<double>&, std::size_t);
template void host_gpm_resave<float>(const std::filesystem::path&, const std::filesystem::path&,
                                     std::size_t);
template void host_gpm_resave<double>(const std::filesystem::path&, const std::filesystem::path&,
                                      std::size_t);

}  // namespace gpm_drivers
