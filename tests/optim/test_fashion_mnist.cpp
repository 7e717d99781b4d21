// A real problem: multinomial logistic regression on the real Fashion-MNIST data (Debian's
// dataset-fashion-mnist) trained with continua's Adam and a cosine schedule reaches >= 84% test
// accuracy in 10 epochs (about the ceiling of a linear model on raw pixels: scikit-learn's
// LogisticRegression gets about 84%).
#include <boost/test/unit_test.hpp>
#include <numeric>

#include "common/softmax_regression.hpp"
#include "continua/core/random.hpp"
#include "continua/io/fashion_mnist.hpp"
#include "continua/optim.hpp"

namespace o = continua::optim;

BOOST_AUTO_TEST_CASE(adam_logistic_regression_reaches_84_percent) {
  const auto train = continua::io::load_fashion_mnist(
      std::string(continua::io::fashion_mnist_default_dir), continua::io::dataset_split::train);
  const auto test = continua::io::load_fashion_mnist(
      std::string(continua::io::fashion_mnist_default_dir), continua::io::dataset_split::test);
  const std::size_t batch = 128, steps_per_epoch = train.rows / batch, epochs = 10;
  continua_examples::softmax_regression model(train.cols, 10);
  auto params = model.params();
  o::optimizer opt(
      o::adam({.lr = 2e-3}, o::cosine_schedule(2e-3, std::int64_t(epochs * steps_per_epoch), 0.05)),
      params);
  std::vector<float> grad_w(model.weights.size()), grad_b(model.biases.size());
  std::vector<float> xb(batch * train.cols);
  std::vector<std::uint8_t> yb(batch);
  std::vector<std::size_t> order(train.rows);
  std::iota(order.begin(), order.end(), std::size_t{0});
  continua::philox_engine rng(continua::philox_key{2026, 0});
  double first_epoch_loss = 0, last_epoch_loss = 0;
  for (std::size_t epoch = 0; epoch < epochs; ++epoch) {
    std::shuffle(order.begin(), order.end(), rng);
    double loss = 0;
    for (std::size_t s = 0; s < steps_per_epoch; ++s) {
      for (std::size_t r = 0; r < batch; ++r) {
        const std::size_t i = order[s * batch + r];
        std::copy_n(train.images.begin() + std::ptrdiff_t(i * train.cols), train.cols,
                    xb.begin() + std::ptrdiff_t(r * train.cols));
        yb[r] = train.labels[i];
      }
      loss += model.loss_and_gradient({xb.data(), Eigen::Index(batch), Eigen::Index(train.cols)},
                                      yb.data(), grad_w, grad_b);
      auto grads = std::tie(grad_w, grad_b);
      BOOST_REQUIRE(opt.step(params, grads));
    }
    (epoch == 0 ? first_epoch_loss : last_epoch_loss) = loss / double(steps_per_epoch);
  }
  const double acc = model.accuracy(
      {test.images.data(), Eigen::Index(test.rows), Eigen::Index(test.cols)}, test.labels.data());
  BOOST_TEST_MESSAGE("test accuracy " << acc << ", loss " << first_epoch_loss << " -> "
                                      << last_epoch_loss);
  BOOST_TEST(last_epoch_loss < first_epoch_loss);
  BOOST_TEST(acc >= 0.84);
}
