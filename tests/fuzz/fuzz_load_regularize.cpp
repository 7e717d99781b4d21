// libFuzzer target: regularizers loaded from fuzzed checkpoints.
#include <cstddef>
#include <cstdint>

#include "subjects_regularize.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return continua_fuzz::run_loader([](auto&& f) { continua_fuzz::visit_regularize(f); }, data,
                                   size);
}
