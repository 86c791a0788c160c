r"""Exact excess risks on a finite input space, and the H-consistency bound of comp-sum losses.

From "Cross-Entropy Loss Functions: Theoretical Analysis and Applications" (2023). On a finite input
space :math:`\mathcal{X} = \{x_1, \dots, x_m\}` with marginal :math:`a` and conditionals
:math:`p(\cdot \mid x_i)`, a *tabular* scorer (one free score vector per point) is the complete hypothesis
set: the best-in-class risk is the Bayes risk :math:`\mathbb{E}_x[\inf_h C(h, x)]` and the minimizability
gaps vanish. The paper's bound then reads

.. math:: R_{0\text{-}1}(h) - R^*_{0\text{-}1} \le \Gamma_\tau\big(R_{\ell^\tau}(h) - R^*_{\ell^\tau}\big),
          \qquad \Gamma_\tau = \mathcal{T}_\tau^{-1}.

Every risk here is computed in closed form from the scores and the conditionals, never by sampling or
by a training run.
"""

from __future__ import annotations

import math

import torch

from paperlab._checks import check_positive, check_tensor, check_weights
from paperlab.losses.comp_sum import check_tau, comp_sum_loss


def comp_sum_bayes_risk(probabilities: torch.Tensor, tau: float) -> torch.Tensor:
    r"""Conditional Bayes risk :math:`\inf_{h \in \mathbb{R}^C} \sum_y p_y\, \ell^\tau(h, y)` in closed form.

    Writing the loss with :math:`s = \mathrm{softmax}(h)` as :math:`(s_y^{\tau - 1} - 1) / (1 - \tau)`,
    a Lagrange argument gives the minimizer :math:`s_y \propto p_y^{1/(2 - \tau)}` for :math:`\tau < 2`:

    .. math:: C^*_\tau(p) = \begin{cases} -\sum_y p_y \log p_y & \tau = 1 \\
              \frac{\|p\|_{1/(2 - \tau)} - 1}{1 - \tau} & \tau \in [0, 1) \cup (1, 2) \\
              \frac{1 - \max_y p_y}{\tau - 1} & \tau \ge 2 \end{cases}

    with :math:`\|p\|_r = (\sum_y p_y^r)^{1/r}`. The infimum is attained only in the limit when some
    :math:`p_y = 0` (that score must go to :math:`-\infty`).

    Args:
        probabilities: conditional distributions :math:`p(\cdot \mid x)`, shape ``(..., C)``, rows summing to 1.
        tau: the comp-sum index :math:`\tau \ge 0`.

    Returns:
        The Bayes conditional risk of each row, shape ``(...)``.
    """
    tau = check_tau(tau)
    p = _check_probabilities(probabilities)
    if tau == 1.0:
        return -torch.special.xlogy(p, p).sum(-1)
    if tau >= 2.0:
        return (1.0 - p.max(-1).values) / (tau - 1.0)
    r = 1.0 / (2.0 - tau)
    return (p.pow(r).sum(-1).pow(1.0 / r) - 1.0) / (1.0 - tau)


def comp_sum_conditional_risk(scores: torch.Tensor, probabilities: torch.Tensor, tau: float) -> torch.Tensor:
    r"""Conditional risk :math:`C_\tau(h, x) = \sum_y p(y \mid x)\, \ell^\tau(h(x), y)` of each score row.

    Args:
        scores: scores :math:`h(x)`, shape ``(..., M, C)``; leading axes index several scorers (for
            instance the iterates of a training run), all judged on the same points.
        probabilities: conditionals :math:`p(\cdot \mid x)`, shape ``(M, C)``.
        tau: the comp-sum index.

    Returns:
        Shape ``(..., M)``. Labels of zero probability contribute 0 even where their loss is infinite.
    """
    p = _check_pair(scores, probabilities)
    c = scores.shape[-1]
    rows = scores.reshape(-1, c)  # (B * M, C), B the product of the leading axes
    every_label = rows.unsqueeze(2).expand(len(rows), c, c)  # (B * M, C scores, C candidate labels)
    labels = torch.arange(c, device=scores.device).expand(len(rows), c)  # (B * M, C)
    losses = comp_sum_loss(every_label, labels, tau, reduction="none").view(scores.shape)  # loss if label y
    return torch.where(p > 0, p * losses, torch.zeros_like(losses)).sum(-1)


def comp_sum_excess_risk(
    scores: torch.Tensor, probabilities: torch.Tensor, tau: float, a: torch.Tensor | None = None
) -> torch.Tensor:
    r"""Exact excess comp-sum risk :math:`\sum_i a_i\, [C_\tau(h, x_i) - C^*_\tau(p(\cdot \mid x_i))]`.

    Args:
        scores: tabular scores, shape ``(M, C)``, one row per input point, or ``(..., M, C)`` for several
            scorers at once.
        probabilities: conditionals, shape ``(M, C)``.
        tau: the comp-sum index.
        a: marginal weights of the ``M`` points, shape ``(M,)`` (normalized here); None is uniform.

    Returns:
        Shape ``(...)``: a scalar tensor for one scorer (non-negative up to rounding).
    """
    regret = comp_sum_conditional_risk(scores, probabilities, tau) - comp_sum_bayes_risk(probabilities, tau)
    return _average(regret, a)


def zero_one_excess_risk(
    scores: torch.Tensor, probabilities: torch.Tensor, a: torch.Tensor | None = None
) -> torch.Tensor:
    r"""Exact excess zero-one risk :math:`\sum_i a_i\, [\max_y p(y \mid x_i) - p(h(x_i) \mid x_i)]`.

    :math:`h(x) = \arg\max_k h_k(x)`, ties going to the smallest index (as ``torch.argmax``).
    Arguments and returns as in :func:`comp_sum_excess_risk`.
    """
    p = _check_pair(scores, probabilities).expand(scores.shape)  # (..., M, C)
    predicted = scores.argmax(-1, keepdim=True)  # (..., M, 1)
    regret = p.max(-1).values - p.gather(-1, predicted).squeeze(-1)  # (..., M)
    return _average(regret, a)


def comp_sum_error_transform(tau: float, t, n_classes: int):
    r"""The paper's :math:`\mathcal{T}_\tau(t)` for :math:`t \in [0, 1]`: surrogate regret it guarantees.

    With :math:`r = 1/(2 - \tau)` and :math:`M_\tau(t) = \big(\tfrac{(1 + t)^r + (1 - t)^r}{2}\big)^{1/r}`,

    .. math:: \mathcal{T}_\tau(t) = \begin{cases}
              \frac{2^{1 - \tau}}{1 - \tau}\, [1 - M_\tau(t)] & \tau \in [0, 1) \\
              \frac{1 + t}{2} \log(1 + t) + \frac{1 - t}{2} \log(1 - t) & \tau = 1 \\
              \frac{1}{(\tau - 1)\, n^{\tau - 1}}\, [M_\tau(t) - 1] & \tau \in (1, 2) \\
              t / n & \tau = 2 \end{cases}

    (:math:`\mathcal{T}_0(t) = 1 - \sqrt{1 - t^2}`). Only :math:`\tau \le 1` is independent of the
    number of classes :math:`n`.

    Args:
        tau: comp-sum index in :math:`[0, 2]`.
        t: zero-one regret(s) in :math:`[0, 1]`, a float or a floating tensor.
        n_classes: number of classes :math:`n \ge 2`.

    Returns:
        :math:`\mathcal{T}_\tau(t)`, a float for a float ``t``, else a tensor like ``t``.
    """
    tau, n = _check_gamma_args(tau, n_classes)
    t_tensor, as_float = _as_float64(t, "t")
    if bool(((t_tensor < 0) | (t_tensor > 1)).any()):
        raise ValueError(f"t must be in [0, 1], got values in [{t_tensor.min():.3g}, {t_tensor.max():.3g}]")
    value = _transform(tau, t_tensor, n)
    return value.item() if as_float else value.to(t.dtype)


def comp_sum_gamma(tau: float, t, n_classes: int):
    r"""The paper's :math:`\Gamma_\tau = \mathcal{T}_\tau^{-1}`: the zero-one regret a surrogate regret allows.

    :math:`\mathcal{T}_\tau` is increasing on :math:`[0, 1]`; beyond :math:`\mathcal{T}_\tau(1)` the bound is
    the trivial 1. Closed forms :math:`\Gamma_0(s) = \sqrt{2s - s^2}` and :math:`\Gamma_2(s) = n s`;
    otherwise the inverse is found by 100 bisection steps in float64 (exact to rounding).

    Args:
        tau: comp-sum index in :math:`[0, 2]`.
        t: surrogate regret(s) :math:`\ge 0`, a float or a floating tensor.
        n_classes: number of classes :math:`n \ge 2`.

    Returns:
        :math:`\Gamma_\tau(t) \in [0, 1]`, a float for a float ``t``, else a tensor like ``t``.
    """
    tau, n = _check_gamma_args(tau, n_classes)
    s, as_float = _as_float64(t, "t")
    if bool((s < 0).any()):
        raise ValueError(f"t must be >= 0, got minimum {s.min():.3g}")
    if tau == 0.0:
        value = torch.sqrt(s.clamp(max=1.0) * (2.0 - s.clamp(max=1.0)))
    elif tau == 2.0:
        value = (n * s).clamp(max=1.0)
    else:
        low, high = torch.zeros_like(s), torch.ones_like(s)
        for _ in range(100):
            middle = (low + high) / 2
            below = _transform(tau, middle, n) < s
            low, high = torch.where(below, middle, low), torch.where(below, high, middle)
        value = torch.where(s >= _transform(tau, torch.ones_like(s), n), torch.ones_like(s), high)
        value = torch.where(s == 0, torch.zeros_like(s), value)
    return value.item() if as_float else value.to(t.dtype)


def _transform(tau: float, t: torch.Tensor, n: int) -> torch.Tensor:
    if tau == 1.0:
        return (torch.special.xlogy(1 + t, 1 + t) + torch.special.xlogy(1 - t, 1 - t)) / 2
    if tau == 2.0:
        return t / n
    r = 1.0 / (2.0 - tau)
    # ((1+t)^r + (1-t)^r) / 2)^(1/r) written as (1+t) (1 + q^r)/2)^(1/r), q = (1-t)/(1+t) <= 1: no overflow
    ratio_power = ((1 - t) / (1 + t)).pow(r)
    power_mean = (1 + t) * torch.exp((torch.log1p(ratio_power) - math.log(2.0)) / r)
    if tau < 1.0:
        return 2.0 ** (1.0 - tau) / (1.0 - tau) * (1.0 - power_mean)
    return (power_mean - 1.0) / ((tau - 1.0) * n ** (tau - 1.0))


def _check_gamma_args(tau, n_classes) -> tuple[float, int]:
    tau = check_tau(tau)
    if tau > 2.0:
        raise ValueError(f"tau must be in [0, 2] for the comp-sum error transform, got {tau!r}")
    check_positive("n_classes", n_classes, integer=True)
    if n_classes < 2:
        raise ValueError(f"n_classes must be >= 2, got {n_classes!r}")
    return tau, n_classes


def _as_float64(t, name: str) -> tuple[torch.Tensor, bool]:
    if isinstance(t, torch.Tensor):
        check_tensor(name, t, floating=True)
        return t.to(torch.float64), False
    if isinstance(t, bool) or not isinstance(t, (int, float)) or not math.isfinite(t):
        raise TypeError(f"{name} must be a finite number or a floating tensor, got {t!r}")
    return torch.tensor(float(t), dtype=torch.float64), True


def _check_probabilities(probabilities) -> torch.Tensor:
    check_tensor("probabilities", probabilities, min_dim=1, floating=True)
    if probabilities.shape[-1] < 2:
        raise ValueError(
            f"probabilities must have >= 2 classes on the last axis, got {tuple(probabilities.shape)}"
        )
    if bool((probabilities < 0).any()):
        raise ValueError(f"probabilities must be non-negative, got minimum {probabilities.min().item():.3g}")
    sums = probabilities.sum(-1)
    tolerance = 1e-6 if probabilities.dtype == torch.float64 else 1e-4
    if bool(((sums - 1).abs() > tolerance).any()):
        raise ValueError(
            f"probabilities rows must sum to 1, got sums in [{sums.min():.6g}, {sums.max():.6g}]"
        )
    return probabilities


def _check_pair(scores, probabilities) -> torch.Tensor:
    check_tensor("scores", scores, min_dim=2, floating=True)
    p = _check_probabilities(probabilities)
    if p.shape != scores.shape[-2:]:
        raise ValueError(
            f"probabilities must have shape {tuple(scores.shape[-2:])} (the last two axes of scores), "
            f"got {tuple(p.shape)}"
        )
    if p.device != scores.device:
        raise ValueError(f"probabilities must be on scores' device {scores.device}, got {p.device}")
    return p


def _average(values: torch.Tensor, a) -> torch.Tensor:
    if a is None:
        return values.mean(-1)
    weights = check_weights("a", a, tuple(values.shape[-1:]))
    return (weights.to(values.dtype) * values).sum(-1)
