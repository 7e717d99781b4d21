#!/usr/bin/env python3
"""Golden trajectories of torch.optim for tests/optim/test_torch_golden.cpp.

Run with Debian's python3-torch:  /usr/bin/python3 tests/reference/gen_optim_golden.py
Writes tests/reference/optim/{inputs,trajectories}_{float32,float64}.txt.

Problem: n parameters, T steps, gradient g_t = (p_t - target) + noise_t, computed in the tensor
dtype so that both sides feed identical gradients to their optimizers. Parameters are recorded
after the steps listed in CHECKPOINTS.
"""
import os
import torch

N, T = 64, 200
CHECKPOINTS = [1, 2, 10, 50, 100, 200]
CONFIGS = [
    ("sgd", torch.optim.SGD, dict(lr=0.05)),
    ("sgd_momentum", torch.optim.SGD, dict(lr=0.05, momentum=0.9, weight_decay=1e-3)),
    ("sgd_nesterov", torch.optim.SGD, dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-3)),
    ("adam", torch.optim.Adam, dict(lr=1e-2)),
    ("adam_l2", torch.optim.Adam, dict(lr=1e-2, weight_decay=1e-2)),
    ("adamw", torch.optim.AdamW, dict(lr=1e-2, weight_decay=0.05)),
    ("amsgrad", torch.optim.Adam, dict(lr=1e-2, amsgrad=True)),
    ("rmsprop", torch.optim.RMSprop, dict(lr=1e-2)),
    ("rmsprop_centered", torch.optim.RMSprop,
     dict(lr=1e-2, centered=True, momentum=0.5, weight_decay=1e-3)),
    ("adagrad", torch.optim.Adagrad,
     dict(lr=0.1, lr_decay=1e-3, weight_decay=1e-3, initial_accumulator_value=0.1)),
]


def fmt(dtype):
    return "%.17g" if dtype == torch.float64 else "%.9g"


def main():
    out_dir = os.path.join(os.path.dirname(os.path.abspath(__file__)), "optim")
    os.makedirs(out_dir, exist_ok=True)
    gen = torch.Generator().manual_seed(20261123)
    p0 = torch.randn(N, generator=gen, dtype=torch.float64)
    target = torch.randn(N, generator=gen, dtype=torch.float64)
    noise = 0.5 * torch.randn(T, N, generator=gen, dtype=torch.float64)
    for dtype, name in [(torch.float32, "float32"), (torch.float64, "float64")]:
        f = fmt(dtype)
        p0_d, target_d, noise_d = p0.to(dtype), target.to(dtype), noise.to(dtype)
        with open(os.path.join(out_dir, f"inputs_{name}.txt"), "w") as out:
            out.write(f"# N T, then p0, target, and T rows of noise ({name}); torch {torch.__version__}\n")
            out.write(f"{N} {T}\n")
            for row in [p0_d, target_d, *noise_d]:
                out.write(" ".join(f % v for v in row.tolist()) + "\n")
        with open(os.path.join(out_dir, f"trajectories_{name}.txt"), "w") as out:
            out.write(f"# config step params... ({name}); torch {torch.__version__}\n")
            for label, cls, kwargs in CONFIGS:
                p = p0_d.clone().requires_grad_(True)
                opt = cls([p], **kwargs)
                for t in range(1, T + 1):
                    with torch.no_grad():
                        p.grad = (p.detach() - target_d) + noise_d[t - 1]
                    opt.step()
                    if t in CHECKPOINTS:
                        out.write(f"{label} {t} " + " ".join(f % v for v in p.detach().tolist()) + "\n")


if __name__ == "__main__":
    main()
