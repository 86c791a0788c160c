"""MBO entropic map with an elastic l1 cost: paperlab vs the same pipeline written with POT and numpy.

    python benchmarks/entropic_map.py [--quick] [--threads N]

n source and n target points in d = 50 (uniform, five coordinates shifted). Both sides build the cost matrix
h(x_i - y_j) = 1/2 ||x_i - y_j||^2 + gamma ||x_i - y_j||_1, solve entropic OT in the log domain (same reg,
same tolerance), and map n test points by T(x) = x - prox(sum_j p_j(x) grad h(x - y_j)). The peer uses
ot.dist, ot.sinkhorn(method="sinkhorn_log") and numpy for the map (OTT-JAX, the paper's library, is not
installed). The mapped points are checked to agree before timing. Ratios > 1 mean paperlab is faster or leaner.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
import ot
import torch
from scipy.special import logsumexp

from _measure import best_time_s, header, peak_memory_in_child, peak_memory_mib
from paperlab.solvers import elastic_entropic_map

VARIANTS = ("ours", "POT + numpy")
REG, GAMMA, DIM = 3.0, 3.0, 50


def make_data(n: int):
    g = torch.Generator().manual_seed(0)
    x, y, test = (torch.rand(n, DIM, generator=g, dtype=torch.float64) for _ in range(3))
    y[:, :5] += 1.0
    return x, y, test


def peer_map(x, y, test):
    """The same estimator with POT's log-domain Sinkhorn and numpy, blocks of 64 test points at a time."""
    cost = 0.5 * ot.dist(x, y) + GAMMA * ot.dist(x, y, metric="cityblock")
    a, b = np.full(len(x), 1 / len(x)), np.full(len(y), 1 / len(y))
    _, log = ot.sinkhorn(a, b, cost, REG, method="sinkhorn_log", stopThr=1e-6, numItermax=1000, log=True)
    g = REG * log["log_v"]  # target potential up to a constant, which the softmax ignores
    out = []
    for start in range(0, len(test), 64):
        t = test[start : start + 64]
        h = 0.5 * ot.dist(t, y) + GAMMA * ot.dist(t, y, metric="cityblock")
        logits = np.log(b) + (g - h) / REG
        p = np.exp(logits - logsumexp(logits, axis=1, keepdims=True))  # (k, m)
        diff = t[:, None, :] - y[None]  # (k, m, d)
        pulled = np.einsum("km,kmd->kd", p, diff + GAMMA * np.sign(diff))
        out.append(t - np.sign(pulled) * np.maximum(np.abs(pulled) - GAMMA, 0))
    return np.concatenate(out)


def make_runs(n: int) -> dict:
    x, y, test = make_data(n)
    xn, yn, tn = x.numpy(), y.numpy(), test.numpy()
    return {
        "ours": lambda: elastic_entropic_map(x, y, REG, GAMMA, tol=1e-6)(test),
        "POT + numpy": lambda: peer_map(xn, yn, tn),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, a few seconds")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.child:
        print(peak_memory_mib(make_runs(int(args.child[1]))[args.child[0].replace("_", " ")]))
        return
    print(header(ot, np))
    for n in [200, 500] if args.quick else [500, 2000, 5000]:
        runs = make_runs(n)
        gap = np.abs(runs["ours"]().numpy() - runs["POT + numpy"]()).max()
        times = {name: best_time_s(fn, repeats=1 if n >= 2000 else 3) for name, fn in runs.items()}
        memory = {name: peak_memory_in_child(__file__, name.replace(" ", "_"), n) for name in VARIANTS}
        print(f"\nn={n}, d={DIM} (largest difference of the mapped points {gap:.1e})")
        for name in VARIANTS:
            print(f"  {name:12s} {times[name] * 1e3:9.1f} ms  peak {memory[name]:8.1f} MiB")
        ratio_m = memory["POT + numpy"] / max(memory["ours"], 1e-3)
        print(f"  peer/ours: time x{times['POT + numpy'] / times['ours']:.1f}, peak memory x{ratio_m:.2f}")


if __name__ == "__main__":
    sys.exit(main())
