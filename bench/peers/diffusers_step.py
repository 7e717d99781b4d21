#!/usr/bin/env python3
"""diffusers' scheduler step on the arrays of bench/sample/bench_diffusion.cpp (float32, torch CPU).

Run: /tmp/venv-diff/bin/python bench/peers/diffusers_step.py   (pip install diffusers torch)
Prints microseconds per DDIMScheduler.step (eta 0) and DDPMScheduler.step (with its own noise)
for batch x dim in {1, 64, 4096} x {2, 3*64*64}, the model output given (not timed).
"""
import time

import torch
from diffusers import DDIMScheduler, DDPMScheduler


def per_step(scheduler, x, m, reps):
    ts = scheduler.timesteps
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        for k in range(reps):
            scheduler.step(m, ts[k % (len(ts) - 1)], x)
        best = min(best, (time.perf_counter() - t0) / reps)
    return best * 1e6


torch.set_num_threads(2)
for batch in (1, 64, 4096):
    for dim in (2, 3 * 64 * 64):
        x = torch.full((batch, dim), 0.5)
        m = torch.full((batch, dim), 0.1)
        reps = max(3, min(2000, int(2e7 / (batch * dim))))
        ddim = DDIMScheduler(clip_sample=False)
        ddim.set_timesteps(50)
        ddpm = DDPMScheduler(clip_sample=False)
        ddpm.set_timesteps(50)
        print(f"batch {batch:5d} dim {dim:6d}: DDIM step {per_step(ddim, x, m, reps):12.1f} us,"
              f" DDPM step {per_step(ddpm, x, m, reps):12.1f} us")
