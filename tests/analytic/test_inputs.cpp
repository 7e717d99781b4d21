// The analytic learners take any tensor: Eigen matrices in either storage order, 2-D xtensor
// containers, flat std (and Thrust) containers reshaped by as_matrix, and labels of any integer
// type; each gives what a hand-made matrix_view with int32 labels gives. Also: weights() of a
// const head, and how long its view lives.
#include <Eigen/Core>
#include <boost/mpl/list.hpp>
#include <boost/test/unit_test.hpp>
#include <cstdint>
#include <limits>
#include <span>
#include <type_traits>
#include <vector>
#include <xtensor/xtensor.hpp>

#include "continua/adapters/eigen.hpp"
#include "continua/adapters/xtensor.hpp"
#include "continua/analytic/classifier.hpp"
#include "continua/analytic/dual_stream.hpp"
#include "continua/analytic/random_features.hpp"
#include "continua/analytic/statistics.hpp"
#include "reference.hpp"

#if CONTINUA_TEST_THRUST
#include <thrust/device_vector.h>

#include "continua/adapters/thrust.hpp"
#endif

namespace an = continua::analytic;
using analytic_test::data_set;
using analytic_test::make_data;
using continua::matrix_view;

namespace {

template <class T, class P>
struct config {
  using value = T;
  using policy = P;
  // Another storage order runs other GEMM kernels: equal up to rounding, not bit for bit.
  static constexpr double tolerance = std::is_same_v<T, double> ? 1e-12 : 2e-5;
};
using configs = boost::mpl::list<config<double, an::woodbury>, config<double, an::cholesky>,
                                 config<float, an::woodbury>, config<float, an::cholesky>>;

template <class T>
using row_matrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <class T>
using col_matrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::ColMajor>;

template <class T>
std::vector<T> host_copy(matrix_view<const T> w) {
  return std::vector<T>(w.data(), w.data() + w.size());
}

double max_relative_difference(const std::vector<double>& a, const std::vector<double>& b) {
  double scale = 0, diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    scale = std::max(scale, std::abs(a[i]));
    diff = std::max(diff, std::abs(a[i] - b[i]));
  }
  return diff / scale;
}

template <class T>
double max_relative_difference(const std::vector<T>& a, const std::vector<T>& b) {
  return max_relative_difference(std::vector<double>(a.begin(), a.end()),
                                 std::vector<double>(b.begin(), b.end()));
}

// The data set in every form a user may hold it.
template <class T>
struct forms {
  std::size_t n, d;
  std::vector<T> flat;  // row-major
  row_matrix<T> eigen_row;
  col_matrix<T> eigen_col;
  xt::xtensor<T, 2> xt;
  explicit forms(const data_set& s) : n(s.rows), d(s.features), flat(s.x.begin(), s.x.end()) {
    eigen_row = Eigen::Map<const row_matrix<T>>(flat.data(), Eigen::Index(n), Eigen::Index(d));
    eigen_col = eigen_row;
    xt = xt::xtensor<T, 2>::from_shape({n, d});
    std::copy(flat.begin(), flat.end(), xt.begin());
  }
  matrix_view<const T> view() const { return {flat.data(), n, d}; }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(analytic_inputs)

BOOST_AUTO_TEST_CASE_TEMPLATE(every_input_kind_fits_and_predicts_like_a_matrix_view, C, configs) {
  using T = typename C::value;
  using head_t = an::analytic_classifier<T, typename C::policy>;
  const data_set s = make_data(120, 7, 4, 31);
  const forms<T> x(s);
  head_t reference({.gamma = 0.5}, 7);
  reference.fit(x.view(), s.labels);
  const auto want_w = host_copy(reference.weights());
  const auto want_p = reference.predict(x.view());

  const std::vector<std::int64_t> labels64(s.labels.begin(), s.labels.end());
  const std::vector<unsigned> labels_u(s.labels.begin(), s.labels.end());
  const Eigen::VectorXi labels_eigen =
      Eigen::Map<const Eigen::VectorXi>(s.labels.data(), Eigen::Index(s.labels.size()));
  xt::xtensor<std::int64_t, 1> labels_xt = xt::xtensor<std::int64_t, 1>::from_shape({s.rows});
  std::copy(labels64.begin(), labels64.end(), labels_xt.begin());

  // Row-major kinds run the very kernels of the view: bit-identical.
  {
    head_t h({.gamma = 0.5}, 7);
    h.fit(x.eigen_row, labels64);
    BOOST_TEST(host_copy(h.weights()) == want_w);
    BOOST_TEST(h.predict(x.eigen_row) == want_p);
  }
  {
    head_t h({.gamma = 0.5}, 7);
    h.fit(x.xt, labels_xt);
    BOOST_TEST(host_copy(h.weights()) == want_w);
    BOOST_TEST(h.predict(x.xt) == want_p);
  }
  {
    head_t h({.gamma = 0.5}, 7);
    h.fit(continua::as_matrix(x.flat, x.n, x.d), labels_u);
    BOOST_TEST(host_copy(h.weights()) == want_w);
    BOOST_TEST(h.predict(continua::as_matrix(x.flat, x.n, x.d)) == want_p);
  }
  // Column-major (Eigen's default): same model up to rounding, same predictions.
  {
    head_t h({.gamma = 0.5}, 7);
    h.fit(x.eigen_col, labels_eigen);
    BOOST_TEST(max_relative_difference(host_copy(h.weights()), want_w) <= C::tolerance);
    BOOST_TEST(h.predict(x.eigen_col) == want_p);
    col_matrix<T> scores(Eigen::Index(x.n), Eigen::Index(h.classes()));
    h.scores(x.eigen_col, scores);
    row_matrix<T> want_scores(Eigen::Index(x.n), Eigen::Index(h.classes()));
    reference.scores(x.view(), want_scores);
    BOOST_TEST((scores - want_scores).cwiseAbs().maxCoeff() <=
               T(C::tolerance * 100) * want_scores.cwiseAbs().maxCoeff());
  }
  // Statistics accumulate from any kind too: a column-major matrix and a block of a row-major one
  // give the view's XᵀX and XᵀY.
  {
    an::sufficient_statistics<T> want(7), got(7);
    want.add(x.view(), s.labels);
    got.add(x.eigen_row.topRows(50), std::span(labels64).first(50));
    const col_matrix<T> tail = x.eigen_col.bottomRows(70);  // a strided block would not compile
    got.add(tail, std::span(labels64).subspan(50));
    BOOST_TEST(got.labels() == want.labels());
    BOOST_TEST(got.counts() == want.counts());
    BOOST_TEST(max_relative_difference(got.gram_buffer().to_host(), want.gram_buffer().to_host()) <=
               C::tolerance);
    BOOST_TEST(max_relative_difference(got.cross_buffer().to_host(),
                                       want.cross_buffer().to_host()) <= C::tolerance);
  }
}

BOOST_AUTO_TEST_CASE(features_and_dual_stream_take_any_tensor_in_either_order) {
  const data_set s = make_data(40, 5, 3, 8);
  const forms<double> x(s);
  const an::random_features<double, an::tanh_activation> layer(
      {.inputs = 5, .outputs = 6, .seed = 3});
  row_matrix<double> want(40, 6);
  layer.transform(x.view(), want);
  col_matrix<double> got(40, 6);
  layer.transform(x.eigen_col, got);
  BOOST_TEST((got - want).cwiseAbs().maxCoeff() <= 1e-14);
  xt::xtensor<double, 2> got_xt = xt::xtensor<double, 2>::from_shape({40, 6});
  layer.transform(x.xt, got_xt);
  for (std::size_t i = 0; i < 40; ++i)
    for (std::size_t j = 0; j < 6; ++j) BOOST_TEST(got_xt(i, j) == want(Eigen::Index(i), j));

  const an::gaussian_kernel_features<double> kernel({.centers = 8, .seed = 1}, x.eigen_col);
  row_matrix<double> k_row(40, 8);
  col_matrix<double> k_col(40, 8);
  kernel.transform(x.view(), k_row);
  kernel.transform(x.eigen_row, k_col);
  BOOST_TEST((k_col - k_row).cwiseAbs().maxCoeff() <= 1e-14);

  an::dual_stream_classifier<double> a({}, 5, 6), b({}, 5, 6);
  a.fit(x.view(), matrix_view<const double>(want.data(), 40, 6), s.labels);
  const std::vector<std::int64_t> labels64(s.labels.begin(), s.labels.end());
  b.fit(x.eigen_row, want, labels64);
  BOOST_TEST(a.predict(x.view(), want) == b.predict(x.xt, want));
  // Compensation rows must match the main rows (a longer x_comp once wrote past the scores).
  row_matrix<double> scores(40, b.classes());
  BOOST_CHECK_THROW(b.scores(x.view(), row_matrix<double>(41, 6), scores), continua::size_mismatch);
}

BOOST_AUTO_TEST_CASE(labels_outside_int32_and_flat_containers_are_refused_clearly) {
  const data_set s = make_data(10, 3, 2, 1);
  an::analytic_classifier<double> head({.gamma = 1.0}, 3);
  std::vector<std::int64_t> labels(s.labels.begin(), s.labels.end());
  labels[6] = std::int64_t(std::numeric_limits<std::int32_t>::max()) + 1;
  try {
    head.fit(matrix_view<const double>(s.x.data(), 10, 3), labels);
    BOOST_FAIL("an int64 label above INT32_MAX was accepted");
  } catch (const continua::invalid_argument& e) {
    BOOST_TEST(std::string(e.what()).find("label 2147483648 at row 6 does not fit in int32") !=
               std::string::npos);
  }
  std::vector<std::uint64_t> huge(10, 0);
  huge[2] = std::numeric_limits<std::uint64_t>::max();
  BOOST_CHECK_THROW(head.fit(matrix_view<const double>(s.x.data(), 10, 3), huge),
                    continua::invalid_argument);
  labels[6] = -3;  // fits int32, but labels are >= 0
  BOOST_CHECK_THROW(head.fit(matrix_view<const double>(s.x.data(), 10, 3), labels),
                    continua::invalid_argument);
  // A flat container has rank 1: the message says how to reshape it.
  try {
    head.fit(s.x, s.labels);
    BOOST_FAIL("a rank-1 x was accepted");
  } catch (const continua::invalid_argument& e) {
    BOOST_TEST(std::string(e.what()).find("as_matrix(v, rows, cols)") != std::string::npos);
  }
  BOOST_TEST(head.samples() == 0u);
  BOOST_TEST(head.classes() == 0u);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(weights_of_a_const_head_equal_the_joint_solve_and_stay_valid, C,
                              configs) {
  using T = typename C::value;
  const data_set s = make_data(90, 6, 3, 12);
  const std::vector<T> x(s.x.begin(), s.x.end());
  an::analytic_classifier<T, typename C::policy> head({.gamma = 0.8}, 6);
  head.fit(matrix_view<const T>(x.data(), 50, 6), std::span(s.labels).first(50));
  head.fit(matrix_view<const T>(x.data() + 50 * 6, 40, 6), std::span(s.labels).subspan(50));
  const auto& fixed = head;  // weights, scores and predict need no mutable head
  const auto w = fixed.weights();
  BOOST_TEST(w.rows() == 6u);
  BOOST_TEST(w.cols() == fixed.classes());
  const auto ref = analytic_test::joint_ridge(s, 0.8, fixed.labels());
  const double bar = std::is_same_v<T, double> ? 1e-9 : 1e-3;
  BOOST_TEST(
      analytic_test::relative_error(host_copy(w), fixed.classes(), ref, fixed.classes(), 6) <= bar);
  // A second read (and predicting) is not a change: the first view still shows the same W.
  const auto copy = host_copy(w);
  const auto again = fixed.weights();
  (void)fixed.predict(matrix_view<const T>(x.data(), 90, 6));
  BOOST_TEST(again.data() == w.data());
  BOOST_TEST(host_copy(w) == copy);
}

#if CONTINUA_TEST_THRUST
BOOST_AUTO_TEST_CASE(thrust_vectors_with_a_shape_give_the_host_result) {
  using continua::device_space;
  const data_set s = make_data(60, 5, 3, 2);
  const thrust::device_vector<double> dx(s.x.begin(), s.x.end());
  const std::vector<std::int64_t> labels64(s.labels.begin(), s.labels.end());
  an::analytic_classifier<double, an::cholesky, device_space> dev({.gamma = 0.5}, 5);
  dev.fit(continua::as_matrix(dx, 60, 5), labels64);
  an::analytic_classifier<double> host({.gamma = 0.5}, 5);
  host.fit(matrix_view<const double>(s.x.data(), 60, 5), s.labels);
  BOOST_TEST(dev.predict(continua::as_matrix(dx, 60, 5)) ==
             host.predict(matrix_view<const double>(s.x.data(), 60, 5)));
  thrust::device_vector<double> scores(60 * dev.classes());
  dev.scores(continua::as_matrix(dx, 60, 5), continua::as_matrix(scores, 60, dev.classes()));
  std::vector<double> want(60 * host.classes());
  host.scores(matrix_view<const double>(s.x.data(), 60, 5),
              continua::as_matrix(want, 60, host.classes()));
  const std::vector<double> got(scores.begin(), scores.end());
  BOOST_TEST(max_relative_difference(got, want) <= 1e-12);
}
#endif

BOOST_AUTO_TEST_SUITE_END()
