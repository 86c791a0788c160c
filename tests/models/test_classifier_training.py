"""train_classifier equals the plain Adam loop it replaces; classifier_accuracy is the arg-max hit rate."""

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from paperlab.models import classifier_accuracy, train_classifier


def _data(n=200, d=12, c=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    centres = 3 * torch.randn(c, d, generator=g)
    y = torch.randint(0, c, (n,), generator=g)
    return centres[y] + torch.randn(n, d, generator=g), y


def _mlp(d=12, c=4):
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(d, 16), nn.ReLU(), nn.Linear(16, c))


def test_train_classifier_equals_the_adam_minibatch_loop():
    x, y = _data()
    reference = _mlp()
    optimizer = torch.optim.Adam(reference.parameters(), lr=1e-2)
    batches = torch.Generator().manual_seed(7)
    expected = []
    for _ in range(30):
        batch = torch.randint(0, len(y), (32,), generator=batches)
        loss = F.cross_entropy(reference(x[batch]), y[batch])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        expected.append(float(loss.detach()))
    model = _mlp()
    generator = torch.Generator().manual_seed(7)
    losses = train_classifier(model, x, y, 30, 1e-2, batch_size=32, generator=generator)
    assert losses == pytest.approx(expected, rel=1e-6)
    for ours, theirs in zip(model.parameters(), reference.parameters()):
        torch.testing.assert_close(ours, theirs)
    assert torch.equal(generator.get_state(), batches.get_state())
    assert classifier_accuracy(model, x, y) > 0.9  # separable clusters: training must have worked


def test_train_classifier_moves_only_trainable_parameters_and_accepts_zero_steps():
    x, y = _data()
    model = _mlp()
    model[0].requires_grad_(False)
    frozen = model[0].weight.clone()
    head = model[2].weight.clone()
    assert train_classifier(model, x, y, 0, 1e-2) == []
    assert torch.equal(model[2].weight, head)
    train_classifier(model, x, y, 5, 1e-2, generator=0)
    assert torch.equal(model[0].weight, frozen) and not torch.equal(model[2].weight, head)


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 30), st.integers(2, 5), st.integers(0, 10_000))
def test_classifier_accuracy_is_the_argmax_hit_rate_and_restores_the_mode(n, c, seed):
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(n, c, generator=g, dtype=torch.float64)
    y = torch.randint(0, c, (n,), generator=g)
    model = nn.Identity()
    expected = sum(int(logits[i].argmax() == y[i]) for i in range(n)) / n
    assert classifier_accuracy(model, logits, y) == pytest.approx(expected)
    assert model.training


def test_bad_inputs_are_rejected():
    x, y = _data()
    model = _mlp()
    with pytest.raises(ValueError, match="same non-zero number"):
        train_classifier(model, x, y[:-1], 1, 1e-2)
    with pytest.raises(TypeError, match="int64"):
        classifier_accuracy(model, x, y.to(torch.int32))
    with pytest.raises(TypeError, match="floating"):
        train_classifier(model, y, y, 1, 1e-2)
    with pytest.raises(ValueError, match="n_steps"):
        train_classifier(model, x, y, -1, 1e-2)
    with pytest.raises(ValueError, match="batch_size"):
        train_classifier(model, x, y, 1, 1e-2, batch_size=0)
    with pytest.raises(ValueError, match="finite"):
        train_classifier(model, torch.full_like(x, float("nan")), y, 1, 1e-2)
