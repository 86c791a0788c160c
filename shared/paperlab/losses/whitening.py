r"""Batch whitening and the W-MSE loss.

From "Whitening for Self-Supervised Representation Learning" (2021). Positive views are pulled together
by a mean squared error, and collapse (every embedding mapped to one point) is prevented not by negatives
but by *whitening* the batch first: after whitening, the embeddings of a batch have identity covariance,
so they cannot all coincide. The whitening matrix comes from a Cholesky factor of the batch covariance,

.. math:: \Sigma = \frac{1}{N - 1} (X - \bar x)^\top (X - \bar x) = L L^\top, \qquad
          \mathrm{whiten}(X) = (X - \bar x)\, L^{-\top},

and the loss is the MSE between the L2-normalized whitened views, averaged over all pairs of views and
over ``w_iter`` random splits of the batch into sub-batches of ``w_size`` samples (each sub-batch, and
each view within it, whitened on its own, as in the authors' code).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from paperlab._checks import check_positive, check_tensor
from paperlab._random import as_generator


def whiten(x: torch.Tensor, eps: float = 0.0) -> torch.Tensor:
    r"""Cholesky whitening of a batch: centred rows times the inverse transposed Cholesky factor.

    .. math:: \Sigma_\epsilon = (1 - \epsilon)\, \frac{(X - \bar x)^\top (X - \bar x)}{N - 1}
              + \epsilon I = L L^\top, \qquad Z = (X - \bar x)\, L^{-\top}

    With ``eps = 0`` the output has exactly identity (unbiased) covariance; ``eps`` shrinks the
    covariance towards the identity, which keeps the factorization defined when ``N <= D``.

    Args:
        x: (..., N, D) batch(es) of N embeddings of width D; N > D when ``eps = 0``.
        eps: shrinkage in [0, 1).

    Returns:
        (..., N, D) whitened embeddings, same dtype and device as ``x``.

    From "Whitening for Self-Supervised Representation Learning" (2021).
    """
    check_tensor("x", x, min_dim=2, floating=True)
    _check_eps(eps)
    n, d = x.shape[-2:]
    if n < 2:
        raise ValueError(f"x must hold at least 2 rows to estimate a covariance, got shape {tuple(x.shape)}")
    if eps == 0 and n <= d:
        raise ValueError(
            f"x must have more rows than columns (N > D) to be whitened with eps=0, got shape {tuple(x.shape)}"
        )
    centred = x - x.mean(dim=-2, keepdim=True)  # (..., N, D)
    cov = centred.transpose(-2, -1) @ centred / (n - 1)  # (..., D, D)
    eye = torch.eye(d, dtype=x.dtype, device=x.device)
    cholesky, info = torch.linalg.cholesky_ex((1 - eps) * cov + eps * eye)  # (..., D, D) lower
    if bool((info > 0).any()):
        raise ValueError("x has a singular covariance (rank-deficient batch): use eps > 0 or a larger batch")
    # L^{-1} of the small (D, D) factor, then one matrix product over the N rows: cheaper in memory
    # (and its backward) than a triangular solve against all N rows
    inverse = torch.linalg.solve_triangular(cholesky, eye.expand_as(cholesky), upper=False)  # (..., D, D)
    return centred @ inverse.transpose(-2, -1)  # (..., N, D)


def w_mse_loss(
    *views: torch.Tensor,
    w_size: int | None = None,
    w_iter: int = 1,
    eps: float = 0.0,
    normalize: bool = True,
    generator=None,
) -> torch.Tensor:
    r"""W-MSE: MSE between whitened, L2-normalized positive views, over random sub-batches.

    .. math:: \mathcal{L} = \frac{1}{T \binom{K}{2}} \sum_{t=1}^{T} \sum_{i < j} \frac{1}{N}
              \sum_{n=1}^{N} \big\lVert \hat z^{(t)}_{i,n} - \hat z^{(t)}_{j,n} \big\rVert^2,
              \qquad \hat z = \frac{\mathrm{whiten}(z)}{\lVert \mathrm{whiten}(z) \rVert}

    For each of the T = ``w_iter`` repetitions the N samples are shuffled and cut into N / ``w_size``
    sub-batches; each view's rows of a sub-batch are whitened with :func:`whiten`. With unit vectors the
    squared distance is :math:`2 - 2 \cos`. ``normalize=False`` uses the plain element-wise MSE of
    the whitened vectors instead (the authors' code offers both; the paper uses the normalized one).

    Args:
        *views: K >= 2 tensors (N, D), row n of every view being the same sample.
        w_size: sub-batch size, dividing N and larger than D (default N, one sub-batch).
        w_iter: number of random splits T.
        eps: shrinkage of the whitening, see :func:`whiten`.
        normalize: L2-normalize the whitened vectors first.
        generator: an int seed, a ``torch.Generator`` or None, for the shuffles.

    Returns:
        A scalar tensor.

    From "Whitening for Self-Supervised Representation Learning" (2021).
    """
    _check_views(views)
    k, (n, d) = len(views), views[0].shape
    w_size = n if w_size is None else w_size
    check_positive("w_size", w_size, integer=True)
    check_positive("w_iter", w_iter, integer=True)
    if n % w_size != 0 or w_size > n:
        raise ValueError(f"w_size must divide the batch size {n}, got {w_size}")
    if eps == 0 and w_size <= d:
        raise ValueError(f"w_size must exceed the embedding width {d} when eps=0, got {w_size}")
    generator = as_generator(generator)
    total = views[0].new_zeros(())
    for _ in range(w_iter):
        order = torch.randperm(n, generator=generator).to(views[0].device)  # (N,)
        groups = torch.stack([view[order] for view in views]).reshape(
            k, n // w_size, w_size, d
        )  # (K, G, w, D)
        white = whiten(groups, eps).reshape(k, n, d)  # (K, N, D) in shuffled order
        total = total + _mean_pair_distance(white, normalize)
    return total / w_iter


def _mean_pair_distance(z: torch.Tensor, normalize: bool) -> torch.Tensor:
    r"""Mean over the pairs i < j of views of the per-sample squared distance (or MSE), z of shape (K, N, D).

    Unit vectors: :math:`\sum_{i<j} \lVert u_i - u_j \rVert^2 = K^2 - \lVert \sum_i u_i \rVert^2`.
    """
    k, n, d = z.shape
    pairs = k * (k - 1) / 2
    if normalize:
        unit = F.normalize(z, dim=-1)  # (K, N, D)
        return (k * k - unit.sum(dim=0).pow(2).sum(dim=-1)).mean() / pairs
    # sum_{i<j} |z_i - z_j|^2 = K sum_i |z_i|^2 - |sum_i z_i|^2, then averaged over elements
    spread = k * z.pow(2).sum(dim=(0, -1)) - z.sum(dim=0).pow(2).sum(dim=-1)  # (N,)
    return spread.mean() / (d * pairs)


def _check_views(views) -> None:
    """Raise unless ``views`` holds K >= 2 finite floating tensors (N, D) of one shape, dtype and device."""
    if len(views) < 2:
        raise ValueError(f"views must hold at least 2 tensors, got {len(views)}")
    for i, view in enumerate(views):
        check_tensor(f"views[{i}]", view, dim=2, floating=True)
        if view.shape != views[0].shape:
            raise ValueError(
                f"views[{i}] must have the shape of views[0] {tuple(views[0].shape)}, got {tuple(view.shape)}"
            )
        if view.dtype != views[0].dtype or view.device != views[0].device:
            raise ValueError(f"views[{i}] must share dtype and device with views[0]")


def _check_eps(eps) -> None:
    check_positive("eps", eps, allow_zero=True)
    if eps >= 1:
        raise ValueError(f"eps must be in [0, 1), got {eps!r}")


class WMSELoss(nn.Module):
    """Module form of :func:`w_mse_loss`; ``forward(*views, generator=None)``."""

    def __init__(self, w_size: int | None = None, w_iter: int = 1, eps: float = 0.0, normalize: bool = True):
        super().__init__()
        check_positive("w_iter", w_iter, integer=True)
        if w_size is not None:
            check_positive("w_size", w_size, integer=True)
        _check_eps(eps)
        self.w_size, self.w_iter, self.eps, self.normalize = w_size, w_iter, eps, normalize

    def forward(self, *views: torch.Tensor, generator=None) -> torch.Tensor:
        return w_mse_loss(
            *views,
            w_size=self.w_size,
            w_iter=self.w_iter,
            eps=self.eps,
            normalize=self.normalize,
            generator=generator,
        )
