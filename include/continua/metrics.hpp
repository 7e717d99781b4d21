// continua::metrics: the continual-learning accuracy matrix, ACC/BWT/FWT/forgetting/intransigence,
// and its text, CSV and SVG output.
#pragma once

#include "continua/metrics/accuracy_matrix.hpp"
#include "continua/metrics/svg_plot.hpp"
