"""t-SNE: paperlab (torch, FFT interpolation) vs openTSNE (FFT, n_jobs=1) vs scikit-learn (Barnes-Hut).

    python benchmarks/tsne.py            # n in {2000, 10000}, 1000 iterations (250 early exaggeration)
    python benchmarks/tsne.py --quick    # n = 1000, 300 iterations, a few seconds
    python benchmarks/tsne.py --sizes 10000 --no-sklearn

Input: a 50-D mixture of 10 Gaussians, perplexity 30, PCA initialisation, one thread everywhere.
openTSNE is configured with the same schedule as ours (early exaggeration 12 for 250 iterations, momentum
0.5 then 0.8, exact neighbours, a step n/12 in its convention, which equals our ``"auto"`` rate with the
gradient's factor 4); scikit-learn runs its defaults for Barnes-Hut with the same iteration count. Times are
whole runs (neighbours, affinities and optimisation), wall and CPU (CPU is less affected by other
processes on a shared machine); peak memory is measured in a fresh child process for each library.
Ratios are ours / peer: time < 1 means paperlab is faster; the KL ratio compares final KL(P || Q).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import openTSNE
import sklearn
import torch
from sklearn.manifold import TSNE as SklearnTSNE

from _measure import header, peak_memory_in_child, peak_memory_mib
from paperlab.solvers import tsne

LIBRARIES = ("paperlab", "openTSNE", "sklearn-BH")
EARLY_ITER, PERPLEXITY = 250, 30.0


def gaussian_mixture(n: int, dim: int = 50, n_clusters: int = 10) -> np.ndarray:
    """Seeded (n, dim) float32 points from 10 well-separated isotropic Gaussians."""
    rng = np.random.default_rng(0)
    centres = rng.normal(scale=3.0, size=(n_clusters, dim))
    return (centres[rng.integers(n_clusters, size=n)] + rng.normal(size=(n, dim))).astype(np.float32)


def run(library: str, X: np.ndarray, n_iter: int) -> float:
    """Embed ``X`` with ``library``; return its final KL divergence."""
    n = len(X)
    if library == "paperlab":
        return tsne(torch.from_numpy(X), perplexity=PERPLEXITY, n_iter=n_iter, method="fft").kl_divergence
    if library == "openTSNE":
        model = openTSNE.TSNE(
            perplexity=PERPLEXITY,
            n_iter=n_iter - EARLY_ITER,
            early_exaggeration_iter=EARLY_ITER,
            early_exaggeration=12.0,
            learning_rate=max(n / 12.0, 200.0),
            initial_momentum=0.5,
            final_momentum=0.8,
            negative_gradient_method="fft",
            neighbors="exact",
            n_jobs=1,
            random_state=0,
        )
        return float(model.fit(X).kl_divergence)
    model = SklearnTSNE(perplexity=PERPLEXITY, max_iter=n_iter, method="barnes_hut", n_jobs=1, random_state=0)
    model.fit(X)
    return float(model.kl_divergence_)


def timed(library: str, X: np.ndarray, n_iter: int) -> tuple[float, float, float]:
    """(wall s, CPU s, KL) of one run."""
    wall, cpu = time.perf_counter(), time.process_time()
    kl = run(library, X, n_iter)
    return time.perf_counter() - wall, time.process_time() - cpu, kl


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="n = 1000 and 300 iterations")
    parser.add_argument("--no-sklearn", action="store_true", help="skip scikit-learn (slow at n = 10000)")
    parser.add_argument("--sizes", type=int, nargs="+", help="override the sample sizes")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    torch.set_num_threads(1)
    if args.child:
        library, n, n_iter = args.child[0], int(args.child[1]), int(args.child[2])
        X = gaussian_mixture(n)
        print(peak_memory_mib(lambda: run(library, X, n_iter)))
        return
    sizes, n_iter = ((1000,), 300) if args.quick else ((2000, 10000), 1000)
    sizes = args.sizes or sizes
    libraries = [lib for lib in LIBRARIES if not (args.no_sklearn and lib == "sklearn-BH")]
    print(header(openTSNE, sklearn, np))
    print(f"50-D Gaussian mixture, perplexity {PERPLEXITY:g}, {n_iter} iterations ({EARLY_ITER} exaggerated)")
    columns = f"{'n':>6s} {'library':>11s} {'wall s':>8s} {'cpu s':>8s} {'MiB':>7s} {'KL':>7s}"
    print(columns + f" {'cpu ratio':>9s} {'wall ratio':>10s} {'KL ratio':>8s} (ours / peer)")
    for n in sizes:
        X = gaussian_mixture(n)
        results = {}
        for library in libraries:
            wall, cpu, kl = timed(library, X, n_iter)
            results[library] = (wall, cpu, kl, peak_memory_in_child(__file__, library, n, n_iter))
        ours = results["paperlab"]
        for library, (wall, cpu, kl, mib) in results.items():
            ratios = (
                ""
                if library == "paperlab"
                else f" {ours[1] / cpu:9.2f} {ours[0] / wall:10.2f} {ours[2] / kl:8.3f}"
            )
            print(f"{n:6d} {library:>11s} {wall:8.2f} {cpu:8.2f} {mib:7.1f} {kl:7.4f}" + ratios)


if __name__ == "__main__":
    main()
