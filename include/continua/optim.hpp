// continua::optim: composable, fused gradient transformations over any tensor.
#pragma once

#include "continua/optim/adagrad.hpp"
#include "continua/optim/adam.hpp"
#include "continua/optim/aliases.hpp"
#include "continua/optim/chain.hpp"
#include "continua/optim/clip.hpp"
#include "continua/optim/groups.hpp"
#include "continua/optim/multi_normalize.hpp"
#include "continua/optim/optimize.hpp"
#include "continua/optim/optimizer.hpp"
#include "continua/optim/rms.hpp"
#include "continua/optim/scale.hpp"
#include "continua/optim/schedules.hpp"
#include "continua/optim/sign.hpp"
#include "continua/optim/trace.hpp"
#include "continua/optim/transformation.hpp"
#include "continua/optim/weight_decay.hpp"
