r"""Label-distributionally robust (LDR) losses: LDR-KL and its adaptive, per-instance form ALDR-KL.

From "Label Distributionally Robust Losses for Multi-class Classification: Consistency, Robustness and
Adaptivity". The loss of a sample is the worst case, over distributions :math:`p` on the labels,
of the expected margin violation, penalised by the KL divergence of :math:`p` from the uniform one:

.. math:: \psi_\lambda(s, y) = \max_{p \in \Delta_K} \sum_k p_k (c\,[k \ne y] + s_k - s_y)
          - \lambda\, \mathrm{KL}(p \,\|\, \tfrac{1}{K}\mathbf{1})
          = \lambda \log \frac{1}{K} \sum_{k=1}^{K} \exp\!\Big(\frac{c\,[k \ne y] + s_k - s_y}{\lambda}\Big).

As :math:`\lambda \to 0` it tends to the Crammer-Singer hinge :math:`\max(0, \max_{k \ne y} c + s_k - s_y)`
(from below, within :math:`\lambda \log K`); at :math:`\lambda = 1` it is the cross-entropy of the
margin-shifted scores minus :math:`\log K`. As in the authors' code the scores :math:`s` are the logits
passed through softplus and divided by their mean over the classes (``normalize=True``), which bounds
them in :math:`[0, K]`; the authors' code also drops the constant :math:`-\lambda \log K`.

ALDR-KL gives each training sample its own :math:`\lambda_i`, kept in a buffer indexed by sample id.
When sample :math:`i` is seen, :math:`\lambda_i` is set in closed form (no gradient step) from the
distribution :math:`q = \mathrm{softmax}(s / \lambda_i^{\text{prev}})` of the current scores:

.. math:: \lambda_i = \lambda_0 \Big(1 - \frac{\mathrm{KL}(q \,\|\, \tfrac{1}{K}\mathbf{1})}{\alpha \log K}\Big),
          \qquad \alpha > 1,

the maximiser over :math:`\lambda` of :math:`-\lambda\,\mathrm{KL} - \frac{\alpha \log K}{2 \lambda_0}
(\lambda - \lambda_0)^2`; the loss is :math:`\psi_{\lambda_i}(s, y) - \frac{\alpha \log K}{2\lambda_0}
(\lambda_i - \lambda_0)^2`. Confident (peaked) predictions get a smaller :math:`\lambda_i`, closer to the
hinge; uncertain ones keep :math:`\lambda_i` near :math:`\lambda_0`. :math:`\lambda_i` stays in
:math:`[\lambda_0 (1 - 1/\alpha), \lambda_0]`.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from paperlab._checks import check_positive, check_reduction, check_tensor, reduce
from paperlab.losses.polyloss import check_class_scores, reduce_valid


def normalize_scores(input: torch.Tensor) -> torch.Tensor:
    r"""Softplus scores divided by their mean over the classes (dim 1): :math:`s = K\,
    \mathrm{softplus}(z) / \sum_k \mathrm{softplus}(z_k)`, so that :math:`s_k \ge 0` and
    :math:`\frac{1}{K}\sum_k s_k = 1`.

    Args:
        input: logits, shape ``(N, C, ...)``.

    Returns:
        Normalised scores of the same shape.
    """
    positive = F.softplus(input)  # (N, C, ...)
    return positive / positive.mean(dim=1, keepdim=True).clamp_min(torch.finfo(positive.dtype).tiny)


def ldr_kl_loss(
    input: torch.Tensor,
    target: torch.Tensor,
    lam: float | torch.Tensor = 1.0,
    margin: float = 0.1,
    normalize: bool = True,
    reduction: str = "mean",
    ignore_index: int = -100,
) -> torch.Tensor:
    r"""LDR-KL loss: a KL-smoothed worst case of the margin violations over label distributions.

    .. math:: \psi_\lambda = \lambda \Big(\operatorname{logsumexp}_k \frac{c\,[k \ne y] + s_k - s_y}{\lambda}
              - \log K\Big)

    with :math:`s` the normalised scores of :func:`normalize_scores` (or the logits themselves when
    ``normalize=False``). Small ``lam`` approaches :func:`crammer_singer_hinge`; ``lam = 1`` with
    ``normalize=False`` is ``F.cross_entropy`` of the margin-shifted logits minus :math:`\log K`.

    Args:
        input: logits, shape ``(N, C)`` or ``(N, C, d1, ...)``, with ``C >= 2``.
        target: class indices, int64, shape ``(N,)`` or ``(N, d1, ...)``.
        lam: temperature :math:`\lambda > 0`, a number or a tensor of per-item values of the target's shape.
        margin: margin :math:`c \ge 0` added to the scores of the wrong classes.
        normalize: apply :func:`normalize_scores` to the logits first (the authors' choice).
        reduction: ``"mean"`` (over non-ignored items), ``"sum"`` or ``"none"``.
        ignore_index: target value whose items get zero loss and do not count in the mean.

    Returns:
        A scalar, or per-item losses of the target's shape for ``reduction="none"``.
    """
    check_class_scores(input, target, ignore_index)
    check_reduction(reduction)
    _check_margin(margin)
    lam = _check_lam(lam, target, input)
    valid = target != ignore_index
    scores = normalize_scores(input) if normalize else input
    losses = _ldr_kl_per_item(scores, target.masked_fill(~valid, 0), lam, margin)
    return reduce_valid(losses.masked_fill(~valid, 0.0), valid, reduction)


def crammer_singer_hinge(
    input: torch.Tensor,
    target: torch.Tensor,
    margin: float = 1.0,
    reduction: str = "mean",
    ignore_index: int = -100,
) -> torch.Tensor:
    r"""Crammer-Singer multi-class hinge: the largest margin violation over the wrong classes.

    .. math:: L = \max\big(0, \max_{k \ne y} (c + s_k - s_y)\big)
              = \max_k \big(c\,[k \ne y] + s_k - s_y\big)

    The scores are used as given (pass :func:`normalize_scores` output to compare with
    :func:`ldr_kl_loss` with ``normalize=True``).

    Args:
        input: scores, shape ``(N, C)`` or ``(N, C, d1, ...)``, with ``C >= 2``.
        target, reduction, ignore_index: as in :func:`ldr_kl_loss`.
        margin: margin :math:`c \ge 0`.

    Returns:
        A scalar, or per-item losses of the target's shape for ``reduction="none"``.
    """
    check_class_scores(input, target, ignore_index)
    check_reduction(reduction)
    _check_margin(margin)
    valid = target != ignore_index
    violations = _margin_violations(input, target.masked_fill(~valid, 0), margin)  # (N, C, ...)
    losses = violations.amax(dim=1).masked_fill(~valid, 0.0)  # (N, ...)
    return reduce_valid(losses, valid, reduction)


class LDRKLLoss(nn.Module):
    """Module form of :func:`ldr_kl_loss`."""

    def __init__(self, lam=1.0, margin=0.1, normalize=True, reduction="mean", ignore_index=-100):
        super().__init__()
        check_positive("lam", lam)
        self.lam, self.margin = lam, _check_margin(margin)
        self.normalize, self.reduction, self.ignore_index = (
            normalize,
            check_reduction(reduction),
            ignore_index,
        )

    def forward(self, input, target):
        return ldr_kl_loss(
            input, target, self.lam, self.margin, self.normalize, self.reduction, self.ignore_index
        )


class ALDRKLLoss(nn.Module):
    r"""Adaptive LDR-KL loss with a per-sample temperature :math:`\lambda_i` set in closed form.

    Each call reads :math:`\lambda_i^{\text{prev}}` of the batch's samples from the buffer ``lam``
    (initialised to :math:`\lambda_0`), computes

    .. math:: \lambda_i = \lambda_0 \Big(1 - \frac{\mathrm{KL}(\mathrm{softmax}(s_i / \lambda_i^{\text{prev}})
              \,\|\, \tfrac{1}{K}\mathbf{1})}{\alpha \log K}\Big)

    without gradient, writes it back (in training mode only) and returns
    :math:`\psi_{\lambda_i}(s_i, y_i) - \frac{\alpha \log K}{2 \lambda_0} (\lambda_i - \lambda_0)^2`
    (see :func:`ldr_kl_loss`). The second term is constant for the network; it makes the value the
    paper's objective.

    Args:
        n_samples: size of the training set (ids run over ``[0, n_samples)``).
        n_classes: number of classes :math:`K \ge 2`.
        lam0: reference temperature :math:`\lambda_0 > 0`.
        alpha: :math:`\alpha > 1`; larger values keep :math:`\lambda_i` closer to :math:`\lambda_0`.
        margin, normalize, reduction: as in :func:`ldr_kl_loss`.

    Shapes: ``input (N, K)``, ``target (N,)``, ``index (N,)`` int64 sample ids (a sample repeated in a
    batch gets the same :math:`\lambda_i` each time).
    """

    def __init__(
        self, n_samples, n_classes, lam0=1.0, alpha=2.0, margin=0.1, normalize=True, reduction="mean"
    ):
        super().__init__()
        check_positive("n_samples", n_samples, integer=True)
        check_positive("n_classes", n_classes, integer=True)
        if n_classes < 2:
            raise ValueError(f"n_classes must be >= 2, got {n_classes!r}")
        check_positive("lam0", lam0)
        check_positive("alpha", alpha)
        if not alpha > 1:
            raise ValueError(f"alpha must be > 1, got {alpha!r}")
        self.n_classes, self.lam0, self.alpha = n_classes, float(lam0), float(alpha)
        self.margin, self.normalize, self.reduction = (
            _check_margin(margin),
            normalize,
            check_reduction(reduction),
        )
        self.register_buffer("lam", torch.full((n_samples,), float(lam0)))

    def forward(self, input: torch.Tensor, target: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
        check_tensor("input", input, dim=2, floating=True)
        check_class_scores(input, target)
        if input.shape[1] != self.n_classes:
            raise ValueError(
                f"input must score n_classes={self.n_classes} classes, got shape {tuple(input.shape)}"
            )
        self._check_index(index, target)
        scores = normalize_scores(input) if self.normalize else input  # (N, K)
        log_k = math.log(self.n_classes)
        with torch.no_grad():
            previous = self.lam[index].to(device=scores.device, dtype=scores.dtype)  # (N,)
            lam = self.lam0 * (1.0 - _kl_from_uniform(scores / previous[:, None]) / (self.alpha * log_k))
            if self.training:
                self.lam[index] = lam.to(self.lam)
        penalty = self.alpha * log_k / (2.0 * self.lam0) * (lam - self.lam0) ** 2  # (N,)
        losses = _ldr_kl_per_item(scores, target, lam, self.margin) - penalty
        return reduce(losses, self.reduction)

    def _check_index(self, index, target) -> None:
        check_tensor("index", index, dim=1)
        if index.dtype != torch.long:
            raise ValueError(f"index must be int64 sample ids, got dtype {index.dtype}")
        if index.shape != target.shape:
            raise ValueError(
                f"index must have the target's shape {tuple(target.shape)}, got {tuple(index.shape)}"
            )
        n_samples = self.lam.shape[0]
        if bool(((index < 0) | (index >= n_samples)).any()):
            raise ValueError(
                f"index must be in [0, {n_samples}), got values in [{index.min().item()}, {index.max().item()}]"
            )


def _ldr_kl_per_item(scores, target, lam, margin: float) -> torch.Tensor:
    r"""Per-item LDR-KL, shape of ``target``; ``lam`` is a number or a tensor of the target's shape.

    Uses :math:`\lambda \operatorname{logsumexp}_k (c[k \ne y] + s_k - s_y)/\lambda
    = \lambda \operatorname{logsumexp}_k (c[k \ne y] + s_k)/\lambda - s_y`: the margin is added to every
    class and the target's entry is then overwritten, which saves the dense subtraction of :math:`s_y`.
    """
    lam_per_class = lam.unsqueeze(1) if isinstance(lam, torch.Tensor) else lam  # (N, 1, ...) or number
    true_score = scores.gather(1, target.unsqueeze(1))  # (N, 1, ...)
    shifted = (scores + margin) / lam_per_class  # (N, C, ...)
    shifted = shifted.scatter(1, target.unsqueeze(1), true_score / lam_per_class)  # no margin on the target
    log_k = math.log(scores.shape[1])
    return lam * (torch.logsumexp(shifted, dim=1) - log_k) - true_score.squeeze(1)


def _margin_violations(scores, target, margin: float) -> torch.Tensor:
    r""":math:`c\,[k \ne y] + s_k - s_y` for every class :math:`k`, shape ``(N, C, ...)``."""
    true_score = scores.gather(1, target.unsqueeze(1))  # (N, 1, ...)
    is_target = F.one_hot(target, scores.shape[1]).movedim(-1, 1).to(torch.bool)  # (N, C, ...)
    return (scores - true_score + margin).masked_fill(is_target, 0.0)


def _kl_from_uniform(logits: torch.Tensor) -> torch.Tensor:
    r""":math:`\mathrm{KL}(\mathrm{softmax}(z) \,\|\, \mathrm{uniform}) = \sum_k q_k \log q_k + \log K`, per row."""
    log_q = F.log_softmax(logits, dim=1)  # (N, K)
    return (log_q.exp() * log_q).sum(dim=1) + math.log(logits.shape[1])


def _check_margin(margin) -> float:
    check_positive("margin", margin, allow_zero=True)
    if not math.isfinite(margin):
        raise ValueError(f"margin must be finite, got {margin!r}")
    return float(margin)


def _check_lam(lam, target, input):
    """A positive finite number, or a positive tensor of the target's shape on input's device and dtype."""
    if isinstance(lam, torch.Tensor):
        check_tensor("lam", lam, floating=True)
        if lam.shape != target.shape:
            raise ValueError(
                f"lam must be a number or have the target's shape {tuple(target.shape)}, got {tuple(lam.shape)}"
            )
        if lam.device != input.device:
            raise ValueError(f"lam must be on input's device {input.device}, got {lam.device}")
        if bool((lam <= 0).any()):
            raise ValueError(f"lam must be > 0, got minimum {lam.min().item():.3g}")
        return lam.to(input.dtype)
    check_positive("lam", lam)
    if not math.isfinite(lam):
        raise ValueError(f"lam must be finite, got {lam!r}")
    return float(lam)
