// continua core: tensors, views, parameter sets, the kernel layer, reductions, errors, RNG.
#pragma once

#include "continua/config.hpp"
#include "continua/core/error.hpp"
#include "continua/core/finite.hpp"
#include "continua/core/kernel.hpp"
#include "continua/core/memory_space.hpp"
#include "continua/core/parameter_set.hpp"
#include "continua/core/per_tensor.hpp"
#include "continua/core/random.hpp"
#include "continua/core/reduce.hpp"
#include "continua/core/span.hpp"
#include "continua/core/tensor.hpp"
#include "continua/core/threads.hpp"
#include "continua/core/vector_ops.hpp"
