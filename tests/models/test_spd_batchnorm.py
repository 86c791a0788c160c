"""Riemannian batch norms: the normalized batch's mean is the bias; running means; eval mode; gradients."""

import numpy as np
import pytest
import torch

from paperlab.models import AIMBatchNorm, GBWBatchNorm
from paperlab.solvers import airm_mean, gbw_barycenter, spd_power, sym_exp


def random_spd(d, seed, batch=(), condition=10.0):
    g = torch.Generator().manual_seed(seed)
    q = torch.linalg.qr(torch.randn(*batch, d, d, generator=g, dtype=torch.float64)).Q
    eigenvalues = torch.logspace(0, -np.log10(condition), d, dtype=torch.float64)
    eigenvalues = eigenvalues * torch.exp(0.5 * torch.randn(*batch, d, generator=g, dtype=torch.float64))
    return (q * eigenvalues.unsqueeze(-2)) @ q.mT


def set_random_parameters(layer, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in layer.parameters():
            p.copy_(0.3 * torch.randn(p.shape, generator=g, dtype=p.dtype))


def relative(a, b):
    return float((torch.linalg.matrix_norm(a - b) / torch.linalg.matrix_norm(b)).detach())


@pytest.mark.parametrize("power", [1.0, 0.5])
def test_gbw_output_mean_is_the_bias(power):
    x = random_spd(4, 0, batch=(12,), condition=1e3)
    layer = GBWBatchNorm(4, power=power, dtype=torch.float64)
    set_random_parameters(layer, 1)
    out = layer(x, n_iter=300)
    deformed_mean = gbw_barycenter(spd_power(out, power), layer.metric, n_iter_max=500, tol=1e-13).mean
    assert relative(spd_power(deformed_mean, 1 / power), layer.bias) < 1e-6
    few = layer(x, n_iter=1)  # an unconverged barycenter leaves a visible error: the check can fail
    wrong = gbw_barycenter(spd_power(few, power), layer.metric, n_iter_max=500, tol=1e-13).mean
    assert relative(spd_power(wrong, 1 / power), layer.bias) > 1e-6


def test_aim_output_mean_is_the_bias():
    x = random_spd(4, 2, batch=(10,), condition=1e3)
    layer = AIMBatchNorm(4, n_iter=100, dtype=torch.float64)
    set_random_parameters(layer, 3)
    out = layer(x)
    assert relative(airm_mean(out, n_iter_max=300, tol=1e-13).mean, layer.bias) < 1e-8


def test_gbw_with_identity_metric_and_bias_whitens_commuting_batches():
    """Diagonal batch, M = B = I, power 1: the maps are diag(sqrt(l) / mean sqrt(l)), outputs their squares."""
    g = torch.Generator().manual_seed(4)
    diagonals = torch.rand(6, 3, generator=g, dtype=torch.float64) + 0.2
    layer = GBWBatchNorm(3, learn_metric=False, dtype=torch.float64)
    out = layer(torch.diag_embed(diagonals), n_iter=200)
    roots = diagonals.sqrt()
    torch.testing.assert_close(out, torch.diag_embed((roots / roots.mean(0)) ** 2))
    assert layer.metric_log is None and torch.equal(layer.metric, torch.eye(3, dtype=torch.float64))


def test_running_mean_moves_towards_the_batch_mean_and_is_used_in_eval():
    x = random_spd(3, 5, batch=(8,), condition=10.0) * 4.0
    for layer in (
        GBWBatchNorm(3, momentum=1.0, n_iter=200, dtype=torch.float64),
        AIMBatchNorm(3, momentum=1.0, n_iter=200, dtype=torch.float64),
    ):
        trained = layer(x)
        layer.eval()
        torch.testing.assert_close(layer(x), trained)  # momentum 1: the running mean is the batch mean
        layer.train()
    slow = GBWBatchNorm(3, momentum=0.1, dtype=torch.float64)
    slow(x)
    assert not torch.allclose(slow.running_mean, torch.eye(3, dtype=torch.float64))


def test_gradients_reach_every_parameter():
    x = random_spd(3, 6, batch=(5,)).requires_grad_()
    layer = GBWBatchNorm(3, power=0.5, dtype=torch.float64)
    set_random_parameters(layer, 7)
    assert torch.autograd.gradcheck(
        lambda inp: layer(0.5 * (inp + inp.mT), n_iter=2), (x,), eps=1e-6, atol=1e-5
    )
    layer(x).sum().backward()
    assert layer.metric_log.grad is not None and layer.bias_log.grad.abs().sum() > 0
    assert float(layer.metric_log.grad.abs().sum()) > 0


def test_bad_inputs_raise():
    layer = GBWBatchNorm(3, dtype=torch.float64)
    with pytest.raises(ValueError, match="x must be"):
        layer(random_spd(4, 0, batch=(2,)))
    with pytest.raises(ValueError, match="power"):
        GBWBatchNorm(3, power=0.0)
    with pytest.raises(ValueError, match="symmetric"):
        AIMBatchNorm(3, dtype=torch.float64)(
            torch.rand(2, 3, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
        )
    assert torch.allclose(sym_exp(torch.zeros(2, 2)), torch.eye(2))
