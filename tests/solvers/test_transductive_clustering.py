"""Tests for nearest-prototype, seeded K-means and the Laplacian K-means bound optimizer."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.cluster import KMeans
from sklearn.neighbors import kneighbors_graph

from paperlab.solvers import (
    class_prototypes,
    knn_affinity,
    laplacian_kmeans_bound,
    nearest_prototype,
    seeded_kmeans,
)


def _episode(n_way=3, n_shot=2, n_query=8, dim=4, spread=1.0, seed=0, batch=None, dtype=torch.float64):
    """Gaussian classes: supports grouped by class, queries in random order."""
    g = torch.Generator().manual_seed(seed)
    lead = () if batch is None else (batch,)
    centres = 2 * torch.randn(*lead, n_way, dim, generator=g, dtype=dtype)
    support_labels = torch.arange(n_way).repeat_interleave(n_shot).expand(*lead, -1).contiguous()
    query_labels = torch.randint(n_way, (*lead, n_way * n_query), generator=g)
    pick = lambda labels: torch.stack(
        [c[l] for c, l in zip(centres.reshape(-1, n_way, dim), labels.reshape(-1, labels.shape[-1]))]
    ).reshape(*labels.shape, dim)  # noqa: E731, E501
    support = pick(support_labels) + spread * torch.randn(
        *support_labels.shape, dim, generator=g, dtype=dtype
    )
    query = pick(query_labels) + spread * torch.randn(*query_labels.shape, dim, generator=g, dtype=dtype)
    return support, support_labels, query, query_labels


def _naive_objective(support, support_labels, query, assignments, prototypes, lam, t, n_neighbors, shift):
    """E(Y, M) written with numpy loops over points and neighbours."""
    x = np.concatenate([support.numpy(), query.numpy()])
    y = np.concatenate([np.eye(prototypes.shape[0])[support_labels.numpy()], assignments.numpy()])
    m = prototypes.numpy()
    n = len(x)
    d = ((x[:, None] - x[None]) ** 2).sum(-1) + np.diag(np.full(n, np.inf))
    w = np.zeros((n, n))
    for p in range(n):
        for r in np.argsort(d[p])[:n_neighbors]:
            w[p, r] = w[r, p] = 1.0
    w += shift * np.eye(n)
    prototype_term = sum(y[p, k] * ((x[p] - m[k]) ** 2).sum() for p in range(n) for k in range(len(m)))
    q = assignments.numpy()
    entropy = (q * np.log(np.clip(q, 1e-300, None))).sum()
    laplacian = sum(w[p, r] * y[p] @ y[r] for p in range(n) for r in range(n))
    return prototype_term + t * entropy - 0.5 * lam * laplacian


def test_prototypes_and_nearest_prototype_match_numpy():
    support, labels, query, _ = _episode(spread=1.5)
    means = np.stack([support.numpy()[labels.numpy() == k].mean(0) for k in range(3)])
    np.testing.assert_allclose(class_prototypes(support, labels).numpy(), means, rtol=1e-12)
    expected = ((query.numpy()[:, None] - means[None]) ** 2).sum(-1).argmin(1)
    np.testing.assert_array_equal(nearest_prototype(support, labels, query).numpy(), expected)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_free_kmeans_matches_sklearn_lloyd(seed):
    support, labels, query, _ = _episode(n_query=20, spread=1.5, seed=seed)
    ours = seeded_kmeans(support, labels, query, fix_supports=False)
    points = torch.cat([support, query]).numpy()
    init = class_prototypes(support, labels).numpy()
    ref = KMeans(3, init=init, n_init=1, algorithm="lloyd", tol=0.0, max_iter=300).fit(points)
    np.testing.assert_array_equal(torch.cat([ours.support_assignments, ours.labels]).numpy(), ref.labels_)
    np.testing.assert_allclose(ours.prototypes.numpy(), ref.cluster_centers_, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ours.inertia.item(), ref.inertia_, rtol=1e-10)
    assert ours.converged


def test_fixed_supports_kmeans_is_a_constrained_fixed_point():
    support, labels, query, _ = _episode(n_query=20, spread=2.0, seed=4)
    result = seeded_kmeans(support, labels, query)
    assert result.converged and torch.equal(result.support_assignments, labels)
    points = torch.cat([support, query])
    assigned = torch.cat([labels, result.labels])
    means = torch.stack([points[assigned == k].mean(0) for k in range(3)])
    torch.testing.assert_close(result.prototypes, means)
    torch.testing.assert_close(result.labels, torch.cdist(query, means).argmin(1))


def test_knn_affinity_matches_sklearn_graph():
    x = torch.randn(30, 5, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    graph = kneighbors_graph(x.numpy(), 4, mode="connectivity", include_self=False).toarray()
    np.testing.assert_array_equal(knn_affinity(x, 4).numpy(), np.maximum(graph, graph.T))


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    lam=st.sampled_from([0.0, 0.1, 1.0, 5.0]),
    temperature=st.sampled_from([0.05, 0.3, 1.0]),
    update=st.booleans(),
    n_shot=st.integers(1, 3),
)
def test_relaxed_objective_never_increases(seed, lam, temperature, update, n_shot):
    support, labels, query, _ = _episode(n_shot=n_shot, n_query=6, spread=2.0, seed=seed)
    result = laplacian_kmeans_bound(
        support, labels, query, lam=lam, temperature=temperature, update_prototypes=update, max_iter=30
    )
    steps = result.objective[1:] - result.objective[:-1]
    assert bool((steps <= 1e-9 * result.objective[:-1].abs()).all()), steps.max()
    assert torch.allclose(result.assignments.sum(-1), torch.ones(len(query), dtype=torch.float64))


@pytest.mark.parametrize("update", [True, False])
def test_objective_and_fixed_point_match_naive_formulas(update):
    support, labels, query, _ = _episode(n_shot=1, n_query=5, spread=2.0, seed=7)
    lam, t = 0.5, 0.2
    result = laplacian_kmeans_bound(
        support, labels, query, lam=lam, temperature=t, update_prototypes=update, tol=1e-12
    )
    assert result.converged
    naive = _naive_objective(
        support, labels, query, result.assignments, result.prototypes, lam, t, 3, result.psd_shift.item()
    )
    np.testing.assert_allclose(result.objective[-1].item(), naive, rtol=1e-10)
    # the shift is the smallest one making the affinity PSD
    w = knn_affinity(torch.cat([support, query]), 3)
    assert result.psd_shift.item() == pytest.approx(max(0.0, -torch.linalg.eigvalsh(w)[0].item()))
    # at convergence the assignments solve the bound step for the final prototypes
    all_y = torch.cat([torch.eye(3, dtype=torch.float64)[labels], result.assignments])
    pull = ((w + result.psd_shift * torch.eye(len(w), dtype=torch.float64)) @ all_y)[len(support) :]
    logits = (-(torch.cdist(query, result.prototypes) ** 2) + lam * pull) / t
    torch.testing.assert_close(result.assignments, torch.softmax(logits, -1), atol=1e-9, rtol=0)
    if not update:
        torch.testing.assert_close(result.prototypes, class_prototypes(support, labels))


def test_special_cases_reduce_to_the_baselines():
    support, labels, query, _ = _episode(n_query=15, spread=0.8, seed=3)
    soft = laplacian_kmeans_bound(support, labels, query, lam=0.0, temperature=0.5, update_prototypes=False)
    expected = torch.softmax(-(torch.cdist(query, class_prototypes(support, labels)) ** 2) / 0.5, -1)
    torch.testing.assert_close(soft.assignments, expected)
    assert torch.equal(soft.labels, nearest_prototype(support, labels, query))
    hard = laplacian_kmeans_bound(support, labels, query, lam=0.0, temperature=1e-3)
    kmeans = seeded_kmeans(support, labels, query)
    assert torch.equal(hard.labels, kmeans.labels)
    torch.testing.assert_close(hard.prototypes, kmeans.prototypes, atol=1e-6, rtol=0)


def test_batched_episodes_equal_one_by_one_and_float32_works():
    support, labels, query, _ = _episode(batch=4, spread=1.5, seed=5)
    batched = laplacian_kmeans_bound(support, labels, query, lam=0.3, tol=0.0, max_iter=20)
    kmeans = seeded_kmeans(support, labels, query)
    for e in range(4):
        single = laplacian_kmeans_bound(support[e], labels[e], query[e], lam=0.3, tol=0.0, max_iter=20)
        torch.testing.assert_close(batched.assignments[e], single.assignments)
        torch.testing.assert_close(batched.objective[: len(single.objective), e], single.objective)
        assert torch.equal(kmeans.labels[e], seeded_kmeans(support[e], labels[e], query[e]).labels)
    result32 = laplacian_kmeans_bound(support.float(), labels, query.float(), lam=0.3, tol=0.0, max_iter=20)
    assert result32.assignments.dtype == torch.float32
    assert (result32.labels == batched.labels).double().mean() > 0.95


def test_bad_inputs_raise():
    support, labels, query, _ = _episode()
    with pytest.raises(ValueError, match="every class"):
        laplacian_kmeans_bound(support, torch.where(labels == 1, 2, labels), query)
    with pytest.raises(TypeError, match="support_labels"):
        seeded_kmeans(support, labels.double(), query)
    with pytest.raises(ValueError, match="support_labels"):
        nearest_prototype(support, labels[:-1], query)
    with pytest.raises(ValueError, match="query"):
        nearest_prototype(support, labels, query[:, :2])
    with pytest.raises(TypeError, match="query"):
        nearest_prototype(support, labels, query.float())
    with pytest.raises(ValueError, match="lam"):
        laplacian_kmeans_bound(support, labels, query, lam=-1.0)
    with pytest.raises(ValueError, match="temperature"):
        laplacian_kmeans_bound(support, labels, query, temperature=0.0)
    with pytest.raises(ValueError, match="n_neighbors"):
        knn_affinity(query, n_neighbors=len(query))
    with pytest.raises(ValueError, match="finite"):
        seeded_kmeans(support, labels, query * float("inf"))
    with pytest.raises(ValueError, match="support_labels"):
        seeded_kmeans(support, labels - 1, query)
