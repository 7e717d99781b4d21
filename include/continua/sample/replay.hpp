// Replay memories for rehearsal-based continual learning: reservoir and class-balanced buffers.
// Vitter, ACM TOMS 1985 (Algorithm R); Chrysakis & Moens, ICML 2020 (class-balancing reservoir).
#pragma once

#include "continua/sample/class_balanced_buffer.hpp"
#include "continua/sample/reservoir_buffer.hpp"
