"""Accuracy under a projected-gradient (PGD) attack of bounded size."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from paperlab._checks import check_tensor
from paperlab.losses.adversarial import pgd_attack


def robust_accuracy(
    model: Callable[[torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    y: torch.Tensor,
    eps: float,
    step_size: float | None = None,
    n_steps: int = 10,
    norm: str = "linf",
    generator=None,
) -> float:
    r"""Fraction of items still classified correctly after a PGD attack of radius eps.

    .. math:: \mathrm{acc}_\epsilon = \frac1n \sum_i 1\big[\arg\max_c f(x_i')_c = y_i\big], \qquad
              x_i' = \mathrm{PGD}_{\|x' - x_i\| \le \epsilon}\big(\mathrm{CE}(f(x'), y_i)\big)

    The attack is :func:`paperlab.losses.pgd_attack` on the cross-entropy, with a random start. Used by
    "The Effect of Intrinsic Dataset Properties on Generalization: Unraveling Learning Differences
    Between Natural and Medical Images (2024)" to relate label sharpness to adversarial robustness.

    Args:
        model: maps inputs (n, ...) to logits (n, C); called as it is (put it in eval mode first).
        x: clean inputs (n, ...).
        y: (n,) int64 labels.
        eps: attack radius (``eps = 0`` gives the clean accuracy).
        step_size: PGD step (default ``2.5 * eps / n_steps``).
        n_steps: PGD steps.
        norm: ``"linf"`` or ``"l2"``.
        generator: seed or ``torch.Generator`` of the random start.

    Returns:
        Robust accuracy in [0, 1].
    """
    check_tensor("y", y, dim=1)
    if y.shape[0] != x.shape[0]:
        raise ValueError(f"y must have one label per input ({x.shape[0]}), got shape {tuple(y.shape)}")
    if step_size is None:
        step_size = 2.5 * eps / max(n_steps, 1) if eps > 0 else 1.0
    adversarial = pgd_attack(
        model, x, y, F.cross_entropy, eps, step_size, n_steps, norm=norm, generator=generator
    )
    with torch.no_grad():
        return int((model(adversarial).argmax(1) == y).sum()) / y.shape[0]
