"""Benchmark: ``paperlab.metrics.laplacian_score`` against a scikit-learn + SciPy sparse-graph reference.

No installed library ships the Laplacian score; the reference is the usual formulation of the public
feature-selection toolkits: a symmetric k-NN graph from ``sklearn.neighbors.kneighbors_graph``, heat
kernel weights on its edges in a SciPy sparse matrix, and the score from sparse products. Both run on the
same float64 inputs and must agree before timing; peak memory is measured in a fresh child process.

    python benchmarks/feature_selection.py            # n=4000, d=200
    python benchmarks/feature_selection.py --quick    # n=500, d=50, a few seconds
"""

from __future__ import annotations

import argparse

import numpy as np
import scipy
import sklearn
import torch
from sklearn.neighbors import kneighbors_graph

from _measure import best_time_s, header, peak_memory_in_child, peak_memory_mib
from paperlab.metrics import laplacian_score


def reference_laplacian_score(x: np.ndarray, k: int = 5) -> np.ndarray:
    graph = kneighbors_graph(x, k, mode="distance")
    graph = graph.maximum(graph.T).tocsr()  # symmetric k-NN graph with distances on its edges
    graph.data = graph.data**2
    t = graph.data.mean()
    graph.data = np.exp(-graph.data / t)
    degree = np.asarray(graph.sum(1)).ravel()
    centred = x - (degree @ x) / degree.sum()
    denominator = (degree[:, None] * centred**2).sum(0)
    numerator = denominator - (centred * (graph @ centred)).sum(0)
    return numerator / denominator


def make_inputs(n, d):
    return np.random.default_rng(0).normal(size=(n, d))


def child(variant, n, d):
    x = make_inputs(n, d)
    xt = torch.from_numpy(x)
    fn = (lambda: laplacian_score(xt)) if variant == "ours" else (lambda: reference_laplacian_score(x))
    print(peak_memory_mib(fn))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--child", nargs=3)
    args = parser.parse_args()
    if args.child:
        variant, n, d = args.child
        return child(variant, int(n), int(d))
    n, d = (500, 50) if args.quick else (4000, 200)
    print(header(sklearn, scipy))
    print(f"n={n}, d={d}, k=5, float64, best of {args.repeats}")
    x = make_inputs(n, d)
    xt = torch.from_numpy(x)
    np.testing.assert_allclose(laplacian_score(xt).numpy(), reference_laplacian_score(x), rtol=1e-8)
    times = [
        best_time_s(lambda: laplacian_score(xt), args.repeats),
        best_time_s(lambda: reference_laplacian_score(x), args.repeats),
    ]
    mems = [peak_memory_in_child(__file__, v, n, d) for v in ("ours", "ref")]
    print(f"{'ours ms':>8s} {'ref ms':>8s} {'time ratio':>10s} {'ours MiB':>9s} {'ref MiB':>8s}")
    print(
        f"{times[0] * 1e3:8.1f} {times[1] * 1e3:8.1f} {times[0] / times[1]:10.2f} {mems[0]:9.1f} {mems[1]:8.1f}"
    )


if __name__ == "__main__":
    main()
