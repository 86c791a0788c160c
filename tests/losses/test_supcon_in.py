"""SupCon L_in: the paper's formula by loops, Jensen against L_out, NT-Xent with one positive, inputs."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from paperlab.losses import nt_xent_loss, supcon_in_loss, supcon_loss


def randn(*shape, seed=0, dtype=torch.float64):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def random_labels(n, n_classes, seed=0):
    return torch.randint(0, n_classes, (n,), generator=torch.Generator().manual_seed(seed + 100))


def naive_supcon_in(z, y, temperature):
    """Per-anchor L_in by loops, straight from the paper: -log of the mean positive softmax probability."""
    unit = F.normalize(z, dim=1)
    out = []
    for i in range(len(y)):
        others = [a for a in range(len(y)) if a != i]
        positives = [p for p in others if y[p] == y[i]]
        if not positives:
            out.append(torch.zeros((), dtype=z.dtype))
            continue
        denominator = sum(torch.exp(unit[i] @ unit[a] / temperature) for a in others)
        mean_probability = sum(torch.exp(unit[i] @ unit[p] / temperature) for p in positives) / len(positives)
        out.append(-torch.log(mean_probability / denominator))
    return torch.stack(out)


def simclr_cross_entropy(query, key, temperature):
    """NT-Xent as a (2B)-way cross-entropy: each view's partner is its class, itself is masked out."""
    views = F.normalize(torch.cat([query, key]), dim=1)  # (2B, D)
    b = len(query)
    logits = (views @ views.T / temperature).fill_diagonal_(-math.inf)  # (2B, 2B)
    partner = torch.cat([torch.arange(b, 2 * b), torch.arange(b)])  # (2B,)
    return F.cross_entropy(logits, partner, reduction="none")


@pytest.mark.parametrize(("n_classes", "temperature"), [(2, 0.1), (4, 0.5), (7, 0.07)])
def test_supcon_in_matches_the_paper_formula(n_classes, temperature):
    z, y = randn(24, 5, seed=n_classes), random_labels(24, n_classes, seed=n_classes)
    expected = naive_supcon_in(z, y, temperature)
    torch.testing.assert_close(supcon_in_loss(z, y, temperature, reduction="none"), expected)
    has_positive = torch.bincount(y)[y] > 1
    torch.testing.assert_close(supcon_in_loss(z, y, temperature), expected[has_positive].mean())
    torch.testing.assert_close(supcon_in_loss(z, y, temperature, reduction="sum"), expected.sum())


def test_supcon_in_raw_dot_products_and_gradients_match_the_formula():
    z, y = randn(12, 3, seed=5), torch.tensor([0, 0, 0, 1, 1, 2, 2, 2, 2, 3, 4, 4])
    unit = F.normalize(z, dim=1)
    expected = naive_supcon_in(z, y, 0.3)
    torch.testing.assert_close(supcon_in_loss(unit, y, 0.3, normalize=False, reduction="none"), expected)
    ours = z.clone().requires_grad_(True)
    theirs = z.clone().requires_grad_(True)
    torch.testing.assert_close(
        torch.autograd.grad(supcon_in_loss(ours, y, 0.3, reduction="sum"), ours)[0],
        torch.autograd.grad(naive_supcon_in(theirs, y, 0.3).sum(), theirs)[0],
    )


def test_supcon_in_passes_gradcheck_with_a_learnable_temperature():
    z, y = randn(9, 3, seed=6).requires_grad_(True), torch.tensor([0, 0, 1, 1, 1, 2, 2, 3, 0])
    tau = torch.tensor(0.4, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda a, t: supcon_in_loss(a, y, t), (z, tau))


@pytest.mark.parametrize("temperature", [0.05, 0.1, 1.0])
def test_one_positive_per_anchor_gives_nt_xent_for_both_forms(temperature):
    """SupCon with pair labels is SimCLR's NT-Xent, and L_in = L_out when |P(i)| = 1."""
    q, k = randn(10, 6, seed=7), randn(10, 6, seed=8)
    expected = simclr_cross_entropy(q, k, temperature)
    views, pairs = torch.cat([q, k]), torch.arange(10).repeat(2)
    for loss in (supcon_loss, supcon_in_loss):
        torch.testing.assert_close(loss(views, pairs, temperature, reduction="none"), expected)
    torch.testing.assert_close(nt_xent_loss(q, k, temperature, reduction="none"), expected)


def test_anchors_without_positives_give_zero_and_finite_gradients():
    z = randn(6, 3, seed=9).requires_grad_(True)
    loss = supcon_in_loss(z, torch.arange(6))
    loss.backward()
    assert loss.item() == 0.0 and torch.count_nonzero(z.grad) == 0
    z.grad = None
    y = torch.tensor([0, 0, 1, 2, 3, 3])  # items 2 and 3 have no positive
    per_anchor = supcon_in_loss(z, y, reduction="none")
    assert per_anchor[2] == 0 and per_anchor[3] == 0 and bool((per_anchor[[0, 1, 4, 5]] > 0).all())
    per_anchor.sum().backward()
    assert bool(torch.isfinite(z.grad).all())


def test_float32_input_gives_float32_loss():
    z, y = randn(16, 4, seed=10, dtype=torch.float32), random_labels(16, 3, seed=10)
    loss = supcon_in_loss(z, y)
    assert loss.dtype == torch.float32
    torch.testing.assert_close(loss.double(), supcon_in_loss(z.double(), y), rtol=1e-5, atol=1e-6)


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    n=st.integers(2, 30),
    n_classes=st.integers(1, 6),
    log_scale=st.floats(-3, 3),
    temperature=st.floats(0.05, 2.0),
)
def test_l_in_is_below_l_out_and_invariant_to_permutation_and_scale(
    seed, n, n_classes, log_scale, temperature
):
    z, y = randn(n, 4, seed=seed), random_labels(n, n_classes, seed=seed)
    per_anchor = supcon_in_loss(z, y, temperature, reduction="none")
    assert bool((per_anchor <= supcon_loss(z, y, temperature, reduction="none") + 1e-10).all())  # Jensen
    assert bool((per_anchor >= -1e-10).all())
    g = torch.Generator().manual_seed(seed)
    order = torch.randperm(n, generator=g)
    scales = torch.exp(log_scale + torch.rand(n, 1, generator=g, dtype=z.dtype))
    torch.testing.assert_close(
        supcon_in_loss(z[order], y[order], temperature, reduction="none"), per_anchor[order]
    )
    torch.testing.assert_close(supcon_in_loss(z * scales, y, temperature, reduction="none"), per_anchor)


def test_bad_inputs_raise_naming_the_argument():
    z, y = randn(8, 4), random_labels(8, 2)
    with pytest.raises(ValueError, match="temperature"):
        supcon_in_loss(z, y, temperature=0.0)
    with pytest.raises(TypeError, match="temperature"):
        supcon_in_loss(z, y, temperature="0.1")
    with pytest.raises(ValueError, match="reduction"):
        supcon_in_loss(z, y, reduction="avg")
    with pytest.raises(ValueError, match="labels"):
        supcon_in_loss(z, y[:3])
    with pytest.raises(TypeError, match="labels"):
        supcon_in_loss(z, y.double())
    with pytest.raises(ValueError, match="embeddings"):
        supcon_in_loss(z[0], y)
    with pytest.raises(ValueError, match="at least 2"):
        supcon_in_loss(z[:1], y[:1])
    nan = z.clone()
    nan[1, 1] = float("nan")
    with pytest.raises(ValueError, match="finite"):
        supcon_in_loss(nan, y)
