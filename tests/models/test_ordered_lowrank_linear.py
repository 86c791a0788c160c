import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from paperlab.metrics import principal_angles
from paperlab.models import OrderedLowRankLinear


def _known_low_rank(out_features=8, in_features=6, singular=(4.0, 2.5, 1.5, 0.8), seed=0):
    g = torch.Generator().manual_seed(seed)
    left, _ = torch.linalg.qr(torch.randn(out_features, len(singular), generator=g, dtype=torch.float64))
    right, _ = torch.linalg.qr(torch.randn(in_features, len(singular), generator=g, dtype=torch.float64))
    return left @ torch.diag(torch.tensor(singular, dtype=torch.float64)) @ right.T, left, right


def test_ordered_dropout_training_recovers_svd_subspaces_in_order():
    # Minimizing the expected ordered-dropout loss E_b ||W - U_b V_b||_F^2 (b uniform) has the truncated
    # SVD as its nested optimum: span of the first k learned components = top-k singular subspace.
    target, left, right = _known_low_rank()
    layer = OrderedLowRankLinear(6, 8, rank=4, bias=False, generator=0).double()
    optimizer = torch.optim.Adam(layer.parameters(), lr=0.02)
    eye = torch.eye(6, dtype=torch.float64)
    for _ in range(1500):
        optimizer.zero_grad()
        prefix = layer.prefix_outputs(eye)  # (in, r, out): row i of every W_b^T
        loss = (prefix - target.T.unsqueeze(1)).square().sum(dim=(0, 2)).mean()
        loss.backward()
        optimizer.step()
    for k in range(1, 5):
        assert principal_angles(layer.weight_u[:, :k].detach(), left[:, :k]).max() < 1e-2
        assert principal_angles(layer.weight_v[:k].detach().T, right[:, :k]).max() < 1e-2
    torch.testing.assert_close(layer.weight().detach(), target, atol=1e-4, rtol=0)
    norms = layer.component_norms().detach()
    torch.testing.assert_close(
        norms, torch.tensor([4.0, 2.5, 1.5, 0.8], dtype=torch.float64), atol=1e-3, rtol=0
    )


def test_plain_factorization_does_not_order_components():
    # Control for the test above: without ordered dropout the first component is not the top one.
    target, left, _ = _known_low_rank()
    layer = OrderedLowRankLinear(6, 8, rank=4, bias=False, ordered_dropout=False, generator=0).double()
    optimizer = torch.optim.Adam(layer.parameters(), lr=0.02)
    eye = torch.eye(6, dtype=torch.float64)
    for _ in range(1500):
        optimizer.zero_grad()
        loss = (layer(eye) - target.T).square().sum()
        loss.backward()
        optimizer.step()
    torch.testing.assert_close(layer.weight().detach(), target, atol=1e-4, rtol=0)
    assert principal_angles(layer.weight_u[:, :1].detach(), left[:, :1]).max() > 0.1


def test_from_linear_prefixes_are_eckart_young_truncations():
    target, _, _ = _known_low_rank()
    linear = nn.Linear(6, 8).double()
    with torch.no_grad():
        linear.weight.copy_(target + 0.01 * torch.randn(8, 6, generator=torch.Generator().manual_seed(3)))
    layer = OrderedLowRankLinear.from_linear(linear)
    left, singular, right_t = torch.linalg.svd(linear.weight.detach())
    x = torch.randn(5, 6, dtype=torch.float64, generator=torch.Generator().manual_seed(4))
    layer.eval()
    for b in range(1, 7):
        best = left[:, :b] @ torch.diag(singular[:b]) @ right_t[:b]
        torch.testing.assert_close(layer.weight(b).detach(), best)
        torch.testing.assert_close(layer(x, rank=b), x @ best.T + linear.bias)
    torch.testing.assert_close(layer(x), linear(x))


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 1000), rank=st.integers(1, 5), bias=st.booleans())
def test_prefix_outputs_match_forward_at_every_rank(seed, rank, bias):
    layer = OrderedLowRankLinear(5, 7, rank=rank, bias=bias, generator=seed).double()
    x = torch.randn(3, 2, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))
    prefix = layer.prefix_outputs(x)
    assert prefix.shape == (3, 2, rank, 7)
    for b in range(1, rank + 1):
        torch.testing.assert_close(prefix[..., b - 1, :], layer(x, rank=b))


def test_training_mode_samples_every_rank_and_eval_uses_all():
    layer = OrderedLowRankLinear(4, 4, rank=4, generator=0)
    draws = {layer.sample_rank() for _ in range(200)}
    assert draws == {1, 2, 3, 4}
    x = torch.randn(2, 4)
    layer.train()
    outputs = {tuple(layer(x).detach().flatten().tolist()) for _ in range(50)}
    assert len(outputs) > 1
    layer.eval()
    torch.testing.assert_close(layer(x), layer(x, rank=4))


def test_group_lasso_penalty_closed_form_and_shrinking():
    layer = OrderedLowRankLinear(3, 3, rank=3, bias=False)
    with torch.no_grad():
        layer.weight_u.copy_(torch.diag(torch.tensor([3.0, 2.0, 1e-6])))
        layer.weight_v.copy_(torch.diag(torch.tensor([4.0, 1e-4, 0.0])))
    # tails: b=1 -> ||U|| = sqrt(13), ||V|| = sqrt(16 + 1e-8); b=2 -> 2, 1e-4; b=3 -> 1e-6, 0.
    expected = (13**0.5 + 2.0 + 1e-6) + ((16 + 1e-8) ** 0.5 + 1e-4 + 0.0)
    penalty = layer.group_lasso_penalty()
    assert abs(float(penalty.detach()) - expected) < 1e-5
    penalty.backward()
    assert torch.isfinite(layer.weight_v.grad).all()
    np.testing.assert_allclose(layer.component_norms().detach().numpy(), [12.0, 2e-4, 0.0], atol=1e-9)
    assert layer.shrink(1e-3) == 1
    assert layer.weight_u.shape == (3, 1) and layer.weight_v.shape == (1, 3)
    assert layer.shrink(100.0) == 1  # never below one component


def test_shrink_keeps_small_components_before_a_large_one():
    layer = OrderedLowRankLinear(3, 3, rank=3, bias=False)
    with torch.no_grad():
        layer.weight_u.copy_(torch.eye(3))
        layer.weight_v.copy_(torch.diag(torch.tensor([1.0, 1e-6, 1.0])))
    assert layer.shrink(1e-3) == 3


def test_truncate_keeps_the_prefix_and_gradients_flow():
    layer = OrderedLowRankLinear(6, 5, rank=4, generator=1).double()
    x = torch.randn(3, 6, dtype=torch.float64)
    before = layer(x, rank=2).detach()
    layer.truncate(2)
    assert layer.rank == 2
    torch.testing.assert_close(layer.eval()(x), before)
    layer(x).sum().backward()
    assert layer.weight_u.grad is not None and layer.weight_v.grad is not None


def test_bad_inputs():
    with pytest.raises(ValueError, match="rank"):
        OrderedLowRankLinear(3, 5, rank=4)
    with pytest.raises(ValueError, match="rank"):
        OrderedLowRankLinear(3, 5, rank=0)
    with pytest.raises(TypeError, match="in_features"):
        OrderedLowRankLinear(3.0, 5, rank=2)
    with pytest.raises(TypeError, match="ordered_dropout"):
        OrderedLowRankLinear(3, 5, rank=2, ordered_dropout="yes")
    layer = OrderedLowRankLinear(3, 5, rank=2)
    with pytest.raises(ValueError, match="features"):
        layer(torch.randn(4, 2))
    with pytest.raises(ValueError, match="rank"):
        layer(torch.randn(4, 3), rank=3)
    with pytest.raises(TypeError, match="x"):
        layer(torch.ones(4, 3, dtype=torch.long))
    with pytest.raises(ValueError, match="threshold"):
        layer.shrink(-1.0)
    with pytest.raises(TypeError, match="linear"):
        OrderedLowRankLinear.from_linear(layer)
