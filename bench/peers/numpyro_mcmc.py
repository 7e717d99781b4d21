#!/usr/bin/env python3
"""NumPyro's NUTS on the targets of continua's MCMC comparison, for ESS per second side by side.

Targets (the same as bench/sample/mcmc_ess.cpp and examples/bayesian_logistic.cpp):
  gauss100  100-d Gaussian, independent coordinates with standard deviations log-spaced from 1
            to 100 (condition number 1e4), U(x) = sum x_i^2 / (2 s_i^2)
  logistic  Bayesian logistic regression, Fashion-MNIST T-shirt/top (0) vs Shirt (6), 4x4
            average-pooled pixels standardised on the training split plus an intercept (50
            dimensions), prior N(0, I)

Per target: 4 chains, `--warmup` adaptation steps (NumPyro's defaults: dual averaging to 0.8,
windowed diagonal mass matrix), `--draws` kept draws; prints wall seconds (after a first run that
pays the JIT compilation, reported separately), min bulk ESS over coordinates (ArviZ), ESS/s,
gradient evaluations in the sampling phase and ESS per gradient, max R-hat.

Setup (never part of `make test`):
  python3 -m venv /tmp/venv-numpyro && /tmp/venv-numpyro/bin/pip install numpyro jax arviz
  /tmp/venv-numpyro/bin/python bench/peers/numpyro_mcmc.py
"""
import argparse
import gzip
import os
import struct
import time

os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=1")
import arviz as az  # noqa: E402
import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import numpyro  # noqa: E402
from numpyro.infer import MCMC, NUTS  # noqa: E402

jax.config.update("jax_enable_x64", True)

DATA = "/usr/share/datasets/fashion-mnist"


def read_idx(path):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    ndim = raw[3]
    dims = struct.unpack(">" + "I" * ndim, raw[4 : 4 + 4 * ndim])
    return np.frombuffer(raw[4 + 4 * ndim :], dtype=np.uint8).reshape(dims)


def pooled(split):
    prefix = "train" if split == "train" else "t10k"
    images = read_idx(f"{DATA}/{prefix}-images-idx3-ubyte.gz").astype(np.float32) / 255.0
    labels = read_idx(f"{DATA}/{prefix}-labels-idx1-ubyte.gz")
    keep = (labels == 0) | (labels == 6)
    x = images[keep].astype(np.float64).reshape(-1, 7, 4, 7, 4).mean(axis=(2, 4)).reshape(-1, 49)
    return x, (labels[keep] == 6).astype(np.float64)


def logistic_potential():
    x, y = pooled("train")
    mean, sd = x.mean(axis=0), x.std(axis=0) + 1e-8
    x = np.hstack([(x - mean) / sd, np.ones((len(x), 1))])
    xj, yj = jnp.asarray(x), jnp.asarray(y)

    def potential(w):
        z = xj @ w
        return jnp.sum(jnp.logaddexp(0.0, z) - yj * z) + 0.5 * jnp.sum(w * w)

    return potential, x.shape[1]


def gauss_potential():
    s = jnp.asarray(np.logspace(0, 2, 100))
    return (lambda x: 0.5 * jnp.sum((x / s) ** 2)), 100


def run(name, potential, dim, warmup, draws, chains, seed):
    kernel = NUTS(potential_fn=potential)
    init = jnp.asarray(np.random.default_rng(seed).normal(scale=0.1, size=(chains, dim)))
    mcmc = MCMC(kernel, num_warmup=warmup, num_samples=draws, num_chains=chains,
                chain_method="sequential", progress_bar=False)
    t0 = time.perf_counter()
    mcmc.run(jax.random.PRNGKey(seed), init_params=init, extra_fields=("num_steps",))
    first = time.perf_counter() - t0
    t0 = time.perf_counter()
    mcmc.run(jax.random.PRNGKey(seed + 1), init_params=init, extra_fields=("num_steps",))
    seconds = time.perf_counter() - t0
    samples = np.asarray(mcmc.get_samples(group_by_chain=True))  # chains x draws x dim
    steps = float(np.sum(np.asarray(mcmc.get_extra_fields()["num_steps"])))
    data = az.convert_to_dataset(samples)
    ess = float(np.min(az.ess(data, method="bulk").to_array().values))
    rhat = float(np.max(az.rhat(data).to_array().values))
    print(f"{name:9s} first run {first:7.2f} s (JIT), run {seconds:7.2f} s, min ESS {ess:8.1f}, "
          f"ESS/s {ess / seconds:9.2f}, sampling grads {steps:9.0f}, ESS/grad {ess / steps:.5f}, "
          f"max R-hat {rhat:.4f}")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--warmup", type=int, default=1000)
    p.add_argument("--draws", type=int, default=1000)
    p.add_argument("--chains", type=int, default=4)
    p.add_argument("--targets", default="gauss100,logistic")
    a = p.parse_args()
    print(f"numpyro {numpyro.__version__}, jax {jax.__version__}, arviz {az.__version__}, "
          f"{a.chains} chains, {a.warmup} warmup, {a.draws} draws, NUTS (max depth 10)")
    for name in a.targets.split(","):
        potential, dim = gauss_potential() if name == "gauss100" else logistic_potential()
        run(name, potential, dim, a.warmup, a.draws, a.chains, 2026)


if __name__ == "__main__":
    main()
