#!/usr/bin/env python3
"""torch.optim.Adam CPU step time on the sizes of bench/optim (peer for docs/performance.md).

Run with Debian's python3-torch:  OMP_NUM_THREADS=2 /usr/bin/python3 bench/peers/torch_adam.py
Prints milliseconds per step (median of repeats) for 2^24 and 2^25 float32 parameters.
"""
import statistics
import sys
import time

import torch


def time_adam(n, repeats=10, **kwargs):
    p = torch.ones(n, dtype=torch.float32, requires_grad=True)
    p.grad = torch.full((n,), 0.5, dtype=torch.float32)
    opt = torch.optim.Adam([p], lr=1e-3, **kwargs)
    opt.step()  # allocate state
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        opt.step()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e3


def main():
    threads = int(sys.argv[1]) if len(sys.argv) > 1 else 2
    torch.set_num_threads(threads)
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}")
    for n in (1 << 24, 1 << 25):
        for label, kw in (("default", {}), ("foreach", {"foreach": True})):
            ms = time_adam(n, **kw)
            gbs = 7 * 4 * n / (ms * 1e-3) / 1e9
            print(f"torch_adam_{label}/{n}: {ms:.1f} ms/step ({gbs:.1f} GB/s at 7 float streams)")


if __name__ == "__main__":
    main()
