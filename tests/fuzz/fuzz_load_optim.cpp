// libFuzzer target: optimizer and chain states loaded from fuzzed checkpoint images.
#include <cstddef>
#include <cstdint>

#include "subjects_optim.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return continua_fuzz::run_loader([](auto&& f) { continua_fuzz::visit_optim(f); }, data, size);
}
