// libFuzzer target: F2SA and outer-loop driver states loaded from fuzzed checkpoint images.
#include <cstddef>
#include <cstdint>

#include "subjects_bilevel.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return continua_fuzz::run_loader([](auto&& f) { continua_fuzz::visit_bilevel(f); }, data, size);
}
