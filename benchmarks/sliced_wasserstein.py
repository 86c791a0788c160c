"""Sliced Wasserstein: paperlab vs POT (numpy and torch back ends) on the same inputs and projections.

    python benchmarks/sliced_wasserstein.py [--quick] [--threads N]

Prints, per (n, d, L), the time and peak-memory of each implementation and the ratios POT / ours
(> 1 means paperlab is faster or leaner). Values are checked to agree before timing.
"""

from __future__ import annotations

import argparse
import itertools

import numpy as np
import ot
import torch

from _measure import best_time_s, header, peak_memory_mib
from paperlab.distances import random_projections, sliced_wasserstein


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (numpy: set OMP_NUM_THREADS)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    sizes = [1_000, 10_000] if args.quick else [1_000, 10_000, 100_000]
    dims, counts = ([3, 64], [50]) if args.quick else ([3, 64], [50, 500])
    print(header(ot, np))
    print(f"{'n':>7} {'d':>3} {'L':>4} | {'ours s':>8} {'POT-np s':>9} {'POT-torch s':>11} | "
          f"{'np/ours':>7} {'torch/ours':>10} | {'ours MiB':>8} {'np MiB':>7} {'torch MiB':>9}")  # fmt: skip
    for n, d, L in itertools.product(sizes, dims, counts):
        g = torch.Generator().manual_seed(0)
        X, Y = torch.randn(n, d, generator=g), torch.randn(n, d, generator=g) + 1
        theta = random_projections(d, L, seed=1)
        X_np, Y_np, theta_np = X.numpy(), Y.numpy(), theta.numpy()
        runs = {
            "ours": lambda: sliced_wasserstein(X, Y, projections=theta),
            "POT numpy": lambda: ot.sliced_wasserstein_distance(X_np, Y_np, projections=theta_np),
            "POT torch": lambda: ot.sliced_wasserstein_distance(X, Y, projections=theta),
        }
        values = {name: float(run()) for name, run in runs.items()}
        assert np.allclose(list(values.values()), values["ours"], rtol=1e-4), values
        times = {name: best_time_s(run) for name, run in runs.items()}
        memory = {name: peak_memory_mib(run) for name, run in runs.items()}
        print(f"{n:>7} {d:>3} {L:>4} | {times['ours']:8.4f} {times['POT numpy']:9.4f} {times['POT torch']:11.4f} | "
              f"{times['POT numpy'] / times['ours']:7.2f} {times['POT torch'] / times['ours']:10.2f} | "
              f"{memory['ours']:8.1f} {memory['POT numpy']:7.1f} {memory['POT torch']:9.1f}")  # fmt: skip


if __name__ == "__main__":
    main()
