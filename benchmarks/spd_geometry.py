"""Benchmark: SPD matrix functions and the Bures-Wasserstein barycenter against SciPy and POT.

Same inputs for both sides, float64, times are the best of ``--repeats``; peak memory of each run is
measured in a fresh child process.

1. Batched square root and logarithm (``paperlab.solvers.spd_sqrt`` / ``spd_log``, one batched ``eigh``)
   against a loop of ``scipy.linalg.sqrtm`` / ``logm``.
2. BW barycenter of n covariances to a relative change of 1e-10 (``paperlab.solvers.bw_barycenter``,
   the fixed point written with the transport maps) against ``ot.gaussian.bures_barycenter_fixpoint``
   (the plain fixed point, numpy backend), stopped at the same tolerance; the distance between the two
   results is printed.

    python benchmarks/spd_geometry.py            # 1000 matrices of 32x32; barycenter of 200 of 32x32
    python benchmarks/spd_geometry.py --quick    # 100 of 8x8; barycenter of 20 of 8x8
"""

from __future__ import annotations

import argparse

import numpy as np
import ot
import scipy
import scipy.linalg
import torch

from _measure import best_time_s, header, peak_memory_in_child, peak_memory_mib
from paperlab.solvers import bw_barycenter, spd_log, spd_sqrt


def matrices(n: int, d: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(0)
    q = torch.linalg.qr(torch.randn(n, d, d, generator=g, dtype=torch.float64)).Q
    eigenvalues = torch.logspace(0, -3, d, dtype=torch.float64) * torch.exp(
        torch.randn(n, d, generator=g, dtype=torch.float64)
    )
    return (q * eigenvalues.unsqueeze(-2)) @ q.mT


def runners(n: int, d: int, n_bary: int):
    x = matrices(n, d)
    arrays = x.numpy()
    stack = matrices(n_bary, d)
    results = {}

    def bary_ours():
        results["ours"] = bw_barycenter(stack, n_iter_max=10_000, tol=1e-10).mean.numpy()

    def bary_pot():
        scale = np.linalg.norm(stack.numpy().mean(0))
        results["pot"] = ot.gaussian.bures_barycenter_fixpoint(
            stack.numpy(), num_iter=10_000, eps=1e-10 * scale
        )

    return {
        "sqrt: paperlab": lambda: spd_sqrt(x),
        "sqrt: scipy loop": lambda: [scipy.linalg.sqrtm(a) for a in arrays],
        "log: paperlab": lambda: spd_log(x),
        "log: scipy loop": lambda: [scipy.linalg.logm(a) for a in arrays],
        "barycenter: paperlab": bary_ours,
        "barycenter: POT": bary_pot,
    }, results


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--child", action="store_true")
    parser.add_argument("rest", nargs="*")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    n, d, n_bary = (100, 8, 20) if args.quick else (1000, 32, 200)
    if args.child:
        fns, _ = runners(n, d, n_bary)
        print(peak_memory_mib(fns[" ".join(args.rest)]))
        return
    print(header(np, scipy, ot))
    print(f"{n} SPD matrices of {d}x{d} (condition ~1e3+); barycenter of {n_bary}")
    fns, results = runners(n, d, n_bary)
    rows = {}
    for name, fn in fns.items():
        seconds = best_time_s(fn, args.repeats)
        memory = peak_memory_in_child(__file__, "--threads", args.threads, *name.split(" "))
        rows[name] = (seconds, memory)
    print(f"{'task':<24} {'time s':>9} {'peak MiB':>9} {'peer/ours time':>15} {'peer/ours mem':>14}")
    for ours, peer in [
        ("sqrt: paperlab", "sqrt: scipy loop"),
        ("log: paperlab", "log: scipy loop"),
        ("barycenter: paperlab", "barycenter: POT"),
    ]:
        (t0, m0), (t1, m1) = rows[ours], rows[peer]
        print(f"{ours:<24} {t0:9.4f} {m0:9.1f}")
        print(f"{peer:<24} {t1:9.4f} {m1:9.1f} {t1 / t0:15.2f} {m1 / max(m0, 1e-9):14.2f}")
    gap = np.linalg.norm(results["ours"] - results["pot"]) / np.linalg.norm(results["pot"])
    print(f"relative difference between the two barycenters: {gap:.2e}")


if __name__ == "__main__":
    main()
