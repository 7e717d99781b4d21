// The examples' MLP (examples/common/mlp.hpp): forward against a naive loop, backward of softmax
// cross-entropy, of squared error and of the squared output norm (MAS) against central finite
// differences in double precision, the float model against the double one, closed forms at zero
// weights, bad input.
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <cstdint>
#include <span>
#include <tuple>
#include <vector>

#include "common/linear_softmax.hpp"
#include "common/mlp.hpp"
#include "continua/core/random.hpp"

using continua_examples::basic_mlp;

namespace {

template <class T>
std::vector<T> random_inputs(std::size_t n, std::uint64_t seed) {
  std::vector<T> x(n);
  continua::fill_uniform(x, continua::philox_key{seed, 7}, 0, 0.0, 1.0);
  return x;
}

// Calls f(k, element) for every parameter element of the set, k its flat index over the set.
template <class Params, class F>
void for_each_element(Params& p, F&& f) {
  std::size_t k = 0;
  auto each = [&](auto& v) {
    for (auto& e : v) f(k++, e);
  };
  std::apply([&](auto&... v) { (each(v), ...); }, p);
}

// Compares every element of `grads` with the central difference (step 1e-6) of `loss()` in the
// matching element of `params`; returns how many elements were compared.
template <class Params, class Loss>
std::size_t check_finite_differences(Params& params, const Params& grads, Loss&& loss, double tol) {
  std::vector<double> analytic;
  for_each_element(grads, [&](std::size_t, double g) { analytic.push_back(g); });
  std::size_t checked = 0;
  for_each_element(params, [&](std::size_t k, double& p) {
    const double h = 1e-6, saved = p;
    p = saved + h;
    const double up = loss();
    p = saved - h;
    const double down = loss();
    p = saved;
    const double fd = (up - down) / (2 * h);
    BOOST_TEST(std::abs(analytic[k] - fd) < tol,
               "parameter " << k << ": gradient " << analytic[k] << ", finite difference " << fd);
    ++checked;
  });
  return checked;
}

template <class T>
double naive_sq_output_norm(const basic_mlp<T>& m, const std::vector<T>& x, std::size_t n) {
  const auto& [w1, b1, w2, b2] = m.params();
  double total = 0;
  for (std::size_t r = 0; r < n; ++r) {
    std::vector<double> h(m.hidden());
    for (std::size_t j = 0; j < m.hidden(); ++j) {
      double a = b1[j];
      for (std::size_t i = 0; i < m.inputs(); ++i)
        a += double(w1[j * m.inputs() + i]) * double(x[r * m.inputs() + i]);
      h[j] = a > 0 ? a : 0;
    }
    for (std::size_t k = 0; k < m.classes(); ++k) {
      double z = b2[k];
      for (std::size_t j = 0; j < m.hidden(); ++j) z += double(w2[k * m.hidden() + j]) * h[j];
      total += z * z;
    }
  }
  return total / double(n);
}

constexpr std::size_t in = 9, hid = 6, cls = 4, batch = 5;

}  // namespace

BOOST_AUTO_TEST_SUITE(examples_mlp)

BOOST_AUTO_TEST_CASE(forward_matches_naive_loop) {
  basic_mlp<double> m(in, hid, cls, 3);
  std::get<1>(m.params())[2] = 0.3;  // non-zero biases exercise the bias path
  std::get<3>(m.params())[1] = -0.2;
  const auto x = random_inputs<double>(batch * in, 1);
  typename basic_mlp<double>::cache c;
  m.forward({x.data(), batch, in}, c);
  const auto& [w1, b1, w2, b2] = m.params();
  for (std::size_t r = 0; r < batch; ++r) {
    std::vector<double> h(hid);
    for (std::size_t j = 0; j < hid; ++j) {
      double a = b1[j];
      for (std::size_t i = 0; i < in; ++i) a += w1[j * in + i] * x[r * in + i];
      h[j] = a > 0 ? a : 0;
      BOOST_TEST(c.hidden[r * hid + j] == h[j], boost::test_tools::tolerance(1e-12));
    }
    for (std::size_t k = 0; k < cls; ++k) {
      double z = b2[k];
      for (std::size_t j = 0; j < hid; ++j) z += w2[k * hid + j] * h[j];
      BOOST_TEST(c.logits[r * cls + k] == z, boost::test_tools::tolerance(1e-12));
    }
  }
}

// Central differences with h = 1e-6 in double have truncation error O(h^2 |f'''|) ~ 1e-12 and
// rounding error ~ eps |f| / h ~ 1e-10; 1e-7 absolute leaves a wide margin, and a wrong backward
// pass is off by O(|gradient|) ~ 1e-2..1. (A ReLU kink within h of a pre-activation would break
// the difference; the fixed seed keeps every |pre-activation| far above 1e-6, checked below.)
BOOST_AUTO_TEST_CASE(cross_entropy_gradient_matches_finite_differences) {
  basic_mlp<double> m(in, hid, cls, 11);
  for (auto& b : std::get<1>(m.params())) b = 0.05;
  const auto x = random_inputs<double>(batch * in, 2);
  const std::vector<std::int32_t> y = {0, 3, 1, 3, 2};
  const continua::matrix_view<const double> xv(x.data(), batch, in);
  typename basic_mlp<double>::cache c;
  auto grads = m.zeros_like();
  const double loss = m.loss_and_gradient(xv, y, grads, c);
  BOOST_TEST(std::isfinite(loss));
  // No pre-activation near the kink (the FD condition above).
  {
    const auto& [w1, b1, w2, b2] = m.params();
    for (std::size_t r = 0; r < batch; ++r)
      for (std::size_t j = 0; j < hid; ++j) {
        double a = b1[j];
        for (std::size_t i = 0; i < in; ++i) a += w1[j * in + i] * x[r * in + i];
        BOOST_REQUIRE(std::abs(a) > 1e-4);
      }
  }
  auto scratch = m.zeros_like();
  const std::size_t checked = check_finite_differences(
      m.params(), grads, [&] { return m.loss_and_gradient(xv, y, scratch, c); }, 1e-7);
  BOOST_TEST(checked == hid * in + hid + cls * hid + cls);
}

BOOST_AUTO_TEST_CASE(output_norm_gradient_matches_finite_differences) {
  basic_mlp<double> m(in, hid, cls, 12);
  for (auto& b : std::get<1>(m.params())) b = 0.05;
  for (auto& b : std::get<3>(m.params())) b = -0.1;
  const auto x = random_inputs<double>(batch * in, 3);
  const continua::matrix_view<const double> xv(x.data(), batch, in);
  typename basic_mlp<double>::cache c;
  auto grads = m.zeros_like();
  m.output_norm_gradient(xv, grads, c);
  BOOST_TEST(check_finite_differences(
                 m.params(), grads, [&] { return naive_sq_output_norm(m, x, batch); }, 1e-7) ==
             hid * in + hid + cls * hid + cls);
}

// The squared-error head (diffusion example): the loss against a naive mean over rows and
// outputs, and its gradient against central differences (same error budget as above).
BOOST_AUTO_TEST_CASE(squared_error_gradient_matches_finite_differences) {
  basic_mlp<double> m(in, hid, cls, 13);
  for (auto& b : std::get<1>(m.params())) b = 0.05;
  const auto x = random_inputs<double>(batch * in, 4);
  const auto y = random_inputs<double>(batch * cls, 5);
  const continua::matrix_view<const double> xv(x.data(), batch, in), yv(y.data(), batch, cls);
  typename basic_mlp<double>::cache c;
  auto grads = m.zeros_like();
  const double loss = m.squared_error_and_gradient(xv, yv, grads, c);
  double naive = 0;
  for (std::size_t i = 0; i < batch * cls; ++i)
    naive += (c.logits[i] - y[i]) * (c.logits[i] - y[i]);
  BOOST_TEST(loss == naive / double(batch * cls), boost::test_tools::tolerance(1e-14));
  auto scratch = m.zeros_like();
  const std::size_t checked = check_finite_differences(
      m.params(), grads, [&] { return m.squared_error_and_gradient(xv, yv, scratch, c); }, 1e-7);
  BOOST_TEST(checked == hid * in + hid + cls * hid + cls);
  // targets of the wrong shape are refused
  const continua::matrix_view<const double> bad(y.data(), batch, cls - 1);
  BOOST_CHECK_THROW(m.squared_error_and_gradient(xv, bad, scratch, c), continua::invalid_argument);
}

// The float model used by the examples computes the same gradients as the double one up to float
// rounding: each component is a sum of <= max(in, hid, batch) = 9 products, so its relative error
// is a few times 9 * 2^-24 ~ 5e-7; 1e-5 of the largest component bounds it with margin.
BOOST_AUTO_TEST_CASE(float_model_agrees_with_double_model) {
  basic_mlp<double> md(in, hid, cls, 21);
  basic_mlp<float> mf(in, hid, cls, 21);
  // Same starting weights: copy the float draws into the double model.
  std::apply(
      [&](auto&... vd) {
        std::apply([&](auto&... vf) { ((vd.assign(vf.begin(), vf.end())), ...); }, mf.params());
      },
      md.params());
  const auto xf = random_inputs<float>(batch * in, 4);
  const std::vector<double> xd(xf.begin(), xf.end());
  const std::vector<std::int32_t> y = {1, 1, 0, 2, 3};
  typename basic_mlp<double>::cache cd;
  typename basic_mlp<float>::cache cf;
  auto gd = md.zeros_like();
  auto gf = mf.zeros_like();
  const double ld = md.loss_and_gradient({xd.data(), batch, in}, y, gd, cd);
  const double lf = mf.loss_and_gradient({xf.data(), batch, in}, y, gf, cf);
  BOOST_TEST(lf == ld, boost::test_tools::tolerance(1e-5));
  std::vector<double> a, b;
  for_each_element(gd, [&](std::size_t, double g) { a.push_back(g); });
  for_each_element(gf, [&](std::size_t, float g) { b.push_back(g); });
  double scale = 0;
  for (double v : a) scale = std::max(scale, std::abs(v));
  BOOST_REQUIRE(scale > 0);
  for (std::size_t k = 0; k < a.size(); ++k) BOOST_TEST(std::abs(a[k] - b[k]) <= 1e-5 * scale);
}

// At zero weights every logit is 0: loss = log(C), dL/db2_k = 1/C - (fraction of labels == k),
// every other gradient is 0 (hidden activations are 0).
BOOST_AUTO_TEST_CASE(closed_form_at_zero_weights) {
  basic_mlp<float> m(in, hid, cls, 5);
  std::apply([](auto&... v) { ((std::fill(v.begin(), v.end(), 0.f)), ...); }, m.params());
  const auto x = random_inputs<float>(4 * in, 5);
  const std::vector<std::int32_t> y = {0, 0, 3, 1};
  typename basic_mlp<float>::cache c;
  auto g = m.zeros_like();
  const double loss = m.loss_and_gradient({x.data(), 4, in}, y, g, c);
  BOOST_TEST(loss == std::log(4.0), boost::test_tools::tolerance(1e-6));
  const double frac[cls] = {0.5, 0.25, 0.0, 0.25};
  for (std::size_t k = 0; k < cls; ++k)
    BOOST_TEST(std::get<3>(g)[k] == 0.25 - frac[k], boost::test_tools::tolerance(1e-6));
  for (float v : std::get<0>(g)) BOOST_TEST(v == 0.f);
  for (float v : std::get<2>(g)) BOOST_TEST(v == 0.f);
}

// The batch gradient is the mean of the per-sample gradients (what EWC's per-sample Fisher and
// MAS's per-sample importance rely on when they call the model one row at a time).
BOOST_AUTO_TEST_CASE(batch_gradient_is_mean_of_per_sample_gradients) {
  basic_mlp<double> m(in, hid, cls, 8);
  const auto x = random_inputs<double>(batch * in, 6);
  const std::vector<std::int32_t> y = {3, 2, 1, 0, 3};
  typename basic_mlp<double>::cache c;
  auto whole = m.zeros_like();
  m.loss_and_gradient({x.data(), batch, in}, y, whole, c);
  auto sum = m.zeros_like();
  auto one = m.zeros_like();
  for (std::size_t r = 0; r < batch; ++r) {
    m.loss_and_gradient({x.data() + r * in, 1, in}, std::span<const std::int32_t>(&y[r], 1), one,
                        c);
    std::vector<double> flat;
    for_each_element(one, [&](std::size_t, double g) { flat.push_back(g); });
    for_each_element(sum, [&](std::size_t k, double& s) { s += flat[k] / batch; });
  }
  std::vector<double> ref;
  for_each_element(sum, [&](std::size_t, double g) { ref.push_back(g); });
  for_each_element(whole, [&](std::size_t k, double g) {
    BOOST_TEST(std::abs(g - ref[k]) <= 1e-14 * (1 + std::abs(g)));
  });
}

BOOST_AUTO_TEST_CASE(predictions_are_argmax_over_the_class_range) {
  basic_mlp<float> m(in, hid, cls, 9);
  const auto x = random_inputs<float>(batch * in, 7);
  typename basic_mlp<float>::cache c;
  std::vector<std::int32_t> all(batch), sub(batch);
  m.predict({x.data(), batch, in}, all, c);
  m.predict({x.data(), batch, in}, sub, c, 2, 4);
  for (std::size_t r = 0; r < batch; ++r) {
    const float* z = c.logits.data() + r * cls;
    std::size_t best = 0, best_sub = 2;
    for (std::size_t k = 1; k < cls; ++k)
      if (z[k] > z[best]) best = k;
    if (z[3] > z[2]) best_sub = 3;
    BOOST_TEST(all[r] == std::int32_t(best));
    BOOST_TEST(sub[r] == std::int32_t(best_sub));
  }
}

BOOST_AUTO_TEST_CASE(bad_input_throws_and_leaves_gradients_untouched) {
  basic_mlp<float> m(in, hid, cls, 10);
  const auto x = random_inputs<float>(2 * in, 8);
  typename basic_mlp<float>::cache c;
  auto g = m.zeros_like();
  std::get<3>(g)[0] = 42.f;
  const std::vector<std::int32_t> bad_label = {0, 4}, negative = {-1, 0}, short_labels = {0};
  BOOST_CHECK_THROW(m.loss_and_gradient({x.data(), 2, in}, bad_label, g, c),
                    continua::invalid_argument);
  BOOST_CHECK_THROW(m.loss_and_gradient({x.data(), 2, in}, negative, g, c),
                    continua::invalid_argument);
  BOOST_CHECK_THROW(m.loss_and_gradient({x.data(), 2, in}, short_labels, g, c),
                    continua::size_mismatch);
  BOOST_CHECK_THROW(m.forward({x.data(), 2, in - 1}, c), continua::size_mismatch);
  auto wrong = m.zeros_like();
  std::get<2>(wrong).pop_back();
  const std::vector<std::int32_t> ok = {0, 1};
  BOOST_CHECK_THROW(m.loss_and_gradient({x.data(), 2, in}, ok, wrong, c),
                    continua::invalid_argument);
  BOOST_CHECK_THROW(m.output_norm_gradient({x.data(), 2, in}, wrong, c),
                    continua::invalid_argument);
  std::vector<std::int32_t> out(2);
  BOOST_CHECK_THROW(m.predict({x.data(), 2, in}, out, c, 3, 2), continua::invalid_argument);
  BOOST_CHECK_THROW(basic_mlp<float>(0, 4, 2), continua::invalid_argument);
  BOOST_TEST(std::get<3>(g)[0] == 42.f);
  for (float v : std::get<0>(g)) BOOST_TEST(v == 0.f);
}

BOOST_AUTO_TEST_SUITE_END()

// The demo's SGD baseline head: loss against a naive double loop, gradient against central finite
// differences, arg-max predictions, bad input.
BOOST_AUTO_TEST_SUITE(examples_linear_softmax)

using continua_examples::basic_linear_softmax;

template <class T>
void fill_params(basic_linear_softmax<T>& m, std::uint64_t seed) {
  auto& [w, b] = m.params();
  continua::fill_uniform(w, continua::philox_key{seed, 1}, 0, -1.0, 1.0);
  continua::fill_uniform(b, continua::philox_key{seed, 2}, 0, -0.5, 0.5);
}

BOOST_AUTO_TEST_CASE(loss_and_gradient_match_naive_loop_and_finite_differences) {
  basic_linear_softmax<double> m(in, cls);
  fill_params(m, 21);
  const auto x = random_inputs<double>(batch * in, 22);
  const std::vector<std::int32_t> y = {2, 0, 3, 3, 1};
  const continua::matrix_view<const double> xv(x.data(), batch, in);
  std::vector<double> scratch;
  auto grads = m.zeros_like();
  const double loss = m.loss_and_gradient(xv, y, grads, scratch);
  // Naive: mean of log(sum_k exp z_k) - z_y.
  double naive = 0;
  const auto& [w, b] = m.params();
  for (std::size_t r = 0; r < batch; ++r) {
    std::vector<double> z(cls);
    double sum = 0;
    for (std::size_t k = 0; k < cls; ++k) {
      z[k] = b[k];
      for (std::size_t i = 0; i < in; ++i) z[k] += w[k * in + i] * x[r * in + i];
      sum += std::exp(z[k]);
    }
    naive += std::log(sum) - z[std::size_t(y[r])];
  }
  BOOST_TEST(std::abs(loss - naive / batch) < 1e-13);
  auto unused = m.zeros_like();
  const std::size_t checked = check_finite_differences(
      m.params(), grads, [&] { return m.loss_and_gradient(xv, y, unused, scratch); }, 1e-8);
  BOOST_TEST(checked == cls * in + cls);
}

BOOST_AUTO_TEST_CASE(float_head_agrees_with_double_and_predicts_argmax) {
  basic_linear_softmax<double> md(in, cls);
  fill_params(md, 23);
  basic_linear_softmax<float> mf(in, cls);
  for (std::size_t i = 0; i < std::get<0>(md.params()).size(); ++i)
    std::get<0>(mf.params())[i] = float(std::get<0>(md.params())[i]);
  for (std::size_t k = 0; k < cls; ++k)
    std::get<1>(mf.params())[k] = float(std::get<1>(md.params())[k]);
  const auto xd = random_inputs<double>(batch * in, 24);
  const std::vector<float> xf(xd.begin(), xd.end());
  const std::vector<std::int32_t> y = {1, 1, 0, 2, 3};
  std::vector<double> sd;
  std::vector<float> sf;
  auto gd = md.zeros_like();
  auto gf = mf.zeros_like();
  const double ld = md.loss_and_gradient({xd.data(), batch, in}, y, gd, sd);
  const double lf = mf.loss_and_gradient({xf.data(), batch, in}, y, gf, sf);
  BOOST_TEST(std::abs(ld - lf) < 1e-5 * std::abs(ld));
  for (std::size_t i = 0; i < std::get<0>(gd).size(); ++i)
    BOOST_TEST(std::abs(std::get<0>(gd)[i] - double(std::get<0>(gf)[i])) < 1e-5);
  // Predictions are the arg-max of the logits, over all classes and over a sub-range.
  std::vector<double> z;
  md.forward({xd.data(), batch, in}, z);
  std::vector<std::int32_t> all(batch), sub(batch);
  md.predict({xd.data(), batch, in}, all, sd);
  md.predict({xd.data(), batch, in}, sub, sd, 1, 3);
  for (std::size_t r = 0; r < batch; ++r) {
    std::size_t best = 0, best_sub = 1;
    for (std::size_t k = 0; k < cls; ++k) {
      if (z[r * cls + k] > z[r * cls + best]) best = k;
      if (k >= 1 && k < 3 && z[r * cls + k] > z[r * cls + best_sub]) best_sub = k;
    }
    BOOST_TEST(all[r] == std::int32_t(best));
    BOOST_TEST(sub[r] == std::int32_t(best_sub));
  }
}

BOOST_AUTO_TEST_CASE(bad_input_throws_and_leaves_gradients_untouched) {
  basic_linear_softmax<float> m(in, cls);
  const auto x = random_inputs<float>(2 * in, 25);
  std::vector<float> scratch;
  auto g = m.zeros_like();
  std::get<1>(g)[0] = 7.f;
  const std::vector<std::int32_t> bad_label = {0, 4}, short_labels = {0}, ok = {0, 1};
  BOOST_CHECK_THROW(m.loss_and_gradient({x.data(), 2, in}, bad_label, g, scratch),
                    continua::invalid_argument);
  BOOST_CHECK_THROW(m.loss_and_gradient({x.data(), 2, in}, short_labels, g, scratch),
                    continua::size_mismatch);
  BOOST_CHECK_THROW(m.loss_and_gradient({x.data(), 0, in}, {}, g, scratch),
                    continua::invalid_argument);
  BOOST_CHECK_THROW(m.forward({x.data(), 2, in - 1}, scratch), continua::size_mismatch);
  auto wrong = m.zeros_like();
  std::get<0>(wrong).pop_back();
  BOOST_CHECK_THROW(m.loss_and_gradient({x.data(), 2, in}, ok, wrong, scratch),
                    continua::invalid_argument);
  std::vector<std::int32_t> out(2);
  BOOST_CHECK_THROW(m.predict({x.data(), 2, in}, out, scratch, 2, 2), continua::invalid_argument);
  BOOST_CHECK_THROW(basic_linear_softmax<float>(4, 0), continua::invalid_argument);
  BOOST_TEST(std::get<1>(g)[0] == 7.f);
  for (float v : std::get<0>(g)) BOOST_TEST(v == 0.f);
}

BOOST_AUTO_TEST_SUITE_END()
