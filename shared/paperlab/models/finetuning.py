"""Small helpers shared by the fine-tuning notebooks: freezing, a training loop, two tiny-LM readouts.

Parameter-efficient fine-tuning papers (LoRA-style updates, tensor-train adapters, random subspaces)
all pretrain a network, freeze most of it and train a few parameters. These helpers keep those steps
identical across notebooks: :func:`set_trainable_` chooses what trains, :func:`train_steps` runs AdamW
with a linear warm-up and decay, :func:`answer_token_accuracy` scores a language model on the answer
tokens of :class:`paperlab.data.ArithmeticBatch`, and :class:`SequenceClassifier` puts a linear head on
the last hidden state of a :class:`TinyCausalLM`.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from paperlab._checks import check_positive

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
