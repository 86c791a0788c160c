"""Benchmark: ``paperlab.metrics.principal_angles`` against ``scipy.linalg.subspace_angles``.

Both compute the same angles (cosines from the SVD of Q_a^T Q_b, sines for the small angles) on the same
float64 inputs; ours works on torch tensors wherever they live, SciPy on NumPy arrays. Each size is timed
(best of ``--repeats``) and its peak memory measured in a fresh child process.

    python benchmarks/principal_angles.py            # n up to 20000 rows, p = q up to 128 columns
    python benchmarks/principal_angles.py --quick    # small sizes, a few seconds
"""

from __future__ import annotations

import argparse

import numpy as np
import scipy
import scipy.linalg
import torch

from _measure import best_time_s, header, peak_memory_in_child, peak_memory_mib
from paperlab.metrics import principal_angles


def make_inputs(n, p):
    g = torch.Generator().manual_seed(0)
    a = torch.randn(n, p, generator=g, dtype=torch.float64)
    b = torch.randn(n, p, generator=g, dtype=torch.float64)
    return a, b


def runner(variant, a, b):
    if variant == "ours":
        return lambda: principal_angles(a, b)
    a_np, b_np = a.numpy(), b.numpy()
    return lambda: scipy.linalg.subspace_angles(a_np, b_np)


def child(variant, n, p):
    a, b = make_inputs(n, p)
    print(peak_memory_mib(runner(variant, a, b)))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--child", nargs=3)
    args = parser.parse_args()
    if args.child:
        variant, n, p = args.child
        return child(variant, int(n), int(p))
    sizes = [(500, 8), (2000, 32)] if args.quick else [(2000, 32), (20000, 32), (20000, 128)]
    print(header(np, scipy))
    print(f"float64, best of {args.repeats}")
    print(
        f"{'n x p':>12s} {'ours ms':>8s} {'scipy ms':>9s} {'time ratio':>10s} {'ours MiB':>9s} {'scipy MiB':>9s}"
    )
    for n, p in sizes:
        a, b = make_inputs(n, p)
        np.testing.assert_allclose(
            principal_angles(a, b).numpy(),
            np.sort(scipy.linalg.subspace_angles(a.numpy(), b.numpy())),
            atol=1e-10,
        )
        times = [best_time_s(runner(v, a, b), args.repeats) for v in ("ours", "scipy")]
        mems = [peak_memory_in_child(__file__, v, n, p) for v in ("ours", "scipy")]
        print(
            f"{f'{n} x {p}':>12s} {times[0] * 1e3:8.2f} {times[1] * 1e3:9.2f} {times[0] / times[1]:10.2f} "
            f"{mems[0]:9.1f} {mems[1]:9.1f}"
        )


if __name__ == "__main__":
    main()
