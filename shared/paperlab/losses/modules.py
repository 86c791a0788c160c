"""``nn.Module`` forms of the functional metric-learning and contrastive losses.

Each module stores the function's keyword arguments and calls the function in ``forward`` with the
tensors in the same order (``embeddings, labels`` or ``query, key``); the function validates every
call. The contrastive modules can also learn their temperature (InfoNCE) or scale and bias (sigmoid
loss) as parameters, kept in log space so that they stay positive, as CLIP and SigLIP do.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from paperlab._checks import check_choice, check_positive
from paperlab._random import as_generator
from paperlab.losses._labelled_batch import DISTANCES, check_reduction_of
from paperlab.losses.circle import circle_classification_loss, circle_loss, unified_pair_loss
from paperlab.losses.contrastive import info_nce, nt_xent_loss, sigmoid_contrastive_loss, supcon_loss
from paperlab.losses.pair_losses import MARGIN_REDUCTIONS, contrastive_loss, triplet_margin_loss
from paperlab.losses.supcon_in import supcon_in_loss


def _check_chunk_size(chunk_size):
    return chunk_size if chunk_size is None else check_positive("chunk_size", chunk_size, integer=True)


class TripletMarginLoss(nn.Module):
    """Module form of :func:`paperlab.losses.triplet_margin_loss` (all valid triplets of the batch)."""

    def __init__(self, margin=0.05, distance="euclidean", normalize=True, reduction="mean_nonzero"):
        super().__init__()
        self.margin = check_positive("margin", margin, allow_zero=True)
        self.distance = check_choice("distance", distance, set(DISTANCES))
        self.normalize, self.reduction = normalize, check_reduction_of(reduction, MARGIN_REDUCTIONS)

    def forward(self, embeddings, labels):
        return triplet_margin_loss(
            embeddings, labels, self.margin, self.distance, self.normalize, self.reduction
        )


class ContrastiveLoss(nn.Module):
    """Module form of :func:`paperlab.losses.contrastive_loss` (the pair loss with two margins)."""

    def __init__(
        self, pos_margin=0.0, neg_margin=1.0, distance="euclidean", normalize=True, reduction="mean_nonzero"
    ):
        super().__init__()
        self.pos_margin = check_positive("pos_margin", pos_margin, allow_zero=True)
        self.neg_margin = check_positive("neg_margin", neg_margin, allow_zero=True)
        self.distance = check_choice("distance", distance, set(DISTANCES))
        self.normalize, self.reduction = normalize, check_reduction_of(reduction, MARGIN_REDUCTIONS)

    def forward(self, embeddings, labels):
        return contrastive_loss(
            embeddings,
            labels,
            self.pos_margin,
            self.neg_margin,
            self.distance,
            self.normalize,
            self.reduction,
        )


class CircleLoss(nn.Module):
    """Module form of :func:`paperlab.losses.circle_loss` (pair-wise labels)."""

    def __init__(self, m=0.25, gamma=256.0, reduction="mean"):
        super().__init__()
        self.m, self.gamma = m, check_positive("gamma", gamma)
        self.reduction = check_reduction_of(reduction)

    def forward(self, embeddings, labels):
        return circle_loss(embeddings, labels, self.m, self.gamma, self.reduction)


class UnifiedPairLoss(nn.Module):
    """Module form of :func:`paperlab.losses.unified_pair_loss`."""

    def __init__(self, m=0.25, gamma=64.0, reduction="mean"):
        super().__init__()
        self.m, self.gamma = m, check_positive("gamma", gamma)
        self.reduction = check_reduction_of(reduction)

    def forward(self, embeddings, labels):
        return unified_pair_loss(embeddings, labels, self.m, self.gamma, self.reduction)


class CircleClassificationLoss(nn.Module):
    """Circle loss against learnable class proxies: :func:`paperlab.losses.circle_classification_loss`.

    Args:
        n_classes: number of proxies C.
        embedding_dim: width D of the embeddings.
        m, gamma, reduction: as in the function.
        generator: seed or ``torch.Generator`` of the proxies' normal initialization.

    The proxies live in ``self.weight``, shape (C, D).
    """

    def __init__(self, n_classes, embedding_dim, m=0.25, gamma=256.0, reduction="mean", generator=None):
        super().__init__()
        check_positive("n_classes", n_classes, integer=True)
        check_positive("embedding_dim", embedding_dim, integer=True)
        proxies = torch.randn(n_classes, embedding_dim, generator=as_generator(generator))
        self.weight = nn.Parameter(proxies)  # (C, D)
        self.m, self.gamma = m, check_positive("gamma", gamma)
        self.reduction = check_reduction_of(reduction)

    def forward(self, embeddings, labels):
        return circle_classification_loss(embeddings, self.weight, labels, self.m, self.gamma, self.reduction)


class SupConLoss(nn.Module):
    """Module form of :func:`paperlab.losses.supcon_loss` (the L_out form)."""

    def __init__(self, temperature=0.1, chunk_size=None, normalize=True, reduction="mean"):
        super().__init__()
        self.temperature = check_positive("temperature", temperature)
        self.chunk_size, self.normalize = _check_chunk_size(chunk_size), normalize
        self.reduction = check_reduction_of(reduction)

    def forward(self, embeddings, labels):
        return supcon_loss(
            embeddings, labels, self.temperature, self.chunk_size, self.normalize, self.reduction
        )


class SupConInLoss(nn.Module):
    """Module form of :func:`paperlab.losses.supcon_in_loss` (the L_in form)."""

    def __init__(self, temperature=0.1, normalize=True, reduction="mean"):
        super().__init__()
        self.temperature = check_positive("temperature", temperature)
        self.normalize, self.reduction = normalize, check_reduction_of(reduction)

    def forward(self, embeddings, labels):
        return supcon_in_loss(embeddings, labels, self.temperature, self.normalize, self.reduction)


class NTXentLoss(nn.Module):
    """Module form of :func:`paperlab.losses.nt_xent_loss` (SimCLR, 2B views)."""

    def __init__(self, temperature=0.1, chunk_size=None, normalize=True, reduction="mean"):
        super().__init__()
        self.temperature = check_positive("temperature", temperature)
        self.chunk_size, self.normalize = _check_chunk_size(chunk_size), normalize
        self.reduction = check_reduction_of(reduction)

    def forward(self, query, key):
        return nt_xent_loss(query, key, self.temperature, self.chunk_size, self.normalize, self.reduction)


class InfoNCELoss(nn.Module):
    r"""Module form of :func:`paperlab.losses.info_nce` (CLIP's loss with ``symmetric=True``).

    With ``learnable=True`` the inverse temperature is a parameter, :math:`1/\tau = e^{\text{log\_scale}}`,
    initialized at ``1 / temperature``, as CLIP learns it.
    """

    def __init__(
        self,
        temperature=0.1,
        chunk_size=None,
        symmetric=False,
        normalize=True,
        reduction="mean",
        learnable=False,
    ):
        super().__init__()
        temperature = check_positive("temperature", temperature)
        self.chunk_size, self.symmetric = _check_chunk_size(chunk_size), symmetric
        self.normalize, self.reduction = normalize, check_reduction_of(reduction)
        if learnable:
            self.log_scale = nn.Parameter(torch.tensor(-math.log(temperature)))
        else:
            self.log_scale = None
            self.fixed_temperature = temperature

    @property
    def temperature(self):
        """The current temperature: a number, or a 0-dim tensor when learnable."""
        return self.fixed_temperature if self.log_scale is None else torch.exp(-self.log_scale)

    def forward(self, query, key):
        temperature = self.temperature
        if isinstance(temperature, torch.Tensor):
            temperature = temperature.to(query.dtype)
        return info_nce(
            query, key, temperature, self.chunk_size, self.symmetric, self.normalize, self.reduction
        )


class SigmoidContrastiveLoss(nn.Module):
    r"""Module form of :func:`paperlab.losses.sigmoid_contrastive_loss` (SigLIP).

    With ``learnable=True`` the scale and bias are parameters, :math:`t = e^{t'}` with
    :math:`t'` initialized at ``log(scale)`` and :math:`b` at ``bias``: the paper's init is
    :math:`t' = \log 10`, :math:`b = -10`, the defaults.
    """

    def __init__(self, scale=10.0, bias=-10.0, chunk_size=None, normalize=True, learnable=False):
        super().__init__()
        scale = check_positive("scale", scale)
        if isinstance(bias, bool) or not isinstance(bias, (int, float)) or not math.isfinite(bias):
            raise TypeError(f"bias must be a finite number, got {bias!r}")
        self.chunk_size, self.normalize = _check_chunk_size(chunk_size), normalize
        if learnable:
            self.log_scale = nn.Parameter(torch.tensor(math.log(scale)))
            self.bias = nn.Parameter(torch.tensor(float(bias)))
        else:
            self.log_scale = None
            self.fixed_scale, self.bias = scale, bias

    @property
    def scale(self):
        """The current scale t: a number, or a 0-dim tensor when learnable."""
        return self.fixed_scale if self.log_scale is None else torch.exp(self.log_scale)

    def forward(self, query, key):
        scale, bias = self.scale, self.bias
        if isinstance(scale, torch.Tensor):
            scale, bias = scale.to(query.dtype), bias.to(query.dtype)
        return sigmoid_contrastive_loss(query, key, scale, bias, self.chunk_size, self.normalize)
