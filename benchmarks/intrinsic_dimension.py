"""Intrinsic-dimension estimators, trustworthiness and random projections vs their peer libraries.

    python benchmarks/intrinsic_dimension.py [--quick] [--device auto|cpu|cuda] [--repeats 3]

Compares on the same inputs, in one run:
  - paperlab.metrics.twonn / mle_levina_bickel  vs  skdim.id.TwoNN / skdim.id.MLE   (n = 20,000)
  - paperlab.metrics.trustworthiness            vs  sklearn.manifold.trustworthiness (n = 5,000)
  - paperlab.solvers.sparse_random_projection   vs  sklearn SparseRandomProjection    (20,000 x 10,000)
Targets for the estimators: no slower than scikit-dimension, same estimate to 0.1.

Each measurement runs in a fresh process. Peak memory on CPU is the growth of the resident set
during the call (the kernel's high-water mark VmHWM is reset through /proc/self/clear_refs first, and
the resident size just before the call is subtracted); on a GPU, torch.cuda.max_memory_allocated. Times are the best of
``--repeats`` runs. Data: a uniform 10-dimensional ball isometrically embedded in D = 12 (the
peers' tree-search path) and D = 30 (their chunked-distance path), float64.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import platform
import time

import numpy as np

from _measure import reset_peak_rss, status_kib


def make_ball(n: int, d: int, ambient: int, seed: int = 0) -> np.ndarray:
    """n points uniform in the unit d-ball, rotated into R^ambient and shifted."""
    rng = np.random.default_rng(seed)
    directions = rng.normal(size=(n, d))
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    points = directions * rng.uniform(size=(n, 1)) ** (1 / d)
    basis, _ = np.linalg.qr(rng.normal(size=(ambient, d)))
    return points @ basis.T + rng.normal(size=ambient)


def _ours(task: str, X, device: str):
    import torch

    from paperlab.metrics import mle_levina_bickel, trustworthiness, twonn
    from paperlab.solvers import sparse_random_projection

    data = torch.from_numpy(X).to(device)
    if task == "twonn":
        return lambda: float(twonn(data))
    if task == "mle":
        return lambda: float(mle_levina_bickel(data, k=20))
    if task == "trustworthiness":
        embedded = data[:, :2].contiguous()
        return lambda: float(trustworthiness(data, embedded, n_neighbors=5))
    return lambda: float(sparse_random_projection(data, 500, seed=0).sum())


def _peer(task: str, X):
    import skdim
    from sklearn.manifold import trustworthiness
    from sklearn.random_projection import SparseRandomProjection

    if task == "twonn":
        return lambda: float(skdim.id.TwoNN().fit(X).dimension_)
    if task == "mle":
        return lambda: float(skdim.id.MLE().fit(X, n_neighbors=20).dimension_)
    if task == "trustworthiness":
        return lambda: float(trustworthiness(X, X[:, :2], n_neighbors=5))
    return lambda: float(SparseRandomProjection(500, random_state=0).fit_transform(X).sum())


def _measure(side: str, task: str, X, device: str, repeats: int, out) -> None:
    """Run one measurement in this (fresh) process and put (seconds, peak MiB, value) in ``out``."""
    import torch

    torch.set_num_threads(int(os.environ.get("BENCH_THREADS", torch.get_num_threads())))
    run = _ours(task, X, device) if side == "paperlab" else _peer(task, X)
    cuda = side == "paperlab" and device.startswith("cuda")
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    before = reset_peak_rss()
    best, value = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        value = run()
        if cuda:
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - start)
    if cuda:
        peak = torch.cuda.max_memory_allocated() / 2**20
    else:
        peak = (status_kib("VmHWM") - before) / 2**10
    out.put((best, peak, value))


def measure(side: str, task: str, X, device: str, repeats: int):
    context = mp.get_context("spawn")
    out = context.Queue()
    worker = context.Process(target=_measure, args=(side, task, X, device, repeats, out))
    worker.start()
    result = out.get()
    worker.join()
    return result


def header(device: str) -> None:
    import sklearn
    import torch

    try:
        from importlib.metadata import version

        skdim_version = version("scikit-dimension")
    except Exception:  # noqa: BLE001 - only for the printout
        skdim_version = "?"
    print(
        f"machine: {platform.platform()}, {platform.processor() or platform.machine()}, {os.cpu_count()} cpus"
    )
    if device.startswith("cuda"):
        print(f"gpu: {torch.cuda.get_device_name(device)}")
    threads = os.environ.get("BENCH_THREADS", str(torch.get_num_threads()))
    print(
        f"python {platform.python_version()}, torch {torch.__version__}, numpy {np.__version__}, "
        f"scikit-learn {sklearn.__version__}, scikit-dimension {skdim_version}"
    )
    print(
        f"torch threads {threads}, OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}, device {device}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, a smoke run in seconds")
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda for paperlab's side")
    parser.add_argument("--repeats", type=int, default=None, help="runs per measurement (best is kept)")
    args = parser.parse_args()
    import torch

    device = ("cuda" if torch.cuda.is_available() else "cpu") if args.device == "auto" else args.device
    repeats = args.repeats or (1 if args.quick else 3)
    n_id, n_trust, n_proj, d_proj = (2000, 600, 2000, 1000) if args.quick else (20_000, 5_000, 20_000, 10_000)
    header(device)
    cases = [("twonn", 12, n_id), ("twonn", 30, n_id), ("mle", 12, n_id), ("mle", 30, n_id)]
    cases += [("trustworthiness", 30, n_trust), ("sparse_projection", d_proj, n_proj)]
    print(
        f"\n{'task':<18}{'D':>7}{'n':>8}{'ours s':>10}{'peer s':>10}{'time ratio':>12}"
        f"{'ours MiB':>10}{'peer MiB':>10}{'ours value':>12}{'peer value':>12}"
    )
    for task, ambient, n in cases:
        X = make_ball(n, min(10, ambient), ambient)
        ours = measure("paperlab", task, X, device, repeats)
        peer = measure("peer", task, X, "cpu", repeats)
        values = f"{ours[2]:>12.4f}{peer[2]:>12.4f}" if task != "sparse_projection" else f"{'-':>12}{'-':>12}"
        print(
            f"{task:<18}{ambient:>7}{n:>8}{ours[0]:>10.3f}{peer[0]:>10.3f}{ours[0] / peer[0]:>12.2f}"
            f"{ours[1]:>10.0f}{peer[1]:>10.0f}{values}"
        )
    print("\ntime ratio = ours / peer (< 1: paperlab faster). Projections use different random matrices,")
    print("so their values are not compared; the estimators' values should agree to 0.1.")


if __name__ == "__main__":
    main()
