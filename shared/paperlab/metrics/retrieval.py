"""Retrieval metrics of an embedding: Recall@K, MAP@R, k-NN accuracy and k-means NMI.

Neighbours are found exactly, by blocks of query rows against all references, so no n x n matrix
is held (about 16 M scores per block). In the leave-one-out metrics (Recall@K, MAP@R) every item
queries all the others; queries whose class has no other member are left out, as in
pytorch-metric-learning's ``AccuracyCalculator``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from paperlab._checks import check_choice, check_positive, check_tensor

METRICS = ("euclidean", "cosine")
_BLOCK_ENTRIES = 2**24


def _check_labelled(name: str, embeddings, labels_name: str, labels) -> None:
    check_tensor(name, embeddings, dim=2, floating=True)
    check_tensor(labels_name, labels, dim=1)
    if labels.is_floating_point() or labels.dtype == torch.bool:
        raise TypeError(f"{labels_name} must be an integer tensor, got dtype {labels.dtype}")
    if labels.shape[0] != embeddings.shape[0]:
        raise ValueError(
            f"{labels_name} must have one entry per row of {name} ({embeddings.shape[0]}), "
            f"got shape {tuple(labels.shape)}"
        )


def _block_size(chunk_size: int | None, n_references: int) -> int:
    if chunk_size is None:
        return max(1, _BLOCK_ENTRIES // max(n_references, 1))
    return check_positive("chunk_size", chunk_size, integer=True)


def _scores(queries, references, metric):
    """Similarity scores, larger is closer: cosine similarity or minus the Euclidean distance."""
    if metric == "cosine":
        return F.normalize(queries, dim=1) @ F.normalize(references, dim=1).T  # (b, n)
    return -torch.cdist(queries, references)  # (b, n)


def _nearest(queries, references, k, metric, chunk_size, leave_one_out):
    """Yield (start, indices (b, k)) of each block's k nearest references, nearest first."""
    block = _block_size(chunk_size, references.shape[0])
    for start in range(0, queries.shape[0], block):
        scores = _scores(queries[start : start + block], references, metric)  # (b, n)
        if leave_one_out:
            own = torch.arange(scores.shape[0], device=scores.device)
            scores[own, start + own] = float("-inf")  # an item does not retrieve itself
        yield start, torch.topk(scores, k, dim=1).indices


def _other_members(labels: torch.Tensor) -> torch.Tensor:
    """For each item, how many other items share its label, (n,)."""
    _, class_of, counts = torch.unique(labels, return_inverse=True, return_counts=True)
    return counts[class_of] - 1


def recall_at_k(
    embeddings: torch.Tensor,
    labels: torch.Tensor,
    k: int = 1,
    metric: str = "euclidean",
    chunk_size: int | None = None,
) -> float:
    r"""Recall@K: the fraction of queries with at least one same-class item among their K nearest.

    .. math:: \mathrm{R@K} = \frac{1}{|Q|} \sum_{i \in Q} \mathbb{1}\big[\exists j \in
              \mathrm{NN}_K(i) : y_j = y_i\big]

    Every item queries all the others (leave-one-out); Q leaves out items alone in their class.
    Recall@1 equals pml's ``precision_at_1``.

    Args:
        embeddings: (n, D) embeddings.
        labels: (n,) integer labels.
        k: number of neighbours, 1 <= k < n.
        metric: ``"euclidean"`` or ``"cosine"``.
        chunk_size: query rows per block (default: about 16 M scores per block).

    Returns:
        Recall@K in [0, 1] (NaN when no item has a same-class partner).

    From "Deep Metric Learning via Lifted Structured Feature Embedding (2016)", the usual protocol.
    """
    _check_labelled("embeddings", embeddings, "labels", labels)
    check_choice("metric", metric, set(METRICS))
    check_positive("k", k, integer=True)
    if k >= embeddings.shape[0]:
        raise ValueError(f"k must be smaller than the number of items {embeddings.shape[0]}, got {k}")
    hits = torch.zeros(embeddings.shape[0], dtype=torch.bool, device=embeddings.device)
    for start, neighbours in _nearest(embeddings, embeddings, k, metric, chunk_size, leave_one_out=True):
        own = labels[start : start + neighbours.shape[0], None]  # (b, 1)
        hits[start : start + neighbours.shape[0]] = (labels[neighbours] == own).any(dim=1)
    queries = _other_members(labels) > 0
    return float(hits[queries].double().mean()) if bool(queries.any()) else float("nan")


def map_at_r(
    embeddings: torch.Tensor,
    labels: torch.Tensor,
    metric: str = "euclidean",
    chunk_size: int | None = None,
) -> float:
    r"""MAP@R: mean average precision over the first R results, R = number of same-class items.

    .. math:: \mathrm{MAP@R} = \frac{1}{|Q|} \sum_{i \in Q} \frac{1}{R_i} \sum_{j=1}^{R_i}
              \mathrm{rel}_i(j)\, \frac{1}{j} \sum_{l \le j} \mathrm{rel}_i(l)

    Leave-one-out over the set; Q leaves out items alone in their class. Equals pml's
    ``mean_average_precision_at_r``.

    Args:
        embeddings: (n, D) embeddings.
        labels: (n,) integer labels.
        metric: ``"euclidean"`` or ``"cosine"``.
        chunk_size: query rows per block.

    Returns:
        MAP@R in [0, 1] (NaN when no item has a same-class partner).

    From "A Metric Learning Reality Check (2020)".
    """
    _check_labelled("embeddings", embeddings, "labels", labels)
    check_choice("metric", metric, set(METRICS))
    r = _other_members(labels)  # (n,)
    queries = r > 0
    if not bool(queries.any()):
        return float("nan")
    precision = torch.zeros(embeddings.shape[0], dtype=torch.float64, device=embeddings.device)
    r_max = int(r.max())
    for start, neighbours in _nearest(embeddings, embeddings, r_max, metric, chunk_size, leave_one_out=True):
        rows = slice(start, start + neighbours.shape[0])
        relevant = (labels[neighbours] == labels[rows, None]).double()  # (b, r_max)
        ranks = torch.arange(1, r_max + 1, device=relevant.device, dtype=torch.float64)
        within_r = ranks[None, :] <= r[rows, None]  # (b, r_max): only the first R_i results count
        precision_at_j = relevant.cumsum(dim=1) / ranks  # (b, r_max)
        summed = (precision_at_j * relevant * within_r).sum(dim=1)
        precision[rows] = summed / r[rows].clamp(min=1)
    return float(precision[queries].mean())


def knn_accuracy(
    train_emb: torch.Tensor,
    train_y: torch.Tensor,
    test_emb: torch.Tensor,
    test_y: torch.Tensor,
    k: int = 1,
    metric: str = "euclidean",
    chunk_size: int | None = None,
) -> float:
    r"""Accuracy of the k-nearest-neighbour majority vote of the training set on the test set.

    .. math:: \hat y(x) = \arg\max_c \sum_{j \in \mathrm{NN}_k(x)} \mathbb{1}[y_j = c]

    Ties go to the smallest label, as in scikit-learn's ``KNeighborsClassifier``.

    Args:
        train_emb: (n, D) reference embeddings.
        train_y: (n,) their integer labels.
        test_emb: (m, D) query embeddings.
        test_y: (m,) their integer labels.
        k: number of neighbours, 1 <= k <= n.
        metric: ``"euclidean"`` or ``"cosine"``.
        chunk_size: query rows per block.

    Returns:
        The fraction of test points whose vote equals their label.
    """
    _check_labelled("train_emb", train_emb, "train_y", train_y)
    _check_labelled("test_emb", test_emb, "test_y", test_y)
    if train_emb.shape[1] != test_emb.shape[1]:
        raise ValueError(
            f"test_emb must have width {train_emb.shape[1]} like train_emb, got {test_emb.shape[1]}"
        )
    check_choice("metric", metric, set(METRICS))
    check_positive("k", k, integer=True)
    if k > train_emb.shape[0]:
        raise ValueError(f"k must be at most the number of training points {train_emb.shape[0]}, got {k}")
    classes, class_of = torch.unique(train_y, return_inverse=True)
    correct = 0
    for start, neighbours in _nearest(test_emb, train_emb, k, metric, chunk_size, leave_one_out=False):
        votes = torch.zeros(neighbours.shape[0], len(classes), device=neighbours.device)  # (b, C)
        votes.scatter_add_(1, class_of[neighbours], torch.ones_like(neighbours, dtype=votes.dtype))
        predicted = classes[votes.argmax(dim=1)]  # argmax keeps the first (smallest) label on ties
        correct += int((predicted == test_y[start : start + neighbours.shape[0]]).sum())
    return correct / test_emb.shape[0]


def kmeans_nmi(
    embeddings: torch.Tensor, labels: torch.Tensor, n_clusters: int | None = None, seed: int = 0
) -> float:
    """Normalized mutual information between the labels and a k-means clustering of the embeddings.

    Args:
        embeddings: (n, D) embeddings.
        labels: (n,) integer labels.
        n_clusters: number of clusters (default: the number of distinct labels).
        seed: k-means initialization seed.

    Returns:
        NMI in [0, 1] (scikit-learn's k-means with 10 restarts and its arithmetic-mean NMI).
    """
    from sklearn.cluster import KMeans
    from sklearn.metrics import normalized_mutual_info_score

    _check_labelled("embeddings", embeddings, "labels", labels)
    n_clusters = len(torch.unique(labels)) if n_clusters is None else n_clusters
    check_positive("n_clusters", n_clusters, integer=True)
    if n_clusters > embeddings.shape[0]:
        raise ValueError(
            f"n_clusters must be at most the number of items {embeddings.shape[0]}, got {n_clusters}"
        )
    points = embeddings.detach().cpu().double().numpy()
    clusters = KMeans(n_clusters=n_clusters, n_init=10, random_state=seed).fit_predict(points)
    return float(normalized_mutual_info_score(labels.cpu().numpy(), clusters))
