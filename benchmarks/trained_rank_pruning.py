"""Benchmark: Trained Rank Pruning's building blocks against their naive compositions.

- nuclear-norm subgradient :math:`U V^\\top` from one SVD, against autograd through
  ``torch.linalg.matrix_norm(ord="nuc")`` (an SVD forward plus its backward);
- energy-thresholded projection of a batch of weights, against NumPy's SVD with a per-matrix loop;
- a :class:`LowRankLinear` layer at rank r (forward + backward), against the dense ``nn.Linear`` it
  approximates, to show the saving the decomposition buys.

Every pair runs on the same inputs (checked equal first); best wall time of ``--repeats``; peak memory
in a fresh child process.

    python benchmarks/trained_rank_pruning.py            # 1024 x 1024 weights, batch 4096
    python benchmarks/trained_rank_pruning.py --quick    # 256 x 256, a few seconds
"""

from __future__ import annotations

import argparse

import numpy as np
import torch
from torch import nn

from _measure import best_time_s, header, peak_memory_in_child, peak_memory_mib
from paperlab.models import LowRankLinear
from paperlab.solvers import low_rank_projection, nuclear_norm_subgradient

ENERGY = 0.9


def make_inputs(size, n_matrices=4, batch=4096):
    g = torch.Generator().manual_seed(0)
    weight = torch.randn(size, size, generator=g, dtype=torch.float64)
    stack = torch.randn(n_matrices, size, size, generator=g, dtype=torch.float64)  # (B, m, n)
    linear = nn.Linear(size, size)
    x = torch.randn(batch, size, generator=g)
    return weight, stack, linear, x


def autograd_subgradient(weight):
    leaf = weight.detach().requires_grad_(True)
    torch.linalg.matrix_norm(leaf, ord="nuc").backward()
    return leaf.grad


def numpy_projection(stack):
    out = []
    for matrix in stack.numpy():
        u, s, vh = np.linalg.svd(matrix, full_matrices=False)
        energy = np.cumsum(s**2) / np.sum(s**2)
        k = int(np.searchsorted(energy, ENERGY * (1 - 8 * np.finfo(s.dtype).eps))) + 1
        out.append((u[:, :k] * s[:k]) @ vh[:k])
    return torch.from_numpy(np.stack(out))


def layer_step(layer, x):
    def step():
        layer.zero_grad()
        layer(x).square().mean().backward()

    return step


def tasks(size):
    weight, stack, linear, x = make_inputs(size)
    rank = size // 8
    low = LowRankLinear.from_linear(linear, rank)
    return {
        "nuclear subgradient": (
            lambda: nuclear_norm_subgradient(weight),
            lambda: autograd_subgradient(weight),
        ),
        "energy projection": (
            lambda: low_rank_projection(stack, ENERGY).weight,
            lambda: numpy_projection(stack),
        ),
        f"layer r={rank} fwd+bwd": (layer_step(low, x), layer_step(linear, x)),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--child", nargs=3)
    args = parser.parse_args()
    if args.child:
        name, variant, size = args.child
        print(peak_memory_mib(tasks(int(size))[name][0 if variant == "ours" else 1]))
        return
    size = 256 if args.quick else 1024
    print(header(np))
    print(
        f"weights {size} x {size} float64 (layer float32, batch 4096), energy {ENERGY}, best of {args.repeats}"
    )
    weight, stack, _, _ = make_inputs(size)
    torch.testing.assert_close(nuclear_norm_subgradient(weight), autograd_subgradient(weight))
    torch.testing.assert_close(low_rank_projection(stack, ENERGY).weight, numpy_projection(stack))
    print(f"{'task':24s} {'ours ms':>9s} {'ref ms':>9s} {'time ratio':>10s} {'ours MiB':>9s} {'ref MiB':>8s}")
    for name, pair in tasks(size).items():
        times = [best_time_s(fn, args.repeats) for fn in pair]
        mems = [peak_memory_in_child(__file__, name, v, size) for v in ("ours", "ref")]
        print(
            f"{name:24s} {times[0] * 1e3:9.2f} {times[1] * 1e3:9.2f} {times[0] / times[1]:10.2f} "
            f"{mems[0]:9.1f} {mems[1]:8.1f}"
        )


if __name__ == "__main__":
    main()
