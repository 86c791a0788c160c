"""SNR distance and its losses against pytorch-metric-learning, a naive oracle and invariants."""

from __future__ import annotations

import itertools

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from pytorch_metric_learning import distances as pml_distances
from pytorch_metric_learning import losses as pml_losses
from pytorch_metric_learning import miners as pml_miners
from pytorch_metric_learning import regularizers as pml_regularizers

from paperlab.losses import (
    SNRContrastiveLoss,
    SNRTripletLoss,
    snr_contrastive_loss,
    snr_distance,
    snr_triplet_loss,
    zero_mean_regularizer,
)


def batch(n=20, d=6, n_classes=4, seed=0, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d, generator=g, dtype=dtype) + 0.3
    y = torch.randint(0, n_classes, (n,), generator=g)
    return x, y


def value_and_grad(fn, x):
    x = x.clone().requires_grad_(True)
    value = fn(x)
    (grad,) = torch.autograd.grad(value, x)
    return value.detach(), grad


def naive_snr(a, b):
    """Var(b - a) / Var(a) for one pair, straight from the definition."""
    return torch.var(b - a) / torch.var(a)


def test_snr_distance_matches_definition_and_pml():
    a, _ = batch(7, 5, seed=1)
    b, _ = batch(9, 5, seed=2)
    ours = snr_distance(a, b)
    naive = torch.stack([torch.stack([naive_snr(a[i], b[j]) for j in range(9)]) for i in range(7)])
    torch.testing.assert_close(ours, naive, rtol=1e-10, atol=1e-12)
    pml = pml_distances.SNRDistance(normalize_embeddings=False)(a, b)
    torch.testing.assert_close(ours, pml, rtol=1e-10, atol=1e-12)


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    shift=st.floats(-5, 5),
    scale=st.floats(0.1, 10),
)
def test_snr_distance_is_invariant_to_shifting_every_vector_and_common_scale(seed, shift, scale):
    a, _ = batch(5, 4, seed=seed)
    b, _ = batch(6, 4, seed=seed + 1)
    base = snr_distance(a, b)
    torch.testing.assert_close(snr_distance(scale * a + shift, scale * b - shift), base, rtol=1e-8, atol=1e-9)
    assert (base >= 0).all()


def test_snr_distance_is_asymmetric_and_zero_on_itself():
    a, _ = batch(6, 5, seed=3)
    d = snr_distance(a, a)
    torch.testing.assert_close(d.diagonal(), torch.zeros(6, dtype=a.dtype), atol=1e-12, rtol=0)
    assert not torch.allclose(d, d.T)


def naive_triplets(x, y, margin, triplets):
    out = []
    for a, p, n in itertools.product(range(len(y)), repeat=3):
        if a != p and y[a] == y[p] and y[n] != y[a]:
            d_ap, d_an = naive_snr(x[a], x[p]), naive_snr(x[a], x[n])
            keep = triplets == "all" or d_an > d_ap
            out.append(torch.relu(d_ap - d_an + margin) * keep)
    return torch.stack(out)


@pytest.mark.parametrize("triplets", ["all", "semihard"])
@pytest.mark.parametrize("margin", [0.1, 0.8])
def test_triplet_none_matches_naive_loops(triplets, margin):
    x, y = batch(12, 5, 3, seed=4)
    ours = snr_triplet_loss(x, y, margin, triplets=triplets, reduction="none")
    torch.testing.assert_close(ours, naive_triplets(x, y, margin, triplets), rtol=1e-10, atol=1e-12)
    naive = naive_triplets(x, y, margin, triplets)
    torch.testing.assert_close(
        snr_triplet_loss(x, y, margin, triplets=triplets, reduction="sum"), naive.sum()
    )
    torch.testing.assert_close(
        snr_triplet_loss(x, y, margin, triplets=triplets, reduction="mean"), naive.mean()
    )
    torch.testing.assert_close(snr_triplet_loss(x, y, margin, triplets=triplets), naive[naive > 0].mean())


@pytest.mark.parametrize("triplets", ["all", "semihard"])
@pytest.mark.parametrize("normalize", [True, False])
@pytest.mark.parametrize("reg", [0.0, 0.3])
def test_triplet_matches_pml_value_and_gradient(triplets, normalize, reg):
    x, y = batch(seed=5)
    margin = 0.4
    distance = pml_distances.SNRDistance(normalize_embeddings=normalize)
    pml_loss = pml_losses.TripletMarginLoss(
        margin=margin,
        distance=distance,
        embedding_regularizer=pml_regularizers.ZeroMeanRegularizer() if reg else None,
        embedding_reg_weight=reg if reg else 1.0,
    )
    miner = pml_miners.TripletMarginMiner(margin=margin, type_of_triplets="semihard", distance=distance)

    def pml(e):
        return pml_loss(e, y, miner(e, y) if triplets == "semihard" else None)

    ours = value_and_grad(lambda e: snr_triplet_loss(e, y, margin, reg, triplets, normalize), x)
    theirs = value_and_grad(pml, x)
    torch.testing.assert_close(ours[0], theirs[0], rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(ours[1], theirs[1], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("normalize", [True, False])
def test_contrastive_matches_pml_value_and_gradient(normalize):
    x, y = batch(seed=6)
    pml_loss = pml_losses.SignalToNoiseRatioContrastiveLoss(
        pos_margin=0.2, neg_margin=1.1, distance=pml_distances.SNRDistance(normalize_embeddings=normalize)
    )
    ours = value_and_grad(lambda e: snr_contrastive_loss(e, y, 0.2, 1.1, normalize=normalize), x)
    theirs = value_and_grad(lambda e: pml_loss(e, y), x)
    torch.testing.assert_close(ours[0], theirs[0], rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(ours[1], theirs[1], rtol=1e-5, atol=1e-5)


def test_zero_mean_regularizer_matches_formula():
    x, _ = batch(5, 3, seed=7)
    expected = torch.stack([row.sum().abs() for row in x])
    torch.testing.assert_close(zero_mean_regularizer(x, "none"), expected)
    torch.testing.assert_close(zero_mean_regularizer(x), expected.mean())
    torch.testing.assert_close(zero_mean_regularizer(x, "sum"), expected.sum())


def test_gradcheck_distance_and_losses():
    a, y = batch(8, 4, 3, seed=8)
    b, _ = batch(5, 4, seed=9)
    a.requires_grad_(True)
    b.requires_grad_(True)
    assert torch.autograd.gradcheck(snr_distance, (a, b))
    assert torch.autograd.gradcheck(lambda e: snr_triplet_loss(e, y, 0.5, 0.1), (a,))
    assert torch.autograd.gradcheck(lambda e: snr_triplet_loss(e, y, 0.5, triplets="semihard"), (a,))
    assert torch.autograd.gradcheck(lambda e: snr_contrastive_loss(e, y, 0.1, 1.5, 0.1), (a,))


def test_modules_match_functions_and_float32_works():
    x, y = batch(seed=10, dtype=torch.float32)
    module = SNRTripletLoss(margin=0.3, reg=0.01, triplets="semihard")
    torch.testing.assert_close(module(x, y), snr_triplet_loss(x, y, 0.3, 0.01, "semihard"))
    module = SNRContrastiveLoss(0.1, 1.2, 0.01)
    torch.testing.assert_close(module(x, y), snr_contrastive_loss(x, y, 0.1, 1.2, 0.01))
    assert module(x, y).dtype == torch.float32


def test_batch_without_triplets_gives_connected_zero():
    x, _ = batch(4, 3)
    y = torch.tensor([0, 1, 2, 3])
    x.requires_grad_(True)
    loss = snr_triplet_loss(x, y)
    loss.backward()
    assert loss.item() == 0.0 and torch.equal(x.grad, torch.zeros_like(x))


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda x, y: snr_distance(x, x[:, :3]), "other"),
        (lambda x, y: snr_distance(x[:, :1], x[:, :1]), "anchor"),
        (lambda x, y: snr_distance(x, x.float()), "other"),
        (lambda x, y: snr_distance(x.masked_fill(x > 1, float("nan")), x), "anchor"),
        (lambda x, y: snr_distance(x, x, eps=0.0), "eps"),
        (lambda x, y: snr_triplet_loss(x, y[:-1]), "labels"),
        (lambda x, y: snr_triplet_loss(x, y, margin=-1.0), "margin"),
        (lambda x, y: snr_triplet_loss(x, y, reg=-0.1), "reg"),
        (lambda x, y: snr_triplet_loss(x, y, triplets="hard"), "triplets"),
        (lambda x, y: snr_triplet_loss(x, y, reduction="max"), "reduction"),
        (lambda x, y: snr_triplet_loss(x[:, :1], y), "embeddings"),
        (lambda x, y: snr_contrastive_loss(x, y, neg_margin=-1.0), "neg_margin"),
        (lambda x, y: zero_mean_regularizer(x, "max"), "reduction"),
        (lambda x, y: SNRTripletLoss(triplets="easy"), "triplets"),
    ],
)
def test_bad_inputs_raise_naming_the_argument(call, match):
    x, y = batch(6, 4)
    with pytest.raises(ValueError, match=match):
        call(x, y)


def test_float_labels_are_rejected():
    x, y = batch(6, 4)
    with pytest.raises(TypeError, match="labels"):
        snr_triplet_loss(x, y.double())
