"""Each loss module returns exactly what its function returns with the same arguments."""

import math

import pytest
import torch

from paperlab import losses as L


def _labelled(seed=0, n=12, d=5):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, d, generator=g, dtype=torch.float64), torch.randint(0, 3, (n,), generator=g)


def _paired(seed=0, n=7, d=4):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, d, generator=g, dtype=torch.float64), torch.randn(
        n, d, generator=g, dtype=torch.float64
    )


LABELLED = [
    (
        L.TripletMarginLoss(0.2, "cosine", True, "sum"),
        lambda x, y: L.triplet_margin_loss(x, y, 0.2, "cosine", True, "sum"),
    ),
    (
        L.ContrastiveLoss(0.1, 0.8, "squared_euclidean", False, "mean"),
        lambda x, y: L.contrastive_loss(x, y, 0.1, 0.8, "squared_euclidean", False, "mean"),
    ),
    (L.CircleLoss(0.3, 32.0, "none"), lambda x, y: L.circle_loss(x, y, 0.3, 32.0, "none")),
    (L.UnifiedPairLoss(0.2, 16.0), lambda x, y: L.unified_pair_loss(x, y, 0.2, 16.0)),
    (L.SupConLoss(0.5, 4, True, "sum"), lambda x, y: L.supcon_loss(x, y, 0.5, 4, True, "sum")),
    (L.SupConInLoss(0.3, False, "none"), lambda x, y: L.supcon_in_loss(x, y, 0.3, False, "none")),
]

PAIRED = [
    (L.NTXentLoss(0.3, 3, True, "none"), lambda q, k: L.nt_xent_loss(q, k, 0.3, 3, True, "none")),
    (
        L.InfoNCELoss(0.2, None, True, False, "sum"),
        lambda q, k: L.info_nce(q, k, 0.2, None, True, False, "sum"),
    ),
    (L.SigmoidContrastiveLoss(5.0, -3.0, 2), lambda q, k: L.sigmoid_contrastive_loss(q, k, 5.0, -3.0, 2)),
    (
        L.NTXentAdditiveMarginLoss(0.2, 0.5, True),
        lambda q, k: L.nt_xent_additive_margin_loss(q, k, 0.2, 0.5, True),
    ),
]


@pytest.mark.parametrize("module, function", LABELLED)
def test_labelled_module_equals_function(module, function):
    x, y = _labelled()
    torch.testing.assert_close(module(x, y), function(x, y), rtol=0, atol=0)


@pytest.mark.parametrize("module, function", PAIRED)
def test_paired_module_equals_function(module, function):
    q, k = _paired()
    torch.testing.assert_close(module(q, k), function(q, k), rtol=0, atol=0)


def test_circle_classification_module_uses_its_proxies():
    x, y = _labelled()
    module = L.CircleClassificationLoss(3, 5, 0.3, 64.0, generator=1).double()
    assert module.weight.shape == (3, 5)
    expected = L.circle_classification_loss(x, module.weight, y, 0.3, 64.0)
    torch.testing.assert_close(module(x, y), expected)
    module(x, y).backward()
    assert module.weight.grad is not None and module.weight.grad.abs().sum() > 0


def test_learnable_sigmoid_starts_at_paper_init_and_learns_scale_and_bias():
    q, k = _paired()
    module = L.SigmoidContrastiveLoss(learnable=True)
    assert {name for name, _ in module.named_parameters()} == {"log_scale", "bias"}
    assert module.log_scale.item() == pytest.approx(math.log(10.0)) and module.bias.item() == -10.0
    loss = module(q, k)
    torch.testing.assert_close(loss, L.sigmoid_contrastive_loss(q, k, 10.0, -10.0))
    loss.backward()
    assert module.log_scale.grad != 0 and module.bias.grad != 0


def test_learnable_temperature_infonce():
    q, k = _paired()
    module = L.InfoNCELoss(0.07, symmetric=True, learnable=True)
    torch.testing.assert_close(module(q, k), L.info_nce(q, k, 0.07, symmetric=True))
    module(q, k).backward()
    assert module.log_scale.grad != 0


def test_learnable_modules_keep_input_dtype():
    q, k = _paired()
    assert L.SigmoidContrastiveLoss(learnable=True)(q, k).dtype == torch.float64
    assert L.InfoNCELoss(learnable=True)(q.float(), k.float()).dtype == torch.float32


@pytest.mark.parametrize(
    "build, error",
    [
        (lambda: L.TripletMarginLoss(margin=-1.0), ValueError),
        (lambda: L.TripletMarginLoss(distance="manhattan"), ValueError),
        (lambda: L.ContrastiveLoss(reduction="max"), ValueError),
        (lambda: L.CircleLoss(gamma=0.0), ValueError),
        (lambda: L.SupConLoss(temperature=0.0), ValueError),
        (lambda: L.NTXentLoss(chunk_size=0), ValueError),
        (lambda: L.InfoNCELoss(temperature=-0.1), ValueError),
        (lambda: L.SigmoidContrastiveLoss(scale=0.0), ValueError),
        (lambda: L.SigmoidContrastiveLoss(bias="x"), TypeError),
        (lambda: L.CircleClassificationLoss(0, 4), ValueError),
        (lambda: L.NTXentAdditiveMarginLoss(margin=-0.1), ValueError),
    ],
)
def test_bad_constructor_arguments_raise(build, error):
    with pytest.raises(error):
        build()


def test_forward_validates_inputs():
    with pytest.raises(ValueError, match="labels"):
        L.CircleLoss()(torch.randn(4, 3), torch.tensor([0, 1, 0]))
    with pytest.raises(ValueError, match="query"):
        L.SigmoidContrastiveLoss()(torch.randn(4, 3), torch.randn(5, 3))
