"""Tests for paperlab.distances.sinkhorn_divergence: debiasing, positivity, gradients, both back ends."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from paperlab.distances import cost_matrix, sinkhorn_divergence
from paperlab.solvers import sinkhorn


def cloud(n, d=2, seed=0, shift=0.0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, d, generator=g, dtype=torch.float64) + shift


def naive_divergence(X, Y, reg):
    """Primal OT_reg = <P, C> + reg KL(P | a x b) from the solver's plans, debiased."""

    def entropic(U, V):
        n, m = len(U), len(V)
        a, b = torch.full((n,), 1 / n, dtype=U.dtype), torch.full((m,), 1 / m, dtype=U.dtype)
        C = cost_matrix(U, V)
        P = sinkhorn(a, b, C, reg, tol=1e-13, max_iter=20_000).plan
        return (P * C).sum() + reg * (P * torch.log(P / (a[:, None] * b[None, :]))).sum()

    return entropic(X, Y) - (entropic(X, X) + entropic(Y, Y)) / 2


def test_matches_the_primal_formula():
    X, Y = cloud(12, seed=1), cloud(9, seed=2, shift=1.0)
    # reg large enough for plain Sinkhorn on the self terms to converge within the test's budget
    ours = sinkhorn_divergence(X, Y, 2.0, tol=1e-13)
    torch.testing.assert_close(ours, naive_divergence(X, Y, 2.0), rtol=1e-8, atol=1e-10)


def test_zero_on_identical_and_permuted_inputs():
    X = cloud(15, seed=3)
    assert sinkhorn_divergence(X, X, 0.1).item() == 0
    # a permuted copy is not detected as equal: plain Sinkhorn solves the cross term
    permuted = X[torch.randperm(15, generator=torch.Generator().manual_seed(0))]
    assert abs(sinkhorn_divergence(X, permuted, 1.0, tol=1e-12).item()) < 1e-9


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(2, 10),
    m=st.integers(2, 10),
    shift=st.floats(0.1, 3.0),
    reg=st.sampled_from([0.5, 5.0]),
    seed=st.integers(0, 10_000),
)
def test_positive_on_different_inputs(n, m, shift, reg, seed):
    X, Y = cloud(n, seed=seed), cloud(m, seed=seed + 1, shift=shift)
    assert sinkhorn_divergence(X, Y, reg, max_iter=20_000).item() > 0


def test_grows_with_the_shift():
    X = cloud(20, seed=4)
    values = [sinkhorn_divergence(X, X + shift, 0.5).item() for shift in (0.1, 0.5, 1.0, 2.0)]
    assert values == sorted(values) and values[0] > 0


def test_online_backend_equals_dense_backend():
    X, Y = cloud(14, seed=5), cloud(11, seed=6, shift=0.5)
    dense = sinkhorn_divergence(X, Y, 0.2, tol=1e-12)
    online = sinkhorn_divergence(X, Y, 0.2, tol=1e-12, chunk_size=4)
    torch.testing.assert_close(online, dense, rtol=1e-10, atol=1e-12)


def test_batched_equals_a_loop():
    X = torch.stack([cloud(8, seed=s) for s in range(3)])
    Y = torch.stack([cloud(6, seed=10 + s, shift=0.5) for s in range(3)])
    batched = sinkhorn_divergence(X, Y, 0.2, tol=1e-12)
    assert batched.shape == (3,)
    for i in range(3):
        torch.testing.assert_close(batched[i], sinkhorn_divergence(X[i], Y[i], 0.2, tol=1e-12))


@pytest.mark.parametrize("chunk_size", [None, 3])
def test_gradcheck_float64(chunk_size):
    X, Y = cloud(5, seed=7).requires_grad_(), cloud(4, seed=8, shift=0.5).requires_grad_()
    assert torch.autograd.gradcheck(
        lambda X, Y: sinkhorn_divergence(X, Y, 0.5, tol=1e-13, max_iter=10_000, chunk_size=chunk_size), (X, Y)
    )


@pytest.mark.filterwarnings("ignore:sinkhorn_divergence did not converge")
def test_gradient_descent_moves_the_cloud_towards_the_target():
    X, Y = cloud(10, seed=9).requires_grad_(), cloud(10, seed=10, shift=2.0)
    start = sinkhorn_divergence(X, Y, 0.5).item()
    optimizer = torch.optim.SGD([X], lr=2.0)
    for _ in range(10):
        optimizer.zero_grad()
        sinkhorn_divergence(X, Y, 0.5).backward()
        optimizer.step()
    assert sinkhorn_divergence(X, Y, 0.5).item() < 0.1 * start


def test_bad_inputs_raise_naming_the_argument():
    X = cloud(4)
    with pytest.raises(ValueError, match="Y"):
        sinkhorn_divergence(X, cloud(4, d=3), 0.1)
    with pytest.raises(ValueError, match="reg"):
        sinkhorn_divergence(X, X, -0.1)
    with pytest.raises(ValueError, match="chunk_size"):
        sinkhorn_divergence(X[None], X[None], 0.1, chunk_size=2)
    with pytest.raises(ValueError, match="^a "):
        sinkhorn_divergence(X, X, 0.1, a=torch.ones(3, dtype=X.dtype))
