// Writes the seed corpora of the fuzz targets into tests/fuzz/corpus/<target>/ (the directory
// given as argv[1]): a valid checkpoint of every loader subject, IDX files of every element type
// plain and gzip, and truncated and bit-flipped variants. The subjects are the ones the loader
// targets load into, so the seeds are exactly their states. Deterministic: rerunning it rewrites
// the same files.
//   cmake --build build/fuzz --target make_corpus && ./build/fuzz/make_corpus tests/fuzz/corpus
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <span>
#include <string>
#include <vector>

#include "continua/io/idx.hpp"
#include "subjects_analytic.hpp"
#include "subjects_bilevel.hpp"
#include "subjects_optim.hpp"
#include "subjects_regularize.hpp"
#include "subjects_replay.hpp"
#include "subjects_sample.hpp"

namespace fs = std::filesystem;
namespace io = continua::io;
using bytes = std::vector<unsigned char>;

namespace {

fs::path root;
std::size_t files = 0, total = 0;

void write(const std::string& target, const std::string& name, unsigned char head,
           const bytes& body) {
  const fs::path dir = root / target;
  fs::create_directories(dir);
  bytes all{head};
  all.insert(all.end(), body.begin(), body.end());
  std::ofstream out(dir / name, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(all.data()), static_cast<std::streamsize>(all.size()));
  if (!out) throw std::runtime_error("make_corpus: cannot write " + (dir / name).string());
  ++files;
  total += all.size();
}

bytes truncated(bytes b) {
  b.resize(b.size() * 2 / 3);
  return b;
}
bytes flipped(bytes b, std::size_t at) {
  if (!b.empty()) b[at % b.size()] ^= 0x10;
  return b;
}

// For a loader target: its subjects' images (sealed), a bit flip in the records (resealed, so it
// reaches the loader), and a truncated image taken as it is (the container's refusal).
template <class Visit>
void loader_seeds(const std::string& target, Visit&& visit) {
  unsigned char k = 0;
  visit([&](const char* name, auto&& make, auto&&) {
    const bytes image = continua_fuzz::bytes_of(make());
    const std::string base = std::to_string(k) + "-" + name;
    write(target, base, k, image);
    write(target, base + "-flip", k, flipped(image, image.size() * 3 / 4));
    write(target, base + "-trunc", static_cast<unsigned char>(k | 0x80), truncated(image));
    // The container target gets every image too: plain, and one with a broken CRC.
    write("fuzz_checkpoint", target.substr(10) + "-" + base, 0, image);
    if (k == 0)
      write("fuzz_checkpoint", target.substr(10) + "-" + base + "-crc", 1,
            flipped(image, image.size() / 2));
    ++k;
  });
}

template <class E>
void idx_seeds(const std::string& name, std::vector<std::size_t> dims, std::vector<E> values) {
  const io::idx_array a = io::idx_array::from_values<E>(std::move(dims), values);
  const bytes plain = io::encode_idx(a);
  const bytes gz = io::encode_idx(a, io::idx_compression::gzip);
  write("fuzz_idx", name, 0, plain);                        // plain
  write("fuzz_idx", name + "-gz", 0, gz);                   // a gzip file as such
  write("fuzz_idx", name + "-zipped", 1, plain);            // gzipped by the target
  write("fuzz_idx", name + "-trunc", 0, truncated(plain));  // data shorter than the header says
  write("fuzz_idx", name + "-gz-flip", 0, flipped(gz, gz.size() / 2));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_corpus OUT_DIR (tests/fuzz/corpus)\n");
    return 2;
  }
  root = argv[1];
  loader_seeds("fuzz_load_optim", [](auto&& f) { continua_fuzz::visit_optim(f); });
  loader_seeds("fuzz_load_analytic", [](auto&& f) { continua_fuzz::visit_analytic(f); });
  loader_seeds("fuzz_load_regularize", [](auto&& f) { continua_fuzz::visit_regularize(f); });
  loader_seeds("fuzz_load_replay", [](auto&& f) { continua_fuzz::visit_replay(f); });
  loader_seeds("fuzz_load_sample", [](auto&& f) { continua_fuzz::visit_sample(f); });
  loader_seeds("fuzz_load_bilevel", [](auto&& f) { continua_fuzz::visit_bilevel(f); });

  idx_seeds<std::uint8_t>("u8-2x3", {2, 3}, {0, 1, 2, 253, 254, 255});
  idx_seeds<std::int8_t>("i8-4", {4}, {-128, -1, 0, 127});
  idx_seeds<std::int16_t>("i16-2x2", {2, 2}, {-32768, -1, 1, 32767});
  idx_seeds<std::int32_t>("i32-3", {3}, {-2147483647 - 1, 0, 2147483647});
  idx_seeds<float>("f32-2x2", {2, 2}, {0.5f, -1.25f, 100.0f, 3.0e-5f});
  idx_seeds<double>("f64-1x2x2", {1, 2, 2}, {0.5, -1.25, 255.0, -2.0e9});
  idx_seeds<std::uint8_t>("u8-empty", {0, 28, 28}, {});
  std::printf("make_corpus: %zu files, %zu bytes in %s\n", files, total, root.string().c_str());
  return 0;
}
