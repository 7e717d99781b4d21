// Fashion-MNIST loader: images as an n x 784 row-major float matrix in [0, 1], labels 0..9.
// Xiao, Rasul & Vollgraf, "Fashion-MNIST: a novel image dataset for benchmarking machine learning
// algorithms", arXiv:1708.07747, 2017.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "continua/core/error.hpp"
#include "continua/core/span.hpp"
#include "continua/io/idx.hpp"

namespace continua::io {

// Where Debian's dataset-fashion-mnist package installs the four gzip files.
inline constexpr std::string_view fashion_mnist_default_dir = "/usr/share/datasets/fashion-mnist";

// Fashion-MNIST images are 28 x 28 grey pixels, flattened row by row to 784 values, in 10 classes.
inline constexpr std::size_t fashion_mnist_side = 28;
// Pixels per image: 784.
inline constexpr std::size_t fashion_mnist_pixels = fashion_mnist_side * fashion_mnist_side;
// Number of classes: 10.
inline constexpr std::size_t fashion_mnist_classes = 10;

// Class names in label order, from the dataset's README.
inline constexpr std::array<std::string_view, fashion_mnist_classes> fashion_mnist_class_names = {
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};

// The 60000-image training split or the 10000-image test split.
enum class dataset_split { train, test };

// A loaded split: one image per row of `images` (pixel values scaled to [0, 1]) and its label.
struct labelled_images {
  std::size_t rows = 0;                     // number of images
  std::size_t cols = fashion_mnist_pixels;  // pixels per image
  std::vector<float> images;                // rows x cols, row-major, pixel / 255
  std::vector<std::uint8_t> labels;         // rows entries in 0..9

  matrix_view<const float> image_matrix() const { return {images.data(), rows, cols}; }
  matrix_view<float> image_matrix() { return {images.data(), rows, cols}; }
};

namespace detail {

// The compressed file if present, else the uncompressed one (some mirrors ship both).
inline std::filesystem::path fashion_mnist_file(const std::filesystem::path& dir,
                                                const std::string& stem) {
  const std::filesystem::path gz = dir / (stem + ".gz");
  if (std::filesystem::exists(gz)) return gz;
  const std::filesystem::path plain = dir / stem;
  if (std::filesystem::exists(plain)) return plain;
  throw io_error("continua::io::load_fashion_mnist: neither '" + gz.string() + "' nor '" +
                 plain.string() + "' exists");
}

}  // namespace detail

// Loads one split; everything is checked before anything is returned: the files' types and
// shapes (ubyte, n x 28 x 28 and n), equal counts, and every label in 0..9.
inline labelled_images load_fashion_mnist(
    const std::filesystem::path& dir = std::filesystem::path(fashion_mnist_default_dir),
    dataset_split split = dataset_split::train) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec))
    throw io_error("continua::io::load_fashion_mnist: dataset directory '" + dir.string() +
                   "' does not exist; on Debian/Ubuntu install it with "
                   "`apt-get install dataset-fashion-mnist` (files go to " +
                   std::string(fashion_mnist_default_dir) +
                   "), or download the four *-ubyte.gz files from "
                   "https://github.com/zalandoresearch/fashion-mnist and pass their directory");
  const std::string prefix = split == dataset_split::train ? "train" : "t10k";
  const auto image_path = detail::fashion_mnist_file(dir, prefix + "-images-idx3-ubyte");
  const auto label_path = detail::fashion_mnist_file(dir, prefix + "-labels-idx1-ubyte");
  const idx_array img = read_idx(image_path);
  const idx_array lab = read_idx(label_path);

  const std::string img_name = "Fashion-MNIST images '" + image_path.string() + "'";
  const std::string lab_name = "Fashion-MNIST labels '" + label_path.string() + "'";
  if (img.type != idx_type::u8 || img.dims.size() != 3 || img.dims[1] != fashion_mnist_side ||
      img.dims[2] != fashion_mnist_side) {
    std::string shape;
    for (std::size_t d : img.dims) shape += (shape.empty() ? "" : " x ") + std::to_string(d);
    throw io_error(img_name + ": expected ubyte n x 28 x 28, found " +
                   std::string(idx_type_name(img.type)) + " " + shape);
  }
  if (lab.type != idx_type::u8 || lab.dims.size() != 1)
    throw io_error(lab_name + ": expected a rank-1 ubyte array, found " +
                   std::string(idx_type_name(lab.type)) + " of rank " +
                   std::to_string(lab.dims.size()));
  if (img.dims[0] != lab.dims[0])
    throw io_error("continua::io::load_fashion_mnist: " + std::to_string(img.dims[0]) +
                   " images in '" + image_path.string() + "' but " + std::to_string(lab.dims[0]) +
                   " labels in '" + label_path.string() + "'");
  for (std::size_t i = 0; i < lab.data.size(); ++i)
    if (lab.data[i] >= fashion_mnist_classes)
      throw io_error(lab_name + ": label " + std::to_string(lab.data[i]) + " at index " +
                     std::to_string(i) + " is outside 0..9");

  labelled_images out;
  out.rows = img.dims[0];
  // Division, not multiplication by 1/255, so each value is the correctly rounded p / 255.
  out.images.resize(img.data.size());
  for (std::size_t i = 0; i < img.data.size(); ++i)
    out.images[i] = static_cast<float>(img.data[i]) / 255.0f;
  out.labels = lab.data;
  return out;
}

// The default directory, one split.
inline labelled_images load_fashion_mnist(dataset_split split) {
  return load_fashion_mnist(std::filesystem::path(fashion_mnist_default_dir), split);
}

}  // namespace continua::io
