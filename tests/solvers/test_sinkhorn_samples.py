"""Tests for paperlab.solvers.sinkhorn_samples: equal to the dense solver, envelope gradients, memory-free plan."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from paperlab.distances import cost_matrix
from paperlab.solvers import sinkhorn, sinkhorn_samples


def clouds(n, m, d=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, d, generator=g, dtype=torch.float64)
    Y = torch.randn(m, d, generator=g, dtype=torch.float64) + 0.3
    a = torch.rand(n, generator=g, dtype=torch.float64) + 0.2
    b = torch.rand(m, generator=g, dtype=torch.float64) + 0.2
    return X, Y, a / a.sum(), b / b.sum()


@pytest.mark.parametrize("p", [2, 1, 1.5])
def test_equals_dense_sinkhorn_on_the_explicit_cost(p):
    X, Y, a, b = clouds(41, 23, seed=1)
    dense = sinkhorn(a, b, cost_matrix(X, Y, p), 0.1, tol=1e-11, max_iter=5000)
    online = sinkhorn_samples(X, Y, 0.1, a, b, p=p, tol=1e-11, max_iter=5000, chunk_size=6)
    assert online.plan is None and online.converged and online.n_iter == dense.n_iter
    torch.testing.assert_close(online.value, dense.value, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(online.entropic_value, dense.entropic_value, rtol=1e-10, atol=1e-12)
    for ours, theirs in zip(online.potentials, dense.potentials):
        torch.testing.assert_close(ours, theirs, rtol=1e-9, atol=1e-10)


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 15), m=st.integers(1, 15), chunk=st.integers(1, 20), seed=st.integers(0, 10_000))
def test_chunk_size_does_not_change_the_result(n, m, chunk, seed):
    X, Y, a, b = clouds(n, m, seed=seed)
    whole = sinkhorn_samples(X, Y, 0.5, a, b, chunk_size=10_000, tol=1e-11)
    chunked = sinkhorn_samples(X, Y, 0.5, a, b, chunk_size=chunk, tol=1e-11)
    torch.testing.assert_close(chunked.value, whole.value, rtol=1e-12, atol=1e-14)
    assert chunked.n_iter == whole.n_iter


@pytest.mark.parametrize("p", [2, 1.5])
def test_envelope_gradient_matches_autograd_through_the_dense_solver(p):
    X, Y, a, b = clouds(19, 13, seed=2)
    Xo, Yo = X.clone().requires_grad_(), Y.clone().requires_grad_()
    online = sinkhorn_samples(Xo, Yo, 0.2, a, b, p=p, tol=1e-13, max_iter=10_000, chunk_size=4)
    Xd, Yd = X.clone().requires_grad_(), Y.clone().requires_grad_()
    dense = sinkhorn(a, b, cost_matrix(Xd, Yd, p), 0.2, tol=1e-13, max_iter=10_000, grad="autodiff")
    ours = torch.autograd.grad(online.entropic_value, (Xo, Yo))
    unrolled = torch.autograd.grad(dense.entropic_value, (Xd, Yd))
    for g_ours, g_ref in zip(ours, unrolled):
        torch.testing.assert_close(g_ours, g_ref, rtol=1e-7, atol=1e-10)


def test_transport_cost_gradient_follows_pot_convention():
    X, Y, a, b = clouds(11, 9, seed=3)
    Xo = X.clone().requires_grad_()
    online = sinkhorn_samples(Xo, Y, 0.3, a, b, tol=1e-12)
    (grad,) = torch.autograd.grad(online.value, Xo)
    Xd = X.clone().requires_grad_()
    dense = sinkhorn(a, b, cost_matrix(Xd, Y), 0.3, tol=1e-12, grad="envelope")
    (expected,) = torch.autograd.grad(dense.value, Xd)
    torch.testing.assert_close(grad, expected, rtol=1e-9, atol=1e-12)


def test_gradcheck_float64_entropic_value():
    X, Y, a, b = clouds(6, 5, seed=4)
    inputs = (X.requires_grad_(), Y.requires_grad_(), a.requires_grad_(), b.requires_grad_())

    def entropic(X, Y, a, b):
        return sinkhorn_samples(X, Y, 0.5, a, b, tol=1e-13, max_iter=10_000, chunk_size=4).entropic_value

    assert torch.autograd.gradcheck(entropic, inputs)


def test_non_convergence_warns():
    X, Y, _, _ = clouds(10, 10, seed=5)
    with pytest.warns(UserWarning, match="raise max_iter"):
        result = sinkhorn_samples(X, Y, 1e-3, max_iter=3)
    assert not result.converged and result.n_iter == 3


def test_bad_inputs_raise_naming_the_argument():
    X, Y, a, b = clouds(5, 4, seed=6)
    with pytest.raises(ValueError, match="reg"):
        sinkhorn_samples(X, Y, 0)
    with pytest.raises(ValueError, match="2-D"):
        sinkhorn_samples(X[None], Y[None], 0.1)
    with pytest.raises(ValueError, match="^b "):
        sinkhorn_samples(X, Y, 0.1, a, -b)
    with pytest.raises(ValueError, match="^a "):
        sinkhorn_samples(X, Y, 0.1, b, b)
    with pytest.raises(ValueError, match="chunk_size"):
        sinkhorn_samples(X, Y, 0.1, chunk_size=0)
    with pytest.raises(ValueError, match="X"):
        sinkhorn_samples(X.clone().fill_(float("inf")), Y, 0.1)
