r"""Adversarial training losses: a PGD attack, the smooth adversarial comp-sum loss and TRADES.

From "Cross-Entropy Loss Functions: Theoretical Analysis and Applications" (2023). The paper's smooth
adversarial comp-sum loss adds to the clean comp-sum loss a term that penalizes how much the vector of
score differences :math:`\Delta_h(x, y) = (h_y(x) - h_k(x))_{k}` can move inside the perturbation ball:

.. math:: \tilde\ell^\tau(h, x, y) = \ell^\tau(h, x, y)
          + \nu \sup_{\|x' - x\| \le \gamma} \|\Delta_h(x', y) - \Delta_h(x, y)\|_2 .

(This form is the project plan's reading of the paper; the paper's text could not be consulted to
confirm it.) The supremum is approximated by projected gradient ascent (PGD). The baseline is TRADES,
:math:`\mathrm{CE}(h(x), y) + \beta\, \mathrm{KL}(p(x) \,\|\, p(x'))` with :math:`x'` maximizing the KL term.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from paperlab._checks import check_choice, check_positive, check_reduction, check_tensor, reduce
from paperlab._random import as_generator
from paperlab.losses.comp_sum import check_tau, comp_sum_loss
from paperlab.losses.polyloss import check_class_scores

NORMS = ("linf", "l2")


def pgd_attack(
    model: Callable[[torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    y: torch.Tensor,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    eps: float,
    step_size: float,
    n_steps: int,
    norm: str = "linf",
    random_start: bool = True,
    generator=None,
) -> torch.Tensor:
    r"""Projected gradient ascent of ``loss_fn(model(x'), y)`` over the ball :math:`\|x' - x\| \le \epsilon`.

    .. math:: x'_{t+1} = \Pi_{B(x, \epsilon)}\big(x'_t + \alpha\, d_t\big), \qquad
              d_t = \operatorname{sign}(g_t) \ (\ell_\infty), \quad d_t = g_t / \|g_t\|_2 \ (\ell_2),

    with :math:`g_t` the gradient of the summed loss with respect to :math:`x'_t`, norms taken per item
    over all non-batch axes. Only ``x'`` is differentiated: no parameter gradient is accumulated. The
    model is called in whatever mode (train/eval) it is in.

    Args:
        model: maps inputs ``(N, ...)`` to logits ``(N, C)``.
        x: clean inputs, floating, shape ``(N, ...)``.
        y: what ``loss_fn`` receives as its second argument (usually int64 labels ``(N,)``).
        loss_fn: ``loss_fn(logits, y)``, a scalar or per-item values (summed) to maximize.
        eps: radius :math:`\epsilon \ge 0` of the ball.
        step_size: step :math:`\alpha > 0`.
        n_steps: number of ascent steps (0 returns the starting point).
        norm: ``"linf"`` or ``"l2"``.
        random_start: start at a uniform point of the ball instead of ``x`` itself.
        generator: seed or ``torch.Generator`` for the random start (drawn on the CPU).

    Returns:
        Adversarial inputs of ``x``'s shape, dtype and device, detached, within the ball.
    """
    check_tensor("x", x, min_dim=1, floating=True)
    check_positive("eps", eps, allow_zero=True)
    check_positive("step_size", step_size)
    check_positive("n_steps", n_steps, integer=True, allow_zero=True)
    check_choice("norm", norm, NORMS)
    x = x.detach()
    delta = _random_start(x, eps, norm, as_generator(generator)) if random_start else torch.zeros_like(x)
    for _ in range(n_steps):
        delta.requires_grad_(True)
        with torch.enable_grad():
            loss = loss_fn(model(x + delta), y).sum()
            (grad,) = torch.autograd.grad(loss, delta)
        if norm == "linf":
            delta = (delta.detach() + step_size * grad.sign()).clamp(-eps, eps)
        else:
            delta = _project_l2(delta.detach() + step_size * grad / _item_norms(grad).clamp_min(1e-30), eps)
    return (x + delta).detach()


def adversarial_comp_sum_loss(
    model: Callable[[torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    target: torch.Tensor,
    *,
    tau: float = 1.0,
    nu: float = 1.0,
    eps: float,
    step_size: float,
    n_steps: int = 5,
    norm: str = "linf",
    reduction: str = "mean",
    generator=None,
) -> torch.Tensor:
    r"""Smooth adversarial comp-sum loss: clean comp-sum loss plus :math:`\nu` times the worst score-difference shift.

    .. math:: \tilde\ell^\tau = \ell^\tau(h, x, y) + \nu\, \|\Delta_h(x', y) - \Delta_h(x, y)\|_2, \qquad
              x' \approx \arg\max_{\|x' - x\| \le \epsilon} \|\Delta_h(x', y) - \Delta_h(x, y)\|_2,

    where :math:`\Delta_h(x, y)_k = h_y(x) - h_k(x)` and :math:`x'` comes from :func:`pgd_attack` with a
    random start (the shift is 0 at :math:`x' = x`, where its gradient vanishes). The gradient flows
    through :math:`h(x)` and :math:`h(x')`, not through the choice of :math:`x'`.

    Args:
        model: maps inputs ``(N, ...)`` to logits ``(N, C)``.
        x: inputs, floating, shape ``(N, ...)``.
        target: int64 labels, shape ``(N,)``.
        tau: comp-sum index :math:`\tau \ge 0` (1 is cross-entropy).
        nu: weight :math:`\nu \ge 0` of the smoothness term.
        eps, step_size, n_steps, norm, generator: the inner PGD (see :func:`pgd_attack`).
        reduction: ``"mean"``, ``"sum"`` or ``"none"``.

    Returns:
        A scalar, or per-item losses ``(N,)`` for ``reduction="none"``.
    """
    tau = check_tau(tau)
    check_positive("nu", nu, allow_zero=True)
    check_reduction(reduction)
    clean_logits = model(x)
    check_class_scores(clean_logits, target)
    anchor = clean_logits.detach()
    x_adv = pgd_attack(
        model,
        x,
        target,
        lambda logits, y: score_difference_shift(logits, anchor, y),
        eps,
        step_size,
        n_steps,
        norm,
        generator=generator,
    )
    shift = score_difference_shift(model(x_adv), clean_logits, target)  # (N,)
    losses = comp_sum_loss(clean_logits, target, tau, reduction="none") + nu * shift
    return reduce(losses, reduction)


def score_difference_shift(
    logits: torch.Tensor, reference: torch.Tensor, target: torch.Tensor
) -> torch.Tensor:
    r""":math:`\|\Delta(z, y) - \Delta(z_0, y)\|_2` per item, with :math:`\Delta(z, y)_k = z_y - z_k`.

    Args:
        logits, reference: logits :math:`z` and :math:`z_0`, shape ``(N, C)``.
        target: int64 labels ``(N,)``.

    Returns:
        Shape ``(N,)``.
    """
    d = logits - reference  # (N, C)
    d_y = d.gather(1, target.unsqueeze(1))  # (N, 1)
    return torch.linalg.vector_norm(d_y - d, dim=1)


def trades_loss(
    model: Callable[[torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    target: torch.Tensor,
    *,
    beta: float = 6.0,
    eps: float,
    step_size: float,
    n_steps: int = 5,
    norm: str = "linf",
    reduction: str = "mean",
    generator=None,
) -> torch.Tensor:
    r"""TRADES: cross-entropy plus :math:`\beta` times the KL divergence from the clean to the adversarial softmax.

    .. math:: L = \mathrm{CE}(h(x), y) + \beta\, \mathrm{KL}\big(p(x) \,\|\, p(x')\big), \qquad
              x' \approx \arg\max_{\|x' - x\| \le \epsilon} \mathrm{KL}\big(p(x) \,\|\, p(x')\big)

    with :math:`p = \mathrm{softmax} \circ h` and :math:`x'` from :func:`pgd_attack` (uniform random
    start in the ball, where the original uses a tiny Gaussian one). The gradient flows through both
    :math:`p(x)` and :math:`p(x')`, as in the original method.

    Args:
        model, x, target, eps, step_size, n_steps, norm, generator, reduction: as in
            :func:`adversarial_comp_sum_loss`.
        beta: weight :math:`\beta \ge 0` of the KL term.

    Returns:
        A scalar, or per-item losses ``(N,)`` for ``reduction="none"``.
    """
    check_positive("beta", beta, allow_zero=True)
    check_reduction(reduction)
    clean_logits = model(x)
    check_class_scores(clean_logits, target)
    anchor = clean_logits.detach()
    x_adv = pgd_attack(
        model,
        x,
        target,
        lambda logits, y: softmax_kl(anchor, logits),
        eps,
        step_size,
        n_steps,
        norm,
        generator=generator,
    )
    kl = softmax_kl(clean_logits, model(x_adv))  # (N,)
    losses = F.cross_entropy(clean_logits, target, reduction="none") + beta * kl
    return reduce(losses, reduction)


def softmax_kl(logits_p: torch.Tensor, logits_q: torch.Tensor) -> torch.Tensor:
    r""":math:`\mathrm{KL}(\mathrm{softmax}(z_p) \,\|\, \mathrm{softmax}(z_q))` per row; shape ``(N,)``.

    Computed from log-softmaxes, so it is finite for any finite logits.
    """
    log_p, log_q = F.log_softmax(logits_p, dim=1), F.log_softmax(logits_q, dim=1)
    return (log_p.exp() * (log_p - log_q)).sum(1)


class AdversarialCompSumLoss(nn.Module):
    """Module form of :func:`adversarial_comp_sum_loss`; called as ``loss(model, x, target)``."""

    def __init__(self, *, tau=1.0, nu=1.0, eps, step_size, n_steps=5, norm="linf", reduction="mean"):
        super().__init__()
        self.options = dict(
            tau=check_tau(tau),
            nu=check_positive("nu", nu, allow_zero=True),
            eps=eps,
            step_size=step_size,
            n_steps=n_steps,
            norm=check_choice("norm", norm, NORMS),
            reduction=check_reduction(reduction),
        )

    def forward(self, model, x, target, generator=None):
        return adversarial_comp_sum_loss(model, x, target, generator=generator, **self.options)


class TradesLoss(nn.Module):
    """Module form of :func:`trades_loss`; called as ``loss(model, x, target)``."""

    def __init__(self, *, beta=6.0, eps, step_size, n_steps=5, norm="linf", reduction="mean"):
        super().__init__()
        self.options = dict(
            beta=check_positive("beta", beta, allow_zero=True),
            eps=eps,
            step_size=step_size,
            n_steps=n_steps,
            norm=check_choice("norm", norm, NORMS),
            reduction=check_reduction(reduction),
        )

    def forward(self, model, x, target, generator=None):
        return trades_loss(model, x, target, generator=generator, **self.options)


def _random_start(x: torch.Tensor, eps: float, norm: str, generator: torch.Generator) -> torch.Tensor:
    """A uniform draw from the ball of radius ``eps`` around 0, one per item, drawn on the CPU."""
    if norm == "linf":
        u = torch.rand(x.shape, generator=generator, dtype=x.dtype)
        return ((2 * u - 1) * eps).to(x.device)
    direction = torch.randn(x.shape, generator=generator, dtype=x.dtype)
    radius = torch.rand(x.shape[0], generator=generator, dtype=x.dtype) ** (1.0 / x[0].numel())
    shape = (-1,) + (1,) * (x.dim() - 1)  # broadcast per item over its non-batch axes
    delta = direction / _item_norms(direction).clamp_min(1e-30) * (eps * radius).view(shape)
    return delta.to(x.device)


def _item_norms(v: torch.Tensor) -> torch.Tensor:
    """Euclidean norm of each item over its non-batch axes, shaped to broadcast against ``v``."""
    norms = torch.linalg.vector_norm(v.reshape(v.shape[0], -1), dim=1)  # (N,)
    return norms.view((-1,) + (1,) * (v.dim() - 1))


def _project_l2(delta: torch.Tensor, eps: float) -> torch.Tensor:
    """Shrink each item of ``delta`` onto the Euclidean ball of radius ``eps``."""
    return delta * (eps / _item_norms(delta).clamp_min(1e-30)).clamp(max=1.0)
