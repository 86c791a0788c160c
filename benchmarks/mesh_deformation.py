"""Mesh-deformation losses: SW between surface measures vs Chamfer (ours) vs a SciPy KD-tree Chamfer.

    python benchmarks/mesh_deformation.py [--quick] [--threads N]

For N surface samples per mesh, prints the best-of-3 time of a loss value plus its gradient for SW_2^2 with
50 projections and for our Chamfer distance, the time of SciPy's cKDTree Chamfer value (no gradient), and
the ratios (> 1 means the first is slower than SW), with the peak memory of each in a fresh process. SW costs
O(L N log N), Chamfer O(N^2) with brute force (O(N log N) for the KD tree, without gradients). The Chamfer
values are checked to agree before timing.
"""

from __future__ import annotations

import argparse

import numpy as np
import scipy
import torch
from scipy.spatial import cKDTree

from _measure import best_time_s, header, peak_memory_in_child, peak_memory_mib
from paperlab.data import bumpy_sphere, icosphere, sample_surface
from paperlab.distances import sliced_wasserstein
from paperlab.losses import chamfer_distance

VARIANTS = ("SW", "Chamfer", "KD-tree Chamfer")


def make_runs(n: int) -> dict:
    """The three losses on the same samples of a sphere and a bumpy sphere, as zero-argument callables."""
    sphere, target = icosphere(4), bumpy_sphere(4, seed=0)
    X = sample_surface(sphere.vertices, sphere.faces, n, seed=1).points.requires_grad_(True)
    Y = sample_surface(target.vertices, target.faces, n, seed=2).points

    def sw():
        torch.autograd.grad(sliced_wasserstein(X, Y, n_projections=50, seed=3).pow(2), X)

    def chamfer():
        torch.autograd.grad(chamfer_distance(X, Y), X)

    X_np, Y_np = X.detach().double().numpy(), Y.double().numpy()

    def kd_tree():
        return (cKDTree(Y_np).query(X_np)[0] ** 2).mean() + (cKDTree(X_np).query(Y_np)[0] ** 2).mean()

    ours = chamfer_distance(X.detach(), Y).item()
    if not np.isclose(ours, kd_tree(), rtol=1e-4):
        raise RuntimeError(f"Chamfer values disagree: ours {ours}, KD tree {kd_tree()}")
    return {"SW": sw, "Chamfer": chamfer, "KD-tree Chamfer": kd_tree}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    parser.add_argument("--child", nargs=2, metavar=("VARIANT", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.child:  # one peak-memory measurement in a fresh process
        print(peak_memory_mib(make_runs(int(args.child[1]))[VARIANTS[int(args.child[0])]]))
        return
    sizes = [500, 2_000] if args.quick else [500, 2_000, 8_000, 20_000]
    print(header(np, scipy))
    print(
        f"{'N':>6} | {'SW s':>8} {'Chamfer s':>9} {'KD s':>8} | {'CD/SW':>6} {'KD/SW':>6} | "
        f"{'SW MiB':>7} {'CD MiB':>7} {'KD MiB':>7}"
    )
    for n in sizes:
        runs = make_runs(n)
        times = [best_time_s(runs[name]) for name in VARIANTS]
        memory = [peak_memory_in_child(__file__, i, n) for i in range(len(VARIANTS))]
        print(
            f"{n:>6} | {times[0]:>8.4f} {times[1]:>9.4f} {times[2]:>8.4f} | {times[1] / times[0]:>6.2f} "
            f"{times[2] / times[0]:>6.2f} | {memory[0]:>7.1f} {memory[1]:>7.1f} {memory[2]:>7.1f}"
        )
    print("SW and Chamfer times include the gradient; the KD-tree Chamfer is the value only.")


if __name__ == "__main__":
    main()
