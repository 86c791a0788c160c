"""Few-shot K-means: paperlab's batched seeded K-means vs scikit-learn's KMeans, one episode at a time.

    python benchmarks/transductive_fewshot.py [--quick] [--threads N]

E episodes of 5-way 1-shot with 15 queries per class (80 points, 64 features, Gaussian classes). Both solve
the same problem (Lloyd's K-means on supports and queries, seeded with the support prototypes, supports
free) and are checked to agree before timing. scikit-learn fits one episode per call, as a few-shot
evaluation loop would; ours solves all episodes in one batched call. The Laplacian bound optimizer
(paperlab only, no installable peer) is timed for scale. Ratios > 1 mean paperlab is faster or leaner.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
import sklearn
import torch
from sklearn.cluster import KMeans

from _measure import best_time_s, header, peak_memory_in_child, peak_memory_mib
from paperlab.solvers import class_prototypes, laplacian_kmeans_bound, seeded_kmeans

VARIANTS = ("ours K-means", "sklearn K-means", "ours Laplacian bound")


def make_episodes(n_episodes: int):
    g = torch.Generator().manual_seed(0)
    centres = 2 * torch.randn(n_episodes, 5, 64, generator=g, dtype=torch.float64)
    support_labels = torch.arange(5).expand(n_episodes, -1).contiguous()
    query_labels = torch.randint(5, (n_episodes, 75), generator=g)
    gather = lambda labels: torch.stack([c[l] for c, l in zip(centres, labels)])  # noqa: E731
    support = gather(support_labels) + 2 * torch.randn(n_episodes, 5, 64, generator=g, dtype=torch.float64)
    query = gather(query_labels) + 2 * torch.randn(n_episodes, 75, 64, generator=g, dtype=torch.float64)
    return support, support_labels, query


def make_runs(n_episodes: int) -> dict:
    support, labels, query = make_episodes(n_episodes)
    points = torch.cat([support, query], dim=1).numpy()
    inits = class_prototypes(support, labels).numpy()

    def sklearn_all():
        return [
            KMeans(5, init=init, n_init=1, algorithm="lloyd", tol=0.0, max_iter=100).fit(x).labels_
            for x, init in zip(points, inits)
        ]

    return {
        "ours K-means": lambda: seeded_kmeans(support, labels, query, fix_supports=False),
        "sklearn K-means": sklearn_all,
        "ours Laplacian bound": lambda: laplacian_kmeans_bound(support, labels, query, lam=0.1, max_iter=50),
    }


def check_agreement(n_episodes: int) -> float:
    runs = make_runs(n_episodes)
    ours = runs["ours K-means"]()
    ours_labels = torch.cat([ours.support_assignments, ours.labels], dim=1).numpy()
    return float(np.mean(ours_labels == np.stack(runs["sklearn K-means"]())))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, a few seconds")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.child:
        variant, n = args.child[0].replace("_", " "), int(args.child[1])
        run = make_runs(n)[variant]
        print(peak_memory_mib(run))
        return
    print(header(sklearn, np))
    sizes = [20, 100] if args.quick else [100, 1000, 5000]
    for n in sizes:
        agreement = check_agreement(min(n, 100))
        runs = make_runs(n)
        times = {name: best_time_s(fn, repeats=1 if n >= 1000 else 3) for name, fn in runs.items()}
        memory = {name: peak_memory_in_child(__file__, name.replace(" ", "_"), n) for name in VARIANTS}
        print(f"\nE={n} episodes (label agreement with sklearn {agreement:.3f})")
        for name in VARIANTS:
            print(f"  {name:22s} {times[name] * 1e3:9.1f} ms  peak {memory[name]:7.1f} MiB")
        ratio_t = times["sklearn K-means"] / times["ours K-means"]
        ratio_m = memory["sklearn K-means"] / max(memory["ours K-means"], 1e-3)
        print(f"  sklearn/ours K-means: time x{ratio_t:.1f}, peak memory x{ratio_m:.2f}")


if __name__ == "__main__":
    sys.exit(main())
