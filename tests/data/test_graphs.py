"""Stochastic block model: symmetry, no self loops, labels, edge densities, determinism, bad inputs."""

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from paperlab.data import stochastic_block_model


def _block_density(adjacency, labels, a, b):
    block = adjacency[labels == a][:, labels == b]
    if a == b:
        size = block.shape[0]
        return block.sum().item() / (size * (size - 1)), size * (size - 1) / 2
    return block.mean().item(), block.numel()


@settings(max_examples=25, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 12), min_size=1, max_size=4),
    p_in=st.floats(0, 1),
    p_out=st.floats(0, 1),
    seed=st.integers(0, 2**16),
)
def test_symmetric_binary_without_self_loops(sizes, p_in, p_out, seed):
    graph = stochastic_block_model(sizes, p_in, p_out, seed=seed, sparse=False)
    A = graph.adjacency
    n = sum(sizes)
    assert A.shape == (n, n) and graph.labels.shape == (n,)
    assert torch.equal(A, A.T)
    assert torch.all(A.diagonal() == 0)
    assert set(A.unique().tolist()) <= {0.0, 1.0}
    assert graph.labels.tolist() == [b for b, size in enumerate(sizes) for _ in range(size)]


def test_empirical_densities_match_p_in_and_p_out():
    p_in, p_out = 0.1, 0.02
    graph = stochastic_block_model([150, 200, 250], p_in, p_out, seed=0, sparse=False)
    for a in range(3):
        for b in range(3):
            density, pairs = _block_density(graph.adjacency, graph.labels, a, b)
            p = p_in if a == b else p_out
            assert abs(density - p) < 5 * math.sqrt(p * (1 - p) / pairs), (a, b, density)


def test_pairs_are_kept_uniformly_along_a_block():
    # a biased geometric skip would crowd edges at one end of the block's pair list
    A = stochastic_block_model([400], 0.05, 0.0, seed=1, sparse=False).adjacency
    upper = torch.triu(A, diagonal=1)
    first, second = upper[:200].sum().item(), upper[200:].sum().item()
    pairs_first = sum(399 - i for i in range(200))
    pairs_second = sum(399 - i for i in range(200, 400))
    for count, pairs in [(first, pairs_first), (second, pairs_second)]:
        assert abs(count / pairs - 0.05) < 5 * math.sqrt(0.05 * 0.95 / pairs)


def test_extreme_probabilities():
    graph = stochastic_block_model([4, 3], 1.0, 0.0, seed=0, sparse=False)
    expected = (graph.labels[:, None] == graph.labels[None, :]).double() - torch.eye(7, dtype=torch.float64)
    torch.testing.assert_close(graph.adjacency.double(), expected)


def test_deterministic_by_seed_and_sparse_equals_dense():
    a = stochastic_block_model([30, 30], 0.3, 0.05, seed=5)
    b = stochastic_block_model([30, 30], 0.3, 0.05, seed=5, sparse=False, dtype=torch.float64)
    assert a.adjacency.is_sparse and a.adjacency.is_coalesced() and not b.adjacency.is_sparse
    assert b.adjacency.dtype == torch.float64
    torch.testing.assert_close(a.adjacency.to_dense().double(), b.adjacency)
    c = stochastic_block_model([30, 30], 0.3, 0.05, seed=6)
    assert not torch.equal(a.adjacency.to_dense(), c.adjacency.to_dense())


def test_bad_inputs():
    with pytest.raises(ValueError, match="sizes"):
        stochastic_block_model([], 0.1, 0.1)
    with pytest.raises(ValueError, match="sizes"):
        stochastic_block_model([3, 0], 0.1, 0.1)
    with pytest.raises(TypeError, match="sizes"):
        stochastic_block_model([3, 2.5], 0.1, 0.1)
    with pytest.raises(ValueError, match="p_in"):
        stochastic_block_model([3], 1.5, 0.1)
    with pytest.raises(ValueError, match="p_out"):
        stochastic_block_model([3], 0.5, -0.1)
    with pytest.raises(TypeError, match="dtype"):
        stochastic_block_model([3], 0.5, 0.1, dtype=torch.int64)
    with pytest.raises(ValueError, match="seed"):
        stochastic_block_model([3], 0.5, 0.1, seed=-1)
