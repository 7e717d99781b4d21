#!/usr/bin/env python3
"""Sampling spread of ArviZ's ESS and R-hat on iid and AR(1) draws, behind the tolerances and
false-alarm rates stated in tests/sample/test_diagnostics.cpp.

    python3 -m venv /tmp/venv && /tmp/venv/bin/pip install arviz
    /tmp/venv/bin/python tests/reference/diagnostics_spread.py      # about 3 minutes

Output of the run quoted in the test (arviz 0.23.4, numpy 2.4.6, seed 321):
  iid ess_bulk/N  n 2000 mean 0.9924 sd 0.0152 min 0.8967 max 1.0363 q(.0005, .001, .999, .9995)
                  [0.9163 0.9245 1.0302 1.0346]
  iid rhat        n 2000 mean 1.0000 sd 0.0001 min 0.9999 max 1.0003
  ar0.5 ess_basic/theory 4x100000 n 400 mean 0.9989 sd 0.0098 min 0.9632 max 1.0270
  ar-0.3 ess_basic/theory 4x100000 n 400 mean 0.9972 sd 0.0091 min 0.9659 max 1.0321
  ar0.9 ess_basic/theory 4x250000 n 200 mean 0.9976 sd 0.0141 min 0.9607 max 1.0298
"""
import warnings

import numpy as np
from scipy.signal import lfilter

warnings.simplefilter("ignore")
from arviz.stats.diagnostics import _ess_bulk, _ess_mean, _rhat_rank  # noqa: E402

rng = np.random.default_rng(321)


def ar1(chains, draws, phi):
    e = rng.standard_normal((chains, draws)) * np.sqrt(1 - phi * phi)
    e[:, 0] = rng.standard_normal(chains)
    return lfilter([1.0], [1.0, -phi], e, axis=1)


def report(name, v):
    v = np.array(v)
    q = np.quantile(v, [0.0005, 0.001, 0.999, 0.9995]) if len(v) >= 1000 else []
    print(name, "n", len(v),
          "mean %.4f sd %.4f min %.4f max %.4f" % (v.mean(), v.std(), v.min(), v.max()), q)


def main():
    e, eb, r = [], [], []
    for _ in range(2000):
        x = rng.standard_normal((4, 10000))
        e.append(_ess_bulk(x) / 40000)
        eb.append(_ess_mean(x) / 40000)
        r.append(_rhat_rank(x))
    report("iid ess_bulk/N", e)
    report("iid ess_basic/N", eb)
    report("iid rhat", r)
    for phi, n, reps in [(0.5, 100000, 400), (-0.3, 100000, 400), (0.9, 250000, 200)]:
        theory = 4 * n * (1 - phi) / (1 + phi)
        report(f"ar{phi} ess_basic/theory 4x{n}",
               [_ess_mean(ar1(4, n, phi)) / theory for _ in range(reps)])


if __name__ == "__main__":
    main()
