"""Clustering accuracy, NMI and ARI against scikit-learn, a brute-force matching and their invariances."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score
from sklearn.metrics.cluster import contingency_matrix as sk_contingency

from paperlab.metrics import (
    adjusted_rand_index,
    clustering_accuracy,
    contingency_matrix,
    normalized_mutual_info,
)

partitions = st.integers(1, 60).flatmap(
    lambda n: st.tuples(
        st.lists(st.integers(0, 4), min_size=n, max_size=n),
        st.lists(st.integers(0, 5), min_size=n, max_size=n),
    )
)


def brute_force_accuracy(labels, clusters):
    label_values, cluster_values = sorted(set(labels)), sorted(set(clusters))
    best = 0
    for image in itertools.permutations(label_values + [None] * len(cluster_values), len(cluster_values)):
        mapping = dict(zip(cluster_values, image))
        best = max(best, sum(mapping[c] == y for y, c in zip(labels, clusters)))
    return best / len(labels)


@settings(max_examples=25, deadline=None)
@given(pair=partitions)
def test_scores_match_sklearn_and_brute_force(pair):
    labels, clusters = (torch.tensor(p) for p in pair)
    assert np.array_equal(contingency_matrix(labels, clusters).numpy(), sk_contingency(*pair))
    assert normalized_mutual_info(labels, clusters) == pytest.approx(
        normalized_mutual_info_score(*pair), abs=1e-9
    )
    assert adjusted_rand_index(labels, clusters) == pytest.approx(adjusted_rand_score(*pair), abs=1e-9)
    if len(pair[0]) <= 8:
        assert clustering_accuracy(labels, clusters) == pytest.approx(brute_force_accuracy(*pair))


@settings(max_examples=25, deadline=None)
@given(pair=partitions, seed=st.integers(0, 100))
def test_scores_ignore_cluster_names(pair, seed):
    labels, clusters = (torch.tensor(p) for p in pair)
    renamed = torch.randperm(6, generator=torch.Generator().manual_seed(seed))[clusters] + 10
    for score in (clustering_accuracy, normalized_mutual_info, adjusted_rand_index):
        assert score(labels, renamed) == pytest.approx(score(labels, clusters), abs=1e-12)


def test_perfect_and_known_values():
    labels = torch.tensor([0, 0, 1, 1, 2, 2])
    assert clustering_accuracy(labels, torch.tensor([5, 5, 3, 3, 9, 9])) == 1.0
    assert normalized_mutual_info(labels, torch.tensor([5, 5, 3, 3, 9, 9])) == pytest.approx(1.0)
    assert clustering_accuracy(labels, torch.tensor([0, 1, 1, 1, 2, 2])) == pytest.approx(5 / 6)
    assert clustering_accuracy(labels, torch.zeros(6, dtype=torch.long)) == pytest.approx(2 / 6)


def test_bad_inputs():
    with pytest.raises(TypeError, match="labels"):
        clustering_accuracy(torch.tensor([0.0, 1.0]), torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="same shape"):
        normalized_mutual_info(torch.tensor([0, 1]), torch.tensor([0, 1, 1]))
    with pytest.raises(ValueError, match="clusters"):
        adjusted_rand_index(torch.tensor([0, 1]), torch.tensor([[0, 1]]))
    with pytest.raises(ValueError, match="labels"):
        clustering_accuracy(torch.tensor([], dtype=torch.long), torch.tensor([], dtype=torch.long))
