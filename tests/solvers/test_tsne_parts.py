"""t-SNE building blocks: affinities (vs scikit-learn), FFT-interpolated repulsion (vs the exact sums),
the gradient (vs autograd of the KL objective) and the KL divergence (vs a dense direct formula)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from openTSNE import _tsne
from sklearn.manifold._t_sne import _joint_probabilities_nn
from sklearn.manifold._utils import _binary_search_perplexity
from sklearn.neighbors import NearestNeighbors

from paperlab.solvers import (
    attractive_forces,
    exact_repulsion,
    fft_interpolation_repulsion,
    perplexity_conditionals,
    tsne_affinities,
    tsne_gradient,
    tsne_kl_divergence,
)
from paperlab.solvers.fft_interpolation import fft_friendly, lagrange_weights


def blobs(n=120, dim=6, seed=0, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    centres = 4 * torch.randn(4, dim, generator=g, dtype=dtype)
    return centres[torch.randint(0, 4, (n,), generator=g)] + torch.randn(n, dim, generator=g, dtype=dtype)


def random_affinities(n, seed=0):
    """A dense symmetric P with random sparsity, as a sparse COO tensor (float64)."""
    g = torch.Generator().manual_seed(seed)
    dense = torch.rand(n, n, generator=g, dtype=torch.float64) * (torch.rand(n, n, generator=g) < 0.2)
    dense = dense + dense.T
    dense.fill_diagonal_(0)
    return (dense / dense.sum()).to_sparse().coalesce()


def dense_w(Y):
    w = 1.0 / (1.0 + torch.cdist(Y, Y) ** 2)
    return w - torch.diag(torch.diag(w))


# ---------------------------------------------------------------- affinities


def test_conditionals_match_sklearn_binary_search():
    X = blobs(150).numpy()
    distances, _ = NearestNeighbors(n_neighbors=31).fit(X).kneighbors(X)
    sq = (distances[:, 1:] ** 2).astype(np.float32)
    expected = _binary_search_perplexity(sq, 10.0, 0)
    ours = perplexity_conditionals(torch.from_numpy(sq).double(), 10.0)
    np.testing.assert_allclose(ours.numpy(), expected, atol=2e-4)


@settings(max_examples=25, deadline=None)
@given(st.integers(2, 40), st.floats(1.5, 20.0), st.integers(0, 10_000))
def test_conditionals_reach_the_target_perplexity(k, perplexity, seed):
    perplexity = min(perplexity, k - 0.5)
    g = torch.Generator().manual_seed(seed)
    sq = torch.rand(30, k, generator=g, dtype=torch.float64) * 50
    p = perplexity_conditionals(sq, perplexity)
    entropy = -(torch.xlogy(p, p)).sum(dim=1)
    torch.testing.assert_close(p.sum(dim=1), torch.ones(30, dtype=torch.float64))
    torch.testing.assert_close(entropy, torch.full_like(entropy, math.log(perplexity)), atol=1e-4, rtol=0)


def test_affinities_match_sklearn_joint_probabilities_nn():
    X = blobs(200)
    k = 45
    distances, indices = NearestNeighbors(n_neighbors=k + 1).fit(X.numpy()).kneighbors(X.numpy())
    rows = np.repeat(np.arange(200), k)
    graph = sp.csr_matrix(((distances[:, 1:] ** 2).ravel(), (rows, indices[:, 1:].ravel())), shape=(200, 200))
    expected = _joint_probabilities_nn(graph, 15.0, 0).toarray()
    ours = tsne_affinities(X, perplexity=15.0, n_neighbors=k).to_dense().numpy()
    np.testing.assert_allclose(ours, expected, atol=1e-6)
    assert ours.sum() == pytest.approx(1.0)
    np.testing.assert_array_equal(ours, ours.T)


def test_affinities_default_neighbourhood_is_three_perplexities():
    P = tsne_affinities(blobs(100), perplexity=5.0)
    counts = (P.to_dense() > 0).sum(dim=1)
    assert int(counts.min()) >= 15  # every row keeps its own 15 neighbours, plus those that chose it


# ---------------------------------------------------------------- repulsion


def test_exact_repulsion_matches_direct_sums():
    Y = torch.randn(70, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(1)) * 5
    w = dense_w(Y)
    z = w.sum()
    forces = ((w**2)[:, :, None] * (Y[:, None, :] - Y[None, :, :])).sum(dim=1) / z
    for block_size in (None, 16):  # blocked and one-block paths
        result = exact_repulsion(Y, block_size=block_size)
        torch.testing.assert_close(result.z, z)
        torch.testing.assert_close(result.forces, forces)


@pytest.mark.parametrize("d", [1, 2])
def test_fft_repulsion_error_shrinks_with_interpolation_points(d):
    Y = torch.randn(400, d, dtype=torch.float64, generator=torch.Generator().manual_seed(2)) * 15
    exact = exact_repulsion(Y)
    errors = []
    for p in (2, 3, 5, 8):
        approx = fft_interpolation_repulsion(Y, n_interpolation_points=p)
        errors.append(float((approx.forces - exact.forces).norm() / exact.forces.norm()))
        assert float(abs(approx.z / exact.z - 1)) < 10 * errors[-1] + 1e-6
    assert errors[1] < 0.05  # the default p = 3 is already a close approximation
    assert errors[3] < 1e-3
    assert all(later < 0.5 * earlier for earlier, later in zip(errors, errors[1:]))


@pytest.mark.parametrize("p", [3, 5])
def test_fft_repulsion_matches_opentsne_interpolation(p):
    """Same grid (50 boxes over a range < 50), same nodes: openTSNE's FIt-SNE routine agrees to round-off."""
    g = torch.Generator().manual_seed(8)
    Y = (torch.randn(5, 2, generator=g, dtype=torch.float64) * 8)[torch.randint(0, 5, (250,), generator=g)]
    Y = Y + torch.randn(250, 2, generator=g, dtype=torch.float64)  # clustered, like a t-SNE embedding
    negative = np.zeros((250, 2))
    z = _tsne.estimate_negative_gradient_fft_2d(
        np.ascontiguousarray(Y.numpy()),
        negative,
        n_interpolation_points=p,
        min_num_intervals=50,
        ints_in_interval=1,
    )
    ours = fft_interpolation_repulsion(Y, n_interpolation_points=p)
    assert float(ours.z) == pytest.approx(z, rel=1e-9)
    np.testing.assert_allclose(ours.forces.numpy(), -negative, rtol=1e-7, atol=1e-12)


def test_fft_repulsion_float32_close_to_float64():
    Y = torch.randn(300, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(3)) * 10
    single = fft_interpolation_repulsion(Y.float())
    double = fft_interpolation_repulsion(Y)
    assert single.forces.dtype == torch.float32
    torch.testing.assert_close(single.forces.double(), double.forces, rtol=1e-3, atol=1e-6)


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 8), st.integers(0, 10_000))
def test_lagrange_weights_reproduce_low_degree_polynomials(p, seed):
    t = torch.rand(50, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))
    weights = lagrange_weights(t, p)  # (50, p)
    nodes = (torch.arange(p, dtype=torch.float64) + 0.5) / p
    for degree in range(p):
        torch.testing.assert_close(weights @ nodes**degree, t**degree)


def test_fft_friendly_sizes():
    assert [fft_friendly(s) for s in (1, 7, 50, 121, 1000)] == [1, 8, 50, 125, 1000]


# ---------------------------------------------------------------- gradient and KL


def dense_objective(Y, P_dense, exaggeration):
    """-alpha sum p log w + log Z: its gradient is the exaggerated t-SNE gradient."""
    w = dense_w(Y)
    mask = P_dense > 0
    return -exaggeration * (P_dense[mask] * torch.log(w[mask])).sum() + torch.log(w.sum())


@pytest.mark.parametrize("exaggeration", [1.0, 12.0])
def test_exact_gradient_matches_autograd(exaggeration):
    P = random_affinities(60)
    Y = torch.randn(60, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(4)).requires_grad_()
    dense_objective(Y, P.to_dense(), exaggeration).backward()
    ours = tsne_gradient(Y.detach(), P, exaggeration=exaggeration, method="exact").gradient
    torch.testing.assert_close(ours, Y.grad)


def test_fft_gradient_close_to_exact_gradient():
    X = blobs(300)
    P = tsne_affinities(X, perplexity=10.0)
    Y = torch.randn(300, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(5)) * 8
    exact = tsne_gradient(Y, P, method="exact")
    fft = tsne_gradient(Y, P, method="fft", n_interpolation_points=5)
    error = (fft.gradient - exact.gradient).norm() / exact.gradient.norm()
    assert error < 1e-2
    assert float(abs(fft.z / exact.z - 1)) < 1e-3


def test_attractive_forces_match_dense_formula():
    P = random_affinities(50, seed=1)
    Y = torch.randn(50, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(6))
    Pd, w = P.to_dense(), dense_w(Y)
    expected = ((Pd * w)[:, :, None] * (Y[:, None, :] - Y[None, :, :])).sum(dim=1)
    forces, p_log_w = attractive_forces(Y, P)
    torch.testing.assert_close(forces, expected)
    torch.testing.assert_close(p_log_w, (Pd[Pd > 0] * torch.log(w[Pd > 0])).sum())


def test_kl_divergence_matches_direct_formula():
    P = random_affinities(80, seed=2)
    Y = torch.randn(80, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(7)) * 3
    Pd, w = P.to_dense(), dense_w(Y)
    Q = w / w.sum()
    mask = Pd > 0
    expected = (Pd[mask] * torch.log(Pd[mask] / Q[mask])).sum()
    torch.testing.assert_close(tsne_kl_divergence(P, Y), expected)
    z = fft_interpolation_repulsion(Y, n_interpolation_points=8).z
    torch.testing.assert_close(tsne_kl_divergence(P, Y, z), expected, rtol=1e-4, atol=1e-6)
    assert float(tsne_kl_divergence(P, Y)) >= 0


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000), st.floats(-50, 50))
def test_repulsion_is_translation_invariant_and_balanced(seed, shift):
    Y = torch.randn(40, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(seed)) * 4
    result = exact_repulsion(Y)
    moved = exact_repulsion(Y + shift)
    torch.testing.assert_close(moved.forces, result.forces, atol=1e-9, rtol=1e-6)
    torch.testing.assert_close(
        result.forces.sum(dim=0), torch.zeros(2, dtype=torch.float64), atol=1e-10, rtol=0
    )


# ---------------------------------------------------------------- bad inputs


def test_bad_inputs_raise():
    X = blobs(50)
    with pytest.raises(ValueError, match="perplexity"):
        tsne_affinities(X, perplexity=50.0)
    with pytest.raises(ValueError, match="perplexity"):
        tsne_affinities(X, perplexity=-1.0)
    with pytest.raises(ValueError, match="X"):
        tsne_affinities(X[:, 0])
    with pytest.raises(ValueError, match="finite"):
        tsne_affinities(torch.full((10, 2), float("nan"), dtype=torch.float64), perplexity=2.0)
    with pytest.raises(ValueError, match="n_neighbors"):
        tsne_affinities(X, perplexity=5.0, n_neighbors=50)
    with pytest.raises(ValueError, match="sq_distances"):
        perplexity_conditionals(-torch.ones(3, 4), 2.0)
    with pytest.raises(ValueError, match="Y"):
        fft_interpolation_repulsion(torch.randn(10, 3))
    with pytest.raises(ValueError, match="n_interpolation_points"):
        fft_interpolation_repulsion(torch.randn(10, 2), n_interpolation_points=0)
    P = tsne_affinities(X, perplexity=5.0)
    with pytest.raises(TypeError, match="P"):
        tsne_gradient(X[:, :2], P.to_dense())
    with pytest.raises(ValueError, match="P"):
        tsne_gradient(X[:10, :2], P)
    with pytest.raises(ValueError, match="method"):
        tsne_gradient(X[:, :2], P, method="barnes_hut")
    with pytest.raises(ValueError, match="exaggeration"):
        tsne_gradient(X[:, :2], P, exaggeration=0.0)
