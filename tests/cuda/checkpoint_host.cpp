// The host_space twins of checkpoint_drivers.hpp, compiled by the host compiler so that
// core/linalg has its Eigen backend (nvcc translation units have none by default).
#include "checkpoint_drivers.hpp"

namespace checkpoint_drivers {

using continua::host_space;

template <class T, class Policy>
void host_resave_classifier(const fs::path& in, const fs::path& out, const an::rls_options& opt,
                            std::size_t features) {
  resave_classifier<T, Policy, host_space>(in, out, opt, features);
}
template <class T, class Policy>
void host_resave_dual(const fs::path& in, const fs::path& out, const an::dual_stream_options& opt,
                      std::size_t dm, std::size_t dc) {
  resave_dual<T, Policy, host_space>(in, out, opt, dm, dc);
}
template <class T>
void host_resave_features(const fs::path& in, const fs::path& out,
                          const an::random_feature_options& opt) {
  resave_features<T, an::tanh_activation, host_space>(in, out, opt);
}
template <class T>
void host_resave_statistics(const fs::path& in, const fs::path& out, std::size_t d) {
  resave_statistics<T, host_space>(in, out, d);
}

#define CONTINUA_TWINS(T)                                                                          \
  template void host_resave_classifier<T, an::cholesky>(const fs::path&, const fs::path&,          \
                                                        const an::rls_options&, std::size_t);      \
  template void host_resave_classifier<T, an::woodbury>(const fs::path&, const fs::path&,          \
                                                        const an::rls_options&, std::size_t);      \
  template void host_resave_dual<T, an::cholesky>(                                                 \
      const fs::path&, const fs::path&, const an::dual_stream_options&, std::size_t, std::size_t); \
  template void host_resave_features<T>(const fs::path&, const fs::path&,                          \
                                        const an::random_feature_options&);                        \
  template void host_resave_statistics<T>(const fs::path&, const fs::path&, std::size_t);
CONTINUA_TWINS(float)
CONTINUA_TWINS(double)
#undef CONTINUA_TWINS

}  // namespace checkpoint_drivers
