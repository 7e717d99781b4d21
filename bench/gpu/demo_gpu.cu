// The flagship demo's analytic path on the GPU: class-incremental Fashion-MNIST (5 phases of 2
// classes), random ReLU buffer features (4096, seed 2024, scale 2, standardised pixels) and the
// analytic head (cholesky policy, gamma 100), with images, features and statistics on the device.
// The same pipeline then runs on the host (all cores) as the reference: the final accuracies
// must agree within 0.3 points (float rounding can flip near-tied predictions; the classifier is
// the same closed form), and the times give the speed-up.
// The pipeline is demo_gpu_pipeline.hpp.
// Usage: demo_gpu [DATA_DIR]   (default /usr/share/datasets/fashion-mnist). Exit 77 without GPU.
#include <cuda_runtime.h>
#include <thrust/device_vector.h>

#include <cmath>
#include <cstdio>
#include <exception>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/pixel_standardisation.hpp"
#include "continua/adapters/thrust.hpp"
#include "demo_gpu_pipeline.hpp"

using namespace demo_gpu;

int main(int argc, char** argv) {
  int devices = 0;
  if (cudaGetDeviceCount(&devices) != cudaSuccess || devices == 0) {
    std::printf("skipped: no CUDA device\n");
    return 77;
  }
  try {
    const std::string dir = argc > 1 ? argv[1] : std::string(io::fashion_mnist_default_dir);
    const data train = sorted_by_phase(io::load_fashion_mnist(dir, io::dataset_split::train));
    const data test = sorted_by_phase(io::load_fashion_mnist(dir, io::dataset_split::test));
    // Per-pixel standardisation from the training images (deviation floored at 0.1, as the demo).
    const auto moments =
        continua_examples::standardisation(train.x.data(), train.rows, io::fashion_mnist_pixels);
    const auto sync = [] {
      if (cudaDeviceSynchronize() != cudaSuccess) throw std::runtime_error("cudaDeviceSynchronize");
    };
    using device_vec = thrust::device_vector<float>;
    (void)run<continua::device_space, device_vec>(train, test, moments, sync);  // warm-up
    const result dev = run<continua::device_space, device_vec>(train, test, moments, sync);
    const result host = run_host(train, test, moments);
    std::printf("path,accuracy,features_s,fit_s,predict_s\n");
    std::printf("device,%.4f,%.3f,%.3f,%.3f\n", dev.accuracy, dev.feature_s, dev.fit_s,
                dev.predict_s);
    std::printf("host,%.4f,%.3f,%.3f,%.3f\n", host.accuracy, host.feature_s, host.fit_s,
                host.predict_s);
    std::printf("speed-up (features + fit + predict): %.1fx\n",
                (host.feature_s + host.fit_s + host.predict_s) /
                    (dev.feature_s + dev.fit_s + dev.predict_s));
    if (!(std::fabs(dev.accuracy - host.accuracy) <= 0.003) || !(dev.accuracy > 0.8)) {
      std::fprintf(stderr, "demo_gpu: device accuracy %.4f vs host %.4f\n", dev.accuracy,
                   host.accuracy);
      return 1;
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "demo_gpu: %s\n", e.what());
    return 1;
  }
}
