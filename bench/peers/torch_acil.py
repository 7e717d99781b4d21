#!/usr/bin/env python3
"""ACIL recursive least-squares update in PyTorch: the peer of bench/analytic (woodbury_update).

Zhuang et al., "ACIL: Analytic Class-Incremental Learning", NeurIPS 2022, Eq. 10-12:
    R <- R - R Xᵀ (I + X R Xᵀ)⁻¹ X R        W <- W + R Xᵀ (Y - X W)     (R already updated)
Three forms are timed per batch on d = 4096 features, k = 10 classes:
  literal       the formula as written in the ACIL reference code, one expression evaluated left
                to right (so `... @ X @ R` forms a d x d product and then a d x d x d one);
  reassociated  R Xᵀ computed once and the chain bracketed so no d³ term remains, with
                torch.inverse as the reference code uses;
  cholesky      the best form we could write in torch: S = I + X R Xᵀ factored by
                torch.linalg.cholesky, Q = S⁻¹ X R by cholesky_solve, and R_new Xᵀ = Qᵀ reused
                for the weights (4nd² + 4n²d + n³/3 flops, the same algorithm as continua's
                woodbury policy except that torch has no symmetric rank-n update).
Before timing, each form is checked against the closed-form ridge solution (XᵀX + γI)⁻¹ XᵀY on a
small problem.

Run with Debian's python3-torch (1.13.1), which calls the system libblas.so.3 / liblapack.so.3:
    apt-get install -y python3-torch libopenblas0-pthread
    update-alternatives --display libblas.so.3-x86_64-linux-gnu    # openblas-pthread/libblas.so.3
    update-alternatives --display liblapack.so.3-x86_64-linux-gnu  # openblas-pthread/liblapack.so.3
    OPENBLAS_CORETYPE=SkylakeX OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=2 \
        /usr/bin/python3 bench/peers/torch_acil.py --forms reassociated,cholesky [--dtype float32]
The second line printed names the BLAS/LAPACK files this process mapped (from /proc/self/maps) and
OpenBLAS's kernel set: with the alternatives above it is the same
/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblasp-r0.3.21.so that continua's benchmarks
link (CONTINUA_WITH_BLAS). OpenBLAS 0.3.21 does not recognise recent Xeons and falls back to its
SSE3 `Prescott` kernels, so set OPENBLAS_CORETYPE=SkylakeX where /proc/cpuinfo lists avx512f
(Haswell where only avx2), for both sides. With the reference (netlib) BLAS selected instead, GEMM
runs at 2-4 GFLOP/s. bench/peers/acil_side_by_side.sh runs this and bench_analytic interleaved.
Prints milliseconds per batch (median over repeats, after one warm-up batch).
"""
import argparse
import ctypes
import statistics
import time

import torch

D = 4096
K = 10


def update_literal(R, W, X, Y):
    eye = torch.eye(X.shape[0], dtype=X.dtype)
    R = R - R @ X.T @ torch.inverse(eye + X @ R @ X.T) @ X @ R
    W = W + R @ X.T @ (Y - X @ W)
    return R, W


def update_reassociated(R, W, X, Y):
    eye = torch.eye(X.shape[0], dtype=X.dtype)
    RXt = R @ X.T
    K_inv = torch.inverse(eye + X @ RXt)
    R = R - (RXt @ K_inv) @ RXt.T
    W = W + (R @ X.T) @ (Y - X @ W)
    return R, W


def update_cholesky(R, W, X, Y):
    eye = torch.eye(X.shape[0], dtype=X.dtype)
    RXt = R @ X.T
    L = torch.linalg.cholesky(eye + X @ RXt)
    Q = torch.cholesky_solve(RXt.T.contiguous(), L)
    E = Y - X @ W
    return R - RXt @ Q, W + Q.T @ E


def batch(n, d, k, dtype, seed):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, d, generator=g, dtype=torch.float64) / d**0.5
    Y = torch.zeros(n, k, dtype=torch.float64)
    Y[torch.arange(n), torch.arange(n) % k] = 1.0
    return X.to(dtype), Y.to(dtype)


def check(update, gamma=1.0):
    d, k = 64, 5
    R = torch.eye(d, dtype=torch.float64) / gamma
    W = torch.zeros(d, k, dtype=torch.float64)
    xs, ys = [], []
    for seed in range(3):
        X, Y = batch(32, d, k, torch.float64, seed)
        X = X * d**0.5  # O(1) entries for a well-posed small check
        R, W = update(R, W, X, Y)
        xs.append(X)
        ys.append(Y)
    X, Y = torch.cat(xs), torch.cat(ys)
    ref = torch.linalg.solve(X.T @ X + gamma * torch.eye(d, dtype=torch.float64), X.T @ Y)
    err = float(torch.linalg.norm(W - ref) / torch.linalg.norm(ref))
    assert err < 1e-10, f"{update.__name__}: relative error {err} to the joint ridge"
    return err


def time_update(update, n, dtype, repeats):
    R = torch.eye(D, dtype=dtype)
    W = torch.zeros(D, K, dtype=dtype)
    X, Y = batch(n, D, K, dtype, n)
    R, W = update(R, W, X, Y)  # warm-up (first-touch of every buffer)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        R, W = update(R, W, X, Y)
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e3


def blas_in_use():
    """The BLAS/LAPACK files mapped into this process and OpenBLAS's kernel set, if OpenBLAS."""
    with open("/proc/self/maps") as maps:
        paths = sorted({line.split()[-1] for line in maps
                        if "/" in line and ("blas" in line or "lapack" in line)})
    core = "n/a"
    for path in paths:
        if "openblas" in path.rsplit("/", 1)[-1]:
            lib = ctypes.CDLL(path)
            lib.openblas_get_corename.restype = ctypes.c_char_p
            core = lib.openblas_get_corename().decode()
    return f"blas: {' '.join(paths) or 'none mapped'}; openblas core: {core}"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dtype", choices=("float64", "float32"), default="float64")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--forms", default="reassociated,literal")
    parser.add_argument("--rows", default="256,1024,4096")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    dtype = getattr(torch, args.dtype)
    forms = {"literal": update_literal, "reassociated": update_reassociated,
             "cholesky": update_cholesky}
    torch.ones(2, 2) @ torch.ones(2, 2)  # loads the BLAS before it is looked for
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, {args.dtype}, d={D} k={K}")
    print(blas_in_use())
    for name in args.forms.split(","):
        print(f"check {name}: relative error to joint ridge {check(forms[name]):.1e}")
    for name in args.forms.split(","):
        for n in (int(r) for r in args.rows.split(",")):
            repeats = 2 if n >= 4096 else 3 if n >= 1024 else 5
            ms = time_update(forms[name], n, dtype, repeats)
            print(f"torch_acil_{name}/{args.dtype}/rows:{n}: {ms:.1f} ms/batch", flush=True)


if __name__ == "__main__":
    main()
