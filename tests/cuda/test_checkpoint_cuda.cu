// Checkpoints of device-space components cross memory spaces unchanged. For each component:
// state built on the device is saved (file A), loaded into a host component that saves it
// again (B), and B loaded into a fresh device component saves C; A, B and C must be the same
// bytes (the format has no timestamps or space marker, so equal state means equal files). A
// device head resumed from B then learns a further batch bit-identically to the original.
// Analytic heads, DS-AL, random-feature layers, sufficient statistics, EWC, A-GEM and an Adam
// chain's state; GPM is covered in test_projection_cuda. Exit 0 ok, 1 failure, 77 without a GPU.
#include <thrust/device_vector.h>
#include <thrust/host_vector.h>
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <span>
#include <string>
#include <tuple>
#include <vector>

#include "../analytic/reference.hpp"
#include "checkpoint_drivers.hpp"
#include "continua/adapters/thrust.hpp"
#include "continua/io/state.hpp"
#include "continua/optim.hpp"
#include "continua/optim/serialize.hpp"
#include "continua/regularize/agem.hpp"
#include "continua/regularize/ewc.hpp"
#include "cuda_check.hpp"

namespace {

namespace an = continua::analytic;
namespace cd = checkpoint_drivers;
namespace fs = std::filesystem;
namespace io = continua::io;
namespace o = continua::optim;
namespace rg = continua::regularize;
using continua::device_space;
using continua::matrix_view;

std::vector<unsigned char> file_bytes(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

struct files {
  fs::path a, b, c;
  explicit files(const std::string& tag) {
    const auto base = fs::temp_directory_path() /
                      ("continua_cuda_ckpt_" + std::to_string(::getpid()) + "_" + tag);
    a = base.string() + "_device.ckpt";
    b = base.string() + "_host.ckpt";
    c = base.string() + "_device_again.ckpt";
  }
  ~files() {
    std::error_code ec;
    for (const auto& p : {a, b, c}) fs::remove(p, ec);
  }
  // A (device) == B (host) == C (device again), byte for byte.
  void check(const std::string& label) const {
    const auto bytes = file_bytes(a);
    CONTINUA_CHECK(!bytes.empty());
    continua_cuda_test::compare_bits((label + ": device -> host").c_str(), file_bytes(b), bytes);
    continua_cuda_test::compare_bits((label + ": host -> device").c_str(), file_bytes(c), bytes);
  }
};

template <class T>
std::string name(const char* what) {
  return std::string(what) + (sizeof(T) == 4 ? " float" : " double");
}

template <class T>
thrust::device_vector<T> upload(const std::vector<double>& v) {
  const std::vector<T> t(v.begin(), v.end());
  return thrust::device_vector<T>(t.begin(), t.end());
}

template <class T>
std::vector<T> weights_of(an::analytic_classifier<T, an::cholesky, device_space>& head) {
  const auto w = head.weights();
  const thrust::device_vector<T> d(thrust::device_pointer_cast(w.data()),
                                   thrust::device_pointer_cast(w.data()) + w.size());
  return std::vector<T>(d.begin(), d.end());
}

template <class T>
void analytic_checkpoints() {
  constexpr std::size_t rows = 120, d = 10, dc = 12;
  const auto s = analytic_test::make_data(rows, d, 4, 31);
  const auto dx = upload<T>(s.x);
  const T* x = thrust::raw_pointer_cast(dx.data());
  const auto first = matrix_view<const T, device_space>(x, rows / 2, d);
  const auto second = matrix_view<const T, device_space>(x + rows / 2 * d, rows / 2, d);
  const std::span<const std::int32_t> y(s.labels);
  const an::rls_options ro{.gamma = 0.5};

  {  // Cholesky head, then resumed: the next batch gives bit-identical weights.
    files f(name<T>("head_cholesky"));
    an::analytic_classifier<T, an::cholesky, device_space> head(ro, d);
    head.fit(first, y.first(rows / 2));
    continua::io::save(f.a, head);
    cd::host_resave_classifier<T, an::cholesky>(f.a, f.b, ro, d);
    cd::resave_classifier<T, an::cholesky, device_space>(f.b, f.c, ro, d);
    f.check(name<T>("cholesky head"));
    an::analytic_classifier<T, an::cholesky, device_space> resumed(ro, d);
    continua::io::load(f.b, resumed);
    head.fit(second, y.subspan(rows / 2));
    resumed.fit(second, y.subspan(rows / 2));
    continua_cuda_test::compare_bits(name<T>("cholesky head resumed from the host file").c_str(),
                                     weights_of(resumed), weights_of(head));
  }
  {
    files f(name<T>("head_woodbury"));
    an::analytic_classifier<T, an::woodbury, device_space> head(ro, d);
    head.fit(first, y.first(rows / 2));
    continua::io::save(f.a, head);
    cd::host_resave_classifier<T, an::woodbury>(f.a, f.b, ro, d);
    cd::resave_classifier<T, an::woodbury, device_space>(f.b, f.c, ro, d);
    f.check(name<T>("woodbury head"));
  }
  const an::random_feature_options fo{.inputs = d, .outputs = dc, .seed = 8};
  thrust::device_vector<T> xc(rows * dc);
  {  // A layer with a folded normalisation (W, b no longer the seed's draws).
    files f(name<T>("features"));
    an::random_features<T, an::tanh_activation, device_space> layer(fo);
    const std::vector<T> mean(d, T(0.25)), sd(d, T(1.5));
    layer.normalize_inputs(mean, sd);
    layer.transform(matrix_view<const T, device_space>(x, rows, d),
                    matrix_view<T, device_space>(thrust::raw_pointer_cast(xc.data()), rows, dc));
    continua::io::save(f.a, layer);
    cd::host_resave_features<T>(f.a, f.b, fo);
    cd::resave_features<T, an::tanh_activation, device_space>(f.b, f.c, fo);
    f.check(name<T>("random features"));
  }
  {
    files f(name<T>("dual"));
    const an::dual_stream_options dso{
        .main = {.gamma = 1.0}, .compensation = {.gamma = 4.0}, .compensation_ratio = 0.8};
    an::dual_stream_classifier<T, an::cholesky, device_space> ds(dso, d, dc);
    ds.fit(matrix_view<const T, device_space>(x, rows, d),
           matrix_view<const T, device_space>(thrust::raw_pointer_cast(xc.data()), rows, dc), y);
    continua::io::save(f.a, ds);
    cd::host_resave_dual<T, an::cholesky>(f.a, f.b, dso, d, dc);
    cd::resave_dual<T, an::cholesky, device_space>(f.b, f.c, dso, d, dc);
    f.check(name<T>("dual stream"));
  }
  {
    files f(name<T>("statistics"));
    an::sufficient_statistics<T, device_space> st(d);
    st.add(first, y.first(rows / 2));
    continua::io::save(f.a, st);
    cd::host_resave_statistics<T>(f.a, f.b, d);
    cd::resave_statistics<T, device_space>(f.b, f.c, d);
    f.check(name<T>("sufficient statistics"));
  }
}

std::vector<float> values(std::size_t n, float scale, float offset) {
  std::vector<float> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = offset + scale * std::sin(0.37f * float(i) + offset);
  return v;
}

// Save on device, load into host and back, for a component whose state type is host- or
// device-shaped: make(V) builds it for parameter type V with the same state on both.
void regularizer_checkpoints() {
  constexpr std::size_t n = 1001;
  using H = std::vector<float>;
  using D = thrust::device_vector<float>;
  const H p0 = values(n, 1.f, 0.1f), p1 = values(n, 0.8f, 0.3f), g = values(n, 0.5f, 0.05f);
  const D dp0(p0.begin(), p0.end()), dp1(p1.begin(), p1.end()), dg(g.begin(), g.end());
  {
    files f("ewc");
    const rg::ewc<D>::options_type opt{.strength = 3.0, .mode = rg::ewc_mode::online, .decay = 0.5};
    rg::ewc<D> dev(opt, dp0);
    dev.observe(dg);
    dev.consolidate(dp1);
    dev.observe(dg);
    io::save(f.a, dev);
    rg::ewc<H> host({.strength = 3.0, .mode = rg::ewc_mode::online, .decay = 0.5}, p0);
    io::load(f.a, host);
    io::save(f.b, host);
    rg::ewc<D> again(opt, dp0);
    io::load(f.b, again);
    io::save(f.c, again);
    f.check("online ewc");
  }
  {
    using HS = std::tuple<std::vector<float>, std::vector<double>>;
    using DS = std::tuple<thrust::device_vector<float>, thrust::device_vector<double>>;
    const std::vector<double> gd(g.begin(), g.begin() + 333);
    const HS hs{g, gd};
    const DS ds{D(g.begin(), g.end()), thrust::device_vector<double>(gd.begin(), gd.end())};
    files f("agem");
    rg::agem<DS> dev(ds);
    dev.set_reference(ds);
    io::save(f.a, dev);
    rg::agem<HS> host(hs);
    io::load(f.a, host);
    io::save(f.b, host);
    rg::agem<DS> again(ds);
    io::load(f.b, again);
    io::save(f.c, again);
    f.check("agem");
  }
  {  // Adam's state (count, m, v) after three device steps.
    files f("adam");
    const auto chain = o::chain(o::clip_by_global_norm(1.0), o::adam({.lr = 1e-2}));
    D p = dp0;
    auto s_dev = chain.init(p);
    for (int t = 0; t < 3; ++t) {
      D grads = dg;
      chain.step(p, grads, s_dev);
    }
    io::save(f.a, chain, s_dev);
    H hp = p0;
    auto s_host = chain.init(hp);
    io::load(f.a, chain, s_host);
    io::save(f.b, chain, s_host);
    auto s_again = chain.init(p);
    io::load(f.b, chain, s_again);
    io::save(f.c, chain, s_again);
    f.check("clip + adam state");
  }
}

}  // namespace

int main() {
  continua_cuda_test::skip_without_device();
  try {
    analytic_checkpoints<float>();
    analytic_checkpoints<double>();
    regularizer_checkpoints();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "unexpected exception: %s\n", e.what());
    return 1;
  }
  return continua_cuda_test::exit_code("test_checkpoint_cuda");
}
