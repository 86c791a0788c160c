"""Trustworthiness and kNN preservation against scikit-learn, the blocked kNN search, invariances."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.manifold import trustworthiness as sklearn_trustworthiness
from sklearn.neighbors import NearestNeighbors

import paperlab.metrics._nearest_neighbours as nn_module
from paperlab.metrics import knn_preservation, trustworthiness
from paperlab.metrics._nearest_neighbours import knn_search


def _data(n=200, dim=8, seed=0, noise=0.5):
    """Points X and a noisy 2-D embedding Y (their first two coordinates plus noise)."""
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, dim, generator=g, dtype=torch.float64)
    return X, X[:, :2] + noise * torch.randn(n, 2, generator=g, dtype=torch.float64)


def _naive_knn_preservation(X, Y, k):
    a = NearestNeighbors(n_neighbors=k).fit(X).kneighbors(return_distance=False)
    b = NearestNeighbors(n_neighbors=k).fit(Y).kneighbors(return_distance=False)
    return np.mean([len(set(a[i]) & set(b[i])) / k for i in range(len(X))])


@pytest.mark.parametrize("k", [1, 5, 12, 60])
@pytest.mark.parametrize("noise", [0.0, 0.5, 3.0])
def test_trustworthiness_matches_sklearn(k, noise):
    X, Y = _data(noise=noise)
    expected = sklearn_trustworthiness(X.numpy(), Y.numpy(), n_neighbors=k)
    assert float(trustworthiness(X, Y, n_neighbors=k)) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("k", [1, 5, 30])
@pytest.mark.parametrize("noise", [0.0, 0.5, 3.0])
def test_knn_preservation_matches_naive_sklearn_oracle(k, noise):
    X, Y = _data(noise=noise, seed=1)
    expected = _naive_knn_preservation(X.numpy(), Y.numpy(), k)
    assert float(knn_preservation(X, Y, k)) == pytest.approx(expected, rel=1e-12)


def test_identity_embedding_is_perfect_and_a_shuffled_one_is_near_chance():
    X, _ = _data(n=300)
    assert float(trustworthiness(X, X, 5)) == pytest.approx(1.0)
    assert float(knn_preservation(X, X, 5)) == pytest.approx(1.0)
    shuffled = X[torch.randperm(300, generator=torch.Generator().manual_seed(0))]
    assert float(knn_preservation(X, shuffled, 5)) < 0.05  # chance level is 5 / 299


def test_blocks_give_the_same_answers(monkeypatch):
    X, Y = _data(n=150)
    whole = float(trustworthiness(X, Y, 7)), float(knn_preservation(X, Y, 7))
    monkeypatch.setattr(nn_module, "_BLOCK_ENTRIES", 150 * 11)  # 11 rows per block, ragged last block
    assert (float(trustworthiness(X, Y, 7)), float(knn_preservation(X, Y, 7))) == pytest.approx(whole)


@pytest.mark.parametrize("block_size", [None, 1, 17])
def test_knn_search_matches_sklearn(block_size):
    X = torch.randn(120, 5, generator=torch.Generator().manual_seed(3), dtype=torch.float64) + 100.0
    distances, indices = knn_search(X, 6, block_size=block_size)
    expected_distances, expected_indices = NearestNeighbors(n_neighbors=6).fit(X.numpy()).kneighbors()
    np.testing.assert_allclose(distances.numpy(), expected_distances, rtol=1e-10)
    np.testing.assert_array_equal(indices.numpy(), expected_indices)


def test_knn_search_distances_are_exact_far_from_the_origin_in_float32():
    # ||x||^2 + ||y||^2 - 2 x.y on raw coordinates of 1e4 has an error of about 1e8 * 6e-8 in squared
    # distance, far above these gaps of 1e-2; the returned distances must still be exact
    X = torch.tensor([[1e4, 0.0], [1e4 + 1e-2, 0.0], [1e4 + 3e-2, 0.0], [1e4 + 7e-2, 0.0]])
    distances, indices = knn_search(X, 1)
    exact = (X.double() - X.double()[indices[:, 0]]).norm(dim=1)
    np.testing.assert_allclose(distances[:, 0].numpy(), exact.numpy(), rtol=1e-6)
    np.testing.assert_array_equal(indices[:, 0].numpy(), [1, 0, 1, 2])


X_BASE, Y_BASE = _data(n=120, seed=5)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), log_scale=st.floats(-2, 2), shift=st.floats(-100, 100))
def test_invariant_to_similarity_transforms_of_y_and_to_point_order(seed, log_scale, shift):
    g = torch.Generator().manual_seed(seed)
    rotation, _ = torch.linalg.qr(torch.randn(2, 2, generator=g, dtype=torch.float64))
    order = torch.randperm(120, generator=g)
    moved = Y_BASE @ rotation.T * 10**log_scale + shift
    for metric in (trustworthiness, knn_preservation):
        reference = float(metric(X_BASE, Y_BASE, 6))
        assert float(metric(X_BASE, moved, 6)) == pytest.approx(reference)
        assert float(metric(X_BASE[order], Y_BASE[order], 6)) == pytest.approx(reference)


def test_float32_inputs():
    X, Y = _data()
    for metric in (trustworthiness, knn_preservation):
        value = metric(X.float(), Y.float(), 5)
        assert value.dtype == torch.float32 and value.dim() == 0
        assert float(value) == pytest.approx(float(metric(X, Y, 5)), rel=1e-5)


@pytest.mark.parametrize(
    "call, error",
    [
        (lambda X, Y: trustworthiness(X, Y[:-1]), ValueError),
        (lambda X, Y: trustworthiness(X, Y, n_neighbors=100), ValueError),
        (lambda X, Y: trustworthiness(X, Y, n_neighbors=0), ValueError),
        (lambda X, Y: trustworthiness(X, Y, n_neighbors=2.0), TypeError),
        (lambda X, Y: trustworthiness(X.numpy(), Y), TypeError),
        (lambda X, Y: trustworthiness(X, Y[:, 0]), ValueError),
        (lambda X, Y: knn_preservation(X, torch.full_like(Y, math.nan)), ValueError),
        (lambda X, Y: knn_preservation(X, Y, k=200), ValueError),
        (lambda X, Y: knn_preservation(X.long(), Y), TypeError),
        (lambda X, Y: knn_preservation(X[:0], Y[:0]), ValueError),
    ],
)
def test_bad_inputs(call, error):
    X, Y = _data()
    with pytest.raises(error):
        call(X, Y)


def test_inputs_that_require_grad_are_accepted():
    X, Y = _data()
    X.requires_grad_()
    assert float(trustworthiness(X, Y, 5)) == pytest.approx(float(trustworthiness(X.detach(), Y, 5)))
    assert float(knn_preservation(X, Y, 5)) == pytest.approx(float(knn_preservation(X.detach(), Y, 5)))
