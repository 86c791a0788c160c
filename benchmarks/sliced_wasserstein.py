"""Sliced Wasserstein: paperlab vs POT (numpy and torch back ends) on the same inputs and projections.

    python benchmarks/sliced_wasserstein.py [--quick] [--threads N]

Prints, per (n, d, L), the best-of-3 time and the peak memory (each in a fresh process) of each
implementation, and the ratios POT / ours (> 1 means paperlab is faster or leaner). The three values are
checked to agree before timing. On the CPU paperlab sorts with numpy (several times faster than torch's
CPU sort); on a GPU it uses torch.sort.
"""

from __future__ import annotations

import argparse
import itertools

import numpy as np
import ot
import torch

from _measure import best_time_s, header, peak_memory_in_child, peak_memory_mib
from paperlab.distances import random_projections, sliced_wasserstein

VARIANTS = ("ours", "POT numpy", "POT torch")


def make_runs(n: int, d: int, L: int) -> dict:
    """The three implementations on the same inputs and projections, as zero-argument callables."""
    g = torch.Generator().manual_seed(0)
    X, Y = torch.randn(n, d, generator=g), torch.randn(n, d, generator=g) + 1
    theta = random_projections(d, L, seed=1)
    X_np, Y_np, theta_np = X.numpy(), Y.numpy(), theta.numpy()
    return {
        "ours": lambda: sliced_wasserstein(X, Y, projections=theta),
        "POT numpy": lambda: ot.sliced_wasserstein_distance(X_np, Y_np, projections=theta_np),
        "POT torch": lambda: ot.sliced_wasserstein_distance(X, Y, projections=theta),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (numpy: set OMP_NUM_THREADS)")
    parser.add_argument("--child", nargs=4, metavar=("VARIANT", "N", "D", "L"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.child:  # one peak-memory measurement in a fresh process
        variant, n, d, L = args.child[0], *map(int, args.child[1:])
        print(peak_memory_mib(make_runs(n, d, L)[VARIANTS[int(variant)]]))
        return
    sizes = [1_000, 10_000] if args.quick else [1_000, 10_000, 100_000]
    dims, counts = ([3, 64], [50]) if args.quick else ([3, 64], [50, 500])
    print(header(ot, np))
    print(
        f"{'n':>7} {'d':>3} {'L':>4} | {'ours s':>8} {'POT-np s':>9} {'POT-torch s':>11} | "
        f"{'np/ours':>7} {'torch/ours':>10} | {'ours MiB':>8} {'np MiB':>7} {'torch MiB':>9} | "
        f"{'np/ours':>7} {'torch/ours':>10}"
    )
    for n, d, L in itertools.product(sizes, dims, counts):
        runs = make_runs(n, d, L)
        values = {name: float(run()) for name, run in runs.items()}
        # rtol 1e-3: at n = 1e5 in float32, POT numpy's cumulative weights drift by about 5e-4
        assert np.allclose(list(values.values()), values["ours"], rtol=1e-3), values
        times = {name: best_time_s(run) for name, run in runs.items()}
        memory = {name: peak_memory_in_child(__file__, i, n, d, L) for i, name in enumerate(VARIANTS)}
        print(
            f"{n:>7} {d:>3} {L:>4} | {times['ours']:8.4f} {times['POT numpy']:9.4f} {times['POT torch']:11.4f} | "
            f"{times['POT numpy'] / times['ours']:7.2f} {times['POT torch'] / times['ours']:10.2f} | "
            f"{memory['ours']:8.1f} {memory['POT numpy']:7.1f} {memory['POT torch']:9.1f} | "
            f"{memory['POT numpy'] / memory['ours']:7.2f} {memory['POT torch'] / memory['ours']:10.2f}"
        )


if __name__ == "__main__":
    main()
