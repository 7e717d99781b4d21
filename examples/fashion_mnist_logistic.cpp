// Multinomial logistic regression on Fashion-MNIST trained with continua::optim (Adam with a
// cosine schedule), mini-batches from a Philox-seeded shuffle. Prints loss and test accuracy.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <numeric>
#include <string>
#include <vector>

#include "common/softmax_regression.hpp"
#include "continua/core/random.hpp"
#include "continua/io/fashion_mnist.hpp"
#include "continua/optim.hpp"

namespace o = continua::optim;
using continua_examples::softmax_regression;

int main(int argc, char** argv) {
  const std::string dir = argc > 1 ? argv[1] : "/usr/share/datasets/fashion-mnist";
  const int epochs = argc > 2 ? std::atoi(argv[2]) : 10;
  try {
    const auto t0 = std::chrono::steady_clock::now();
    const auto train = continua::io::load_fashion_mnist(dir, continua::io::dataset_split::train);
    const auto test = continua::io::load_fashion_mnist(dir, continua::io::dataset_split::test);
    softmax_regression model(train.cols, 10);
    continua_examples::train_with_adam(
        model, train, std::size_t(epochs), 128, 2e-3, 2026, [&](std::size_t epoch, double loss) {
          const double acc =
              model.accuracy({test.images.data(), Eigen::Index(test.rows), Eigen::Index(test.cols)},
                             test.labels.data());
          std::printf("epoch %2zu  train loss %.4f  test accuracy %.4f\n", epoch + 1, loss, acc);
        });
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("total %.1f s\n", seconds);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fashion_mnist_logistic: %s\n", e.what());
    return 1;
  }
}
