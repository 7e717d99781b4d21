// Checkpoint round trips templated on the memory space: load a file into a fresh component in
// Space, then save it to another file. test_checkpoint_cuda.cu runs them on device_space;
// checkpoint_host.cpp (host compiler, Eigen backend of core/linalg) on host_space.
#pragma once

#include <cstddef>
#include <filesystem>

#include "continua/analytic/classifier.hpp"
#include "continua/analytic/dual_stream.hpp"
#include "continua/analytic/random_features.hpp"
#include "continua/analytic/statistics.hpp"
#include "continua/io/state.hpp"

namespace checkpoint_drivers {

namespace an = continua::analytic;
namespace fs = std::filesystem;

template <class T, class Policy, class Space>
void resave_classifier(const fs::path& in, const fs::path& out, const an::rls_options& opt,
                       std::size_t features) {
  an::analytic_classifier<T, Policy, Space> head(opt, features);
  continua::io::load(in, head);
  continua::io::save(out, head);
}

template <class T, class Policy, class Space>
void resave_dual(const fs::path& in, const fs::path& out, const an::dual_stream_options& opt,
                 std::size_t dm, std::size_t dc) {
  an::dual_stream_classifier<T, Policy, Space> model(opt, dm, dc);
  continua::io::load(in, model);
  continua::io::save(out, model);
}

template <class T, class Act, class Space>
void resave_features(const fs::path& in, const fs::path& out,
                     const an::random_feature_options& opt) {
  an::random_features<T, Act, Space> layer(opt);
  continua::io::load(in, layer);
  continua::io::save(out, layer);
}

template <class T, class Space>
void resave_statistics(const fs::path& in, const fs::path& out, std::size_t d) {
  an::sufficient_statistics<T, Space> s(d);
  continua::io::load(in, s);
  continua::io::save(out, s);
}

// host_space instances, defined in checkpoint_host.cpp (float and double; cholesky and woodbury;
// tanh_activation).
template <class T, class Policy>
void host_resave_classifier(const fs::path& in, const fs::path& out, const an::rls_options& opt,
                            std::size_t features);
template <class T, class Policy>
void host_resave_dual(const fs::path& in, const fs::path& out, const an::dual_stream_options& opt,
                      std::size_t dm, std::size_t dc);
template <class T>
void host_resave_features(const fs::path& in, const fs::path& out,
                          const an::random_feature_options& opt);
template <class T>
void host_resave_statistics(const fs::path& in, const fs::path& out, std::size_t d);

}  // namespace checkpoint_drivers
