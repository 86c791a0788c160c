"""Tests for k-NN positive pairs: the graph against scikit-learn, the sampled pairs, bad inputs."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.neighbors import NearestNeighbors

from paperlab.data import knn_neighbours, knn_pair_batch, knn_pairs


@settings(max_examples=25, deadline=None)
@given(n=st.integers(3, 60), d=st.integers(1, 6), seed=st.integers(0, 2**16), block=st.integers(1, 70))
def test_neighbours_match_sklearn(n, d, seed, block):
    X = torch.randn(n, d, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    k = min(4, n - 1)
    ours = knn_neighbours(X, k, block_size=block)
    distances, expected = NearestNeighbors(n_neighbors=k).fit(X.numpy()).kneighbors()
    assert ours.shape == (n, k) and ours.dtype == torch.long
    # same neighbours at the same distances (continuous data: ties have probability zero)
    ours_distances = torch.linalg.vector_norm(X[:, None, :] - X[ours], dim=-1).numpy()
    np.testing.assert_allclose(ours_distances, distances, rtol=1e-10, atol=1e-12)
    np.testing.assert_array_equal(ours.numpy(), expected)


def test_pairs_are_neighbours_and_cover_all_k():
    X = torch.randn(50, 3, generator=torch.Generator().manual_seed(0))
    neighbours = knn_neighbours(X, 5)
    generator = torch.Generator().manual_seed(1)
    seen = torch.zeros(50, 5, dtype=torch.bool)
    for _ in range(60):
        partner = knn_pairs(neighbours, generator=generator)  # (50,)
        match = neighbours == partner[:, None]  # (50, 5)
        assert bool(match.any(dim=1).all())  # every partner is one of the anchor's k neighbours
        seen |= match
    assert bool(seen.all())  # uniform choice: every neighbour is drawn at some point


def test_pair_batch_distinct_anchors_and_seeded():
    X = torch.randn(40, 2, generator=torch.Generator().manual_seed(2))
    neighbours = knn_neighbours(X, 3)
    anchors, partners = knn_pair_batch(neighbours, 16, generator=5)
    assert len(set(anchors.tolist())) == 16
    assert bool((neighbours[anchors] == partners[:, None]).any(dim=1).all())
    again = knn_pair_batch(neighbours, 16, generator=5)
    assert torch.equal(anchors, again[0]) and torch.equal(partners, again[1])


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda: knn_neighbours(torch.randn(5, 2), 5), ValueError, "k must be < n_samples"),
        (lambda: knn_neighbours(torch.randn(5, 2), 0), ValueError, "k"),
        (lambda: knn_neighbours(torch.randn(5), 2), ValueError, "X"),
        (lambda: knn_neighbours(torch.full((5, 2), float("inf")), 2), ValueError, "finite"),
        (lambda: knn_neighbours(torch.randn(5, 2), 2, block_size=0), ValueError, "block_size"),
        (lambda: knn_pairs(torch.zeros(5, 2)), TypeError, "int64"),
        (lambda: knn_pairs(torch.zeros(5, 2, dtype=torch.long), torch.tensor([5])), ValueError, "anchors"),
        (lambda: knn_pair_batch(torch.zeros(5, 2, dtype=torch.long), 6), ValueError, "batch_size"),
    ],
)
def test_bad_inputs(call, error, match):
    with pytest.raises(error, match=match):
        call()
