"""Small helpers shared by the fine-tuning notebooks: freezing, a training loop, two tiny-LM readouts.

Parameter-efficient fine-tuning papers (LoRA-style updates, tensor-train adapters, random subspaces)
all pretrain a network, freeze most of it and train a few parameters. These helpers keep those steps
identical across notebooks: :func:`set_trainable_` chooses what trains, :func:`train_steps` runs AdamW
with a linear warm-up and decay, :func:`answer_token_accuracy` scores a language model on the answer
tokens of :class:`paperlab.data.ArithmeticBatch`, and :class:`SequenceClassifier` puts a linear head on
the last hidden state of a :class:`TinyCausalLM`. :func:`train_equation_lm` trains a language model on
fresh digit equations, and :func:`pretrain_equation_lm` builds and pretrains the seeded model they
start from.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from paperlab._checks import check_choice, check_positive
from paperlab._random import as_generator
from paperlab.data import ArithmeticVocabulary, digit_equations

from .tiny_causal_lm import TinyCausalLM


def set_trainable_(model: nn.Module, include: Callable[[str], bool]) -> int:
    """Set ``requires_grad`` of every parameter of ``model`` to ``include(qualified name)``.

    Returns:
        the number of trainable scalars afterwards; raises ValueError when it is zero.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module, got {type(model).__name__}")
    if not callable(include):
        raise TypeError(f"include must be callable, got {include!r}")
    for name, parameter in model.named_parameters():
        parameter.requires_grad_(bool(include(name)))
    count = sum(p.numel() for p in model.parameters() if p.requires_grad)
    if count == 0:
        raise ValueError("include selected no parameter of model")
    return count


def train_steps(
    model: nn.Module,
    loss_fn: Callable[[int], torch.Tensor],
    n_steps: int,
    lr: float,
    warmup_fraction: float = 0.1,
    weight_decay: float = 0.0,
    decay: bool = True,
) -> list[float]:
    """AdamW on the trainable parameters of ``model``: ``n_steps`` steps of ``loss_fn(step).backward()``.

    The learning rate rises linearly to ``lr`` over the first ``warmup_fraction`` of the steps, then
    falls linearly to 0: :math:`\\eta_s = \\eta \\min\\big(\\frac{s + 1}{w}, \\frac{n - s}{n - w}\\big)`
    (with ``decay=False`` it stays at :math:`\\eta` after the warm-up).

    Args:
        model: its parameters with ``requires_grad`` are optimized.
        loss_fn: maps the step index to a scalar loss (draws its own batch).
        n_steps: number of optimizer steps, >= 1.
        lr: peak learning rate, > 0.
        warmup_fraction: in [0, 1).
        weight_decay: AdamW's decoupled weight decay, >= 0.
        decay: decay linearly to 0 after the warm-up (else keep ``lr``).

    Returns:
        the loss of every step.
    """
    check_positive("n_steps", n_steps, integer=True)
    check_positive("lr", lr)
    check_positive("weight_decay", weight_decay, allow_zero=True)
    check_positive("warmup_fraction", warmup_fraction, allow_zero=True)
    if warmup_fraction >= 1:
        raise ValueError(f"warmup_fraction must lie in [0, 1), got {warmup_fraction!r}")
    parameters = [p for p in model.parameters() if p.requires_grad]
    if not parameters:
        raise ValueError("model has no trainable parameter")
    optimizer = torch.optim.AdamW(parameters, lr=lr, weight_decay=weight_decay)
    warmup = max(1, round(warmup_fraction * n_steps))
    if not isinstance(decay, bool):
        raise TypeError(f"decay must be a bool, got {decay!r}")

    def factor(s: int) -> float:
        tail = (n_steps - s) / max(1, n_steps - warmup) if decay else 1.0
        return min((s + 1) / warmup, tail)

    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
    losses = []
    model.train()
    for step in range(n_steps):
        loss = loss_fn(step)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        schedule.step()
        losses.append(float(loss.detach()))
    return losses


def language_model_loss(model: nn.Module, batch) -> torch.Tensor:
    """Mean cross-entropy of ``model`` on the answer tokens of an ``ArithmeticBatch`` (teacher forcing)."""
    inputs, targets = batch.next_token_pairs()
    device = next(model.parameters()).device
    logits = model(inputs.to(device))  # (B, T, V)
    return F.cross_entropy(logits.transpose(1, 2), targets.to(device))  # class scores on dim 1


@torch.no_grad()
def answer_token_accuracy(model: nn.Module, batch) -> float:
    """Share of answer tokens of an ``ArithmeticBatch`` that ``model`` predicts by arg-max, given the
    true prefix (teacher forcing)."""
    inputs, targets = batch.next_token_pairs()
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    predicted = model(inputs.to(device)).argmax(dim=-1).cpu()  # (B, T)
    model.train(was_training)
    answer = targets != -100
    return float((predicted[answer] == targets[answer]).float().mean())


def train_equation_lm(
    model: nn.Module,
    n_steps: int,
    lr: float,
    *,
    batch_size: int,
    n_digits: int = 2,
    operation: str = "+",
    generator=None,
    warmup_fraction: float = 0.1,
    decay: bool = True,
) -> list[float]:
    """:func:`train_steps` on :func:`language_model_loss` of a fresh batch of digit equations each step.

    Step :math:`s` draws ``digit_equations(batch_size, n_digits, operation, generator)`` and minimizes
    the mean cross-entropy of the answer tokens given the true prefix.

    Args:
        model: a language model over the vocabulary of :func:`paperlab.data.digit_equations`.
        n_steps, lr, warmup_fraction, decay: as in :func:`train_steps`.
        batch_size: equations per step, >= 1.
        n_digits, operation: as in :func:`paperlab.data.digit_equations`.
        generator: seed or ``torch.Generator`` of the batches (None: torch's global generator); a
            generator passed in is advanced in place, so that a later call continues its stream.

    Returns:
        the loss of every step.
    """
    check_positive("batch_size", batch_size, integer=True)
    check_positive("n_digits", n_digits, integer=True)
    check_choice("operation", operation, {"+", "*"})
    generator = as_generator(generator)

    def loss_fn(step: int) -> torch.Tensor:
        batch, _ = digit_equations(batch_size, n_digits, operation, generator=generator)
        return language_model_loss(model, batch)

    return train_steps(model, loss_fn, n_steps, lr, warmup_fraction=warmup_fraction, decay=decay)


@dataclass
class PretrainedEquationLM:
    """Output of :func:`pretrain_equation_lm`.

    Attributes:
        model: the pretrained :class:`TinyCausalLM`.
        initial: a copy of the same model at its random initialization (the untrained control).
        vocab: the vocabulary of :func:`paperlab.data.digit_equations`.
        losses: the pretraining loss of every step.
    """

    model: TinyCausalLM
    initial: TinyCausalLM
    vocab: ArithmeticVocabulary
    losses: list[float]


def pretrain_equation_lm(
    n_steps: int,
    lr: float,
    *,
    batch_size: int,
    n_digits: int = 2,
    operation: str = "+",
    d_model: int = 32,
    n_layers: int = 2,
    n_heads: int = 4,
    d_ff: int | None = None,
    seed: int = 0,
    device: torch.device | str | None = None,
) -> PretrainedEquationLM:
    """Build a seeded :class:`TinyCausalLM` and pretrain it on ``a op b = c`` written digit by digit.

    The weights are drawn from torch's generator seeded with ``seed`` (in a forked state: the caller's
    global generator is left as it was), on the CPU, then moved to ``device``; the batches come from a
    separate generator seeded with ``seed`` too. Training is :func:`train_equation_lm` with its default
    schedule (10% linear warm-up, then linear decay to 0).

    Args:
        n_steps, lr, batch_size, n_digits, operation: as in :func:`train_equation_lm`.
        d_model, n_layers, n_heads: the model's width, depth and heads (dividing ``d_model``).
        d_ff: MLP width (None: ``2 d_model``).
        seed: non-negative int seeding the weights and the batches.
        device: where the model lives (None: the CPU).

    Returns:
        :class:`PretrainedEquationLM` with the pretrained model, its untrained copy, the vocabulary and
        the losses; its position embedding covers exactly one equation.
    """
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    check_positive("n_digits", n_digits, integer=True)
    example, vocab = digit_equations(1, n_digits, operation, generator=0)
    d_ff = 2 * d_model if d_ff is None else d_ff
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = TinyCausalLM(
            len(vocab),
            max_len=example.tokens.shape[1],
            d_model=d_model,
            n_layers=n_layers,
            n_heads=n_heads,
            d_ff=d_ff,
        ).to(device)
    initial = copy.deepcopy(model)
    losses = train_equation_lm(
        model,
        n_steps,
        lr,
        batch_size=batch_size,
        n_digits=n_digits,
        operation=operation,
        generator=torch.Generator().manual_seed(seed),
    )
    return PretrainedEquationLM(model, initial, vocab, losses)


class SequenceClassifier(nn.Module):
    """A :class:`TinyCausalLM` body with a linear head on the last position's hidden state.

    .. math:: p(y \\mid x_{1:T}) = \\mathrm{softmax}(W h_T + b)

    Args:
        body: the (pretrained) language model; its own vocabulary head is unused.
        n_classes: number of classes, >= 2.

    Shapes: ids ``(B, T)`` int64 -> logits ``(B, n_classes)``.
    """

    def __init__(self, body: TinyCausalLM, n_classes: int):
        super().__init__()
        if not isinstance(body, TinyCausalLM):
            raise TypeError(f"body must be a TinyCausalLM, got {type(body).__name__}")
        check_positive("n_classes", n_classes, integer=True)
        if n_classes < 2:
            raise ValueError(f"n_classes must be >= 2, got {n_classes}")
        self.body = body
        weight = body.head.weight
        self.classifier = nn.Linear(weight.shape[1], n_classes).to(device=weight.device, dtype=weight.dtype)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.body.hidden_states(ids)[:, -1])  # (B, D) -> (B, C)
