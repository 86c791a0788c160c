"""Random-subspace training: train any network through a few coordinates z, theta = theta_0 + P z.

All D parameters of a module are frozen at their initial values theta_0 and moved only along a
fixed random d-dimensional subspace, $\\theta = \\theta_0 + P z$ with $P \\in \\mathbb{R}^{D \\times d}$;
z starts at 0 and is the only trainable tensor. The smallest d at which training reaches 90% of
the full-parameter performance is the objective's intrinsic dimension (see
``paperlab.metrics.intrinsic_dim_90``). Three projections are offered, all with columns of unit
(expected) squared norm, so a unit step in z moves theta by about one unit:

- ``"dense"``: Gaussian entries, columns normalised to unit norm; memory O(D d).
- ``"sparse"``: very sparse random signs, about sqrt(D) non-zeros per column, normalised to unit
  norm; memory O(d sqrt(D)).
- ``"fastfood"``: the structured transform $V = H G \\Pi H B$ (Hadamard, Gaussian diagonal,
  permutation, Hadamard, random signs) applied to the zero-padded z; memory O(D), time O(D log D).

Paper: Measuring the Intrinsic Dimension of Objective Landscapes (2018).
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.func import functional_call

from paperlab._checks import check_choice, check_positive, check_tensor
from paperlab._random import as_generator
from paperlab.solvers.random_projection import gaussian_random_matrix, sparse_random_matrix


def fast_walsh_hadamard(x: torch.Tensor) -> torch.Tensor:
    """Unnormalised Walsh-Hadamard transform $H x$ over the last axis (Sylvester order), O(L log L).

    $H_1 = [1]$, $H_{2m} = [[H_m, H_m], [H_m, -H_m]]$; $H H = L I$. Differentiable (H is symmetric).

    Args:
        x: (..., L) with L a power of two.

    Returns:
        (..., L).
    """
    check_tensor("x", x, min_dim=1, floating=True)
    length = x.shape[-1]
    if length & (length - 1):
        raise ValueError(f"x's last axis must have a power-of-two length, got {length}")
    batch = x.shape[:-1]
    half = 1
    while half < length:
        pairs = x.reshape(*batch, length // (2 * half), 2, half)  # blocks of 2 * half, split in halves
        first, second = pairs[..., 0, :], pairs[..., 1, :]
        x = torch.stack((first + second, first - second), dim=-2).reshape(*batch, length)
        half *= 2
    return x


def _check_dims(n_parameters: int, intrinsic_dim: int) -> None:
    check_positive("n_parameters", n_parameters, integer=True)
    check_positive("intrinsic_dim", intrinsic_dim, integer=True)
    if intrinsic_dim > n_parameters:
        raise ValueError(f"intrinsic_dim must be <= the {n_parameters} parameters, got {intrinsic_dim}")


class DenseProjection(nn.Module):
    """$P z$ with a dense Gaussian $P \\in \\mathbb{R}^{D \\times d}$ whose columns have unit norm."""

    def __init__(self, n_parameters: int, intrinsic_dim: int, seed: int | None = None, dtype=None):
        super().__init__()
        _check_dims(n_parameters, intrinsic_dim)
        rows = gaussian_random_matrix(intrinsic_dim, n_parameters, seed=seed, dtype=dtype)  # (d, D)
        self.register_buffer("weight", (rows / torch.linalg.vector_norm(rows, dim=1, keepdim=True)).T)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """(..., d) -> (..., D)."""
        return z @ self.weight.T

    def matrix(self) -> torch.Tensor:
        """The (D, d) matrix P."""
        return self.weight.clone()


class SparseProjection(nn.Module):
    """$P z$ with a very sparse random-sign P (density 1/sqrt(D)), columns normalised to unit norm.

    A column that happens to have no non-zero entry (probability about exp(-sqrt(D))) stays zero.
    """

    def __init__(self, n_parameters: int, intrinsic_dim: int, seed: int | None = None, dtype=None):
        super().__init__()
        _check_dims(n_parameters, intrinsic_dim)
        self.n_parameters, self.intrinsic_dim = n_parameters, intrinsic_dim
        rows = sparse_random_matrix(intrinsic_dim, n_parameters, seed=seed, dtype=dtype)  # (d, D), sparse
        column, row = rows.indices()  # P = rows^T: entry (row, column) of P
        values = rows.values()
        squared_norms = torch.zeros(intrinsic_dim, dtype=values.dtype).index_add_(0, column, values**2)
        self.register_buffer("row", row)
        self.register_buffer("column", column)
        self.register_buffer("values", values / squared_norms.clamp(min=1e-30).sqrt()[column])

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """(..., d) -> (..., D), summing values * z[column] into row."""
        contributions = z[..., self.column] * self.values  # (..., nnz)
        out = z.new_zeros(*z.shape[:-1], self.n_parameters)
        return out.index_add(-1, self.row, contributions)

    def matrix(self) -> torch.Tensor:
        """The (D, d) matrix P, dense."""
        P = self.values.new_zeros(self.n_parameters, self.intrinsic_dim)
        P[self.row, self.column] = self.values
        return P


class FastfoodProjection(nn.Module):
    """Fastfood $P z = (H G \\Pi H B\\, [z; 0])_{1:D} / \\sqrt{D \\sum_i G_i^2}$ with L = 2^ceil(log2 D).

    Before truncation every column has squared norm L / D; keeping the first D of the L rows keeps
    on average the fraction D / L, so columns have unit expected squared norm (exactly unit when D
    is a power of two).
    """

    def __init__(self, n_parameters: int, intrinsic_dim: int, seed: int | None = None, dtype=None):
        super().__init__()
        _check_dims(n_parameters, intrinsic_dim)
        dtype = dtype or torch.get_default_dtype()
        generator = as_generator(seed)
        self.n_parameters, self.intrinsic_dim = n_parameters, intrinsic_dim
        self.length = 1 << max(0, math.ceil(math.log2(n_parameters)))
        signs = torch.randint(0, 2, (self.length,), generator=generator).to(dtype) * 2 - 1
        self.register_buffer("signs", signs)  # B
        self.register_buffer("permutation", torch.randperm(self.length, generator=generator))  # Pi
        gaussian = torch.randn(self.length, generator=generator, dtype=dtype)
        self.register_buffer("gaussian", gaussian)  # G
        self.scale = 1.0 / math.sqrt(n_parameters * float((gaussian**2).sum()))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """(..., d) -> (..., D)."""
        padded = nn.functional.pad(z, (0, self.length - self.intrinsic_dim))  # (..., L)
        mixed = fast_walsh_hadamard(padded * self.signs)[..., self.permutation] * self.gaussian
        return fast_walsh_hadamard(mixed)[..., : self.n_parameters] * self.scale

    def matrix(self) -> torch.Tensor:
        """The (D, d) matrix P (applies the transform to the d basis vectors)."""
        basis = torch.eye(self.intrinsic_dim, dtype=self.gaussian.dtype, device=self.gaussian.device)
        return self.forward(basis).T


PROJECTIONS = {"dense": DenseProjection, "sparse": SparseProjection, "fastfood": FastfoodProjection}


class SubspaceModel(nn.Module):
    """Wrap ``module`` so that only z (intrinsic_dim values) is trained: $\\theta = \\theta_0 + P z$.

    The module's parameters are frozen (``requires_grad_(False)``) and kept as $\\theta_0$; every
    forward builds $\\theta$ and calls the module with it through ``torch.func.functional_call``, so
    the gradient reaching z is $P^\\top \\nabla_\\theta L$. Buffers (e.g. batch-norm statistics) are the
    module's own. A run is reproduced from ``seed`` and z alone.

    Args:
        module: any nn.Module with floating parameters of one dtype on one device.
        intrinsic_dim: d, 1 <= d <= D (the number of parameters).
        projection: "dense", "sparse" or "fastfood" (see the module docstring).
        seed: seed of P; None draws from torch's global generator.

    Example:
        >>> model = SubspaceModel(nn.Linear(4, 3), intrinsic_dim=5, seed=0)
        >>> [name for name, p in model.named_parameters() if p.requires_grad]
        ['z']

    Paper: Measuring the Intrinsic Dimension of Objective Landscapes (2018).
    """

    def __init__(
        self, module: nn.Module, intrinsic_dim: int, projection: str = "dense", seed: int | None = None
    ):
        super().__init__()
        if not isinstance(module, nn.Module):
            raise TypeError(f"module must be a torch.nn.Module, got {type(module).__name__}")
        check_positive("intrinsic_dim", intrinsic_dim, integer=True)
        check_choice("projection", projection, set(PROJECTIONS))
        named = list(module.named_parameters())
        if not named:
            raise ValueError("module must have at least one parameter, got none")
        dtypes = {p.dtype for _, p in named}
        devices = {p.device for _, p in named}
        if len(dtypes) != 1 or not next(iter(dtypes)).is_floating_point or len(devices) != 1:
            raise ValueError(
                f"module's parameters must share one floating dtype and device, got {dtypes}, {devices}"
            )
        theta_0 = torch.cat([p.detach().reshape(-1) for _, p in named])  # (D,)
        if intrinsic_dim > theta_0.numel():
            raise ValueError(
                f"intrinsic_dim must be <= the {theta_0.numel()} parameters, got {intrinsic_dim}"
            )
        module.requires_grad_(False)
        self.module = module
        self.projection_name = projection
        self.names = [name for name, _ in named]
        self.shapes = [p.shape for _, p in named]
        self.register_buffer("theta_0", theta_0.clone())
        projector = PROJECTIONS[projection](theta_0.numel(), intrinsic_dim, seed=seed, dtype=theta_0.dtype)
        self.projection = projector.to(theta_0.device)
        self.z = nn.Parameter(theta_0.new_zeros(intrinsic_dim))

    @property
    def n_parameters(self) -> int:
        """D, the number of parameters of the wrapped module."""
        return self.theta_0.numel()

    def theta(self) -> torch.Tensor:
        """The current flat parameter vector $\\theta_0 + P z$, shape (D,), differentiable in z."""
        return self.theta_0 + self.projection(self.z)

    def parameter_dict(self) -> dict[str, torch.Tensor]:
        """The current parameters by name, shaped as in the module."""
        pieces = torch.split(self.theta(), [math.prod(shape) for shape in self.shapes])
        return {name: piece.view(shape) for name, piece, shape in zip(self.names, pieces, self.shapes)}

    def forward(self, *args, **kwargs):
        """Call the wrapped module with parameters $\\theta_0 + P z$."""
        return functional_call(self.module, self.parameter_dict(), args, kwargs)

    def extra_repr(self) -> str:
        return f"intrinsic_dim={self.z.numel()}, n_parameters={self.n_parameters}, projection={self.projection_name!r}"
