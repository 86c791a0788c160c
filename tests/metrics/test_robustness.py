"""robust_accuracy: clean accuracy at eps 0, a linear model's closed-form robustness, monotonicity, bad inputs."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from paperlab.metrics import robust_accuracy


def linear_model():
    # logits (0, w.x): class 1 when w.x > 0, with w = (1, -1)
    layer = nn.Linear(2, 2, bias=False).double()
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([[0.0, 0.0], [1.0, -1.0]]))
    return layer


def test_eps_zero_gives_clean_accuracy():
    model = linear_model()
    x = torch.randn(50, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    y = (x[:, 0] - x[:, 1] > 0).long()
    y[:5] = 1 - y[:5]
    assert robust_accuracy(model, x, y, eps=0.0, n_steps=0) == pytest.approx(0.9)


def test_linear_model_matches_the_margin_closed_form():
    # an l_inf attack of radius eps moves w.x by at most eps * ||w||_1 = 2 eps: items with margin above it survive
    model = linear_model()
    x = torch.randn(400, 2, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    y = (x[:, 0] - x[:, 1] > 0).long()
    eps = 0.2
    expected = ((x[:, 0] - x[:, 1]).abs() > 2 * eps).double().mean().item()
    assert robust_accuracy(model, x, y, eps=eps, n_steps=10, generator=0) == pytest.approx(
        expected, abs=1e-12
    )
    # l2: the margin is |w.x| / ||w||_2; steps from a random start approach the sphere only geometrically,
    # so items within 0.01 of the margin may survive: the accuracy lies between the two closed forms
    margin = (x[:, 0] - x[:, 1]).abs() / 2**0.5
    accuracy = robust_accuracy(model, x, y, eps=eps, n_steps=50, norm="l2", generator=0)
    assert (margin > eps).double().mean().item() <= accuracy <= (margin > eps - 0.01).double().mean().item()


def test_accuracy_falls_with_the_radius():
    model = linear_model()
    x = torch.randn(200, 2, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    y = (x[:, 0] - x[:, 1] > 0).long()
    accuracies = [robust_accuracy(model, x, y, eps=e, generator=0) for e in (0.0, 0.1, 0.3, 1.0)]
    assert accuracies == sorted(accuracies, reverse=True) and accuracies[-1] < accuracies[0]


def test_bad_inputs():
    model, x = linear_model(), torch.zeros(4, 2, dtype=torch.float64)
    with pytest.raises(ValueError, match="y"):
        robust_accuracy(model, x, torch.zeros(3, dtype=torch.long), eps=0.1)
    with pytest.raises(ValueError, match="eps"):
        robust_accuracy(model, x, torch.zeros(4, dtype=torch.long), eps=-0.1, step_size=0.1)
    with pytest.raises(ValueError, match="norm"):
        robust_accuracy(model, x, torch.zeros(4, dtype=torch.long), eps=0.1, norm="l1")
