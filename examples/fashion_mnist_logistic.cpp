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
    const std::size_t batch = 128, steps_per_epoch = train.rows / batch;

    softmax_regression model(train.cols, 10);
    auto params = model.params();
    o::optimizer opt(
        o::adam({.lr = 2e-3}, o::cosine_schedule(2e-3, epochs * steps_per_epoch, 0.05)), params);

    std::vector<float> grad_w(model.weights.size()), grad_b(model.biases.size());
    std::vector<float> xb(batch * train.cols);
    std::vector<std::uint8_t> yb(batch);
    std::vector<std::size_t> order(train.rows);
    std::iota(order.begin(), order.end(), std::size_t{0});
    continua::philox_engine shuffle_rng(continua::philox_key{2026, 0});

    for (int epoch = 0; epoch < epochs; ++epoch) {
      std::shuffle(order.begin(), order.end(), shuffle_rng);
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
        opt.step(params, grads);
      }
      const double acc =
          model.accuracy({test.images.data(), Eigen::Index(test.rows), Eigen::Index(test.cols)},
                         test.labels.data());
      std::printf("epoch %2d  train loss %.4f  test accuracy %.4f\n", epoch + 1,
                  loss / double(steps_per_epoch), acc);
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("total %.1f s\n", seconds);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fashion_mnist_logistic: %s\n", e.what());
    return 1;
  }
}
