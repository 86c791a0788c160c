r"""Structural sparse similarity: a diagonal plus a block-diagonal bilinear form between paired features.

From "GSSF: Generalized Structural Sparse Function for Deep Cross-modal Metric Learning (2024)". The
paper writes a learned similarity between L2-normalised features as a masked bilinear form

.. math:: M(x, y \mid W, U) = x^\top (W \odot U)\, y,

with :math:`U` a fixed 0/1 adjacency between channels. Two structures are used: the *diagonal* one,
:math:`U = I`, giving :math:`\sum_m w_m x_m y_m` (one weight per channel), and the *block-diagonal*
one, where the :math:`D` channels are cut into :math:`G` groups of :math:`d = D / G` and every pair of
channels inside a group interacts. What is confirmed (from the abstract and a third-party summary of
the method) is this form and the two structures. Our reading, since the official code holds no
implementation: the two terms are *summed*, and the "dynamic" part is a pair of input-dependent
mixing weights per sample, :math:`\lambda(x), \mu(y) \in \mathbb{R}^2`, so that

.. math:: s(x, y) = \lambda_1(x) \mu_1(y)\, \hat x^\top \mathrm{diag}(w)\, \hat y
          + \lambda_2(x) \mu_2(y) \sum_{g=1}^{G} \hat x_g^\top B_g\, \hat y_g,
          \qquad \hat x = x / \lVert x \rVert,\ \hat y = y / \lVert y \rVert.

Because each weight depends on one side only, every term is a matrix product: the (N, M) scores are
computed without an (N, M, D) temporary.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from paperlab._checks import check_tensor

N_TERMS = 2  # the diagonal term and the block-diagonal term


def _check_mixing(name: str, mixing, n_rows: int, like: torch.Tensor) -> None:
    if mixing is None:
        return
    check_tensor(name, mixing, dim=2, floating=True)
    if tuple(mixing.shape) != (n_rows, N_TERMS):
        raise ValueError(f"{name} must have shape {(n_rows, N_TERMS)}, got {tuple(mixing.shape)}")
    if mixing.device != like.device:
        raise ValueError(f"{name} must be on {like.device}, got {mixing.device}")


def _check_inputs(x, y, diagonal, blocks, x_mixing, y_mixing) -> None:
    check_tensor("x", x, dim=2, floating=True)
    check_tensor("y", y, dim=2, floating=True)
    dim = x.shape[1]
    if y.shape[1] != dim:
        raise ValueError(f"y must have {dim} features like x, got shape {tuple(y.shape)}")
    check_tensor("diagonal", diagonal, dim=1, floating=True)
    if diagonal.shape[0] != dim:
        raise ValueError(f"diagonal must have shape ({dim},), got {tuple(diagonal.shape)}")
    check_tensor("blocks", blocks, dim=3, floating=True)
    n_blocks, rows, cols = blocks.shape
    if rows != cols or n_blocks * rows != dim:
        raise ValueError(
            f"blocks must have shape (G, D / G, D / G) with D = {dim}, got {tuple(blocks.shape)}"
        )
    if (x_mixing is None) != (y_mixing is None):
        raise ValueError("x_mixing and y_mixing must be given together or both be None")
    _check_mixing("x_mixing", x_mixing, x.shape[0], x)
    _check_mixing("y_mixing", y_mixing, y.shape[0], y)
    for name, tensor in [("y", y), ("diagonal", diagonal), ("blocks", blocks)]:
        if tensor.device != x.device:
            raise ValueError(f"{name} must be on the device of x ({x.device}), got {tensor.device}")


def structural_sparse_similarity(
    x: torch.Tensor,
    y: torch.Tensor,
    diagonal: torch.Tensor,
    blocks: torch.Tensor,
    x_mixing: torch.Tensor | None = None,
    y_mixing: torch.Tensor | None = None,
    normalize: bool = True,
    eps: float = 1e-12,
) -> torch.Tensor:
    r"""Pairwise diagonal + block-diagonal bilinear scores :math:`s(x_i, y_j)` (see the module doc).

    .. math:: s_{ij} = \lambda_{i1} \mu_{j1} \sum_m w_m \hat x_{im} \hat y_{jm}
              + \lambda_{i2} \mu_{j2} \sum_g \hat x_{ig}^\top B_g \hat y_{jg}

    Args:
        x: (N, D) features of the first view (queries).
        y: (M, D) features of the second view (candidates).
        diagonal: (D,) channel weights :math:`w`.
        blocks: (G, D / G, D / G) group interaction matrices :math:`B_g` (channels grouped in order).
        x_mixing, y_mixing: (N, 2) and (M, 2) per-sample weights :math:`\lambda, \mu` of the two
            terms, or both None (weights 1).
        normalize: L2-normalise ``x`` and ``y`` first (the paper's setting).
        eps: floor of the norm in the normalisation.

    Returns:
        (N, M) scores, in the dtype and on the device of ``x``.
    """
    _check_inputs(x, y, diagonal, blocks, x_mixing, y_mixing)
    if normalize:
        x = F.normalize(x, dim=-1, eps=eps)
        y = F.normalize(y, dim=-1, eps=eps)
    n, dim = x.shape
    n_blocks, group, _ = blocks.shape
    x_groups = x.reshape(n, n_blocks, group)  # (N, G, D / G)
    x_mapped = torch.einsum("ngi,gij->ngj", x_groups, blocks).reshape(n, dim)  # (N, D)
    if x_mixing is None:
        return (x * diagonal + x_mapped) @ y.T  # (N, M)
    # Both weighted terms in one product of inner size 2D, with no (N, M) temporaries.
    left = torch.cat([x * diagonal * x_mixing[:, :1], x_mapped * x_mixing[:, 1:]], dim=1)  # (N, 2D)
    right = torch.cat([y * y_mixing[:, :1], y * y_mixing[:, 1:]], dim=1)  # (M, 2D)
    return left @ right.T  # (N, M)


class GSSFSimilarity(nn.Module):
    r"""Learned structural sparse similarity head: diagonal + block-diagonal terms, dynamic mixing.

    Parameters: channel weights :math:`w \in \mathbb{R}^D` (start at 1/2), ``n_blocks`` group matrices
    :math:`B_g` (start at half the identity), and, when ``dynamic``, one linear gate per view mapping the
    normalised feature to two logits, :math:`\lambda(x) = 2\,\mathrm{softmax}(A \hat x + a)` (our
    reading of "dynamic"; weights average to one, and the gates start at zero, so that at
    initialisation :math:`s = \cos(x, y)`, as for the cosine head). :math:`D + D^2 / G\, (+ 4D + 4)` parameters against
    :math:`D^2` for a dense bilinear form.

    Args:
        dim: feature width D.
        n_blocks: number G of channel groups; must divide ``dim``.
        dynamic: use input-dependent mixing weights (else both terms have weight 1).
        normalize: L2-normalise the features first.

    Shapes: ``forward(x (N, D), y (M, D)) -> (N, M)``.

    From "GSSF: Generalized Structural Sparse Function for Deep Cross-modal Metric Learning (2024)".
    """

    def __init__(self, dim: int, n_blocks: int, dynamic: bool = True, normalize: bool = True):
        super().__init__()
        for name, value in [("dim", dim), ("n_blocks", n_blocks)]:
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        if dim % n_blocks:
            raise ValueError(f"n_blocks must divide dim = {dim}, got {n_blocks}")
        group = dim // n_blocks
        self.normalize = normalize
        self.diagonal = nn.Parameter(torch.full((dim,), 0.5))
        self.blocks = nn.Parameter(0.5 * torch.eye(group).repeat(n_blocks, 1, 1))  # (G, D / G, D / G)
        self.x_gate = nn.Linear(dim, N_TERMS) if dynamic else None
        self.y_gate = nn.Linear(dim, N_TERMS) if dynamic else None
        for gate in (self.x_gate, self.y_gate):
            if gate is not None:
                nn.init.zeros_(gate.weight)
                nn.init.zeros_(gate.bias)

    def _mixing(self, gate, features):
        if gate is None:
            return None
        unit = F.normalize(features, dim=-1) if self.normalize else features
        return N_TERMS * torch.softmax(gate(unit), dim=-1)  # (N, 2)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        check_tensor("x", x, dim=2, floating=True)
        check_tensor("y", y, dim=2, floating=True)
        return structural_sparse_similarity(
            x,
            y,
            self.diagonal,
            self.blocks,
            self._mixing(self.x_gate, x),
            self._mixing(self.y_gate, y),
            normalize=self.normalize,
        )


class BilinearSimilarity(nn.Module):
    r"""Dense bilinear similarity :math:`s(x, y) = \hat x^\top W \hat y` (W starts at the identity).

    The unstructured baseline of the GSSF comparison: :math:`D^2` parameters.

    Args:
        dim: feature width D.
        normalize: L2-normalise the features first.

    Shapes: ``forward(x (N, D), y (M, D)) -> (N, M)``.
    """

    def __init__(self, dim: int, normalize: bool = True):
        super().__init__()
        if isinstance(dim, bool) or not isinstance(dim, int) or dim <= 0:
            raise ValueError(f"dim must be a positive int, got {dim!r}")
        self.normalize = normalize
        self.weight = nn.Parameter(torch.eye(dim))

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        check_tensor("x", x, dim=2, floating=True)
        check_tensor("y", y, dim=2, floating=True)
        dim = self.weight.shape[0]
        for name, tensor in [("x", x), ("y", y)]:
            if tensor.shape[1] != dim:
                raise ValueError(f"{name} must have {dim} features, got shape {tuple(tensor.shape)}")
        if self.normalize:
            x, y = F.normalize(x, dim=-1), F.normalize(y, dim=-1)
        return x @ self.weight @ y.T  # (N, M)
