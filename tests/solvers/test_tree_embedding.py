"""Tests for the combinatorial tree embedding, h-MDS and classical MDS."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import shortest_path

from paperlab.distances.poincare import poincare_cdist
from paperlab.metrics.distortion import average_distortion, worst_case_distortion
from paperlab.solvers.tree_embedding import classical_mds, combinatorial_tree_embedding, h_mds


def tree_distances(edges, weights, n):
    """Exact tree distances by SciPy's shortest paths (independent of the embedding)."""
    u, v = edges[:, 0].numpy(), edges[:, 1].numpy()
    graph = coo_matrix((weights.numpy(), (u, v)), shape=(n, n)).tocsr()
    return torch.from_numpy(shortest_path(graph, directed=False))


def path_edges(n):
    return torch.stack([torch.arange(n - 1), torch.arange(1, n)], dim=1)


def star_edges(n):
    return torch.stack([torch.zeros(n - 1, dtype=torch.long), torch.arange(1, n)], dim=1)


def random_tree_edges(n, seed):
    """A random recursive tree: node i attaches to a uniform earlier node."""
    rng = np.random.default_rng(seed)
    parents = [int(rng.integers(0, i)) for i in range(1, n)]
    return torch.tensor([[p, i] for i, p in enumerate(parents, start=1)])


def test_path_embeds_isometrically():
    edges = path_edges(8)
    emb = combinatorial_tree_embedding(edges, tau=1.5, root=3)
    d = poincare_cdist(emb.points) / 1.5
    true = tree_distances(edges, torch.ones(7, dtype=torch.float64), 8)
    torch.testing.assert_close(d, true, rtol=1e-9, atol=1e-9)
    assert emb.points[3].abs().max() == 0
    assert math.isclose(emb.max_radius, 1.5 * 4, rel_tol=1e-9)


def test_star_distortion_falls_with_tau_and_edges_are_exact():
    edges = star_edges(12)
    weights = torch.linspace(0.5, 2.0, 11, dtype=torch.float64)
    true = tree_distances(edges, weights, 12)
    distortions = []
    for tau in (1.0, 3.0, 6.0):
        emb = combinatorial_tree_embedding(edges, weights, tau=tau)
        d = poincare_cdist(emb.points) / tau
        torch.testing.assert_close(d[0, 1:], weights)  # the root-leaf edges have length exactly w
        distortions.append(average_distortion(d, true).item())
        # Leaves sit at angles 2 pi k / 11: the hyperbolic law of cosines gives every leaf-leaf distance.
        angle = 2 * torch.pi * torch.arange(11, dtype=torch.float64) / 11
        a, b = tau * weights[:, None], tau * weights[None, :]
        cosh_d = torch.cosh(a) * torch.cosh(b) - torch.sinh(a) * torch.sinh(b) * torch.cos(
            angle[:, None] - angle
        )
        off = ~torch.eye(11, dtype=torch.bool)
        expected = torch.acosh(cosh_d[off]) / tau
        torch.testing.assert_close(d[1:, 1:][off], expected, rtol=1e-7, atol=1e-7)
    assert distortions[0] > distortions[1] > distortions[2]


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000), st.integers(2, 40))
def test_random_tree_edges_are_exact_and_distances_never_expand(seed, n):
    edges = random_tree_edges(n, seed)
    true = tree_distances(edges, torch.ones(n - 1, dtype=torch.float64), n)
    emb = combinatorial_tree_embedding(edges, tau=2.0)
    d = poincare_cdist(emb.points) / 2.0
    adjacent = true == 1
    torch.testing.assert_close(d[adjacent], true[adjacent], rtol=1e-8, atol=1e-8)
    # Paths in the tree are paths of geodesic segments: the embedding is a contraction.
    assert bool((d <= true + 1e-8).all())


def test_large_tau_gives_low_worst_case_distortion():
    edges = random_tree_edges(60, 3)
    true = tree_distances(edges, torch.ones(59, dtype=torch.float64), 60)
    low = combinatorial_tree_embedding(edges, tau=0.5)
    high = combinatorial_tree_embedding(edges, tau=4.0)
    wc_low = worst_case_distortion(poincare_cdist(low.points) / 0.5, true).item()
    wc_high = worst_case_distortion(poincare_cdist(high.points) / 4.0, true).item()
    assert wc_high < wc_low
    assert wc_high < 1.5


def test_h_mds_recovers_exact_hyperbolic_distances():
    g = torch.Generator().manual_seed(0)
    direction = torch.randn(80, 3, generator=g, dtype=torch.float64)
    radius = 3 * torch.rand(80, 1, generator=g, dtype=torch.float64)
    points = torch.tanh(radius / 2) * direction / direction.norm(dim=1, keepdim=True)
    distances = poincare_cdist(points)
    result = h_mds(distances, n_components=3)
    assert result.points.shape == (80, 3)
    assert result.n_negative == 1
    assert (poincare_cdist(result.points) - distances).abs().max() < 1e-8
    # With too few components the recovery is not exact.
    assert (poincare_cdist(h_mds(distances, n_components=2).points) - distances).abs().max() > 1e-2


def test_classical_mds_recovers_euclidean_distances():
    x = torch.randn(30, 4, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    d = torch.cdist(x, x, compute_mode="donot_use_mm_for_euclid_dist")
    result = classical_mds(d, n_components=4)
    recovered = torch.cdist(result.points, result.points, compute_mode="donot_use_mm_for_euclid_dist")
    torch.testing.assert_close(recovered, d, rtol=1e-8, atol=1e-8)
    assert result.n_negative == 0


def test_bad_tree_inputs():
    with pytest.raises(ValueError, match="edges"):
        combinatorial_tree_embedding(torch.tensor([[0, 1], [1, 2], [2, 0]]))
    with pytest.raises(ValueError, match="tree"):
        combinatorial_tree_embedding(torch.tensor([[0, 1], [2, 3], [3, 2]]), n_nodes=4)
    with pytest.raises(ValueError, match="edges"):
        combinatorial_tree_embedding(torch.tensor([[0.0, 1.0]]))
    with pytest.raises(ValueError, match="weights"):
        combinatorial_tree_embedding(path_edges(3), torch.tensor([1.0, -1.0], dtype=torch.float64))
    with pytest.raises(ValueError, match="weights"):
        combinatorial_tree_embedding(path_edges(3), torch.ones(3, dtype=torch.float64))
    with pytest.raises(ValueError, match="tau"):
        combinatorial_tree_embedding(path_edges(3), tau=0.0)
    with pytest.raises(ValueError, match="root"):
        combinatorial_tree_embedding(path_edges(3), root=5)


def test_deep_path_near_the_float64_limit_keeps_exact_edges_and_deeper_raises():
    edges = path_edges(17)  # rooted at an end: depth 16, radius 32 at tau = 2
    emb = combinatorial_tree_embedding(edges, tau=2.0)
    assert bool((emb.points.norm(dim=1) < 1).all())
    assert emb.max_radius == 32.0
    d = poincare_cdist(emb.points) / 2.0
    steps = d[torch.arange(16), torch.arange(1, 17)]
    # At radius 32, 1 - |x| ~ 2.5e-14 is ~200 ulps: the float64 representation alone costs ~1e-3.
    torch.testing.assert_close(steps, torch.ones(16, dtype=torch.float64), rtol=0, atol=1e-2)
    with pytest.raises(ValueError, match="float64"):
        combinatorial_tree_embedding(path_edges(19), tau=2.0)


def test_bad_distance_inputs():
    d = torch.tensor([[0.0, 1.0], [2.0, 0.0]], dtype=torch.float64)
    with pytest.raises(ValueError, match="symmetric"):
        h_mds(d, 1)
    with pytest.raises(ValueError, match="diagonal"):
        h_mds(torch.ones(3, 3, dtype=torch.float64), 1)
    with pytest.raises(ValueError, match="square"):
        classical_mds(torch.zeros(2, 3, dtype=torch.float64), 1)
    with pytest.raises(ValueError, match="n_components"):
        h_mds(torch.zeros(3, 3, dtype=torch.float64), 3)
    with pytest.raises(ValueError, match=">= 0"):
        h_mds(-torch.ones(2, 2, dtype=torch.float64) + torch.eye(2, dtype=torch.float64), 1)
