"""Riemannian batch normalization of SPD matrices: affine-invariant (AIM) and generalized BW (GBW).

Both layers move the batch's Frechet mean to a learned SPD bias.

**AIM-RBN** ("Riemannian batch normalization for SPD neural networks"): with the Karcher mean
:math:`\\bar B` and the bias :math:`G`, :math:`X_i \\mapsto G^{1/2} \\bar B^{-1/2} X_i \\bar B^{-1/2} G^{1/2}`
(parallel transport to the identity, then to G); the Karcher mean of the output is G exactly.

**GBW-RBN** ("Learning to Normalize on the SPD Manifold under Bures-Wasserstein Geometry"): the inputs are
first deformed by a matrix power, :math:`P_i = X_i^\\theta` (:math:`\\theta < 1` shrinks condition numbers),
and mapped by the learnable metric :math:`M` to BW coordinates, :math:`Y_i = M^{-1/2} P_i M^{-1/2}` (GBW
with metric M is BW after this congruence). With the BW barycenter :math:`\\bar Y` of the batch and the
optimal transport maps :math:`S_i = T_{\\bar Y \\to Y_i}` (which average to I at the barycenter), the batch
is re-anchored at the bias :math:`G = M^{-1/2} B^\\theta M^{-1/2}`:

.. math::  Z_i = S_i \\, G \\, S_i,\\qquad X_i^{\\mathrm{out}} = \\big(M^{1/2} Z_i M^{1/2}\\big)^{1/\\theta}.

The maps from G to :math:`Z_i` are again the :math:`S_i`, so :math:`\\sum_i S_i / n = I` makes G the BW
barycenter of the :math:`Z_i`: the power-deformed GBW mean of the output is the bias B. Re-using the
maps :math:`S_i` is the Wasserstein counterpart of transporting the logarithms from :math:`\\bar Y` to G.
How the paper centres, biases and scales the variance was not verified against its text or code; this
layer does centring and biasing only (as AIM-RBN does), with no variance normalisation.
"""

from __future__ import annotations

import torch
from torch import nn

from .._checks import check_positive
from ..solvers.spd_functions import spd_power, sym_exp, symmetrize
from ..solvers.spd_geometry import (
    airm_geodesic,
    airm_mean,
    bw_barycenter,
    bw_geodesic,
    bw_transport_map,
    check_spd,
)


def _check_batch(x: torch.Tensor, size: int) -> None:
    check_spd("x", x, batched=True)
    if x.dim() != 3 or x.shape[1:] != (size, size) or x.shape[0] == 0:
        raise ValueError(
            f"x must be a non-empty (n, {size}, {size}) batch of SPD matrices, got shape {tuple(x.shape)}"
        )


class AIMBatchNorm(nn.Module):
    """Affine-invariant Riemannian batch norm (Karcher mean to a learned SPD bias).

    Args:
        size: matrix size d.
        momentum: running-mean step along the AIM geodesic, in (0, 1].
        n_iter: Karcher-flow iterations per training batch (started from the arithmetic mean).
    """

    def __init__(self, size: int, *, momentum: float = 0.1, n_iter: int = 3, dtype=None, device=None):
        super().__init__()
        self.size = check_positive("size", size, integer=True)
        self.momentum = check_positive("momentum", momentum)
        self.n_iter = check_positive("n_iter", n_iter, integer=True)
        self.bias_log = nn.Parameter(torch.zeros(size, size, dtype=dtype, device=device))  # G = exp(sym)
        self.register_buffer("running_mean", torch.eye(size, dtype=dtype, device=device))

    @property
    def bias(self) -> torch.Tensor:
        return sym_exp(symmetrize(self.bias_log))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(n, d, d) SPD batch -> (n, d, d) SPD batch with Karcher mean ``bias`` (in training mode)."""
        _check_batch(x, self.size)
        if self.training:
            mean = airm_mean(x, n_iter_max=self.n_iter, tol=0.0).mean
            with torch.no_grad():
                self.running_mean.copy_(airm_geodesic(self.running_mean, mean.detach(), self.momentum))
        else:
            mean = self.running_mean
        half_log = 0.5 * symmetrize(self.bias_log)
        bias_root = sym_exp(half_log)  # G^{1/2}
        transport = bias_root @ spd_power(mean, -0.5)  # G^{1/2} B^{-1/2}
        return symmetrize(transport @ x @ transport.mT)


class GBWBatchNorm(nn.Module):
    """Riemannian batch norm under the power-deformed generalized Bures-Wasserstein metric.

    Args:
        size: matrix size d.
        power: deformation exponent :math:`\\theta > 0` (1 = no deformation).
        learn_metric: learn the metric matrix M = exp(sym(W)) (else M = I, plain BW).
        momentum: running-mean step along the GBW geodesic, in (0, 1].
        n_iter: barycenter fixed-point iterations per training batch (from the arithmetic mean).
    """

    def __init__(
        self,
        size: int,
        *,
        power: float = 1.0,
        learn_metric: bool = True,
        momentum: float = 0.1,
        n_iter: int = 3,
        dtype=None,
        device=None,
    ):
        super().__init__()
        self.size = check_positive("size", size, integer=True)
        self.power = float(check_positive("power", power))
        self.momentum = check_positive("momentum", momentum)
        self.n_iter = check_positive("n_iter", n_iter, integer=True)
        self.bias_log = nn.Parameter(torch.zeros(size, size, dtype=dtype, device=device))  # B = exp(sym)
        metric_log = torch.zeros(size, size, dtype=dtype, device=device)
        self.metric_log = nn.Parameter(metric_log) if learn_metric else None
        if not learn_metric:
            self.register_buffer("fixed_metric_log", metric_log)
        self.register_buffer(
            "running_mean", torch.eye(size, dtype=dtype, device=device)
        )  # in the X^theta domain

    def _metric_log(self) -> torch.Tensor:
        return symmetrize(self.metric_log if self.metric_log is not None else self.fixed_metric_log)

    @property
    def metric(self) -> torch.Tensor:
        """The metric matrix M (SPD)."""
        return sym_exp(self._metric_log())

    @property
    def bias(self) -> torch.Tensor:
        """The bias B (SPD): the power-deformed GBW mean of a normalized training batch."""
        return sym_exp(symmetrize(self.bias_log))

    def forward(self, x: torch.Tensor, *, n_iter: int | None = None) -> torch.Tensor:
        """(n, d, d) SPD batch -> (n, d, d) SPD batch whose deformed GBW mean is ``bias`` (in training mode).

        ``n_iter`` overrides the barycenter iterations for this call (e.g. many, to check the mean).
        """
        _check_batch(x, self.size)
        theta = self.power
        metric_log = self._metric_log()
        inv_root, root = sym_exp(-0.5 * metric_log), sym_exp(0.5 * metric_log)  # M^{-1/2}, M^{1/2}
        deformed = x if theta == 1.0 else spd_power(x, theta)  # P_i = X_i^theta
        coordinates = symmetrize(inv_root @ deformed @ inv_root)  # Y_i, BW coordinates
        if self.training:
            steps = self.n_iter if n_iter is None else check_positive("n_iter", n_iter, integer=True)
            mean = bw_barycenter(coordinates, n_iter_max=steps, tol=0.0).mean
            with torch.no_grad():
                running = symmetrize(inv_root @ self.running_mean @ inv_root)
                updated = bw_geodesic(running, mean.detach(), self.momentum)
                self.running_mean.copy_(symmetrize(root @ updated @ root))
        else:
            mean = symmetrize(inv_root @ self.running_mean @ inv_root)
        maps = bw_transport_map(mean, coordinates)  # S_i, (n, d, d)
        bias_deformed = sym_exp(theta * symmetrize(self.bias_log))  # B^theta
        anchor = symmetrize(inv_root @ bias_deformed @ inv_root)  # G
        moved = symmetrize(maps @ anchor @ maps)  # Z_i = S_i G S_i
        out = symmetrize(root @ moved @ root)
        return out if theta == 1.0 else spd_power(out, 1.0 / theta)
