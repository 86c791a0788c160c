"""FastRP against a naive dense implementation of its formula; layouts, determinism, bad inputs.

Also the DeepWalk-like random-walk baseline: walks follow edges, co-occurrence and PPMI against loops.
"""

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from paperlab.data import stochastic_block_model
from paperlab.solvers import (
    fastrp,
    fastrp_similarity,
    positive_pmi,
    random_walk_embedding,
    random_walks,
    sparse_random_matrix,
    transition_matrix,
    window_cooccurrence,
)


def _naive_similarity(A, weights, beta):
    """S = sum_k alpha_k (D^-1 A)^k diag(d^beta), straight from the formula, in numpy float64."""
    A = np.asarray(A, dtype=np.float64)
    d = A.sum(1)
    transition = np.divide(A, d[:, None], out=np.zeros_like(A), where=d[:, None] > 0)
    scaling = np.where(d > 0, np.power(np.where(d > 0, d, 1.0), beta), 0.0)
    S = np.zeros_like(A)
    for k, alpha in enumerate(weights, start=1):
        S += alpha * np.linalg.matrix_power(transition, k) @ np.diag(scaling)
    return S


def _random_graph(n, seed, density=0.3, weighted=True):
    g = torch.Generator().manual_seed(seed)
    mask = (torch.rand(n, n, generator=g, dtype=torch.float64) < density).double()
    values = torch.rand(n, n, generator=g, dtype=torch.float64) + 0.5 if weighted else 1.0
    return mask * values


def _projection(k, n, seed, density="auto"):
    return sparse_random_matrix(k, n, density=density, seed=seed, dtype=torch.float64).to_dense().T.numpy()


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(2, 23),
    k=st.integers(1, 9),
    weights=st.lists(st.floats(-2, 2), min_size=1, max_size=4),
    beta=st.floats(-1, 0.5),
    seed=st.integers(0, 1000),
)
def test_matches_naive_formula(n, k, weights, beta, seed):
    A = _random_graph(n, seed)  # directed, weighted, possibly with isolated nodes and self loops
    expected = _naive_similarity(A.numpy(), weights, beta) @ _projection(k, n, seed)
    got = fastrp(A, k, weights=weights, normalization_strength=beta, seed=seed)
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-9, atol=1e-12)
    S = fastrp_similarity(A, weights=weights, normalization_strength=beta)
    np.testing.assert_allclose(S.numpy(), _naive_similarity(A.numpy(), weights, beta), rtol=1e-9, atol=1e-12)


def test_normalize_powers_matches_naive():
    A = _random_graph(17, 3)
    R = _projection(5, 17, seed=1, density=0.5)
    d = A.sum(1).numpy()
    transition = np.diag(1 / d) @ A.numpy()
    current, expected = np.diag(d**-0.7) @ R, 0
    for alpha in (0.5, 1.0, 2.0):
        current = transition @ current
        expected = expected + alpha * current / np.linalg.norm(current, axis=1, keepdims=True)
    got = fastrp(A, 5, (0.5, 1.0, 2.0), -0.7, density=0.5, seed=1, normalize_powers=True)
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-9)


def test_sparse_csr_and_dense_inputs_agree():
    graph = stochastic_block_model([40, 50, 30], 0.2, 0.02, seed=0, dtype=torch.float64)
    dense = fastrp(graph.adjacency.to_dense(), 16, normalization_strength=-0.5, seed=4)
    coo = fastrp(graph.adjacency, 16, normalization_strength=-0.5, seed=4)
    csr = fastrp(graph.adjacency.to_sparse_csr(), 16, normalization_strength=-0.5, seed=4)
    torch.testing.assert_close(coo, dense)
    torch.testing.assert_close(csr, dense)
    torch.testing.assert_close(
        transition_matrix(graph.adjacency).to_dense(), transition_matrix(graph.adjacency.to_dense())
    )


def test_projection_preserves_similarity_gram_matrix():
    # the point of the random projection: N N^T approximates S S^T (E[R R^T] = I) once d is large
    graph = stochastic_block_model([60, 60], 0.2, 0.02, seed=1, dtype=torch.float64)
    S = fastrp_similarity(graph.adjacency, normalization_strength=-0.5)
    N = fastrp(graph.adjacency, 4000, normalization_strength=-0.5, seed=0)
    error = torch.linalg.norm(N @ N.T - S @ S.T) / torch.linalg.norm(S @ S.T)
    assert error < 0.1


def test_transition_rows_sum_to_one_and_isolated_nodes_stay_zero():
    A = _random_graph(12, 0)
    A[3] = 0
    A[:, 3] = 0
    P = transition_matrix(A)
    sums = P.sum(1)
    assert sums[3] == 0
    torch.testing.assert_close(sums[torch.arange(12) != 3], torch.ones(11, dtype=torch.float64))
    N = fastrp(A, 6, normalization_strength=-1.0, seed=0)
    assert torch.isfinite(N).all() and torch.all(N[3] == 0)


def test_determinism_shapes_and_dtypes():
    graph = stochastic_block_model([20, 20], 0.3, 0.05, seed=2, dtype=torch.float32)
    a = fastrp(graph.adjacency, 12, seed=7)
    assert a.shape == (40, 12) and a.dtype == torch.float32 and a.device == graph.adjacency.device
    torch.testing.assert_close(a, fastrp(graph.adjacency, 12, seed=7))
    assert not torch.equal(a, fastrp(graph.adjacency, 12, seed=8))
    torch.manual_seed(0)
    b = fastrp(graph.adjacency, 12)
    torch.manual_seed(0)
    torch.testing.assert_close(b, fastrp(graph.adjacency, 12))


def test_bad_inputs():
    A = _random_graph(5, 0)
    with pytest.raises(TypeError, match="adjacency"):
        fastrp(A.numpy())
    with pytest.raises(ValueError, match="square"):
        fastrp(A[:4])
    with pytest.raises(TypeError, match="floating"):
        fastrp((A > 0).long())
    with pytest.raises(ValueError, match="non-negative"):
        fastrp(-A)
    with pytest.raises(ValueError, match="finite"):
        fastrp(A.masked_fill(A > 0.9, math.nan))
    with pytest.raises(ValueError, match="finite"):
        fastrp(A.to_sparse() * math.inf)
    with pytest.raises(ValueError, match="empty"):
        fastrp(torch.zeros(0, 0))
    with pytest.raises(ValueError, match="weights"):
        fastrp(A, 3, weights=())
    with pytest.raises(ValueError, match="weights"):
        fastrp(A, 3, weights=(1.0, math.inf))
    with pytest.raises(ValueError, match="normalization_strength"):
        fastrp(A, 3, normalization_strength=math.nan)
    with pytest.raises(ValueError, match="n_components"):
        fastrp(A, 0)
    with pytest.raises(ValueError, match="density"):
        fastrp(A, 3, density=1.5)
    with pytest.raises(ValueError, match="seed"):
        fastrp(A, 3, seed=-2)


def test_random_walks_follow_edges_and_start_everywhere():
    graph = stochastic_block_model([15, 15], 0.3, 0.05, seed=0)
    A = graph.adjacency.to_dense()
    walks = random_walks(graph.adjacency, n_walks=3, walk_length=8, seed=0)
    assert walks.shape == (90, 8) and walks.dtype == torch.int64
    assert torch.equal(walks[:, 0], torch.arange(30).repeat(3))
    isolated = A.sum(1) == 0
    stays = isolated[walks[:, :-1]] & (walks[:, 1:] == walks[:, :-1])
    assert torch.all((A[walks[:, :-1], walks[:, 1:]] > 0) | stays)
    torch.testing.assert_close(walks, random_walks(A, n_walks=3, walk_length=8, seed=0))
    # uniform steps: from a node with 4 neighbours, each is chosen about 1/4 of the time
    star = torch.zeros(5, 5)
    star[0, 1:] = star[1:, 0] = 1
    steps = random_walks(star, n_walks=4000, walk_length=2, seed=1)
    counts = torch.bincount(steps[steps[:, 0] == 0, 1], minlength=5)[1:].double()
    assert torch.all((counts / 4000 - 0.25).abs() < 5 * math.sqrt(0.25 * 0.75 / 4000))


def test_cooccurrence_and_ppmi_match_loops():
    walks = torch.tensor([[0, 1, 2, 1], [2, 0, 0, 3]])
    counts = window_cooccurrence(walks, 4, window=2)
    expected = np.zeros((4, 4))
    for walk in walks.tolist():
        for i in range(len(walk)):
            for j in range(i + 1, min(i + 3, len(walk))):
                expected[walk[i], walk[j]] += 1
                expected[walk[j], walk[i]] += 1
    np.testing.assert_allclose(counts.numpy(), expected)
    total = expected.sum()
    row = expected.sum(1)
    ppmi = np.zeros_like(expected)
    for i in range(4):
        for j in range(4):
            if expected[i, j] > 0:
                ppmi[i, j] = max(0.0, math.log(expected[i, j] * total / (row[i] * row[j])))
    np.testing.assert_allclose(positive_pmi(counts).numpy(), ppmi, atol=1e-12)


def test_random_walk_embedding_shape_and_determinism():
    graph = stochastic_block_model([20, 20], 0.4, 0.02, seed=3, dtype=torch.float64)
    a = random_walk_embedding(graph.adjacency, 8, n_walks=4, walk_length=10, seed=0)
    assert a.shape == (40, 8) and a.dtype == torch.float64 and torch.isfinite(a).all()
    torch.testing.assert_close(
        a, random_walk_embedding(graph.adjacency, 8, n_walks=4, walk_length=10, seed=0)
    )
    with pytest.raises(ValueError, match="n_components"):
        random_walk_embedding(graph.adjacency, 41)
    with pytest.raises(ValueError, match="window"):
        random_walk_embedding(graph.adjacency, 4, window=0)
