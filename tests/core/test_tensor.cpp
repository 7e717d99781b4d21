// Tensor concept, customization points and views: every adapter exposes its own memory (no copy),
// its size, shape and storage order.
#include <array>
#include <boost/test/unit_test.hpp>
#include <span>

#include "containers.hpp"

using namespace continua_test;

BOOST_AUTO_TEST_SUITE(tensor_concept)

static_assert(continua::tensor<std::vector<float>>);
static_assert(continua::tensor<const std::vector<double>>);
static_assert(continua::tensor<std::array<float, 4>>);
static_assert(continua::tensor<std::span<const float>>);
static_assert(continua::tensor<float[3]>);
static_assert(continua::tensor<Eigen::MatrixXf>);
static_assert(continua::tensor<Eigen::ArrayXXd>);
static_assert(continua::tensor<Eigen::Map<Eigen::VectorXf>>);
static_assert(continua::tensor<Eigen::Map<const Eigen::MatrixXd>>);
static_assert(continua::tensor<xt::xarray<float>>);
static_assert(continua::tensor<xt::xtensor<double, 3>>);
static_assert(!continua::tensor<std::vector<int>>);
static_assert(!continua::tensor<int>);
static_assert(!continua::tensor<std::vector<std::vector<float>>>);
static_assert(std::is_same_v<continua::memory_space_t<std::vector<float>>, continua::host_space>);
static_assert(std::is_same_v<continua::element_t<const std::vector<float>>, const float>);
static_assert(std::is_same_v<continua::element_t<std::span<const float>>, const float>);
static_assert(continua::parameter_set<std::tuple<std::vector<float>&, Eigen::VectorXd&>>);
static_assert(continua::parameter_set<std::vector<Eigen::VectorXf>>);
static_assert(!continua::parameter_set<std::vector<int>>);
#if CONTINUA_TEST_THRUST
static_assert(
    std::is_same_v<continua::memory_space_t<thrust::device_vector<float>>, continua::device_space>);
static_assert(
    std::is_same_v<continua::memory_space_t<thrust::host_vector<float>>, continua::host_space>);
#endif

BOOST_AUTO_TEST_CASE_TEMPLATE(data_and_size_view_the_objects_own_memory, C, tensor_types) {
  C c = make<C>::from(pseudo_random(12, 1));
  BOOST_TEST(continua::size(c) == 12u);
  BOOST_TEST(continua::shape(c).count() == 12u);
  auto s = continua::as_span(c);
  BOOST_TEST(s.data() == continua::data(c));
  BOOST_TEST(s.size() == 12u);
}

BOOST_AUTO_TEST_CASE(std_containers) {
  std::array<float, 3> a{1, 2, 3};
  BOOST_TEST(continua::data(a) == a.data());
  BOOST_TEST(continua::shape(a).rank == 1u);
  float raw[5] = {};
  BOOST_TEST(continua::size(raw) == 5u);
  const std::vector<double> v{1, 2};
  std::span<const double> sp(v);
  BOOST_TEST(continua::data(sp) == v.data());
}

BOOST_AUTO_TEST_CASE(eigen_shape_order_and_contiguous_blocks) {
  Eigen::MatrixXf m = Eigen::MatrixXf::Random(4, 3);
  const auto e = continua::shape(m);
  BOOST_TEST(e.rank == 2u);
  BOOST_TEST(e[0] == 4u);
  BOOST_TEST(e[1] == 3u);
  BOOST_TEST((continua::storage_order(m) == continua::layout::col_major));
  Eigen::Matrix<double, 2, 5, Eigen::RowMajor> r;
  BOOST_TEST((continua::storage_order(r) == continua::layout::row_major));
  BOOST_TEST(continua::shape(Eigen::VectorXd(7)).rank == 1u);

  // Columns and column panels of a column-major matrix are contiguous: views, not copies.
  auto col = m.col(1);
  BOOST_TEST(continua::data(col) == m.data() + 4);
  BOOST_TEST(continua::size(col) == 4u);
  auto panel = m.leftCols(2);
  BOOST_TEST(continua::data(panel) == m.data());
  BOOST_TEST(continua::size(panel) == 8u);

  // matrix_view agrees with Eigen's indexing.
  auto mv = continua::as_matrix(m);
  for (Eigen::Index i = 0; i < 4; ++i)
    for (Eigen::Index j = 0; j < 3; ++j) BOOST_TEST(mv(std::size_t(i), std::size_t(j)) == m(i, j));
}

BOOST_AUTO_TEST_CASE(xtensor_shape_and_order) {
  xt::xtensor<double, 3> t = xt::zeros<double>({2, 3, 4});
  const auto e = continua::shape(t);
  BOOST_TEST(e.rank == 3u);
  BOOST_TEST(e[2] == 4u);
  BOOST_TEST(e.count() == 24u);
  xt::xarray<float, xt::layout_type::column_major> cm = xt::zeros<float>({3, 2});
  BOOST_TEST((continua::storage_order(cm) == continua::layout::col_major));
  cm(2, 1) = 5.f;
  BOOST_TEST(continua::as_matrix(cm)(2, 1) == 5.f);
  xt::xarray<float> rm = xt::zeros<float>({3, 2});
  rm(2, 1) = 6.f;
  BOOST_TEST(continua::as_matrix(rm)(2, 1) == 6.f);
}

BOOST_AUTO_TEST_CASE(matrix_view_reshape_checks_sizes) {
  std::vector<float> v(12);
  auto m = continua::as_matrix(v, 3, 4);
  m(1, 2) = 7.f;
  BOOST_TEST(v[6] == 7.f);
  auto c = continua::as_matrix(v, 3, 4, continua::layout::col_major);
  BOOST_TEST(c(1, 2) == v[7]);
  BOOST_CHECK_THROW(continua::as_matrix(v, 5, 3), continua::size_mismatch);
  BOOST_CHECK_THROW(continua::as_matrix(v), continua::invalid_argument);  // rank 1
  continua::matrix_view<const float> cv = m;
  BOOST_TEST(cv(1, 2) == 7.f);
}

BOOST_AUTO_TEST_CASE(parameter_sets_visit_tensors_in_order) {
  std::vector<float> a(3);
  Eigen::VectorXd b(5);
  xt::xarray<float> c = xt::zeros<float>({2, 2});
  auto set = std::tie(a, b, c);
  std::vector<std::size_t> seen;
  continua::for_each_tensor(set, [&](std::size_t i, auto& t) {
    BOOST_TEST(i == seen.size());
    seen.push_back(continua::size(t));
  });
  BOOST_TEST(seen == (std::vector<std::size_t>{3, 5, 4}));
  BOOST_TEST(continua::tensor_count(set) == 3u);
  BOOST_TEST(continua::tensor_count(a) == 1u);
  std::vector<Eigen::VectorXf> range{Eigen::VectorXf(2), Eigen::VectorXf(9)};
  BOOST_TEST(continua::total_size(range) == 11u);
}

BOOST_AUTO_TEST_CASE(paired_sets_must_match_tensor_by_tensor) {
  std::vector<std::vector<float>> params{std::vector<float>(4), std::vector<float>(6)};
  std::vector<std::vector<float>> grads{std::vector<float>(4), std::vector<float>(5)};
  try {
    continua::require_same_structure("adam.update", "params", params, "grads", grads);
    BOOST_FAIL("expected size_mismatch");
  } catch (const continua::size_mismatch& e) {
    const std::string what = e.what();
    BOOST_TEST(what.find("adam.update") != std::string::npos);
    BOOST_TEST(what.find("params[1] has 6") != std::string::npos);
    BOOST_TEST(what.find("grads[1] has 5") != std::string::npos);
  }
  grads.pop_back();
  BOOST_CHECK_THROW(continua::require_same_structure("x", "p", params, "g", grads),
                    continua::size_mismatch);
  std::vector<float> a(3), b(3);
  Eigen::VectorXd c(2), d(2);
  std::size_t visits = 0;
  continua::for_each_tensor_pair("pair", "params", std::tie(a, c), "grads", std::tie(b, d),
                                 [&](std::size_t, auto& x, auto& y) {
                                   BOOST_TEST(continua::size(x) == continua::size(y));
                                   ++visits;
                                 });
  BOOST_TEST(visits == 2u);
}

BOOST_AUTO_TEST_SUITE_END()
