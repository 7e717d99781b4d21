// libFuzzer target: analytic heads, statistics and feature maps loaded from fuzzed checkpoints.
#include <cstddef>
#include <cstdint>

#include "subjects_analytic.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return continua_fuzz::run_loader([](auto&& f) { continua_fuzz::visit_analytic(f); }, data, size);
}
