"""Tests for the relaxed odd-even sorting network and the GroCo group-ordering loss."""

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from paperlab.losses import GroupOrderingLoss, differentiable_sort, group_ordering_loss, top_rank_mass
from paperlab.losses.group_ordering import RELAXATIONS


def naive_sort(row, steepness, relaxation, art_lambda=0.25):
    """The network as a product of dense layer matrices, for one row, written from the definition."""
    n = len(row)
    x = row.clone()
    total = torch.eye(n, dtype=row.dtype)
    for layer in range(n):
        step = torch.eye(n, dtype=row.dtype)
        for i in range(layer % 2, n - 1, 2):
            d = x[i + 1] - x[i]
            if relaxation == "logistic":
                alpha = torch.sigmoid(steepness * d)
            elif relaxation == "logistic_phi":
                alpha = torch.sigmoid(steepness * d / (d.abs() + 1e-10) ** art_lambda)
            else:
                alpha = torch.atan(steepness * d) / math.pi + 0.5
            step[i, i] = step[i + 1, i + 1] = alpha
            step[i + 1, i] = step[i, i + 1] = 1 - alpha
        x = x @ step
        total = total @ step
    return x, total


def naive_groco(embeddings, labels, n_negatives, steepness, relaxation):
    """Per-anchor loop: hardest negatives and positives, ascending, sorted, BCE on top-group mass."""
    unit = embeddings / embeddings.norm(dim=1, keepdim=True)
    losses = []
    for i in range(len(labels)):
        sims = [float(unit[i] @ unit[j]) for j in range(len(labels))]
        pos = sorted(sims[j] for j in range(len(labels)) if labels[j] == labels[i] and j != i)
        neg = sorted((sims[j] for j in range(len(labels)) if labels[j] != labels[i]), reverse=True)
        scores = torch.tensor(sorted(neg[:n_negatives]) + pos, dtype=embeddings.dtype)
        _, perm = naive_sort(scores, steepness, relaxation)
        top = perm[:, n_negatives:].sum(1).clamp(0, 1)
        target = torch.tensor([0.0] * n_negatives + [1.0] * len(pos), dtype=embeddings.dtype)
        bce = -(target * top.log() + (1 - target) * (1 - top).log())
        losses.append(bce.mean())
    return torch.stack(losses)


@pytest.mark.parametrize("relaxation", RELAXATIONS)
@pytest.mark.parametrize("n", [2, 5, 8])
def test_sort_matches_dense_layer_products(relaxation, n):
    x = torch.randn(3, n, generator=torch.Generator().manual_seed(n), dtype=torch.float64)
    result = differentiable_sort(x, steepness=3.0, relaxation=relaxation)
    for b in range(3):
        values, perm = naive_sort(x[b], 3.0, relaxation)
        torch.testing.assert_close(result.values[b], values)
        torch.testing.assert_close(result.permutation[b], perm)
        torch.testing.assert_close(x[b] @ result.permutation[b], result.values[b])


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(2, 12), steepness=st.floats(0.1, 50.0))
def test_permutation_is_doubly_stochastic(seed, n, steepness):
    x = torch.randn(4, n, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    perm = differentiable_sort(x, steepness=steepness).permutation
    assert bool((perm >= 0).all())
    torch.testing.assert_close(perm.sum(1), torch.ones(4, n, dtype=torch.float64), atol=1e-12, rtol=0)
    torch.testing.assert_close(perm.sum(2), torch.ones(4, n, dtype=torch.float64), atol=1e-12, rtol=0)


def test_approaches_hard_sort_as_steepness_grows():
    x = torch.randperm(9, generator=torch.Generator().manual_seed(0)).double()[None] * 0.5  # gaps of 0.5
    hard = torch.nn.functional.one_hot(x.argsort(dim=1)[0], 9).double().T  # input i -> rank r
    errors = [
        (differentiable_sort(x, steepness=s).permutation[0] - hard).abs().max().item() for s in (1, 10, 100)
    ]
    assert errors[0] > errors[1] > errors[2] and errors[2] < 1e-9
    torch.testing.assert_close(differentiable_sort(x, steepness=100.0).values, x.sort(dim=1).values)
    # A soft network blurs: with a small steepness the values shrink towards their mean.
    soft = differentiable_sort(x, steepness=0.01).values
    assert soft.std().item() < 0.5 * x.std().item()


def test_groco_matches_naive_loop():
    g = torch.Generator().manual_seed(1)
    embeddings = torch.randn(12, 5, generator=g, dtype=torch.float64)
    labels = torch.arange(4).repeat_interleave(3)  # 4 images x 3 views
    for relaxation, steepness in (("cauchy", 1.0), ("logistic", 8.0)):
        ours = group_ordering_loss(embeddings, labels, 5, steepness, relaxation, reduction="none")
        torch.testing.assert_close(ours, naive_groco(embeddings, labels, 5, steepness, relaxation))


def test_groco_small_when_groups_are_separated_and_large_when_swapped():
    labels = torch.arange(4).repeat_interleave(2)
    centres = torch.eye(4, dtype=torch.float64)
    tight = centres[labels] + 0.01 * torch.randn(
        8, 4, generator=torch.Generator().manual_seed(0), dtype=torch.float64
    )
    good = group_ordering_loss(tight, labels, n_negatives=3, steepness=50.0, relaxation="logistic")
    bad = group_ordering_loss(tight, labels.roll(1), n_negatives=3, steepness=50.0, relaxation="logistic")
    assert good.item() < 1e-3 < 1.0 < bad.item()


def test_gradcheck_and_stop_grad():
    g = torch.Generator().manual_seed(2)
    x = torch.randn(2, 6, generator=g, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda z: differentiable_sort(z, 2.0).permutation, (x,))
    assert torch.autograd.gradcheck(lambda z: differentiable_sort(z, 2.0, "cauchy").values, (x,))
    embeddings = torch.randn(8, 3, generator=g, dtype=torch.float64, requires_grad=True)
    labels = torch.arange(4).repeat_interleave(2)
    assert torch.autograd.gradcheck(
        lambda e: group_ordering_loss(e, labels, 4, 2.0, "logistic", stop_grad=False), (embeddings,)
    )
    # stop_grad=True keeps only the anchor side: a different (not the true) gradient of the same value.
    full = torch.autograd.grad(group_ordering_loss(embeddings, labels, 4, stop_grad=False), embeddings)[0]
    half = torch.autograd.grad(group_ordering_loss(embeddings, labels, 4, stop_grad=True), embeddings)[0]
    assert not torch.allclose(full, half)


def test_module_and_reductions_and_dtype():
    embeddings = torch.randn(8, 3, generator=torch.Generator().manual_seed(3))
    labels = torch.arange(4).repeat_interleave(2)
    per_anchor = group_ordering_loss(embeddings, labels, 3, reduction="none")
    assert per_anchor.shape == (8,) and per_anchor.dtype == torch.float32
    torch.testing.assert_close(GroupOrderingLoss(3)(embeddings, labels), per_anchor.mean())
    torch.testing.assert_close(GroupOrderingLoss(3, reduction="sum")(embeddings, labels), per_anchor.sum())


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: differentiable_sort(torch.randn(3)), "x"),
        (lambda: differentiable_sort(torch.randn(3, 1)), "x"),
        (lambda: differentiable_sort(torch.tensor([[0.0, float("nan")]])), "x"),
        (lambda: differentiable_sort(torch.randn(2, 3), steepness=0.0), "steepness"),
        (lambda: differentiable_sort(torch.randn(2, 3), relaxation="sigmoid"), "relaxation"),
        (lambda: differentiable_sort(torch.randn(2, 3), art_lambda=2.0), "art_lambda"),
        (lambda: group_ordering_loss(torch.randn(6, 2), torch.tensor([0, 0, 1, 1, 1, 2])), "labels"),
        (lambda: group_ordering_loss(torch.randn(4, 2), torch.arange(4)), "labels"),
        (
            lambda: group_ordering_loss(torch.randn(6, 2), torch.arange(3).repeat(2), n_negatives=5),
            "n_negatives",
        ),
        (
            lambda: group_ordering_loss(torch.randn(6, 2), torch.arange(3).repeat(2), n_negatives=0),
            "n_negatives",
        ),
        (lambda: group_ordering_loss(torch.randn(6, 2), torch.arange(3).repeat(2)[:5]), "labels"),
        (
            lambda: group_ordering_loss(torch.randn(6, 2), torch.arange(3).repeat(2), 2, reduction="max"),
            "reduction",
        ),
        (lambda: GroupOrderingLoss(steepness=-1.0), "steepness"),
    ],
)
def test_bad_inputs(call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call()


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(2, 10), relaxation=st.sampled_from(RELAXATIONS))
def test_top_rank_mass_equals_permutation_column_sums(seed, n, relaxation):
    x = torch.randn(3, n, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    n_top = 1 + seed % n
    expected = differentiable_sort(x, 2.0, relaxation).permutation[:, :, n - n_top :].sum(2)
    torch.testing.assert_close(top_rank_mass(x, n_top, 2.0, relaxation), expected)


def test_top_rank_mass_bad_n_top():
    with pytest.raises(ValueError, match="n_top"):
        top_rank_mass(torch.randn(2, 3), 4)
    with pytest.raises(ValueError, match="n_top"):
        top_rank_mass(torch.randn(2, 3), 0)
