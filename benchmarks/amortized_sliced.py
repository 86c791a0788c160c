"""Amortized slicing: batched v-DSW and amortized Max-SW vs per-pair loops and iterative Max-SW.

    python benchmarks/amortized_sliced.py [--quick] [--threads N]

For a batch of B point-cloud pairs (n points in 3-D), prints the best-of-3 time of: our batched v-DSW (one
shared vMF draw reflected onto each location), the naive composition (``vmf_sliced_wasserstein`` pair by
pair), amortized Max-SW given the predicted directions (one self-attention amortizer forward pass included),
and Max-SW by projected gradient ascent pair by pair (``max_sliced_wasserstein``, 50 steps), which amortization
replaces; and the ratios to our batched v-DSW (> 1 means slower). Peak memory in a fresh process. The batched
and looped v-DSW values are checked to agree before timing.
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from _measure import best_time_s, header, peak_memory_in_child, peak_memory_mib
from paperlab.distances import (
    amortized_max_sliced_wasserstein,
    amortized_vmf_sliced_wasserstein,
    max_sliced_wasserstein,
    vmf_sliced_wasserstein,
)
from paperlab.models import SelfAttentionAmortizer

VARIANTS = ("batched v-DSW", "looped v-DSW", "amortized Max-SW", "iterative Max-SW")


def make_runs(B: int, n: int, L: int = 50, kappa: float = 10.0) -> dict:
    g = torch.Generator().manual_seed(0)
    X, Y = torch.randn(B, n, 3, generator=g), 1.3 * torch.randn(B, n, 3, generator=g) + 0.1
    torch.manual_seed(0)
    amortizer = SelfAttentionAmortizer(3, d_k=32)
    with torch.no_grad():
        locations = amortizer(X, Y)
    batched = amortized_vmf_sliced_wasserstein(X, Y, locations, kappa, L, seed=1)
    looped = torch.stack(
        [vmf_sliced_wasserstein(X[b], Y[b], locations[b], kappa, L, seed=1) for b in range(B)]
    )
    if not torch.allclose(batched, looped, rtol=1e-5):
        raise RuntimeError("batched and looped v-DSW disagree")

    def amortized_max():
        with torch.no_grad():
            return amortized_max_sliced_wasserstein(X, Y, amortizer(X, Y))

    return {
        "batched v-DSW": lambda: amortized_vmf_sliced_wasserstein(X, Y, locations, kappa, L, seed=1),
        "looped v-DSW": lambda: [
            vmf_sliced_wasserstein(X[b], Y[b], locations[b], kappa, L, seed=1) for b in range(B)
        ],
        "amortized Max-SW": amortized_max,
        "iterative Max-SW": lambda: [max_sliced_wasserstein(X[b], Y[b], n_iter=50, seed=1) for b in range(B)],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    parser.add_argument("--child", nargs=3, metavar=("VARIANT", "B", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.child:  # one peak-memory measurement in a fresh process
        variant, B, n = map(int, args.child)
        print(peak_memory_mib(make_runs(B, n)[VARIANTS[variant]]))
        return
    sizes = [(16, 128)] if args.quick else [(16, 128), (32, 512), (32, 2048)]
    print(header(np))
    print(f"{'B':>3} {'n':>5} | " + " ".join(f"{v:>17}" for v in VARIANTS) + " | ratios to batched v-DSW")
    for B, n in sizes:
        runs = make_runs(B, n)
        times = [best_time_s(runs[v]) for v in VARIANTS]
        memory = [peak_memory_in_child(__file__, i, B, n) for i in range(len(VARIANTS))]
        ratios = " ".join(f"{t / times[0]:.2f}" for t in times[1:])
        print(f"{B:>3} {n:>5} | " + " ".join(f"{t:>15.4f} s" for t in times) + f" | {ratios}")
        print(f"{'':>9}| peak MiB " + " ".join(f"{m:>8.1f}" for m in memory))


if __name__ == "__main__":
    main()
