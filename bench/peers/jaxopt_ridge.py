#!/usr/bin/env python3
"""jaxopt peer of bench/bilevel: the ridge hypergradient by implicit differentiation (custom_root
with conjugate gradient), float64, on a problem of the same sizes and distributions (numpy draws,
not continua's Philox stream, so the data differ but not the conditioning).

Inner g(x, w) = |A w - b|^2 / 2n + sum_j exp(x_j) w_j^2 / 2 (n = 1000), outer f(w) = |A_v w - b_v|^2 / 2m
(m = 200). w* is computed once exactly (Woodbury) and returned by the inner solver, so the timing
covers the adjoint solve and the cross product, as in bench_bilevel.

  python3 -m venv /tmp/venv-jax && /tmp/venv-jax/bin/pip install jax jaxopt
  XLA_FLAGS="--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1" \
      /tmp/venv-jax/bin/python bench/peers/jaxopt_ridge.py
Prints, per dimension, the median milliseconds of repeats and the relative error vs the closed form.
"""
import functools
import statistics
import time

import jax

jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp  # noqa: E402
import jaxopt  # noqa: E402
import numpy as np  # noqa: E402

ROWS, VAL_ROWS = 1000, 200


def woodbury_solve(a, x, rhs):
    """H^-1 rhs, H = A^T A / n + diag(exp x), through the n x n system."""
    linv = np.exp(-x)
    t = linv * rhs
    k = ROWS * np.eye(ROWS) + (a * linv) @ a.T
    u = np.linalg.solve(k, a @ t)
    return t - linv * (a.T @ u)


def problem(d, seed=2026):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((ROWS, d))
    av = rng.standard_normal((VAL_ROWS, d))
    w_true = rng.standard_normal(d) / np.sqrt(d)
    b = a @ w_true + 0.5 * rng.standard_normal(ROWS)
    bv = av @ w_true + 0.5 * rng.standard_normal(VAL_ROWS)
    x = np.log(0.1) + 0.5 * rng.standard_normal(d)
    w = woodbury_solve(a, x, a.T @ b / ROWS)
    gy = av.T @ (av @ w - bv) / VAL_ROWS
    reference = -np.exp(x) * w * woodbury_solve(a, x, gy)
    return a, b, av, bv, x, w, reference


def run(d, repeats=5):
    a, b, av, bv, x, w_star, reference = problem(d)
    a, b, av, bv, w_star = map(jnp.asarray, (a, b, av, bv, w_star))

    def inner_objective(w, x):
        r = a @ w - b
        return 0.5 * jnp.dot(r, r) / ROWS + 0.5 * jnp.sum(jnp.exp(x) * w * w)

    solve = functools.partial(jaxopt.linear_solve.solve_cg, tol=1e-10, maxiter=1000)

    @jaxopt.implicit_diff.custom_root(jax.grad(inner_objective), solve=solve)
    def inner_solver(init, x):
        del init
        return w_star  # the exact minimiser, computed once

    def outer(x):
        r = av @ inner_solver(None, x) - bv
        return 0.5 * jnp.dot(r, r) / VAL_ROWS

    hypergradient = jax.jit(jax.grad(outer))
    xj = jnp.asarray(x)
    g = hypergradient(xj).block_until_ready()  # compile
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        g = hypergradient(xj).block_until_ready()
        times.append(time.perf_counter() - t0)
    err = np.linalg.norm(np.asarray(g) - reference) / np.linalg.norm(reference)
    print(f"jaxopt custom_root + solve_cg  d={d:6d}  {statistics.median(times) * 1e3:9.1f} ms  "
          f"rel_error {err:.3g}")


def main():
    print(f"jax {jax.__version__}, devices {jax.devices()}")
    for d in (2000, 10000):
        run(d)


if __name__ == "__main__":
    main()
