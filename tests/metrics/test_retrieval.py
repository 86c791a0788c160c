"""Retrieval metrics against brute-force oracles, pml's AccuracyCalculator and scikit-learn."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from pytorch_metric_learning.distances import CosineSimilarity, LpDistance
from pytorch_metric_learning.utils.accuracy_calculator import AccuracyCalculator
from pytorch_metric_learning.utils.inference import CustomKNN
from sklearn.metrics import normalized_mutual_info_score
from sklearn.neighbors import KNeighborsClassifier

from paperlab.metrics import kmeans_nmi, knn_accuracy, map_at_r, recall_at_k


def data(n=40, d=4, n_classes=5, seed=0, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, d, generator=g, dtype=dtype), torch.randint(0, n_classes, (n,), generator=g)


def ranking(x, i, metric):
    """Indices of all other items by increasing distance from item i (brute force, numpy)."""
    a = x.numpy()
    if metric == "cosine":
        a = a / np.linalg.norm(a, axis=1, keepdims=True)
        distances = -(a @ a[i])
    else:
        distances = np.linalg.norm(a - a[i], axis=1)
    order = np.argsort(distances, kind="stable")
    return [j for j in order if j != i]


def oracle_recall(x, y, k, metric):
    hits = []
    for i in range(len(y)):
        if (y == y[i]).sum() < 2:
            continue
        hits.append(any(y[j] == y[i] for j in ranking(x, i, metric)[:k]))
    return float(np.mean(hits))


def oracle_map_at_r(x, y, metric):
    scores = []
    for i in range(len(y)):
        r = int((y == y[i]).sum()) - 1
        if r == 0:
            continue
        relevant = [bool(y[j] == y[i]) for j in ranking(x, i, metric)[:r]]
        precisions = [sum(relevant[: j + 1]) / (j + 1) for j in range(r) if relevant[j]]
        scores.append(sum(precisions) / r)
    return float(np.mean(scores))


@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
@pytest.mark.parametrize("k", [1, 3, 8])
def test_recall_at_k_matches_brute_force(metric, k):
    x, y = data(seed=k)
    assert recall_at_k(x, y, k, metric) == pytest.approx(oracle_recall(x, y, k, metric))
    assert recall_at_k(x, y, k, metric, chunk_size=7) == pytest.approx(oracle_recall(x, y, k, metric))


@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
def test_map_at_r_matches_brute_force(metric):
    x, y = data(n=50, seed=3)
    expected = oracle_map_at_r(x, y, metric)
    assert map_at_r(x, y, metric) == pytest.approx(expected)
    assert map_at_r(x, y, metric, chunk_size=6) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("metric", "distance"), [("cosine", CosineSimilarity()), ("euclidean", LpDistance())]
)
def test_recall_at_1_and_map_at_r_match_pml_accuracy_calculator(metric, distance):
    x, y = data(n=80, d=6, n_classes=6, seed=4, dtype=torch.float32)
    if metric == "euclidean":
        distance = LpDistance(normalize_embeddings=False)
    calculator = AccuracyCalculator(
        include=("precision_at_1", "mean_average_precision_at_r"),
        k="max_bin_count",
        knn_func=CustomKNN(distance),
        device=torch.device("cpu"),
    )
    theirs = calculator.get_accuracy(x, y)
    assert recall_at_k(x, y, 1, metric) == pytest.approx(theirs["precision_at_1"], abs=1e-7)
    assert map_at_r(x, y, metric) == pytest.approx(theirs["mean_average_precision_at_r"], abs=1e-7)


def test_lone_items_are_not_queries_and_perfect_embeddings_score_one():
    y = torch.tensor([0, 0, 0, 1, 1, 2])  # item 5 is alone in its class
    x = torch.nn.functional.one_hot(y, 3).double() + 0.01 * data(n=6, d=3, seed=5)[0]
    assert recall_at_k(x, y, 1) == 1.0
    assert map_at_r(x, y, "cosine") == 1.0
    assert np.isnan(recall_at_k(x[3:], torch.tensor([1, 2, 3]), 1))


@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
@pytest.mark.parametrize("k", [1, 4, 5])
def test_knn_accuracy_matches_scikit_learn(metric, k):
    train_x, train_y = data(n=60, seed=6)
    test_x, test_y = data(n=30, seed=7)
    classifier = KNeighborsClassifier(n_neighbors=k, metric=metric, algorithm="brute")
    expected = classifier.fit(train_x.numpy(), train_y.numpy()).score(test_x.numpy(), test_y.numpy())
    assert knn_accuracy(train_x, train_y, test_x, test_y, k, metric) == pytest.approx(expected)
    assert knn_accuracy(train_x, train_y, test_x, test_y, k, metric, chunk_size=4) == pytest.approx(expected)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), k=st.integers(1, 5))
def test_metrics_are_invariant_to_permutation_and_in_unit_interval(seed, k):
    x, y = data(n=25, seed=seed)
    order = torch.randperm(25, generator=torch.Generator().manual_seed(seed))
    for value, permuted in (
        (recall_at_k(x, y, k), recall_at_k(x[order], y[order], k)),
        (map_at_r(x, y), map_at_r(x[order], y[order])),
    ):
        assert value == pytest.approx(permuted)
        assert 0.0 <= value <= 1.0
    # more neighbours can only find more same-class items
    assert recall_at_k(x, y, k + 1) >= recall_at_k(x, y, k)


def test_kmeans_nmi_is_one_on_separated_clusters_and_matches_sklearn_score():
    y = torch.arange(4).repeat_interleave(10)
    x = 10.0 * torch.nn.functional.one_hot(y, 4).double() + 0.1 * data(n=40, d=4, seed=8)[0]
    assert kmeans_nmi(x, y) == pytest.approx(1.0)
    noise, labels = data(n=40, seed=9)
    value = kmeans_nmi(noise, labels, seed=0)
    from sklearn.cluster import KMeans

    clusters = KMeans(5, n_init=10, random_state=0).fit_predict(noise.numpy())
    assert value == pytest.approx(normalized_mutual_info_score(labels.numpy(), clusters))


def test_bad_inputs_raise_naming_the_argument():
    x, y = data()
    with pytest.raises(ValueError, match="k must be smaller"):
        recall_at_k(x, y, k=40)
    with pytest.raises(ValueError, match="k must be > 0"):
        recall_at_k(x, y, k=0)
    with pytest.raises(ValueError, match="metric"):
        map_at_r(x, y, metric="manhattan")
    with pytest.raises(TypeError, match="labels"):
        map_at_r(x, y.float())
    with pytest.raises(ValueError, match="labels"):
        recall_at_k(x, y[:3])
    with pytest.raises(ValueError, match="test_emb must have width"):
        knn_accuracy(x, y, x[:, :2], y)
    with pytest.raises(ValueError, match="k must be at most"):
        knn_accuracy(x, y, x, y, k=41)
    with pytest.raises(ValueError, match="chunk_size"):
        recall_at_k(x, y, 1, chunk_size=0)
    with pytest.raises(ValueError, match="n_clusters"):
        kmeans_nmi(x, y, n_clusters=41)
    bad = x.clone()
    bad[0, 0] = float("nan")
    with pytest.raises(ValueError, match="finite"):
        recall_at_k(bad, y)
