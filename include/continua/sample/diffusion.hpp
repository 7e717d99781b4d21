// Diffusion samplers: noise schedules, prediction conversions, DDPM, DDIM, DPM-Solver++(2M) and
// BDIA (exact inversion). Each member header cites its own paper; this umbrella only gathers them.
#pragma once

#include "continua/sample/diffusion/bdia.hpp"
#include "continua/sample/diffusion/ddim.hpp"
#include "continua/sample/diffusion/ddpm.hpp"
#include "continua/sample/diffusion/dpm_solver.hpp"
#include "continua/sample/diffusion/guidance.hpp"
#include "continua/sample/diffusion/prediction.hpp"
#include "continua/sample/diffusion/sampler_base.hpp"
#include "continua/sample/diffusion/schedule.hpp"
#include "continua/sample/diffusion/time_shift.hpp"
#include "continua/sample/diffusion/time_shift_dpm_solver.hpp"
