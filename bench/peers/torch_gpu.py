#!/usr/bin/env python3
"""PyTorch on the GPU beside bench/gpu/bench_gpu (peer figures for docs/gpu.md).

Run on the device machine (its python3 holds torch with CUDA):  python3 bench/peers/torch_gpu.py
Same shapes as bench_gpu: copy and fused Adam on 2^28 float32, normal fill, C += X^T X at
d = 8192 with 8192 rows (float32 with TF32 off, float64), and the analytic fit (4 batches of
C += X^T X, B += X^T Y, then a Cholesky solve of (C + I) W = B). Times are CUDA-event medians.
Prints CSV: case,ms,metric,value.
"""
import statistics
import sys

import torch


def median_ms(fn, repeats=10):
    fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(repeats):
        start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        stop.record()
        stop.synchronize()
        times.append(start.elapsed_time(stop))
    return statistics.median(times)


def row(case, ms, metric, value):
    print(f"{case},{ms:.4f},{metric},{value:.2f}", flush=True)


def main():
    if not torch.cuda.is_available():
        print("skipped: torch sees no CUDA device")
        return 77
    torch.backends.cuda.matmul.allow_tf32 = False
    dev = torch.device("cuda")
    print(f"# torch {torch.__version__}, {torch.cuda.get_device_name(0)}")
    print("case,ms,metric,value")
    n = 1 << 28
    src = torch.randn(n, device=dev)
    dst = torch.empty_like(src)
    ms = median_ms(lambda: dst.copy_(src))
    row("torch_copy_d2d", ms, "GB/s", 2 * 4 * n / ms / 1e6)
    del dst

    p = torch.randn(n, device=dev, requires_grad=True)
    p.grad = torch.randn(n, device=dev)
    for label, kw in (("fused", {"fused": True}), ("foreach", {"foreach": True})):
        opt = torch.optim.Adam([p], lr=1e-3, **kw)
        ms = median_ms(opt.step)
        row(f"torch_adam_{label}", ms, "GB/s", 7 * 4 * n / ms / 1e6)
        del opt
    del p

    gen = torch.Generator(device=dev).manual_seed(0)
    ms = median_ms(lambda: src.normal_(generator=gen))
    row("torch_normal_fill", ms, "GB/s", 4 * n / ms / 1e6)
    del src

    d = rows = 8192
    for dtype, tag in ((torch.float32, "float"), (torch.float64, "double")):
        x = torch.randn(rows, d, device=dev, dtype=dtype)
        c = torch.zeros(d, d, device=dev, dtype=dtype)
        ms = median_ms(lambda: c.addmm_(x.T, x))
        row(f"torch_xtx_{tag}", ms, "GFLOP/s", 2 * rows * d * d / ms / 1e6)
        y = torch.nn.functional.one_hot(torch.arange(rows, device=dev) * 7919 % 10, 10).to(dtype)
        eye = torch.eye(d, device=dev, dtype=dtype)

        def fit():
            cc = torch.zeros(d, d, device=dev, dtype=dtype)
            bb = torch.zeros(d, 10, device=dev, dtype=dtype)
            for _ in range(4):
                cc.addmm_(x.T, x)
                bb.addmm_(x.T, y)
            l = torch.linalg.cholesky(cc + eye)
            return torch.cholesky_solve(bb, l)

        ms = median_ms(fit, repeats=5)
        row(f"torch_analytic_fit_{tag}", ms, "samples/s", 4 * rows / ms * 1e3)
        del x, c, y, eye
        torch.cuda.empty_cache()
    return 0


if __name__ == "__main__":
    sys.exit(main())
