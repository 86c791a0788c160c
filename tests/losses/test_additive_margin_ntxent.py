"""NT-Xent-AM against the paper's formula written out term by term, and its limits."""

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from pytorch_metric_learning.losses import NTXentLoss, SelfSupervisedLoss

from paperlab.losses import info_nce, nt_xent_additive_margin_loss


def _pair(seed, n=6, d=4, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, d, generator=g, dtype=dtype), torch.randn(n, d, generator=g, dtype=dtype)


def _naive(query, key, margin, temperature):
    """Per-anchor loss from the formula, one scalar at a time."""
    losses = []
    for i in range(len(query)):
        cos = [torch.nn.functional.cosine_similarity(query[i], key[j], dim=0) for j in range(len(key))]
        positive = math.exp((cos[i].item() - margin) / temperature)
        negatives = sum(math.exp(c.item() / temperature) for j, c in enumerate(cos) if j != i)
        losses.append(-math.log(positive / (positive + negatives)))
    return torch.tensor(losses, dtype=torch.float64)


@pytest.mark.parametrize("margin, temperature", [(0.1, 0.2), (0.3, 0.5), (0.0, 1.0)])
def test_matches_formula(margin, temperature):
    q, k = _pair(0)
    ours = nt_xent_additive_margin_loss(q, k, margin, temperature, reduction="none")
    torch.testing.assert_close(ours, _naive(q, k, margin, temperature))


def test_symmetric_averages_both_directions():
    q, k = _pair(1)
    forward = _naive(q, k, 0.2, 0.3)
    backward = _naive(k, q, 0.2, 0.3)
    ours = nt_xent_additive_margin_loss(q, k, 0.2, 0.3, symmetric=True, reduction="none")
    torch.testing.assert_close(ours, 0.5 * (forward + backward))


def test_zero_margin_is_pml_self_supervised_ntxent():
    q, k = _pair(2, n=10, d=6, dtype=torch.float32)
    pml = SelfSupervisedLoss(NTXentLoss(temperature=0.2), symmetric=False)(q, k)
    ours = nt_xent_additive_margin_loss(q, k, 0.0, 0.2)
    torch.testing.assert_close(ours, pml, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(ours, info_nce(q, k, 0.2), rtol=1e-6, atol=1e-6)


def test_raw_dot_products_when_not_normalized():
    q, k = _pair(3)
    logits = q @ k.T - 0.1 * torch.eye(len(q), dtype=q.dtype)
    expected = torch.nn.functional.cross_entropy(logits / 0.5, torch.arange(len(q)), reduction="sum")
    torch.testing.assert_close(
        nt_xent_additive_margin_loss(q, k, 0.1, 0.5, normalize=False, reduction="sum"), expected
    )


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), m1=st.floats(0, 0.5), m2=st.floats(0, 0.5), n=st.integers(2, 9))
def test_loss_grows_with_margin(seed, m1, m2, n):
    q, k = _pair(seed, n=n)
    low, high = sorted((m1, m2))
    assert nt_xent_additive_margin_loss(q, k, low) <= nt_xent_additive_margin_loss(q, k, high) + 1e-12


def test_gradcheck_with_learnable_temperature():
    q, k = _pair(4, n=5, d=3)
    q.requires_grad_(True)
    k.requires_grad_(True)
    temperature = torch.tensor(0.4, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(
        lambda a, b, t: nt_xent_additive_margin_loss(a, b, 0.15, t, symmetric=True), (q, k, temperature)
    )


def test_dtype_and_device_follow_inputs():
    q, k = _pair(5, dtype=torch.float32)
    assert nt_xent_additive_margin_loss(q, k).dtype == torch.float32


@pytest.mark.parametrize(
    "kwargs, error, name",
    [
        ({"margin": -0.1}, ValueError, "margin"),
        ({"temperature": 0.0}, ValueError, "temperature"),
        ({"reduction": "max"}, ValueError, "reduction"),
        ({"key": torch.randn(5, 4, dtype=torch.float64)}, ValueError, "query and key"),
        (
            {"query": torch.randn(1, 4, dtype=torch.float64), "key": torch.randn(1, 4, dtype=torch.float64)},
            ValueError,
            "query",
        ),
        ({"query": torch.full((6, 4), float("nan"), dtype=torch.float64)}, ValueError, "query"),
        ({"key": torch.ones(6, 4, dtype=torch.int64)}, TypeError, "key"),
    ],
)
def test_bad_inputs_raise(kwargs, error, name):
    q, k = _pair(6)
    arguments = {"query": q, "key": k, **kwargs}
    with pytest.raises(error, match=name):
        nt_xent_additive_margin_loss(**arguments)
