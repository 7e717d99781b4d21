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
  const std::string dir(continua::io::fashion_mnist_default_dir);
  const auto train = continua::io::load_fashion_mnist(dir, continua::io::dataset_split::train);
  const auto test = continua::io::load_fashion_mnist(dir, continua::io::dataset_split::test);
  continua_examples::softmax_regression model(train.cols, 10);
  double first_epoch_loss = 0, last_epoch_loss = 0;
  continua_examples::train_with_adam(model, train, 10, 128, 2e-3, 2026,
                                     [&](std::size_t epoch, double loss) {
                                       (epoch == 0 ? first_epoch_loss : last_epoch_loss) = loss;
                                     });
  const double acc = model.accuracy(
      {test.images.data(), Eigen::Index(test.rows), Eigen::Index(test.cols)}, test.labels.data());
  BOOST_TEST_MESSAGE("test accuracy " << acc << ", loss " << first_epoch_loss << " -> "
                                      << last_epoch_loss);
  BOOST_TEST(last_epoch_loss < first_epoch_loss);
  BOOST_TEST(acc >= 0.84);
}
