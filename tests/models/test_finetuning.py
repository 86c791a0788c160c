"""Fine-tuning helpers: freezing, the schedule of train_steps, the LM readouts, the sequence classifier."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from paperlab.data import digit_equations
from paperlab.models import (
    SequenceClassifier,
    TinyCausalLM,
    answer_token_accuracy,
    language_model_loss,
    set_trainable_,
    train_steps,
)


def _lm(vocab_size=15, max_len=11):
    torch.manual_seed(0)
    return TinyCausalLM(vocab_size, max_len=max_len, d_model=16, n_layers=1, n_heads=2, d_ff=32)


def test_set_trainable_selects_by_name_and_counts():
    model = _lm()
    count = set_trainable_(model, lambda name: name.startswith("head"))
    assert count == 16 * 15 + 15
    assert [n for n, p in model.named_parameters() if p.requires_grad] == ["head.weight", "head.bias"]
    with pytest.raises(ValueError, match="no parameter"):
        set_trainable_(model, lambda name: False)


def test_train_steps_follows_warmup_then_linear_decay():
    module = nn.Module()
    module.weight = nn.Parameter(torch.tensor([3.0], dtype=torch.float64))
    values = []

    def loss_fn(step):
        values.append(float(module.weight.detach()))
        return module.weight.sum()  # constant gradient: each Adam step moves the weight by exactly lr_s

    losses = train_steps(module, loss_fn, n_steps=50, lr=0.1, warmup_fraction=0.2)
    values.append(float(module.weight.detach()))
    assert len(losses) == 50
    steps = [before - after for before, after in zip(values, values[1:])]
    expected = [0.1 * min((s + 1) / 10, (50 - s) / 40) for s in range(50)]
    assert steps == pytest.approx(expected, rel=1e-5)
    module.weight.data.fill_(3.0)
    values.clear()
    train_steps(module, loss_fn, n_steps=20, lr=0.1, warmup_fraction=0.0, decay=False)
    values.append(float(module.weight.detach()))
    steps = [before - after for before, after in zip(values, values[1:])]
    assert steps == pytest.approx([0.1] * 20, rel=1e-5)
    with pytest.raises(ValueError, match="warmup_fraction"):
        train_steps(module, loss_fn, n_steps=5, lr=0.1, warmup_fraction=1.0)
    frozen = nn.Linear(2, 2).requires_grad_(False)
    with pytest.raises(ValueError, match="no trainable"):
        train_steps(frozen, loss_fn, n_steps=5, lr=0.1)


def test_language_model_loss_and_accuracy_read_only_the_answer_tokens():
    batch, vocab = digit_equations(20, 2, generator=0)
    model = _lm(len(vocab), batch.tokens.shape[1])
    inputs, targets = batch.next_token_pairs()
    logits = model(inputs)
    answer = targets != -100
    expected = F.cross_entropy(logits[answer], targets[answer])
    torch.testing.assert_close(language_model_loss(model, batch), expected)
    accuracy = (logits.argmax(-1)[answer] == targets[answer]).float().mean()
    assert answer_token_accuracy(model, batch) == pytest.approx(float(accuracy))


def test_sequence_classifier_reads_the_last_hidden_state():
    body = _lm()
    classifier = SequenceClassifier(body, n_classes=3)
    ids = torch.randint(0, 15, (4, 7), generator=torch.Generator().manual_seed(0))
    expected = classifier.classifier(body.hidden_states(ids)[:, -1])
    torch.testing.assert_close(classifier(ids), expected)
    with pytest.raises(TypeError, match="body"):
        SequenceClassifier(nn.Linear(2, 2), 2)
    with pytest.raises(ValueError, match="n_classes"):
        SequenceClassifier(body, 1)
