// Writes tests/io/data/optim_adam_format_v1.ckpt: a small Adam checkpoint in checkpoint format
// version 1, so tests/io can prove that files of that older layout are refused by name.
//
// It was compiled and run against commit fe34143 (the last commit writing format 1), whose
// optim::save wrote the file; it is kept as the record of how the file was made, not built:
//   git worktree add /tmp/v1 fe34143
//   g++ -std=c++20 -I/tmp/v1/include tests/reference/write_v1_checkpoint.cpp -o write_v1
//   ./write_v1 tests/io/data/optim_adam_format_v1.ckpt
#include <cstdio>
#include <vector>

#include "continua/optim.hpp"
#include "continua/optim/serialize.hpp"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUTPUT\n", argv[0]);
    return 2;
  }
  namespace o = continua::optim;
  std::vector<float> params = {0.5f, -1.25f, 2.0f, 0.0f};
  const auto opt = o::adam({.lr = 1e-2});
  auto state = opt.init(params);
  for (int step = 0; step < 3; ++step) {
    std::vector<float> grads = {params[0] - 1.0f, params[1] + 0.5f, 0.25f * params[2], 1.0f};
    opt.step(params, grads, state);
  }
  o::save(argv[1], opt, state);
  return 0;
}
