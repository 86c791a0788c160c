import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from paperlab.metrics.laplacian_score import laplacian_score


def _naive_laplacian_score(x, k, t):
    """The 2005 paper's four steps, one loop at a time, in numpy."""
    n, d = x.shape
    dist = np.array([[np.sum((x[i] - x[j]) ** 2) for j in range(n)] for i in range(n)])
    knn = [set(np.argsort(dist[i] + np.where(np.arange(n) == i, np.inf, 0))[:k]) for i in range(n)]
    s = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            if i != j and (j in knn[i] or i in knn[j]):
                s[i, j] = np.exp(-dist[i, j] / t)
    dmat = np.diag(s.sum(1))
    lap = dmat - s
    ones = np.ones(n)
    scores = []
    for r in range(d):
        f = x[:, r]
        f_tilde = f - (f @ dmat @ ones) / (ones @ dmat @ ones) * ones
        scores.append((f_tilde @ lap @ f_tilde) / (f_tilde @ dmat @ f_tilde))
    return np.array(scores)


@settings(max_examples=25, deadline=None)
@given(st.integers(8, 25), st.integers(1, 5), st.integers(1, 4), st.floats(0.5, 10.0), st.integers(0, 1000))
def test_matches_naive_formula(n, d, k, t, seed):
    x = np.random.default_rng(seed).normal(size=(n, d))
    got = laplacian_score(torch.from_numpy(x), n_neighbors=k, t=t).numpy()
    np.testing.assert_allclose(got, _naive_laplacian_score(x, k, t), rtol=1e-9, atol=1e-12)


def test_default_width_and_structure_preference():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 200)
    clustered = labels * 6.0 + rng.normal(size=200)  # carries the manifold (cluster) structure
    noise = rng.normal(size=(200, 3)) * 3.0
    x = torch.from_numpy(np.column_stack([clustered, noise]))
    score = laplacian_score(x, n_neighbors=5)
    assert score.argmin().item() == 0
    # a huge width flattens the kernel to the plain kNN graph: the ranking must still hold
    assert laplacian_score(x, n_neighbors=5, t=1e9).argmin().item() == 0


def test_constant_feature_is_worst():
    x = torch.randn(30, 3, dtype=torch.float64)
    x[:, 1] = 2.5
    score = laplacian_score(x)
    assert score[1] == float("inf") and torch.isfinite(score[[0, 2]]).all()


def test_bad_inputs():
    with pytest.raises(ValueError, match="n_neighbors"):
        laplacian_score(torch.randn(5, 2), n_neighbors=5)
    with pytest.raises(ValueError, match="t must"):
        laplacian_score(torch.randn(10, 2), t=0.0)
    with pytest.raises(ValueError, match="x must"):
        laplacian_score(torch.randn(10))
    with pytest.raises(ValueError, match="finite"):
        laplacian_score(torch.tensor([[float("inf"), 1.0]] * 10))
