r"""Grassmann class representation: every class is a linear subspace, its logit a projection norm.

From "Get the Best of Both Worlds: Improving Accuracy and Transferability by Grassmann Class
Representation" (2023). Class :math:`c` is the span of an orthonormal frame :math:`S_c \in \mathbb{R}^{d
\times k}` (a point of the Grassmannian :math:`\mathrm{Gr}(k, d)`), and the logit of a feature :math:`f`
is the length of its projection onto that subspace,

.. math:: z_c = \gamma\, \lVert S_c^\top \hat f \rVert_2, \qquad \hat f = f / \lVert f \rVert_2 .

The logit depends on the subspace only, not on the frame that spans it: :math:`S_c R` with :math:`R`
orthogonal gives the same value. With :math:`k = 1` it is :math:`\gamma\, |\cos(f, s_c)|`, the cosine
softmax logit up to its sign. The frames are trained on the manifold with
:class:`paperlab.solvers.GrassmannRSGD`, which keeps them orthonormal.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from paperlab._checks import check_positive, check_tensor
from paperlab._random import as_generator

#: Value of the ``manifold`` attribute that marks a parameter for the Riemannian optimizer.
GRASSMANN = "grassmann"


def grassmann_class_logits(
    features: torch.Tensor, frames: torch.Tensor, scale: float = 16.0, normalize: bool = True
) -> torch.Tensor:
    r"""Class logits :math:`z_{nc} = \gamma \lVert S_c^\top \hat f_n \rVert_2` of features against class subspaces.

    Args:
        features: feature vectors :math:`f_n`, shape ``(N, d)``, or ``(*batch, N, d)`` for a stack of
            independent problems (for example several networks trained side by side).
        frames: one orthonormal frame per class, shape ``(C, d, k)`` (or ``(*batch, C, d, k)``) with
            :math:`S_c^\top S_c = I_k` (not checked on every call; :func:`random_frames` and
            ``GrassmannRSGD`` keep it so).
        scale: :math:`\gamma > 0`, the length the features are normalized to.
        normalize: project the unit feature :math:`\hat f_n` (the default: logits in :math:`[0, \gamma]`,
            as with a cosine-softmax head); ``False`` projects :math:`f_n` itself.

    Returns:
        Logits of shape ``(N, C)`` (or ``(*batch, N, C)``), for ``F.cross_entropy`` and friends.
    """
    check_tensor("features", features, min_dim=2, floating=True)
    check_tensor("frames", frames, dim=features.dim() + 1, floating=True)
    check_positive("scale", scale)
    *batch, n_classes, dim, k = frames.shape
    if tuple(features.shape[:-2]) != tuple(batch) or features.shape[-1] != dim:
        raise ValueError(
            f"features must have shape {(*batch, 'N', dim)} to match frames of shape {tuple(frames.shape)}, "
            f"got shape {tuple(features.shape)}"
        )
    if k > dim:
        raise ValueError(f"frames must have k <= d (shape (C, d, k)), got shape {tuple(frames.shape)}")
    if frames.dtype != features.dtype or frames.device != features.device:
        raise ValueError(
            f"frames must have the dtype and device of features ({features.dtype}, {features.device}), "
            f"got {frames.dtype}, {frames.device}"
        )
    if normalize:
        features = F.normalize(features, dim=-1)
    basis = frames.transpose(-3, -2).reshape(
        *batch, dim, n_classes * k
    )  # (*batch, d, C * k): frames side by side
    coordinates = (features @ basis).unflatten(-1, (n_classes, k))  # (*batch, N, C, k): S_c^T f_n
    return scale * torch.linalg.vector_norm(coordinates, dim=-1)


def random_frames(
    n_classes: int,
    dim: int,
    k: int,
    generator=None,
    dtype: torch.dtype | None = None,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """Orthonormal frames spanning uniformly random subspaces, shape ``(n_classes, dim, k)``.

    Each frame is the sign-fixed Q factor of a Gaussian matrix, which is uniform (Haar) on the
    Stiefel manifold, so its span is uniform on the Grassmannian. Drawn on the CPU from ``generator``
    (an int seed, a ``torch.Generator`` or None for the global one), then moved to ``device``.
    """
    check_positive("n_classes", n_classes, integer=True)
    check_positive("dim", dim, integer=True)
    check_positive("k", k, integer=True)
    if k > dim:
        raise ValueError(f"k must be <= dim={dim}, got {k}")
    dtype = dtype or torch.get_default_dtype()
    gaussian = torch.randn(n_classes, dim, k, generator=as_generator(generator), dtype=dtype)
    q, r = torch.linalg.qr(gaussian)  # (C, d, k), (C, k, k)
    signs = torch.where(torch.diagonal(r, dim1=-2, dim2=-1) < 0, -1.0, 1.0).to(dtype)  # (C, k)
    return (q * signs.unsqueeze(-2)).to(device)


class GrassmannClassHead(nn.Module):
    r"""A classification head with one :math:`k`-dimensional subspace per class.

    The frames, shape ``(n_classes, in_features, k)``, are a parameter whose ``manifold`` attribute is
    ``"grassmann"``: :class:`paperlab.solvers.GrassmannRSGD` updates it on the Grassmannian (tangent
    projection and retraction), every other optimizer would break its orthonormality.

    Args:
        in_features: feature width :math:`d`.
        n_classes: number of classes :math:`C`.
        k: subspace dimension, :math:`1 \le k \le d`.
        scale: :math:`\gamma`, see :func:`grassmann_class_logits`.
        normalize: normalize the features before projecting them.
        generator: seed or generator of the random initial subspaces.

    Shapes: ``(N, in_features) -> (N, n_classes)`` logits.
    """

    def __init__(self, in_features, n_classes, k=1, scale=16.0, normalize=True, generator=None):
        super().__init__()
        check_positive("scale", scale)
        self.frames = nn.Parameter(random_frames(n_classes, in_features, k, generator=generator))
        self.frames.manifold = GRASSMANN
        self.scale, self.normalize = scale, normalize

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return grassmann_class_logits(features, self.frames, self.scale, self.normalize)

    def extra_repr(self) -> str:
        n_classes, dim, k = self.frames.shape
        return f"in_features={dim}, n_classes={n_classes}, k={k}, scale={self.scale}"
