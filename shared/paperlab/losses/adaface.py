r"""AdaFace, with ArcFace and CosFace as its fixed-margin special cases.

From "AdaFace: Quality Adaptive Margin for Face Recognition" (2022). A margin softmax head compares an
embedding with one learned proxy per class through the cosine :math:`\cos\theta_j` and penalizes the
target class :math:`y` with an angular margin :math:`g_{angle}` and an additive one :math:`g_{add}`,

.. math:: \text{logit}_y = s\,\big(\cos(\theta_y + g_{angle}) - g_{add}\big), \qquad
          \text{logit}_{j \ne y} = s \cos\theta_j .

ArcFace is :math:`(g_{angle}, g_{add}) = (m, 0)`, CosFace is :math:`(0, m)`. AdaFace makes the margin
depend on image quality, approximated by the feature norm :math:`\|z_i\|` normalized with batch
statistics :math:`\mu_z, \sigma_z` (kept as an exponential moving average during training):

.. math:: \widehat{\|z_i\|} = \operatorname{clip}\Big(h\,\frac{\|z_i\| - \mu_z}{\sigma_z + \epsilon}, -1, 1\Big),
          \quad g_{angle} = -m \widehat{\|z_i\|}, \quad g_{add} = m \widehat{\|z_i\|} + m .

A low-quality sample (:math:`\widehat{\|z\|} = -1`) gets ArcFace's margin :math:`(m, 0)`, which
de-emphasizes it when it is hard (large :math:`\theta_y`); an average one (0) gets CosFace's
:math:`(0, m)`; a high-quality one (1) gets :math:`(-m, 2m)`, a negative angular shift that emphasizes
hard samples. The norm is treated as a
constant (no gradient), as in the authors' code. Also as there, cosines are clamped to
:math:`[-1 + \epsilon, 1 - \epsilon]` and the shifted angle to :math:`[\epsilon, \pi - \epsilon]`; ArcFace
here therefore uses that clip rather than pytorch-metric-learning's :math:`\cos\theta - m \sin m`
fallback past :math:`\theta > \pi - m` (both agree everywhere else).

Every loss takes raw ``embeddings`` (B, D), integer ``labels`` (B,) in ``[0, C)`` and the class proxies
``weight`` (C, D) (the layout of ``nn.Linear``; pytorch-metric-learning stores its transpose). Margins are
in radians (pytorch-metric-learning's ArcFace takes degrees).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from paperlab._checks import check_positive, check_reduction, check_tensor, reduce
from paperlab.losses._labelled_batch import check_labelled_batch

NORM_RANGE = (1e-3, 100.0)  # the authors' clip of feature norms before their statistics


def _check_margin(name: str, value, upper: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < upper:
        raise ValueError(f"{name} must be a number in [0, {upper:.4g}), got {value!r}")
    return float(value)


def _check_eps(eps) -> float:
    if isinstance(eps, bool) or not isinstance(eps, (int, float)) or not 0 < eps < 0.1:
        raise ValueError(f"eps must be a number in (0, 0.1), got {eps!r}")
    return float(eps)


def _check_head_inputs(embeddings: torch.Tensor, labels: torch.Tensor, weight: torch.Tensor, scale) -> None:
    check_labelled_batch(embeddings, labels, min_size=1)
    check_positive("scale", scale)
    check_tensor("weight", weight, dim=2, floating=True)
    if weight.shape[1] != embeddings.shape[1]:
        raise ValueError(
            f"weight must have shape (C, {embeddings.shape[1]}) to match embeddings, got {tuple(weight.shape)}"
        )
    if weight.dtype != embeddings.dtype or weight.device != embeddings.device:
        raise ValueError(
            f"weight must share embeddings' dtype {embeddings.dtype} and device {embeddings.device}, "
            f"got {weight.dtype} on {weight.device}"
        )
    if labels.min() < 0 or labels.max() >= weight.shape[0]:
        raise ValueError(
            f"labels must lie in [0, {weight.shape[0]}) (one row of weight per class), "
            f"got values in [{labels.min().item()}, {labels.max().item()}]"
        )


def _cosine(embeddings: torch.Tensor, weight: torch.Tensor, eps: float = 1e-3) -> torch.Tensor:
    """Cosine between every embedding and every class proxy, clamped to [-1 + eps, 1 - eps], (B, C)."""
    cosine = F.normalize(embeddings, dim=1) @ F.normalize(weight, dim=1).T  # a fresh tensor: clamp in place
    return cosine.clamp_(-1 + eps, 1 - eps)


def margin_softmax_logits(
    cosine: torch.Tensor,
    labels: torch.Tensor,
    angular_margin: float | torch.Tensor = 0.0,
    additive_margin: float | torch.Tensor = 0.0,
    scale: float = 64.0,
    eps: float = 1e-3,
) -> torch.Tensor:
    r"""Scaled logits with the margins applied to each row's target class.

    .. math:: \text{logit}_{iy_i} = s\big(\cos(\operatorname{clip}(\theta_{iy_i} + g^{angle}_i,
              \epsilon, \pi - \epsilon)) - g^{add}_i\big), \quad \text{logit}_{ij} = s \cos\theta_{ij}

    with every cosine first clamped to :math:`[-1 + \epsilon, 1 - \epsilon]`.

    Args:
        cosine: cosines between embeddings and class proxies, (B, C).
        labels: target class of each row, integer (B,).
        angular_margin: :math:`g^{angle}`, a number or a per-row tensor (B,) (may be negative).
        additive_margin: :math:`g^{add}`, a number or a per-row tensor (B,).
        scale: :math:`s > 0`.
        eps: clamp for cosines and angles, in (0, 0.1).

    Returns:
        Logits, (B, C), ready for cross-entropy.
    """
    check_tensor("cosine", cosine, dim=2, floating=True)
    check_tensor("labels", labels, dim=1)
    if labels.shape[0] != cosine.shape[0] or labels.is_floating_point():
        raise ValueError(
            f"labels must be an integer tensor of shape ({cosine.shape[0]},), "
            f"got {labels.dtype} {tuple(labels.shape)}"
        )
    check_positive("scale", scale)
    eps = _check_eps(eps)
    margins = []
    for name, margin in (("angular_margin", angular_margin), ("additive_margin", additive_margin)):
        if isinstance(margin, torch.Tensor):
            check_tensor(name, margin, dim=1, floating=True)
            if margin.shape[0] != cosine.shape[0]:
                raise ValueError(f"{name} must have shape ({cosine.shape[0]},), got {tuple(margin.shape)}")
        elif isinstance(margin, bool) or not isinstance(margin, (int, float)) or not math.isfinite(margin):
            raise ValueError(f"{name} must be a finite number or a (B,) tensor, got {margin!r}")
        margins.append(margin)
    angular, additive = margins
    return _margin_logits(cosine.clamp(-1 + eps, 1 - eps), labels, angular, additive, scale, eps)


def _margin_logits(cosine, labels, angular, additive, scale: float, eps: float = 1e-3) -> torch.Tensor:
    """:func:`margin_softmax_logits` without input checks, on cosines already clamped (overwritten)."""
    target = labels[:, None]  # (B, 1)
    theta = cosine.gather(1, target).squeeze(1).acos()  # (B,)
    shifted = (theta + angular).clamp(eps, math.pi - eps).cos() - additive  # (B,)
    return (cosine * scale).scatter_(1, target, (scale * shifted)[:, None])


def arcface_loss(
    embeddings: torch.Tensor,
    labels: torch.Tensor,
    weight: torch.Tensor,
    margin: float = 0.5,
    scale: float = 64.0,
    reduction: str = "mean",
) -> torch.Tensor:
    r"""ArcFace: cross-entropy on :math:`s \cos(\theta_y + m)` for the target class.

    Args:
        embeddings: raw embeddings, (B, D).
        labels: class indices in [0, C), integer (B,).
        weight: class proxies, (C, D).
        margin: additive angular margin :math:`m \in [0, \pi)`, radians.
        scale: :math:`s > 0`.
        reduction: ``"mean"``, ``"sum"`` or ``"none"``.

    Returns:
        A scalar, or per-row losses (B,) for ``reduction="none"``.
    """
    _check_head_inputs(embeddings, labels, weight, scale)
    margin = _check_margin("margin", margin, math.pi)
    check_reduction(reduction)
    logits = _margin_logits(_cosine(embeddings, weight), labels, margin, 0.0, scale)
    return reduce(F.cross_entropy(logits, labels, reduction="none"), reduction)


def cosface_loss(
    embeddings: torch.Tensor,
    labels: torch.Tensor,
    weight: torch.Tensor,
    margin: float = 0.35,
    scale: float = 64.0,
    reduction: str = "mean",
) -> torch.Tensor:
    r"""CosFace: cross-entropy on :math:`s (\cos\theta_y - m)` for the target class.

    Arguments and returns as in :func:`arcface_loss`; ``margin`` :math:`m \in [0, 2)` is subtracted
    from the target cosine.
    """
    _check_head_inputs(embeddings, labels, weight, scale)
    margin = _check_margin("margin", margin, 2.0)
    check_reduction(reduction)
    logits = _margin_logits(_cosine(embeddings, weight), labels, 0.0, margin, scale)
    return reduce(F.cross_entropy(logits, labels, reduction="none"), reduction)


def adaface_margin_scaler(
    norms: torch.Tensor, mean: torch.Tensor | float, std: torch.Tensor | float, h: float = 0.333, eps=1e-3
) -> torch.Tensor:
    r"""AdaFace's quality proxy, the clipped normalized feature norm.

    .. math:: \widehat{\|z\|} = \operatorname{clip}(h (\|z\| - \mu) / (\sigma + \epsilon), -1, 1)

    Args:
        norms: feature norms, (B,); clipped to [1e-3, 100] and detached.
        mean, std: the normalizing statistics :math:`\mu_z`, :math:`\sigma_z` (numbers or 0-d tensors).
        h: concentration :math:`h > 0`; 0.333 puts about 68% of a normal batch inside [-1/3, 1/3].
        eps: added to the std.

    Returns:
        The scaler in [-1, 1], (B,), without gradient.
    """
    check_tensor("norms", norms, dim=1, floating=True)
    check_positive("h", h)
    eps = _check_eps(eps)
    safe = norms.detach().clamp(*NORM_RANGE)
    return (h * (safe - mean) / (std + eps)).clamp(-1.0, 1.0)


def adaface_loss(
    embeddings: torch.Tensor,
    labels: torch.Tensor,
    weight: torch.Tensor,
    margin: float = 0.4,
    h: float = 0.333,
    scale: float = 64.0,
    batch_mean: float | torch.Tensor | None = None,
    batch_std: float | torch.Tensor | None = None,
    reduction: str = "mean",
) -> torch.Tensor:
    r"""AdaFace: margin softmax with :math:`g_{angle} = -m\widehat{\|z\|}` and :math:`g_{add} = m\widehat{\|z\|} + m`.

    Args:
        embeddings: raw (unnormalized) embeddings, (B, D), B >= 2; their norms are the quality proxy.
        labels, weight, scale, reduction: as in :func:`arcface_loss`.
        margin: :math:`m \in [0, \pi / 2)`.
        h: concentration of the normalized norm, see :func:`adaface_margin_scaler`.
        batch_mean, batch_std: norm statistics; ``None`` (both) uses this batch's mean and (unbiased) std,
            i.e. the authors' EMA with ``t_alpha = 1``. :class:`AdaFaceLoss` keeps the running EMA.

    Returns:
        A scalar, or per-row losses (B,) for ``reduction="none"``.
    """
    _check_head_inputs(embeddings, labels, weight, scale)
    margin = _check_margin("margin", margin, math.pi / 2)
    check_reduction(reduction)
    if (batch_mean is None) != (batch_std is None):
        raise ValueError("batch_mean and batch_std must be given together or both left None")
    norms = embeddings.detach().norm(dim=1)  # (B,)
    if batch_mean is None:
        if embeddings.shape[0] < 2:
            raise ValueError(f"embeddings needs >= 2 rows for batch statistics, got {embeddings.shape[0]}")
        safe = norms.clamp(*NORM_RANGE)
        batch_mean, batch_std = safe.mean(), safe.std()
    scaler = adaface_margin_scaler(norms, batch_mean, batch_std, h)
    logits = _margin_logits(
        _cosine(embeddings, weight), labels, -margin * scaler, margin * scaler + margin, scale
    )
    return reduce(F.cross_entropy(logits, labels, reduction="none"), reduction)


class _MarginHead(nn.Module):
    """Holds the (C, D) class proxies, initialized with unit-norm rows."""

    def __init__(self, num_classes: int, embedding_size: int, margin: float, scale: float):
        super().__init__()
        check_positive("num_classes", num_classes, integer=True)
        check_positive("embedding_size", embedding_size, integer=True)
        check_positive("scale", scale)
        self.margin, self.scale = margin, float(scale)
        self.weight = nn.Parameter(F.normalize(torch.randn(num_classes, embedding_size), dim=1))


class ArcFaceLoss(_MarginHead):
    """Module form of :func:`arcface_loss` that owns its class proxies ``weight`` (C, D)."""

    def __init__(self, num_classes: int, embedding_size: int, margin: float = 0.5, scale: float = 64.0):
        super().__init__(num_classes, embedding_size, _check_margin("margin", margin, math.pi), scale)

    def forward(self, embeddings: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return arcface_loss(embeddings, labels, self.weight, self.margin, self.scale)


class CosFaceLoss(_MarginHead):
    """Module form of :func:`cosface_loss` that owns its class proxies ``weight`` (C, D)."""

    def __init__(self, num_classes: int, embedding_size: int, margin: float = 0.35, scale: float = 64.0):
        super().__init__(num_classes, embedding_size, _check_margin("margin", margin, 2.0), scale)

    def forward(self, embeddings: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return cosface_loss(embeddings, labels, self.weight, self.margin, self.scale)


class AdaFaceLoss(_MarginHead):
    r"""Module form of :func:`adaface_loss` with the authors' EMA of the batch norm statistics.

    In training mode each call first updates :math:`\mu \leftarrow \alpha \bar{n} + (1 - \alpha)\mu` and
    :math:`\sigma \leftarrow \alpha s_n + (1 - \alpha)\sigma` from the batch's clipped norms (mean
    :math:`\bar n`, unbiased std :math:`s_n`), then uses the updated values, as the authors' head does.
    The buffers start at 20 and 100 as there; ``t_alpha = 0.01`` is their training script's default.
    In eval mode the statistics are frozen.

    Args:
        num_classes, embedding_size: C and D.
        margin, h, scale: as in :func:`adaface_loss`.
        t_alpha: EMA weight of the current batch, in (0, 1].
    """

    def __init__(
        self,
        num_classes: int,
        embedding_size: int,
        margin: float = 0.4,
        h: float = 0.333,
        scale: float = 64.0,
        t_alpha: float = 0.01,
    ):
        super().__init__(num_classes, embedding_size, _check_margin("margin", margin, math.pi / 2), scale)
        check_positive("h", h)
        if isinstance(t_alpha, bool) or not isinstance(t_alpha, (int, float)) or not 0 < t_alpha <= 1:
            raise ValueError(f"t_alpha must be a number in (0, 1], got {t_alpha!r}")
        self.h, self.t_alpha = float(h), float(t_alpha)
        self.register_buffer("batch_mean", torch.tensor(20.0))
        self.register_buffer("batch_std", torch.tensor(100.0))

    def forward(self, embeddings: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        if self.training:
            check_tensor("embeddings", embeddings, dim=2, floating=True)
            if embeddings.shape[0] < 2:
                raise ValueError(
                    f"embeddings needs >= 2 rows for batch statistics, got {embeddings.shape[0]}"
                )
            with torch.no_grad():
                safe = embeddings.norm(dim=1).clamp(*NORM_RANGE)
                self.batch_mean.lerp_(safe.mean().to(self.batch_mean.dtype), self.t_alpha)
                self.batch_std.lerp_(safe.std().to(self.batch_std.dtype), self.t_alpha)
        mean, std = (s.to(embeddings.dtype) for s in (self.batch_mean, self.batch_std))
        return adaface_loss(embeddings, labels, self.weight, self.margin, self.h, self.scale, mean, std)
