// The analytic family: closed-form incremental learners that equal joint training (statistics,
// recursive least squares, class-incremental heads, DS-AL, random-feature buffers, checkpoints).
#pragma once

#include "continua/analytic/class_index.hpp"
#include "continua/analytic/classifier.hpp"
#include "continua/analytic/dual_stream.hpp"
#include "continua/analytic/inputs.hpp"
#include "continua/analytic/random_features.hpp"
#include "continua/analytic/rls.hpp"
#include "continua/analytic/statistics.hpp"
#include "continua/io/state.hpp"
