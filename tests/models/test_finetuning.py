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
    pretrain_equation_lm,
    set_trainable_,
    train_equation_lm,
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


def test_pretrain_equation_lm_equals_the_seeded_composition_and_keeps_the_global_state():
    sizes = dict(d_model=16, n_layers=1, n_heads=2, d_ff=24)
    global_state = torch.get_rng_state()
    result = pretrain_equation_lm(6, 1e-2, batch_size=8, n_digits=1, operation="*", seed=3, **sizes)
    assert torch.equal(torch.get_rng_state(), global_state)
    example, vocab = digit_equations(1, 1, "*", generator=0)
    torch.manual_seed(3)
    reference = TinyCausalLM(len(vocab), max_len=example.tokens.shape[1], **sizes)
    for ours, theirs in zip(result.initial.parameters(), reference.parameters()):
        assert torch.equal(ours, theirs)
    batches = torch.Generator().manual_seed(3)
    reference_losses = train_steps(
        reference,
        lambda step: language_model_loss(reference, digit_equations(8, 1, "*", generator=batches)[0]),
        6,
        1e-2,
    )
    assert result.losses == pytest.approx(reference_losses, rel=1e-6)
    for ours, theirs in zip(result.model.parameters(), reference.parameters()):
        torch.testing.assert_close(ours, theirs)
    assert len(result.vocab) == len(vocab) and result.model.max_len == 1 * 2 + 2 + 4
    assert not torch.equal(result.model.head.weight, result.initial.head.weight)


def test_train_equation_lm_learns_and_advances_the_generator_in_place():
    _, vocab = digit_equations(1, 1, generator=0)
    model = _lm(len(vocab), max_len=8)
    generator = torch.Generator().manual_seed(0)
    losses = train_equation_lm(
        model, 120, 1e-2, batch_size=32, n_digits=1, generator=generator, warmup_fraction=0.0, decay=False
    )
    assert len(losses) == 120 and sum(losses[-10:]) < 0.7 * sum(losses[:10])
    replay = torch.Generator().manual_seed(0)
    for _ in range(120):
        digit_equations(32, 1, generator=replay)
    assert torch.equal(generator.get_state(), replay.get_state())
    with pytest.raises(ValueError, match="operation"):
        train_equation_lm(model, 1, 1e-2, batch_size=4, operation="-")
    with pytest.raises(ValueError, match="batch_size"):
        train_equation_lm(model, 1, 1e-2, batch_size=0)
    with pytest.raises(ValueError, match="seed"):
        pretrain_equation_lm(1, 1e-2, batch_size=4, seed=-1)
