"""FastRP: paperlab (torch sparse) vs SciPy sparse products with the same matrix vs scikit-learn's projection.

    python benchmarks/fastrp.py [--quick] [--threads N]

On SBM graphs of mean degree about 13, times (best of 3) and peak memory (each in a fresh process) of:
ours, the same iteration written with SciPy sparse matrices and the same random matrix R (checked to agree
before timing), and the authors' style pipeline with scikit-learn's SparseRandomProjection as the projection
step (its own random matrix, so only its time is comparable). Ratios > 1 mean paperlab is faster or leaner.
"""

from __future__ import annotations

import argparse

import numpy as np
import scipy
import scipy.sparse as sp
import sklearn
import torch
from sklearn.random_projection import SparseRandomProjection

from _measure import best_time_s, header, peak_memory_in_child, peak_memory_mib
from paperlab.data import stochastic_block_model
from paperlab.solvers import fastrp, sparse_random_matrix

VARIANTS = ("ours", "scipy same R", "sklearn SRP")
WEIGHTS, BETA, DIM = (0.0, 0.0, 1.0, 1.0), -0.5, 128


def _scipy_fastrp(A, R):
    degree = np.asarray(A.sum(axis=1)).ravel()
    transition = sp.diags(1 / degree) @ A
    current = transition @ (R * degree[:, None] ** BETA)
    out = WEIGHTS[0] * current
    for alpha in WEIGHTS[1:]:
        current = transition @ current
        out = out + alpha * current
    return out


def _sklearn_fastrp(A):
    degree = np.asarray(A.sum(axis=1)).ravel()
    transition = (sp.diags(1 / degree) @ A).tocsr()
    projector = SparseRandomProjection(DIM, random_state=0).fit(transition)
    projector.components_ = projector.components_ @ sp.diags(degree**BETA)
    current = projector.transform(transition)
    out = WEIGHTS[0] * current
    for alpha in WEIGHTS[1:]:
        current = transition @ current
        out = out + alpha * current
    return out


def make_runs(n: int) -> dict:
    graph = stochastic_block_model([n // 5] * 5, 40.0 / n, 6.0 / n, seed=0, dtype=torch.float64)
    indices, values = graph.adjacency.indices().numpy(), graph.adjacency.values().numpy()
    A = sp.csr_matrix((values, (indices[0], indices[1])), shape=(n, n))
    R = sparse_random_matrix(DIM, n, seed=0, dtype=torch.float64).to_dense().T.numpy()
    return {
        "ours": lambda: fastrp(graph.adjacency, DIM, WEIGHTS, BETA, seed=0),
        "scipy same R": lambda: _scipy_fastrp(A, R),
        "sklearn SRP": lambda: _sklearn_fastrp(A),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (SciPy: set OMP_NUM_THREADS)")
    parser.add_argument("--child", nargs=2, metavar=("VARIANT", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.child:  # one peak-memory measurement in a fresh process
        variant, n = int(args.child[0]), int(args.child[1])
        print(peak_memory_mib(make_runs(n)[VARIANTS[variant]]))
        return
    print(header(scipy, sklearn))
    print(f"weights {WEIGHTS}, beta {BETA}, d {DIM}")
    print(
        f"{'n':>7} | {'ours s':>8} {'scipy s':>8} {'sklearn s':>9} | {'scipy/ours':>10} {'sklearn/ours':>12} | "
        f"{'ours MiB':>8} {'scipy MiB':>9} {'skl MiB':>8} | {'scipy/ours':>10} {'skl/ours':>8}"
    )
    for n in [1_000, 10_000] if args.quick else [1_000, 10_000, 100_000, 300_000]:
        runs = make_runs(n)
        ours, reference = runs["ours"]().numpy(), runs["scipy same R"]()
        assert np.allclose(ours, reference, rtol=1e-8, atol=1e-12), "ours and SciPy disagree"
        times = {name: best_time_s(run) for name, run in runs.items()}
        memory = {name: peak_memory_in_child(__file__, i, n) for i, name in enumerate(VARIANTS)}
        print(
            f"{n:>7} | {times['ours']:8.4f} {times['scipy same R']:8.4f} {times['sklearn SRP']:9.4f} | "
            f"{times['scipy same R'] / times['ours']:10.2f} {times['sklearn SRP'] / times['ours']:12.2f} | "
            f"{memory['ours']:8.1f} {memory['scipy same R']:9.1f} {memory['sklearn SRP']:8.1f} | "
            f"{memory['scipy same R'] / memory['ours']:10.2f} {memory['sklearn SRP'] / memory['ours']:8.2f}"
        )


if __name__ == "__main__":
    main()
