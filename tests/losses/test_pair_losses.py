"""Triplet and contrastive losses against pytorch-metric-learning, a naive oracle and invariants."""

from __future__ import annotations

import itertools

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from pytorch_metric_learning import distances as pml_distances
from pytorch_metric_learning import losses as pml_losses
from pytorch_metric_learning import reducers as pml_reducers

from paperlab.losses import contrastive_loss, triplet_margin_loss


def batch(n=24, d=6, n_classes=4, seed=0, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d, generator=g, dtype=dtype)
    y = torch.randint(0, n_classes, (n,), generator=g)
    return x, y


def pml_distance(distance, normalize):
    if distance == "cosine":
        return pml_distances.CosineSimilarity()
    power = 2 if distance == "squared_euclidean" else 1
    return pml_distances.LpDistance(normalize_embeddings=normalize, power=power)


def value_and_grad(fn, x):
    x = x.clone().requires_grad_(True)
    value = fn(x)
    (grad,) = torch.autograd.grad(value, x)
    return value.detach(), grad


def naive_triplet_losses(x, y, margin, distance):
    """Every valid triplet by explicit loops, in (anchor, positive, negative) order."""
    if distance == "cosine":
        unit = torch.nn.functional.normalize(x, dim=1)
        d = lambda i, j: 1 - unit[i] @ unit[j]
    else:
        unit = torch.nn.functional.normalize(x, dim=1)
        d = lambda i, j: torch.linalg.vector_norm(unit[i] - unit[j])
    out = []
    n = len(y)
    for a, p, q in itertools.product(range(n), repeat=3):
        if a != p and y[a] == y[p] and y[q] != y[a]:
            out.append(torch.relu(d(a, p) - d(a, q) + margin))
    return torch.stack(out)


@pytest.mark.parametrize("distance", ["euclidean", "squared_euclidean", "cosine"])
@pytest.mark.parametrize("margin", [0.05, 0.4])
@pytest.mark.parametrize("normalize", [True, False])
def test_triplet_matches_pml_value_and_gradient(distance, margin, normalize):
    x, y = batch(seed=3)
    ours = value_and_grad(lambda e: triplet_margin_loss(e, y, margin, distance, normalize), x)
    peer = pml_losses.TripletMarginLoss(margin=margin, distance=pml_distance(distance, normalize))
    theirs = value_and_grad(lambda e: peer(e, y), x)
    torch.testing.assert_close(ours[0], theirs[0], rtol=1e-5, atol=1e-8)
    torch.testing.assert_close(ours[1], theirs[1], rtol=1e-5, atol=1e-8)


def test_triplet_mean_over_all_triplets_matches_pml_mean_reducer():
    x, y = batch(seed=5)
    ours = triplet_margin_loss(x, y, margin=0.5, reduction="mean")
    peer = pml_losses.TripletMarginLoss(margin=0.5, reducer=pml_reducers.MeanReducer())
    torch.testing.assert_close(ours, peer(x, y), rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("distance", ["euclidean", "cosine"])
def test_triplet_none_sum_and_means_agree_with_naive_loops(distance):
    x, y = batch(n=12, n_classes=3, seed=1)
    naive = naive_triplet_losses(x, y, 0.3, distance)
    per_triplet = triplet_margin_loss(x, y, 0.3, distance, reduction="none")
    torch.testing.assert_close(per_triplet, naive)
    torch.testing.assert_close(triplet_margin_loss(x, y, 0.3, distance, reduction="sum"), naive.sum())
    torch.testing.assert_close(triplet_margin_loss(x, y, 0.3, distance, reduction="mean"), naive.mean())
    nonzero = triplet_margin_loss(x, y, 0.3, distance, reduction="mean_nonzero")
    torch.testing.assert_close(nonzero, naive[naive > 0].mean())


def test_triplet_gradient_equals_gradient_of_naive_sum():
    x, y = batch(n=12, n_classes=3, seed=2)
    ours = value_and_grad(lambda e: triplet_margin_loss(e, y, 0.3, reduction="sum"), x)
    naive = value_and_grad(lambda e: naive_triplet_losses(e, y, 0.3, "euclidean").sum(), x)
    torch.testing.assert_close(ours[1], naive[1])


def test_pytorch_triplet_margin_loss_under_matched_settings():
    x, y = batch(n=10, n_classes=3, seed=4)
    anchor, pos, neg = zip(
        *[
            (a, p, q)
            for a, p, q in itertools.product(range(10), repeat=3)
            if a != p and y[a] == y[p] and y[q] != y[a]
        ]
    )
    reference = torch.nn.functional.triplet_margin_loss(
        x[list(anchor)], x[list(pos)], x[list(neg)], margin=1.0, eps=0.0
    )
    ours = triplet_margin_loss(x, y, margin=1.0, normalize=False, reduction="mean")
    torch.testing.assert_close(ours, reference)


def test_triplet_without_valid_triplets_is_zero_with_zero_gradient():
    x = torch.randn(5, 3, dtype=torch.float64, requires_grad=True)
    for labels in (torch.arange(5), torch.zeros(5, dtype=torch.long)):
        loss = triplet_margin_loss(x, labels)
        loss.backward()
        assert loss.item() == 0.0
        assert torch.count_nonzero(x.grad) == 0
        x.grad = None


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(4, 20), n_classes=st.integers(2, 4))
def test_triplet_is_invariant_to_batch_permutation(seed, n, n_classes):
    x, y = batch(n=n, n_classes=n_classes, seed=seed)
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    for reduction in ("mean_nonzero", "mean", "sum"):
        torch.testing.assert_close(
            triplet_margin_loss(x, y, 0.2, reduction=reduction),
            triplet_margin_loss(x[order], y[order], 0.2, reduction=reduction),
        )


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), log_scale=st.floats(-3, 3))
def test_cosine_triplet_is_invariant_to_row_scaling(seed, log_scale):
    x, y = batch(seed=seed)
    scales = torch.exp(log_scale + torch.rand(len(x), 1, generator=torch.Generator().manual_seed(seed)))
    torch.testing.assert_close(
        triplet_margin_loss(x, y, 0.2, "cosine"), triplet_margin_loss(x * scales, y, 0.2, "cosine")
    )


@pytest.mark.parametrize("distance", ["euclidean", "squared_euclidean"])
@pytest.mark.parametrize(("pos_margin", "neg_margin"), [(0.0, 1.0), (0.3, 1.2)])
def test_contrastive_matches_pml_value_and_gradient(distance, pos_margin, neg_margin):
    x, y = batch(seed=7)
    ours = value_and_grad(lambda e: contrastive_loss(e, y, pos_margin, neg_margin, distance), x)
    peer = pml_losses.ContrastiveLoss(pos_margin, neg_margin, distance=pml_distance(distance, True))
    theirs = value_and_grad(lambda e: peer(e, y), x)
    torch.testing.assert_close(ours[0], theirs[0], rtol=1e-5, atol=1e-8)
    torch.testing.assert_close(ours[1], theirs[1], rtol=1e-5, atol=1e-8)


def test_contrastive_cosine_margins_are_distances_one_minus_pml_similarity_margins():
    x, y = batch(seed=8)
    peer = pml_losses.ContrastiveLoss(
        pos_margin=0.9, neg_margin=0.2, distance=pml_distances.CosineSimilarity()
    )
    ours = contrastive_loss(x, y, pos_margin=1 - 0.9, neg_margin=1 - 0.2, distance="cosine")
    torch.testing.assert_close(ours, peer(x, y), rtol=1e-5, atol=1e-8)


def test_contrastive_mean_matches_pml_mean_reducer_and_none_is_the_pair_matrix():
    x, y = batch(n=10, seed=9)
    peer = pml_losses.ContrastiveLoss(0.2, 0.8, reducer=pml_reducers.MeanReducer())
    torch.testing.assert_close(contrastive_loss(x, y, 0.2, 0.8, reduction="mean"), peer(x, y))
    unit = torch.nn.functional.normalize(x, dim=1)
    matrix = contrastive_loss(x, y, 0.2, 0.8, reduction="none")
    for i, j in itertools.product(range(10), repeat=2):
        d = torch.linalg.vector_norm(unit[i] - unit[j])
        expected = 0.0 if i == j else (torch.relu(d - 0.2) if y[i] == y[j] else torch.relu(0.8 - d))
        torch.testing.assert_close(matrix[i, j], torch.as_tensor(expected, dtype=x.dtype))
    torch.testing.assert_close(contrastive_loss(x, y, 0.2, 0.8, reduction="sum"), matrix.sum())


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(3, 20))
def test_contrastive_is_invariant_to_batch_permutation(seed, n):
    x, y = batch(n=n, n_classes=3, seed=seed)
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed + 1))
    torch.testing.assert_close(contrastive_loss(x, y), contrastive_loss(x[order], y[order]))


@pytest.mark.parametrize("loss", [triplet_margin_loss, contrastive_loss])
def test_bad_inputs_raise_naming_the_argument(loss):
    x, y = batch()
    with pytest.raises(ValueError, match="embeddings"):
        loss(x[0], y)
    with pytest.raises(TypeError, match="labels"):
        loss(x, y.double())
    with pytest.raises(ValueError, match="labels"):
        loss(x, y[:-1])
    bad = x.clone()
    bad[0, 0] = float("nan")
    with pytest.raises(ValueError, match="finite"):
        loss(bad, y)
    with pytest.raises(ValueError, match="distance"):
        loss(x, y, distance="manhattan")
    with pytest.raises(ValueError, match="reduction"):
        loss(x, y, reduction="max")
    with pytest.raises(ValueError, match="at least 2"):
        loss(x[:1], y[:1])


def test_negative_margins_raise():
    x, y = batch()
    with pytest.raises(ValueError, match="margin"):
        triplet_margin_loss(x, y, margin=-0.1)
    with pytest.raises(ValueError, match="neg_margin"):
        contrastive_loss(x, y, neg_margin=-1.0)
