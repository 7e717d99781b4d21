#!/usr/bin/env python3
"""Tabulates bench_linalg_backends JSON output (--benchmark_out): median wall time, median CPU
time of the calling thread, and the GFLOP/s both imply, per case; plus each backend's ratio to
the raw BLAS/LAPACK call of the same case, by CPU-time and by wall-clock rate. With one thread
(OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1) the CPU-time rate is the work rate even on a shared
machine; with more, the calling thread's CPU time misses the others' work, so read the wall ratio.
Usage: linalg_backends_table.py out.json"""
import json
import re
import sys

SCALE = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}


def main(path):
    rows = {}
    for b in json.load(open(path))["benchmarks"]:
        if b.get("aggregate_name") != "median":
            continue
        m = re.match(r"(\w+)<(\w+), backend::(\w+)>/(.*?)/iterations", b["name"])
        if not m:
            continue
        kind, scalar, backend, shape = m.groups()
        s = SCALE[b["time_unit"]]
        real, cpu = b["real_time"] * s, b["cpu_time"] * s
        flops = b["GFLOP/s"] * real  # GFLOP per iteration (the counter is a wall-clock rate)
        rows[(kind, scalar, shape, backend)] = (real, cpu, flops / real, flops / cpu)
    print("| case | backend | wall ms | CPU ms | GFLOP/s wall | GFLOP/s CPU | CPU-rate / raw "
          "| wall-rate / raw |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for key in sorted(rows):
        kind, scalar, shape, backend = key
        real, cpu, gw, gc = rows[key]
        raw = rows.get((kind, scalar, shape, "raw")) or rows.get((kind, scalar, shape, "blas"))
        ratio = f"{gc / raw[3]:.2f}" if raw else ""
        wall_ratio = f"{gw / raw[2]:.2f}" if raw else ""
        print(f"| {kind} {scalar} {shape} | {backend} | {real * 1e3:.1f} | {cpu * 1e3:.1f} | "
              f"{gw:.1f} | {gc:.1f} | {ratio} | {wall_ratio} |")


if __name__ == "__main__":
    main(sys.argv[1])
