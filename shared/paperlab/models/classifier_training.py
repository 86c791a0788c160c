"""Train a classifier on minibatches of a labelled tensor dataset, and score its test accuracy.

The compression notebooks (layer-wise decomposition, dense-sparse factorization, Tucker adapters) all
train a small network on the digits with Adam on cross-entropy, then read its accuracy on held-out
digits: :func:`train_classifier` and :func:`classifier_accuracy` are those two steps.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from paperlab._checks import check_positive, check_tensor
from paperlab._random import as_generator

from .finetuning import train_steps


def _check_dataset(x: torch.Tensor, y: torch.Tensor) -> None:
    check_tensor("x", x, min_dim=1, floating=True)
    check_tensor("y", y, dim=1)
    if y.dtype != torch.int64:
        raise TypeError(f"y must hold int64 class indices, got dtype {y.dtype}")
    if len(x) != len(y) or len(x) == 0:
        raise ValueError(f"x and y must hold the same non-zero number of examples, got {len(x)} and {len(y)}")


def train_classifier(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    n_steps: int,
    lr: float,
    batch_size: int = 128,
    generator=None,
) -> list[float]:
    """Adam at a constant learning rate on the cross-entropy of minibatches drawn with replacement.

    Step :math:`s` draws indices :math:`i_1..i_B` uniformly from :math:`\\{0..N-1\\}` and takes one Adam
    step on :math:`\\frac{1}{B}\\sum_b -\\log \\mathrm{softmax}(f(x_{i_b}))_{y_{i_b}}`. Only parameters
    with ``requires_grad`` move. This is :func:`train_steps` with no warm-up and no decay.

    Args:
        model: maps ``x[idx]`` (B, ...) to logits (B, C).
        x: inputs (N, ...), floating, on the model's device.
        y: int64 class indices (N,), on the same device.
        n_steps: number of steps, >= 0 (0 leaves the model as it is).
        lr: learning rate, > 0.
        batch_size: examples per step, >= 1.
        generator: seed or ``torch.Generator`` of the batch indices, drawn on the CPU (None: torch's
            global generator); a generator passed in is advanced in place.

    Returns:
        the loss of every step.
    """
    _check_dataset(x, y)
    check_positive("n_steps", n_steps, integer=True, allow_zero=True)
    check_positive("batch_size", batch_size, integer=True)
    generator = as_generator(generator)
    if n_steps == 0:
        return []

    def loss_fn(step: int) -> torch.Tensor:
        batch = torch.randint(0, len(y), (batch_size,), generator=generator).to(x.device)  # (B,)
        return F.cross_entropy(model(x[batch]), y[batch])

    return train_steps(model, loss_fn, n_steps, lr, warmup_fraction=0.0, decay=False)


@torch.no_grad()
def classifier_accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """Share of examples whose arg-max logit is the label, :math:`\\frac{1}{N}\\sum_i [\\arg\\max f(x_i) = y_i]`.

    The model runs in eval mode and gets its previous mode back.

    Args:
        model: maps ``x`` (N, ...) to logits (N, C).
        x: inputs (N, ...), floating.
        y: int64 class indices (N,).
    """
    _check_dataset(x, y)
    was_training = model.training
    model.eval()
    predicted = model(x).argmax(dim=1)  # (N,)
    model.train(was_training)
    return float((predicted == y).float().mean())
