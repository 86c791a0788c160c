"""Tests for the entropic (MBO) map estimator with elastic costs."""

import numpy as np
import ot
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from paperlab.distances import elastic_cost_grad, elastic_cost_matrix, prox_elastic
from paperlab.solvers import elastic_entropic_map


def _clouds(n=30, m=25, d=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    return (
        torch.rand(n, d, generator=g, dtype=torch.float64),
        torch.rand(m, d, generator=g, dtype=torch.float64) + 0.5,
    )


def test_quadratic_case_is_the_barycentric_projection_of_the_plan():
    x, y = _clouds()
    T = elastic_entropic_map(x, y, reg=0.05)
    plan = T.ot.plan
    barycentric = plan @ y / plan.sum(1, keepdim=True)
    torch.testing.assert_close(T(x), barycentric, atol=1e-9, rtol=0)
    # out of sample, the weights are a softmax of (g_j - h(x - y_j)) / reg
    new = torch.rand(6, 4, generator=torch.Generator().manual_seed(9), dtype=torch.float64)
    logits = (T.target_potential - 0.5 * torch.cdist(new, y) ** 2) / 0.05
    torch.testing.assert_close(T(new), torch.softmax(logits, -1) @ y)


@pytest.mark.parametrize("regularizer", ["l1", "stvs"])
def test_plan_matches_pot_and_map_matches_the_formula_at_the_samples(regularizer):
    x, y = _clouds(seed=1)
    gamma, reg = 0.3, 0.1
    T = elastic_entropic_map(x, y, reg, gamma, regularizer)
    M = elastic_cost_matrix(x, y, gamma, regularizer).numpy()
    reference = ot.sinkhorn(
        np.full(30, 1 / 30),
        np.full(25, 1 / 25),
        M,
        reg,
        method="sinkhorn_log",
        stopThr=1e-12,
        numItermax=10_000,
    )
    np.testing.assert_allclose(T.ot.plan.numpy(), reference, atol=1e-10)
    # at a training point, p_j(x_i) = P_ij / a_i: rebuild T(x_i) from the POT plan with numpy loops
    p = reference * 30
    expected = []
    for i in range(30):
        pulled = sum(p[i, j] * elastic_cost_grad(x[i] - y[j], gamma, regularizer).numpy() for j in range(25))
        expected.append(x[i].numpy() - prox_elastic(torch.tensor(pulled), gamma, regularizer).numpy())
    np.testing.assert_allclose(T(x).numpy(), np.stack(expected), atol=1e-8)


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    gamma=st.one_of(st.just(0.0), st.floats(0.05, 2.0)),
    regularizer=st.sampled_from(["l1", "stvs"]),
)
def test_a_translation_is_recovered_with_a_sparse_displacement(seed, gamma, regularizer):
    g = torch.Generator().manual_seed(seed)
    corners = torch.tensor([[i, j, k] for i in (0, 1) for j in (0, 1) for k in (0, 1)], dtype=torch.float64)
    x = 10 * corners + 0.1 * torch.rand(8, 3, generator=g, dtype=torch.float64)  # well-separated points
    shift = torch.tensor([1.5, 0.0, 0.0], dtype=torch.float64)
    y = (
        x[torch.randperm(8, generator=g)] + shift
    )  # the same points, translated: the identity pairing is optimal
    T = elastic_entropic_map(x, y, reg=0.5, gamma=gamma, regularizer=regularizer)
    assert T.ot.converged
    torch.testing.assert_close(T(x) - x, shift.expand(8, 3), atol=1e-6, rtol=0)
    if gamma > 0:  # the prox sets the two unmoved coordinates exactly to zero
        assert bool(((T(x) - x)[:, 1:] == 0).all())


def test_weights_and_float32_and_sparsity_on_a_sparse_shift():
    g = torch.Generator().manual_seed(3)
    x = torch.rand(200, 10, generator=g, dtype=torch.float64)
    y = torch.rand(200, 10, generator=g, dtype=torch.float64)
    y[:, 0] += 1.0
    test = torch.rand(50, 10, generator=g, dtype=torch.float64)
    dense = elastic_entropic_map(x, y, reg=1.0)(test) - test
    sparse = elastic_entropic_map(x, y, reg=1.0, gamma=1.0)(test) - test
    assert (dense == 0).double().mean() == 0
    assert (sparse[:, 1:] == 0).double().mean() > 0.5 and bool((sparse[:, 0] > 0.5).all())
    T = elastic_entropic_map(x, y, reg=1.0, gamma=1.0)
    torch.testing.assert_close(T.weights(test).sum(1), torch.ones(50, dtype=torch.float64))
    T32 = elastic_entropic_map(x.float(), y.float(), reg=1.0, gamma=1.0, tol=1e-5)
    assert T32(test.float()).dtype == torch.float32
    torch.testing.assert_close(T32(test.float()).double(), T(test), atol=1e-3, rtol=0)


def test_bad_inputs_raise():
    x, y = _clouds()
    with pytest.raises(ValueError, match="reg"):
        elastic_entropic_map(x, y, reg=0.0)
    with pytest.raises(ValueError, match="gamma"):
        elastic_entropic_map(x, y, reg=1.0, gamma=-1.0)
    with pytest.raises(ValueError, match="regularizer"):
        elastic_entropic_map(x, y, reg=1.0, regularizer="l2")
    with pytest.raises(ValueError, match="x and y"):
        elastic_entropic_map(x, y[:, :2], reg=1.0)
    with pytest.raises(ValueError, match="b"):
        elastic_entropic_map(x, y, reg=1.0, b=torch.ones(3, dtype=torch.float64))
    T = elastic_entropic_map(x, y, reg=1.0)
    with pytest.raises(ValueError, match="columns"):
        T(x[:, :2])
    with pytest.raises(ValueError, match="finite"):
        T(x * float("inf"))
