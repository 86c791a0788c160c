"""SPD geometry: BW / GBW / AIM means, maps and geodesics against closed forms and POT."""

import numpy as np
import ot
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from paperlab.distances import bures_wasserstein
from paperlab.solvers import (
    airm_distance,
    airm_geodesic,
    airm_mean,
    bw_barycenter,
    bw_geodesic,
    bw_transport_map,
    gbw_barycenter,
    gbw_distance,
    spd_log,
    spd_sqrt,
    sym_exp,
)


def random_spd(d, seed, batch=(), condition=10.0):
    g = torch.Generator().manual_seed(seed)
    q = torch.linalg.qr(torch.randn(*batch, d, d, generator=g, dtype=torch.float64)).Q
    eigenvalues = torch.logspace(0, -np.log10(condition), d, dtype=torch.float64)
    eigenvalues = eigenvalues * torch.exp(0.3 * torch.randn(*batch, d, generator=g, dtype=torch.float64))
    return (q * eigenvalues.unsqueeze(-2)) @ q.mT


def test_transport_map_pushes_source_to_target_and_matches_pot():
    a, b = random_spd(4, 0), random_spd(4, 1, condition=100.0)
    t = bw_transport_map(a, b)
    torch.testing.assert_close(t @ a @ t, b)
    theirs, _ = ot.gaussian.bures_wasserstein_mapping(np.zeros(4), np.zeros(4), a.numpy(), b.numpy())
    np.testing.assert_allclose(t.numpy(), theirs, rtol=1e-6, atol=1e-8)


def test_geodesic_end_points_and_constant_speed():
    a, b = random_spd(3, 2), random_spd(3, 3)
    torch.testing.assert_close(bw_geodesic(a, b, 0.0), a)
    torch.testing.assert_close(bw_geodesic(a, b, 1.0), b)
    zero = torch.zeros(3, dtype=torch.float64)
    total = bures_wasserstein(zero, a, zero, b)
    mid = bw_geodesic(a, b, 0.3)
    torch.testing.assert_close(bures_wasserstein(zero, a, zero, mid), 0.3 * total)
    torch.testing.assert_close(airm_distance(a, airm_geodesic(a, b, 0.3)), 0.3 * airm_distance(a, b))


def test_barycenter_of_commuting_matrices_has_a_closed_form():
    """Diagonal matrices: BW barycenter (sum w sqrt(l))^2, Karcher mean exp(sum w log l)."""
    g = torch.Generator().manual_seed(4)
    diagonals = torch.rand(5, 4, generator=g, dtype=torch.float64) * 10 + 0.1
    weights = torch.rand(5, generator=g, dtype=torch.float64)
    w = weights / weights.sum()
    matrices = torch.diag_embed(diagonals)
    bw = bw_barycenter(matrices, weights, n_iter_max=200, tol=1e-13)
    torch.testing.assert_close(bw.mean, torch.diag((w[:, None] * diagonals.sqrt()).sum(0) ** 2))
    ai = airm_mean(matrices, weights, n_iter_max=200, tol=1e-13)
    torch.testing.assert_close(ai.mean, torch.diag(torch.exp((w[:, None] * diagonals.log()).sum(0))))
    assert bw.converged and ai.converged


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 1000), n=st.integers(2, 6))
def test_barycenter_matches_pot_and_satisfies_the_fixed_point(seed, n):
    matrices = random_spd(4, seed, batch=(n,), condition=50.0)
    result = bw_barycenter(matrices, n_iter_max=500, tol=1e-12)
    theirs = ot.gaussian.bures_barycenter_fixpoint(
        matrices.numpy(), np.full(n, 1.0 / n), num_iter=1000, eps=1e-12
    )
    np.testing.assert_allclose(result.mean.numpy(), theirs, rtol=1e-6, atol=1e-9)
    maps = bw_transport_map(result.mean, matrices)
    torch.testing.assert_close(maps.mean(0), torch.eye(4, dtype=torch.float64), atol=1e-8, rtol=0)


def test_two_point_means_are_geodesic_midpoints():
    a, b = random_spd(3, 5, condition=30.0), random_spd(3, 6)
    both = torch.stack([a, b])
    torch.testing.assert_close(bw_barycenter(both, n_iter_max=500, tol=1e-14).mean, bw_geodesic(a, b, 0.5))
    torch.testing.assert_close(airm_mean(both, n_iter_max=500, tol=1e-14).mean, airm_geodesic(a, b, 0.5))


def test_gbw_reduces_to_bw_and_is_congruence_invariant():
    x, y = random_spd(4, 7), random_spd(4, 8)
    eye = torch.eye(4, dtype=torch.float64)
    zero = torch.zeros(4, dtype=torch.float64)
    torch.testing.assert_close(gbw_distance(x, y, eye), bures_wasserstein(zero, x, zero, y))
    p = torch.randn(4, 4, generator=torch.Generator().manual_seed(9), dtype=torch.float64) + 3 * eye
    m = random_spd(4, 10)
    torch.testing.assert_close(gbw_distance(p @ x @ p.T, p @ y @ p.T, p @ m @ p.T), gbw_distance(x, y, m))
    # the closed form of the generalized BW distance with metric M
    inv = torch.linalg.inv(m)
    root = spd_sqrt(x)
    cross = torch.linalg.eigvalsh(root @ inv @ y @ inv @ root).clamp_min(0).sqrt().sum()
    expected = (torch.trace(inv @ x) + torch.trace(inv @ y) - 2 * cross).sqrt()
    torch.testing.assert_close(gbw_distance(x, y, m), expected)


def test_gbw_barycenter_minimises_the_gbw_variance():
    matrices = random_spd(3, 11, batch=(4,), condition=20.0)
    metric = random_spd(3, 12)
    mean = gbw_barycenter(matrices, metric, n_iter_max=500, tol=1e-13).mean
    variance = lambda s: gbw_distance(matrices, s.expand_as(matrices), metric).pow(2).mean()  # noqa: E731
    base = variance(mean)
    g = torch.Generator().manual_seed(0)
    for _ in range(5):
        direction = torch.randn(3, 3, generator=g, dtype=torch.float64)
        moved = sym_exp(spd_log(mean) + 1e-3 * (direction + direction.T))
        assert variance(moved) > base


def test_airm_mean_is_congruence_equivariant():
    matrices = random_spd(3, 13, batch=(5,), condition=100.0)
    p = torch.randn(3, 3, generator=torch.Generator().manual_seed(1), dtype=torch.float64) + 2 * torch.eye(3)
    mean = airm_mean(matrices, n_iter_max=200, tol=1e-13).mean
    moved = airm_mean(p @ matrices @ p.T, n_iter_max=200, tol=1e-13).mean
    torch.testing.assert_close(moved, p @ mean @ p.T)


def test_bad_inputs_raise():
    x = random_spd(3, 0, batch=(4,))
    with pytest.raises(ValueError, match="weights"):
        bw_barycenter(x, torch.tensor([1.0, -1.0, 1.0, 1.0], dtype=torch.float64))
    with pytest.raises(ValueError, match="weights must have 4"):
        airm_mean(x, torch.ones(3, dtype=torch.float64))
    with pytest.raises(ValueError, match="symmetric"):
        bw_barycenter(x + torch.triu(torch.ones(3, 3, dtype=torch.float64), 1))
    with pytest.raises(ValueError, match="metric"):
        gbw_distance(x, x, x)
    with pytest.raises(ValueError, match="matrices"):
        bw_barycenter(x[0])
    with pytest.raises(ValueError, match="same size"):
        bw_transport_map(x[0], random_spd(2, 0))
