// Data-order samplers: cyclical curriculum, power-law rehearsal, learning-progress task sampling.
// Each member header cites its own paper; this umbrella only gathers them.
#pragma once

#include "continua/sample/order/cyclical_curriculum.hpp"
#include "continua/sample/order/learning_progress.hpp"
#include "continua/sample/order/power_law_rehearsal.hpp"
