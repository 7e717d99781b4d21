// The host_space twins of the device runs in analytic_drivers.hpp, compiled by the host compiler
// so that core/linalg has its Eigen backend (nvcc translation units have none by default).
#include "analytic_drivers.hpp"

namespace analytic_drivers {

template <class T, class Act>
feature_result<T> host_random_features(const an::random_feature_options& opt,
                                       const std::vector<T>& x, std::size_t rows, bool normalize) {
  return random_features_run<T, Act, continua::host_space>(opt, x, rows, normalize);
}

template <class T>
gaussian_result<T> host_gaussian(const an::gaussian_kernel_options& opt, const std::vector<T>& data,
                                 std::size_t rows, std::size_t cols) {
  return gaussian_run<T, continua::host_space>(opt, data, rows, cols);
}

template <class T>
stats_result<T> host_statistics(const std::vector<T>& x, const std::vector<std::int32_t>& labels,
                                std::size_t rows, std::size_t d) {
  return statistics_run<T, continua::host_space>(x, labels, rows, d);
}

template <class T, class Policy>
dual_result<T> host_dual_stream(const an::dual_stream_options& opt, const std::vector<T>& xm,
                                const std::vector<T>& xc, const std::vector<std::int32_t>& labels,
                                std::size_t rows, std::size_t dm, std::size_t dc) {
  return dual_stream_run<T, Policy, continua::host_space>(opt, xm, xc, labels, rows, dm, dc);
}

#define CONTINUA_TWINS(T)                                                                        \
  template feature_result<T> host_random_features<T, an::relu>(                                  \
      const an::random_feature_options&, const std::vector<T>&, std::size_t, bool);              \
  template feature_result<T> host_random_features<T, an::tanh_activation>(                       \
      const an::random_feature_options&, const std::vector<T>&, std::size_t, bool);              \
  template gaussian_result<T> host_gaussian<T>(const an::gaussian_kernel_options&,               \
                                               const std::vector<T>&, std::size_t, std::size_t); \
  template stats_result<T> host_statistics<T>(                                                   \
      const std::vector<T>&, const std::vector<std::int32_t>&, std::size_t, std::size_t);        \
  template dual_result<T> host_dual_stream<T, an::cholesky>(                                     \
      const an::dual_stream_options&, const std::vector<T>&, const std::vector<T>&,              \
      const std::vector<std::int32_t>&, std::size_t, std::size_t, std::size_t);                  \
  template dual_result<T> host_dual_stream<T, an::woodbury>(                                     \
      const an::dual_stream_options&, const std::vector<T>&, const std::vector<T>&,              \
      const std::vector<std::int32_t>&, std::size_t, std::size_t, std::size_t);
CONTINUA_TWINS(float)
CONTINUA_TWINS(double)
#undef CONTINUA_TWINS

}  // namespace analytic_drivers
