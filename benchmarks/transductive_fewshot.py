"""Few-shot K-means: paperlab's batched seeded K-means vs scikit-learn's KMeans, one episode at a time.

    python benchmarks/transductive_fewshot.py [--quick] [--threads N]

E episodes of 5-way 1-shot with 15 queries per class (80 points, 64 features, Gaussian classes). Both solve
the same problem (Lloyd's K-means on supports and queries, seeded with the support prototypes, supports
free) and are checked to agree before timing. scikit-learn fits one episode per call, as a few-shot
evaluation loop would; ours solves all episodes in one batched call. The Laplacian bound optimizer
(paperlab only, no installable peer) is timed for scale. Ratios > 1 mean paperlab is faster or leaner.
"""

from __future__ import annotations

import sys

import numpy as np
import sklearn
import torch
from sklearn.cluster import KMeans

from _fewshot import gaussian_episodes, run
from paperlab.solvers import class_prototypes, laplacian_kmeans_bound, seeded_kmeans


def make_runs(n_episodes: int) -> dict:
    support, labels, query = gaussian_episodes(n_episodes, centre_scale=2.0, noise_scale=2.0)
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


def label_agreement(n_episodes: int) -> str:
    runs = make_runs(min(n_episodes, 100))
    ours = runs["ours K-means"]()
    ours_labels = torch.cat([ours.support_assignments, ours.labels], dim=1).numpy()
    agreement = float(np.mean(ours_labels == np.stack(runs["sklearn K-means"]())))
    return f"label agreement with sklearn {agreement:.3f}"


def main() -> None:
    run(
        __file__,
        __doc__.splitlines()[0],
        make_runs,
        ours="ours K-means",
        peer="sklearn K-means",
        sizes=([20, 100], [100, 1000, 5000]),
        check=label_agreement,
        repeats=lambda name, n: 1 if n >= 1000 else 3,
        modules=(sklearn, np),
    )


if __name__ == "__main__":
    sys.exit(main())
