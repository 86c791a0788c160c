"""Energy distance: paperlab vs SciPy (1-D) and a SciPy cdist composition (d-D), on the same inputs.

    python benchmarks/energy_distance.py [--quick] [--threads N]

Prints, per (n, d), the best-of-3 time and the peak memory (each in a fresh process) of paperlab's
``energy_distance`` and of the peer: ``scipy.stats.energy_distance`` squared in 1-D (sorting, O(n log n)),
and the V-statistic from three ``scipy.spatial.distance.cdist`` matrices in d-D (O(n^2), like ours).
Ratios are peer / ours (> 1 means paperlab is faster or leaner). The values are checked to agree first.
paperlab has no 1-D special case: it builds the n x m distance matrices, so SciPy's sort wins in 1-D.
"""

from __future__ import annotations

import argparse

import numpy as np
import scipy
import torch
from scipy.spatial.distance import cdist
from scipy.stats import energy_distance as scipy_energy_distance

from _measure import best_time_s, header, peak_memory_in_child, peak_memory_mib
from paperlab.distances import energy_distance


def make_runs(n: int, d: int) -> dict:
    """paperlab and the peer on the same float64 inputs, as zero-argument callables."""
    g = torch.Generator().manual_seed(0)
    X, Y = (
        torch.randn(n, d, generator=g, dtype=torch.float64),
        torch.randn(n, d, generator=g, dtype=torch.float64),
    )
    X_np, Y_np = X.numpy(), Y.numpy() + 0.5
    Y = torch.from_numpy(Y_np)
    if d == 1:
        peer = lambda: scipy_energy_distance(X_np[:, 0], Y_np[:, 0]) ** 2  # noqa: E731
    else:
        peer = lambda: 2 * cdist(X_np, Y_np).mean() - cdist(X_np, X_np).mean() - cdist(Y_np, Y_np).mean()  # noqa: E731
    return {"ours": lambda: energy_distance(X, Y), "peer": peer}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    parser.add_argument("--child", nargs=3, metavar=("VARIANT", "N", "D"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.child:  # one peak-memory measurement in a fresh process
        variant, n, d = args.child[0], int(args.child[1]), int(args.child[2])
        print(peak_memory_mib(make_runs(n, d)[variant]))
        return
    cases = (
        [(500, 1), (500, 2)] if args.quick else [(1_000, 1), (4_000, 1), (1_000, 2), (4_000, 2), (4_000, 64)]
    )
    print(header(scipy, np))
    print(
        f"{'n':>6} {'d':>3} | {'ours s':>8} {'peer s':>8} {'peer/ours':>9} | "
        f"{'ours MiB':>8} {'peer MiB':>8} {'ratio':>6}"
    )
    for n, d in cases:
        runs = make_runs(n, d)
        values = {name: float(run()) for name, run in runs.items()}
        assert np.isclose(values["ours"], values["peer"], rtol=1e-8), values
        times = {name: best_time_s(run) for name, run in runs.items()}
        memory = {name: peak_memory_in_child(__file__, name, n, d) for name in runs}
        print(
            f"{n:>6} {d:>3} | {times['ours']:8.4f} {times['peer']:8.4f} {times['peer'] / times['ours']:9.2f} | "
            f"{memory['ours']:8.1f} {memory['peer']:8.1f} {memory['peer'] / max(memory['ours'], 1e-9):6.2f}"
        )


if __name__ == "__main__":
    main()
