r"""Scores of a clustering against ground-truth labels: Hungarian-matched accuracy, NMI and ARI.

All three read the contingency table :math:`N_{ck}` (items of class c put in cluster k) and ignore
how the clusters are numbered. Used by "Unsupervised Manifold Linearizing and Clustering (2023)".
"""

from __future__ import annotations

import torch
from scipy.optimize import linear_sum_assignment

from paperlab._checks import check_tensor


def _check_labels(name: str, labels) -> None:
    check_tensor(name, labels, dim=1)
    if labels.is_floating_point() or labels.dtype == torch.bool or labels.is_complex():
        raise TypeError(f"{name} must be an integer tensor, got dtype {labels.dtype}")


def contingency_matrix(labels: torch.Tensor, clusters: torch.Tensor) -> torch.Tensor:
    """Counts :math:`N_{ck}` of items with label c in cluster k (labels and clusters renumbered 0..).

    Args:
        labels: (n,) integer ground-truth labels.
        clusters: (n,) integer cluster assignments.

    Returns:
        (n_labels, n_clusters) float64 counts, on the device of ``labels``; only values that occur get
        a row or a column.
    """
    _check_labels("labels", labels)
    _check_labels("clusters", clusters)
    if labels.shape != clusters.shape:
        raise ValueError(
            f"labels and clusters must have the same shape, got {tuple(labels.shape)} and {tuple(clusters.shape)}"
        )
    if labels.device != clusters.device:
        raise ValueError(
            f"labels and clusters must share a device, got {labels.device} and {clusters.device}"
        )
    _, label_ids = torch.unique(labels, return_inverse=True)  # (n,) in 0..n_labels-1
    _, cluster_ids = torch.unique(clusters, return_inverse=True)  # (n,) in 0..n_clusters-1
    n_labels, n_clusters = int(label_ids.max()) + 1, int(cluster_ids.max()) + 1
    flat = label_ids * n_clusters + cluster_ids  # (n,) index into the flattened table
    counts = torch.bincount(flat, minlength=n_labels * n_clusters)
    return counts.reshape(n_labels, n_clusters).double()  # (n_labels, n_clusters)


def clustering_accuracy(labels: torch.Tensor, clusters: torch.Tensor) -> float:
    r"""Accuracy after the best one-to-one matching of clusters to labels (Hungarian algorithm).

    .. math:: \mathrm{ACC} = \max_{\sigma} \frac1n \sum_i 1[y_i = \sigma(k_i)]

    over injective maps :math:`\sigma` from clusters to labels (with more clusters than labels the extra
    clusters count as errors).

    Args:
        labels: (n,) integer ground-truth labels.
        clusters: (n,) integer cluster assignments.

    Returns:
        A float in [0, 1].
    """
    table = contingency_matrix(labels, clusters).cpu().numpy()
    rows, cols = linear_sum_assignment(table, maximize=True)
    return float(table[rows, cols].sum() / table.sum())


def _entropy(counts: torch.Tensor) -> torch.Tensor:
    p = counts / counts.sum()
    return -(p * p.clamp_min(torch.finfo(p.dtype).tiny).log()).sum()


def normalized_mutual_info(labels: torch.Tensor, clusters: torch.Tensor) -> float:
    r"""Mutual information of labels and clusters over the arithmetic mean of their entropies.

    .. math:: \mathrm{NMI} = \frac{I(Y; K)}{(H(Y) + H(K)) / 2}, \qquad
              I(Y; K) = \sum_{ck} p_{ck} \log\frac{p_{ck}}{p_c\, p_k}

    (scikit-learn's default normalization). It is 1 when both partitions are equal up to renaming, and
    1 as well when both are a single group.

    Args:
        labels: (n,) integer ground-truth labels.
        clusters: (n,) integer cluster assignments.

    Returns:
        A float in [0, 1].
    """
    table = contingency_matrix(labels, clusters)
    h_labels, h_clusters = _entropy(table.sum(1)), _entropy(table.sum(0))
    if float(h_labels) == 0.0 and float(h_clusters) == 0.0:
        return 1.0
    mutual_info = h_labels + h_clusters - _entropy(table.flatten())  # I = H(Y) + H(K) - H(Y, K)
    return float((mutual_info / ((h_labels + h_clusters) / 2)).clamp(0.0, 1.0))


def adjusted_rand_index(labels: torch.Tensor, clusters: torch.Tensor) -> float:
    r"""Rand index of the pairs of items, adjusted for chance (0 for random, 1 for equal partitions).

    .. math:: \mathrm{ARI} = \frac{\sum_{ck}\binom{N_{ck}}{2} - E}{\tfrac12(\sum_c \binom{a_c}{2}
              + \sum_k \binom{b_k}{2}) - E}, \qquad E = \frac{\sum_c\binom{a_c}{2}\sum_k\binom{b_k}{2}}{\binom n2}

    with :math:`a_c, b_k` the row and column sums of the contingency table.

    Args:
        labels: (n,) integer ground-truth labels.
        clusters: (n,) integer cluster assignments.

    Returns:
        A float in [-1, 1].
    """
    table = contingency_matrix(labels, clusters)

    def pairs(x: torch.Tensor) -> torch.Tensor:
        return (x * (x - 1) / 2).sum()

    n = table.sum()
    together, by_label, by_cluster = pairs(table), pairs(table.sum(1)), pairs(table.sum(0))
    expected = by_label * by_cluster / (n * (n - 1) / 2) if float(n) > 1 else torch.zeros_like(n)
    best = (by_label + by_cluster) / 2
    if float(best - expected) == 0.0:  # both partitions trivial (one group, or all singletons)
        return 1.0
    return float((together - expected) / (best - expected))
