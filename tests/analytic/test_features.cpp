// Random-feature buffers against naive loops, reproducibility, and DS-AL's compensation stream
// against a ridge fit of the main stream's residuals (long-double reference).
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <limits>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "../common/files.hpp"
#include "../common/forge.hpp"
#include "continua/analytic/dual_stream.hpp"
#include "continua/analytic/random_features.hpp"
#include "continua/io/state.hpp"
#include "reference.hpp"

#if CONTINUA_TEST_THRUST
#include <thrust/device_vector.h>

#include "continua/adapters/thrust.hpp"
#endif

namespace an = continua::analytic;
using continua::matrix_view;

BOOST_AUTO_TEST_SUITE(analytic_features)

template <class T, class Act>
std::vector<T> features_of(const an::random_features<T, Act>& f, const std::vector<T>& x,
                           std::size_t n) {
  std::vector<T> h(n * f.outputs());
  f.transform(matrix_view<const T>(x.data(), n, f.inputs()),
              matrix_view<T>(h.data(), n, f.outputs()));
  return h;
}

BOOST_AUTO_TEST_CASE(relu_and_tanh_features_match_a_naive_loop_and_are_reproducible) {
  const auto s = analytic_test::make_data(20, 9, 3, 2);
  const an::random_feature_options opt{.inputs = 9, .outputs = 31, .seed = 5, .weight_scale = 2.0};
  const an::random_features<double, an::relu> relu(opt);
  const an::random_features<double, an::tanh_activation> tanh_f(opt);
  const auto w = relu.projection().to_host();
  const auto b = relu.bias().to_host();
  const auto h = features_of(relu, s.x, 20);
  const auto t = features_of(tanh_f, s.x, 20);
  for (std::size_t i = 0; i < 20; ++i)
    for (std::size_t j = 0; j < 31; ++j) {
      long double z = b[j];
      for (std::size_t p = 0; p < 9; ++p) z += (long double)s.x[i * 9 + p] * w[j * 9 + p];
      BOOST_TEST(h[i * 31 + j] == std::max(0.0, double(z)), boost::test_tools::tolerance(1e-12));
      BOOST_TEST(t[i * 31 + j] == std::tanh(double(z)), boost::test_tools::tolerance(1e-12));
    }
  // Same seed, same layer; another seed, another layer.
  BOOST_TEST(features_of(an::random_features<double, an::relu>(opt), s.x, 20) == h);
  auto other = opt;
  other.seed = 6;
  BOOST_TEST(features_of(an::random_features<double, an::relu>(other), s.x, 20) != h);
  // W ~ N(0, scale² / inputs): the sample variance of 279 entries is within 5 sigma of 4/9.
  double m2 = 0;
  for (const double v : w) m2 += v * v;
  m2 /= double(w.size());
  const double var = 4.0 / 9.0;
  BOOST_TEST(std::abs(m2 - var) < 5 * var * std::sqrt(2.0 / double(w.size())));
}

BOOST_AUTO_TEST_CASE(folded_normalisation_equals_transforming_standardised_inputs) {
  const auto s = analytic_test::make_data(15, 6, 2, 3);
  std::vector<double> mean(6), sd(6);
  for (std::size_t j = 0; j < 6; ++j) {
    mean[j] = 0.1 * double(j) - 0.2;
    sd[j] = 0.5 + 0.25 * double(j);
  }
  std::vector<double> z(s.x.size());
  for (std::size_t i = 0; i < 15; ++i)
    for (std::size_t j = 0; j < 6; ++j) z[i * 6 + j] = (s.x[i * 6 + j] - mean[j]) / sd[j];
  const an::random_feature_options opt{.inputs = 6, .outputs = 12, .seed = 1};
  an::random_features<double, an::tanh_activation> folded(opt);
  folded.normalize_inputs(mean, sd);
  const an::random_features<double, an::tanh_activation> plain(opt);
  const auto a = features_of(folded, s.x, 15);
  const auto b = features_of(plain, z, 15);
  for (std::size_t i = 0; i < a.size(); ++i)
    BOOST_TEST(a[i] == b[i], boost::test_tools::tolerance(1e-12));
  sd[2] = 0;
  BOOST_CHECK_THROW(folded.normalize_inputs(mean, sd), continua::invalid_argument);
  BOOST_CHECK_THROW(an::random_features<float>({.inputs = 0, .outputs = 3}),
                    continua::invalid_argument);
}

BOOST_AUTO_TEST_CASE(gaussian_kernel_features_match_the_definition) {
  const auto s = analytic_test::make_data(40, 5, 3, 4);
  const matrix_view<const double> x(s.x.data(), 40, 5);
  const an::gaussian_kernel_features<double> g({.centers = 8, .seed = 3}, x);
  BOOST_TEST(g.bandwidth() > 0);
  std::vector<double> h(40 * 8);
  g.transform(x, matrix_view<double>(h.data(), 40, 8));
  const auto c = g.centers();
  for (std::size_t i = 0; i < 40; ++i)
    for (std::size_t j = 0; j < 8; ++j) {
      double d2 = 0;
      for (std::size_t p = 0; p < 5; ++p) d2 += std::pow(s.x[i * 5 + p] - c(j, p), 2);
      const double want = std::exp(-d2 / (2 * g.bandwidth() * g.bandwidth()));
      BOOST_TEST(h[i * 8 + j] == want, boost::test_tools::tolerance(1e-10));
    }
  // Every centre is one of the data rows, and they are distinct rows.
  for (std::size_t j = 0; j < 8; ++j) {
    std::size_t matches = 0;
    for (std::size_t i = 0; i < 40; ++i) {
      bool same = true;
      for (std::size_t p = 0; p < 5; ++p) same = same && s.x[i * 5 + p] == c(j, p);
      matches += same;
    }
    BOOST_TEST(matches == 1u);
  }
  BOOST_CHECK_THROW(an::gaussian_kernel_features<double>({.centers = 41}, x),
                    continua::invalid_argument);
}

BOOST_AUTO_TEST_CASE(dual_stream_compensation_fits_the_main_residuals) {
  const auto s = analytic_test::make_data(90, 6, 4, 12);
  const an::random_features<double, an::tanh_activation> second(
      {.inputs = 6, .outputs = 10, .seed = 9});
  const auto xc = features_of(second, s.x, 90);
  an::dual_stream_classifier<double> ds(
      {.main = {.gamma = 1.0}, .compensation = {.gamma = 0.5}, .compensation_ratio = 0.8}, 6, 10);
  ds.fit(matrix_view<const double>(s.x.data(), 90, 6), matrix_view<const double>(xc.data(), 90, 10),
         s.labels);
  // Main stream: ridge on one-hot labels; compensation: ridge on Y - X W_main.
  const auto w_main = analytic_test::joint_ridge(s, 1.0, ds.labels());
  const std::size_t k = ds.classes();
  std::vector<long double> residual = analytic_test::one_hot(s.labels, ds.labels());
  for (std::size_t i = 0; i < 90; ++i)
    for (std::size_t c = 0; c < k; ++c)
      for (std::size_t p = 0; p < 6; ++p) residual[i * k + c] -= s.x[i * 6 + p] * w_main[p * k + c];
  const auto w_comp = analytic_test::ridge(xc, 90, 10, residual, k, 0.5);
  const auto got = ds.compensation_stream().weights();
  const std::vector<double> got_host(got.data(), got.data() + got.size());
  BOOST_TEST(analytic_test::relative_error(got_host, k, w_comp, k, 10) <= 1e-9);
  // Scores are main + C * compensation.
  std::vector<double> scores(90 * k);
  ds.scores(matrix_view<const double>(s.x.data(), 90, 6),
            matrix_view<const double>(xc.data(), 90, 10),
            matrix_view<double>(scores.data(), 90, k));
  for (std::size_t i = 0; i < 90; i += 7)
    for (std::size_t c = 0; c < k; ++c) {
      long double want = 0;
      for (std::size_t p = 0; p < 6; ++p) want += s.x[i * 6 + p] * w_main[p * k + c];
      for (std::size_t p = 0; p < 10; ++p) want += 0.8L * xc[i * 10 + p] * w_comp[p * k + c];
      BOOST_TEST(scores[i * k + c] == double(want), boost::test_tools::tolerance(1e-9));
    }
  // A NaN in the compensation features leaves both streams as they were.
  auto bad = xc;
  bad[5] = std::numeric_limits<double>::quiet_NaN();
  BOOST_CHECK_THROW(ds.fit(matrix_view<const double>(s.x.data(), 90, 6),
                           matrix_view<const double>(bad.data(), 90, 10), s.labels),
                    continua::non_finite_error);
  BOOST_TEST(ds.main_stream().samples() == 90u);
}

// A saved layer (normalisation folded in) and a saved DS-AL model resume bit-identically; wrong
// options and truncated files are refused with the target unchanged.
BOOST_AUTO_TEST_CASE(layer_and_dual_stream_checkpoints_resume_bit_identically) {
  const auto dir = std::filesystem::temp_directory_path();
  const auto s = analytic_test::make_data(80, 6, 3, 21);
  std::vector<double> mean(6, 0.5), sd(6, 2.0);
  an::random_features<double, an::tanh_activation> layer({.inputs = 6, .outputs = 10, .seed = 4});
  layer.normalize_inputs(mean, sd);
  continua::io::save(dir / "continua_test_layer.ckpt", layer);
  an::random_features<double, an::tanh_activation> loaded({.inputs = 6, .outputs = 10, .seed = 4});
  continua::io::load(dir / "continua_test_layer.ckpt", loaded);
  const auto xc = features_of(layer, s.x, 80);
  BOOST_TEST(features_of(loaded, s.x, 80) == xc);
  an::random_features<double, an::tanh_activation> other({.inputs = 6, .outputs = 10, .seed = 5});
  const auto other_before = features_of(other, s.x, 80);
  BOOST_CHECK_THROW(continua::io::load(dir / "continua_test_layer.ckpt", other),
                    continua::io_error);
  an::random_features<double, an::relu> relu_layer({.inputs = 6, .outputs = 10, .seed = 4});
  BOOST_CHECK_THROW(continua::io::load(dir / "continua_test_layer.ckpt", relu_layer),
                    continua::io_error);
  BOOST_TEST(features_of(other, s.x, 80) == other_before);

  const an::dual_stream_options opt{
      .main = {.gamma = 1.0}, .compensation = {.gamma = 0.5}, .compensation_ratio = 0.8};
  const auto rows = [&](const std::vector<double>& x, std::size_t d, std::size_t first,
                        std::size_t n) {
    return matrix_view<const double>(x.data() + first * d, n, d);
  };
  an::dual_stream_classifier<double> a(opt, 6, 10);
  a.fit(rows(s.x, 6, 0, 40), rows(xc, 10, 0, 40), std::span(s.labels).first(40));
  const auto path = dir / "continua_test_dsal.ckpt";
  continua::io::save(path, a);
  an::dual_stream_classifier<double> b(opt, 6, 10);
  continua::io::load(path, b);
  for (auto* m : {&a, &b})
    m->fit(rows(s.x, 6, 40, 40), rows(xc, 10, 40, 40), std::span(s.labels).subspan(40, 40));
  std::vector<double> sa(80 * a.classes()), sb(80 * b.classes());
  a.scores(rows(s.x, 6, 0, 80), rows(xc, 10, 0, 80),
           matrix_view<double>(sa.data(), 80, a.classes()));
  b.scores(rows(s.x, 6, 0, 80), rows(xc, 10, 0, 80),
           matrix_view<double>(sb.data(), 80, b.classes()));
  BOOST_TEST(a.labels() == b.labels());
  BOOST_TEST(sa == sb);  // bit-identical
  an::dual_stream_classifier<double> c(
      {.main = {.gamma = 1.0}, .compensation = {.gamma = 0.5}, .compensation_ratio = 0.9}, 6, 10);
  BOOST_CHECK_THROW(continua::io::load(path, c), continua::io_error);
  std::filesystem::resize_file(path, std::filesystem::file_size(path) - 5);
  an::dual_stream_classifier<double> d(opt, 6, 10);
  BOOST_CHECK_THROW(continua::io::load(path, d), continua::io_error);
  BOOST_TEST(c.classes() == 0u);
  BOOST_TEST(d.classes() == 0u);
  BOOST_TEST(d.compensation_stream().outputs() == 0u);
  std::filesystem::remove(path);
  std::filesystem::remove(dir / "continua_test_layer.ckpt");
}

// Issue 10: a DS-AL checkpoint intact as a file but holding impossible bookkeeping or non-finite
// matrices in either stream is refused by io::load naming the part, and the model is unchanged.
BOOST_AUTO_TEST_CASE(forged_dual_stream_checkpoints_are_refused_and_leave_the_model_unchanged) {
  const auto dir = std::filesystem::temp_directory_path();
  const auto good = dir / "continua_test_dsal_good.ckpt";
  const auto bad = dir / "continua_test_dsal_forged.ckpt";
  const auto s = analytic_test::make_data(60, 6, 3, 8);
  const an::dual_stream_options opt{
      .main = {.gamma = 1.0}, .compensation = {.gamma = 0.5}, .compensation_ratio = 0.8};
  const auto rows = [&](std::size_t first, std::size_t n) {
    return matrix_view<const double>(s.x.data() + first * 6, n, 6);
  };
  an::dual_stream_classifier<double> a(opt, 6, 6);
  a.fit(rows(0, 30), rows(0, 30), std::span(s.labels).first(30));
  continua::io::save(good, a);
  an::dual_stream_classifier<double> target(opt, 6, 6);
  target.fit(rows(30, 30), rows(30, 30), std::span(s.labels).subspan(30, 30));
  std::vector<double> before(60 * target.classes());
  target.scores(rows(0, 60), rows(0, 60), matrix_view<double>(before.data(), 60, target.classes()));
  const auto labels = target.labels();

  using i32s = std::vector<std::int32_t>;
  using u64s = std::vector<std::uint64_t>;
  using f64s = std::vector<double>;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const std::vector<std::pair<std::string, std::function<void()>>> forgeries = {
      {"appears twice",
       [&] {
         continua_test::forge<std::int32_t>(good, bad, "main/classes/labels",
                                            [](i32s& v) { v[1] = v[0]; });
       }},
      {"is negative",
       [&] {
         continua_test::forge<std::int32_t>(good, bad, "main/classes/labels",
                                            [](i32s& v) { v[0] = -1; });
       }},
      {"the counts sum to",
       [&] {
         continua_test::forge<std::uint64_t>(good, bad, "main/classes/counts",
                                             [](u64s& v) { v[2] += 5; });
       }},
      {"main/regressor/state",
       [&] {
         continua_test::forge<double>(good, bad, "main/regressor/state/gram",
                                      [&](f64s& v) { v[3] = nan; });
       }},
      {"compensation/state",
       [&] {
         continua_test::forge<double>(good, bad, "compensation/state/cross",
                                      [&](f64s& v) { v[1] = -nan; });
       }},
      {"compensation/state", [&] {
         continua_test::forge<double>(good, bad, "compensation/state/gram", [](f64s& v) {
           v[0] = std::numeric_limits<double>::infinity();
         });
       }}};
  for (const auto& [expected, make] : forgeries) {
    make();
    const std::string m = continua_test::io_error_of([&] { continua::io::load(bad, target); });
    BOOST_TEST_INFO("expected '" << expected << "' in: " << m);
    BOOST_TEST(m.find(expected) != std::string::npos);
    BOOST_TEST(target.labels() == labels);
    std::vector<double> after(60 * target.classes());
    target.scores(rows(0, 60), rows(0, 60),
                  matrix_view<double>(after.data(), 60, target.classes()));
    BOOST_TEST(after == before);
  }
  continua::io::load(good, target);  // the untouched file still loads
  BOOST_TEST(target.labels() == a.labels());
  std::filesystem::remove(good);
  std::filesystem::remove(bad);
}

#if CONTINUA_TEST_THRUST
BOOST_AUTO_TEST_CASE(device_features_equal_host_features) {
  using continua::device_space;
  const auto s = analytic_test::make_data(25, 7, 3, 6);
  const std::vector<float> x(s.x.begin(), s.x.end());
  const an::random_feature_options opt{.inputs = 7, .outputs = 16, .seed = 4};
  const an::random_features<float, an::relu> host(opt);
  const an::random_features<float, an::relu, device_space> dev(opt);
  const thrust::device_vector<float> dx(x.begin(), x.end());
  thrust::device_vector<float> dh(25 * 16);
  dev.transform(matrix_view<const float, device_space>(thrust::raw_pointer_cast(dx.data()), 25, 7),
                matrix_view<float, device_space>(thrust::raw_pointer_cast(dh.data()), 25, 16));
  const std::vector<float> from_device(dh.begin(), dh.end());
  BOOST_TEST(from_device == features_of(host, x, 25));  // Philox draws identical everywhere
}
#endif

BOOST_AUTO_TEST_SUITE_END()
