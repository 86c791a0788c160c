"""Tests for the conditional-transport EM solver and the balanced Sinkhorn baseline."""

import numpy as np
import ot
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from paperlab.solvers import class_prototypes, putm_em, sinkhorn_prototypes


def _imbalanced_episode(counts=(20, 5, 2), n_shot=2, dim=3, separation=6.0, seed=0, batch=None):
    g = torch.Generator().manual_seed(seed)
    k = len(counts)
    lead = () if batch is None else (batch,)
    # class centres on distinct axes (dim >= k), each shifted a little at random
    axes = separation * torch.eye(k, dim, dtype=torch.float64)
    centres = axes + 0.3 * torch.randn(*lead, k, dim, generator=g, dtype=torch.float64)
    support_labels = torch.arange(k).repeat_interleave(n_shot).expand(*lead, -1).contiguous()
    query_labels = torch.arange(k).repeat_interleave(torch.tensor(counts)).expand(*lead, -1).contiguous()
    take = lambda labels: centres.gather(-2, labels.unsqueeze(-1).expand(*labels.shape, dim))  # noqa: E731
    support = take(support_labels) + torch.randn(*support_labels.shape, dim, generator=g, dtype=torch.float64)
    query = take(query_labels) + torch.randn(*query_labels.shape, dim, generator=g, dtype=torch.float64)
    return support, support_labels, query, query_labels


def _numpy_em_step(support, labels, query, prototypes, prior, tau, rho):
    """One E-step (prior, then navigators) and M-step, written with numpy."""
    d = ((query[:, None] - prototypes[None]) ** 2).sum(-1)
    forward = prior * np.exp(-d / tau)
    prior = (forward / forward.sum(1, keepdims=True)).mean(0)
    forward = prior * np.exp(-d / tau)
    forward /= forward.sum(1, keepdims=True)
    backward = np.exp(-d / tau) / np.exp(-d / tau).sum(0, keepdims=True)
    w = rho * forward + (1 - rho) * len(query) * prior * backward
    out = []
    for k in range(len(prototypes)):
        s = support[labels == k]
        out.append((s.sum(0) + (w[:, k : k + 1] * query).sum(0)) / (len(s) + w[:, k].sum()))
    return np.stack(out), prior


@pytest.mark.parametrize("rho", [0.0, 0.5, 1.0])
def test_em_result_is_a_fixed_point_of_the_numpy_step(rho):
    support, labels, query, _ = _imbalanced_episode(separation=2.0, seed=1)
    result = putm_em(support, labels, query, temperature=0.5, rho=rho, max_iter=500, tol=1e-13)
    assert result.converged
    proto, prior = _numpy_em_step(
        support.numpy(),
        labels.numpy(),
        query.numpy(),
        result.prototypes.numpy(),
        result.proportions.numpy(),
        0.5,
        rho,
    )
    np.testing.assert_allclose(proto, result.prototypes.numpy(), atol=1e-10)
    np.testing.assert_allclose(prior, result.proportions.numpy(), atol=1e-10)


def test_one_iteration_matches_the_numpy_step():
    support, labels, query, _ = _imbalanced_episode(separation=2.0, seed=2)
    result = putm_em(support, labels, query, temperature=0.3, rho=0.5, max_iter=1)
    start = class_prototypes(support, labels).numpy()
    proto, _ = _numpy_em_step(
        support.numpy(), labels.numpy(), query.numpy(), start, np.full(3, 1 / 3), 0.3, 0.5
    )
    np.testing.assert_allclose(result.prototypes.numpy(), proto, rtol=1e-12)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), rho=st.sampled_from([0.0, 0.5, 1.0]))
def test_separated_imbalanced_classes_are_recovered_with_their_proportions(seed, rho):
    counts = (20, 5, 2)
    support, labels, query, query_labels = _imbalanced_episode(counts, separation=8.0, seed=seed)
    result = putm_em(support, labels, query, temperature=0.5, rho=rho)
    true = torch.tensor(counts, dtype=torch.float64) / sum(counts)
    uniform_error = (true - 1 / 3).abs().sum()
    assert (result.labels == query_labels).double().mean() > 0.9
    assert (result.proportions - true).abs().sum() < 0.5 * uniform_error
    torch.testing.assert_close(result.forward.sum(-1), torch.ones(len(query), dtype=torch.float64))
    torch.testing.assert_close(result.backward.sum(-2), torch.ones(3, dtype=torch.float64))


def test_balanced_sinkhorn_baseline_matches_pot_and_forces_equal_classes():
    support, labels, query, _ = _imbalanced_episode((9, 9, 9), separation=2.0, seed=3)
    result = sinkhorn_prototypes(
        support, labels, query, reg=1.0, max_iter=30, sinkhorn_iter=5000, sinkhorn_tol=1e-12
    )
    cost = torch.cdist(query, result.prototypes).pow(2).numpy()
    reference = ot.sinkhorn(
        np.full(27, 1 / 27), np.full(3, 1 / 3), cost, 1.0, numItermax=10_000, stopThr=1e-12
    )
    np.testing.assert_allclose(result.plan.numpy(), reference, atol=1e-8)
    assert result.marginal_error < 1e-10
    torch.testing.assert_close(
        result.plan.sum(0), torch.full((3,), 1 / 3, dtype=torch.float64), atol=1e-6, rtol=0
    )
    # imbalanced queries: the balanced plan still gives each class a third of the mass
    support, labels, query, query_labels = _imbalanced_episode((20, 5, 2), separation=8.0, seed=3)
    balanced = sinkhorn_prototypes(support, labels, query, reg=4.0)
    ct = putm_em(support, labels, query, temperature=0.5)
    assert (ct.labels == query_labels).double().mean() > (balanced.labels == query_labels).double().mean()


def test_batched_equals_one_by_one_and_float32_runs():
    support, labels, query, _ = _imbalanced_episode(separation=2.0, seed=4, batch=3)
    batched = putm_em(support, labels, query, max_iter=10, tol=0.0)
    sink = sinkhorn_prototypes(support, labels, query, reg=0.5, max_iter=5, tol=0.0)
    for e in range(3):
        single = putm_em(support[e], labels[e], query[e], max_iter=10, tol=0.0)
        torch.testing.assert_close(batched.prototypes[e], single.prototypes)
        torch.testing.assert_close(batched.proportions[e], single.proportions)
        one = sinkhorn_prototypes(support[e], labels[e], query[e], reg=0.5, max_iter=5, tol=0.0)
        torch.testing.assert_close(sink.plan[e], one.plan, atol=1e-6, rtol=0)  # Sinkhorn's tol
    result32 = putm_em(support.float(), labels, query.float(), max_iter=10, tol=0.0)
    assert result32.prototypes.dtype == torch.float32
    torch.testing.assert_close(result32.proportions.double(), batched.proportions, atol=1e-4, rtol=0)


def test_bad_inputs_raise():
    support, labels, query, _ = _imbalanced_episode()
    with pytest.raises(ValueError, match="rho"):
        putm_em(support, labels, query, rho=-0.1)
    with pytest.raises(ValueError, match="temperature"):
        putm_em(support, labels, query, temperature=0.0)
    with pytest.raises(ValueError, match="max_iter"):
        putm_em(support, labels, query, max_iter=0)
    with pytest.raises(ValueError, match="reg"):
        sinkhorn_prototypes(support, labels, query, reg=-1.0)
    with pytest.raises(ValueError, match="sinkhorn_iter"):
        sinkhorn_prototypes(support, labels, query, sinkhorn_iter=0)
    with pytest.raises(ValueError, match="every class"):
        putm_em(support, torch.where(labels == 1, 0, labels), query)
    with pytest.raises(ValueError, match="query"):
        putm_em(support, labels, query[:, :2])
