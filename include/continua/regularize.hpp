// continua::regularize: continual-learning penalties (L2 anchor, EWC, SI, MAS, RWalk), their
// compile-time sums and chain adaptor, and gradient projections (GPM, A-GEM) and refresh.
#pragma once

#include "continua/regularize/add_regularizer.hpp"
#include "continua/regularize/agem.hpp"
#include "continua/regularize/ewc.hpp"
#include "continua/regularize/gradient_projection.hpp"
#include "continua/regularize/l2_anchor.hpp"
#include "continua/regularize/mas.hpp"
#include "continua/regularize/refresh.hpp"
#include "continua/regularize/regularizer.hpp"
#include "continua/regularize/rwalk.hpp"
#include "continua/regularize/sum.hpp"
#include "continua/regularize/synaptic_intelligence.hpp"
