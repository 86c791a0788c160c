"""Benchmark: TLDR's building blocks against their peers on the same inputs.

* ``knn_neighbours`` (exact k-NN graph, blocked torch) against scikit-learn's ``NearestNeighbors``
  (fit + kneighbors, brute force and the default tree search), k = 10.
* ``barlow_twins_loss`` (forward + backward) against the authors' formulation: a ``BatchNorm1d`` without
  affine parameters, a cross-correlation matrix and masked on/off-diagonal sums.

Peak memory of each variant is measured in a fresh child process.

    python benchmarks/tldr_twin_dimred.py            # n = 20,000 points in 64-d; N = 2048, D = 2048
    python benchmarks/tldr_twin_dimred.py --quick    # n = 2,000; N = 256, D = 256, a few seconds
"""

from __future__ import annotations

import argparse

import numpy as np
import sklearn
import torch
from sklearn.neighbors import NearestNeighbors

from _measure import best_time_s, header, peak_memory_in_child, peak_memory_mib
from paperlab.data import knn_neighbours
from paperlab.losses import barlow_twins_loss

K = 10


def batchnorm_barlow_twins(z_a, z_b, lambd=0.0051):
    bn = torch.nn.BatchNorm1d(z_a.shape[1], affine=False).to(z_a)
    c = bn(z_a).T @ bn(z_b) / z_a.shape[0]
    eye = torch.eye(c.shape[0], dtype=torch.bool, device=c.device)
    return (1 - c[eye]).pow(2).sum() + lambd * c[~eye].pow(2).sum()


def knn_variants(X):
    X_np = X.numpy()
    return {
        "ours": lambda: knn_neighbours(X, K),
        "sklearn brute": lambda: NearestNeighbors(n_neighbors=K, algorithm="brute").fit(X_np).kneighbors(),
        "sklearn auto": lambda: NearestNeighbors(n_neighbors=K).fit(X_np).kneighbors(),
    }


def loss_variants(z_a, z_b):
    def step(loss):
        def run():
            z_a.grad = z_b.grad = None
            loss(z_a, z_b).backward()

        return run

    return {"ours": step(barlow_twins_loss), "batchnorm ref": step(batchnorm_barlow_twins)}


def make_points(n):
    return torch.randn(n, 64, generator=torch.Generator().manual_seed(0))


def make_embeddings(n, d):
    g = torch.Generator().manual_seed(1)
    return torch.randn(n, d, generator=g).requires_grad_(), torch.randn(n, d, generator=g).requires_grad_()


def child(task, variant, n, d):
    if task == "knn":
        fn = knn_variants(make_points(n))[variant]
    else:
        fn = loss_variants(*make_embeddings(n, d))[variant]
    print(peak_memory_mib(fn))


def report(task, variants, repeats, n, d):
    base_time = base_mem = None
    for name, fn in variants.items():
        t = best_time_s(fn, repeats)
        mem = peak_memory_in_child(__file__, task, name, n, d)
        base_time, base_mem = base_time or t, base_mem or mem
        print(f"  {name:14s} {t * 1e3:9.1f} ms  ours/this time {base_time / t:5.2f}  peak {mem:7.1f} MiB")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--child", nargs=4)
    args = parser.parse_args()
    if args.child:
        task, variant, n, d = args.child
        return child(task, variant, int(n), int(d))
    n_points, n_batch, width = (2000, 256, 256) if args.quick else (20000, 2048, 2048)
    print(header(sklearn))
    X = make_points(n_points)
    ours = knn_neighbours(X, K).numpy()
    _, reference = NearestNeighbors(n_neighbors=K).fit(X.numpy()).kneighbors()
    print(
        f"k-NN graph, n={n_points}, D=64, k={K}, float32 (same indices as sklearn: {np.mean(ours == reference):.4f})"
    )
    report("knn", knn_variants(X), args.repeats, n_points, 0)
    z_a, z_b = make_embeddings(n_batch, width)
    torch.testing.assert_close(
        barlow_twins_loss(z_a, z_b), batchnorm_barlow_twins(z_a, z_b), rtol=1e-4, atol=1e-4
    )
    print(f"Barlow Twins loss, N={n_batch}, D={width}, float32, forward + backward")
    report("loss", loss_variants(z_a, z_b), args.repeats, n_batch, width)


if __name__ == "__main__":
    main()
