// The bilevel family: problem concept, finite-difference products, linear solvers, implicit and
// unrolled hypergradients, F2SA, ScaleBiO, meta-learners and their training driver, outer-loop
// driver (docs/bilevel.md).
#pragma once

#include "continua/bilevel/f2sa.hpp"
#include "continua/bilevel/finite_difference.hpp"
#include "continua/bilevel/imaml.hpp"
#include "continua/bilevel/implicit.hpp"
#include "continua/bilevel/linear_solvers.hpp"
#include "continua/bilevel/meta.hpp"
#include "continua/bilevel/meta_train.hpp"
#include "continua/bilevel/outer_loop.hpp"
#include "continua/bilevel/problem.hpp"
#include "continua/bilevel/scalebio.hpp"
#include "continua/bilevel/unrolled.hpp"
