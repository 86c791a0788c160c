"""Functional-map building blocks: sparse Laplace-Beltrami eigenpairs vs dense SciPy, and the row-wise map
solve vs one Kronecker least-squares problem.

    python benchmarks/functional_maps.py [--quick] [--threads N]

For icospheres of growing size, prints the best-of-3 time of ``laplace_beltrami_eigenpairs`` (cotangent
stiffness, shift-invert Lanczos for k = 30) and of the dense generalized solver ``scipy.linalg.eigh`` on the
same matrices (subset of 30), with the ratio dense / ours; then, for k = 30 and 50 and c = 64 features, the
time of ``functional_map`` (k small k x k solves) and of the naive (k^2 x k^2) Kronecker least squares, with
the ratio. Values are checked to agree before timing. Peak memory in a fresh process.
"""

from __future__ import annotations

import argparse

import numpy as np
import scipy
import scipy.linalg
import torch

from _measure import best_time_s, header, peak_memory_in_child, peak_memory_mib
from paperlab.data import icosphere, vertex_areas
from paperlab.solvers import cotangent_laplacian, functional_map, laplace_beltrami_eigenpairs


def eigen_runs(subdivisions: int) -> dict:
    mesh = icosphere(subdivisions, dtype=torch.float64)
    vertices = mesh.vertices * torch.tensor([1.4, 1.0, 0.8], dtype=torch.float64)
    L = cotangent_laplacian(vertices, mesh.faces).toarray()
    M = np.diag(vertex_areas(vertices, mesh.faces).numpy())
    ours = laplace_beltrami_eigenpairs(vertices, mesh.faces, 30).eigenvalues.numpy()
    dense = scipy.linalg.eigh(L, M, eigvals_only=True, subset_by_index=[0, 29])
    if not np.allclose(ours, np.clip(dense, 0, None), rtol=1e-6, atol=1e-8):
        raise RuntimeError("sparse and dense eigenvalues disagree")
    return {
        "ours": lambda: laplace_beltrami_eigenpairs(vertices, mesh.faces, 30),
        "dense": lambda: scipy.linalg.eigh(L, M, subset_by_index=[0, 29]),
    }


def map_runs(k: int, c: int = 64) -> dict:
    g = torch.Generator().manual_seed(0)
    A, B = (
        torch.randn(k, c, generator=g, dtype=torch.float64),
        torch.randn(k, c, generator=g, dtype=torch.float64),
    )
    la = torch.linspace(0, 1, k, dtype=torch.float64)
    lb = la * 1.05
    lam = 1e-3
    I = np.eye(k)
    commute = np.kron(I, np.diag(la.numpy() / 1.05)) - np.kron(np.diag(lb.numpy() / 1.05), I)
    design = np.vstack([np.kron(I, A.numpy().T), np.sqrt(lam) * commute])
    target = np.concatenate([B.numpy().reshape(-1), np.zeros(k * k)])
    naive = lambda: np.linalg.lstsq(design, target, rcond=None)[0].reshape(k, k)  # noqa: E731
    if not np.allclose(functional_map(A, B, la, lb, lam).numpy(), naive(), atol=1e-8):
        raise RuntimeError("row-wise and Kronecker solutions disagree")
    return {"ours": lambda: functional_map(A, B, la, lb, lam), "dense": naive}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.child:  # one peak-memory measurement in a fresh process
        kind, size, variant = args.child
        runs = eigen_runs(int(size)) if kind == "eigen" else map_runs(int(size))
        print(peak_memory_mib(runs[variant]))
        return
    print(header(np, scipy))
    print(
        f"{'eigenpairs (k=30)':<24} | {'ours s':>8} {'dense s':>8} | {'dense/ours':>10} | "
        f"{'ours MiB':>8} {'dense MiB':>9}"
    )
    for s in [2, 3] if args.quick else [2, 3, 4]:
        runs = eigen_runs(s)
        t_ours, t_dense = best_time_s(runs["ours"]), best_time_s(runs["dense"])
        m_ours, m_dense = (peak_memory_in_child(__file__, "eigen", s, v) for v in ("ours", "dense"))
        label = f"icosphere {10 * 4**s + 2} vertices"
        print(
            f"{label:<24} | {t_ours:>8.4f} {t_dense:>8.4f} | {t_dense / t_ours:>10.1f} | {m_ours:>8.1f} {m_dense:>9.1f}"
        )
    print(
        f"{'functional map (c=64)':<24} | {'ours s':>8} {'kron s':>8} | {'kron/ours':>10} | "
        f"{'ours MiB':>8} {'kron MiB':>9}"
    )
    for k in [20, 30] if args.quick else [30, 50]:
        runs = map_runs(k)
        t_ours, t_dense = best_time_s(runs["ours"]), best_time_s(runs["dense"])
        m_ours, m_dense = (peak_memory_in_child(__file__, "map", k, v) for v in ("ours", "dense"))
        print(
            f"{'k = ' + str(k):<24} | {t_ours:>8.4f} {t_dense:>8.4f} | {t_dense / t_ours:>10.1f} | "
            f"{m_ours:>8.1f} {m_dense:>9.1f}"
        )


if __name__ == "__main__":
    main()
