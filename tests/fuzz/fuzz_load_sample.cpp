// libFuzzer target: MCMC chain states, warm-up adaptations, the EBM chain buffer and data-order
// samplers loaded from fuzzed checkpoint images.
#include <cstddef>
#include <cstdint>

#include "subjects_sample.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return continua_fuzz::run_loader([](auto&& f) { continua_fuzz::visit_sample(f); }, data, size);
}
