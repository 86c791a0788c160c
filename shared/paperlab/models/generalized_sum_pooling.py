r"""Generalized sum pooling: a learnable, optimal-transport-based selection of the features to pool.

From "Generalized Sum Pooling for Metric Learning". Global average pooling (GAP) gives every
local feature :math:`x_i` of a set (or of a convolutional map) the weight :math:`1/n`. GSP instead
transports a fraction :math:`\mu` of the features' mass to :math:`m` learnable prototypes
:math:`\omega_k` and sends the rest, :math:`1 - \mu`, to a residual sink at zero cost:

.. math:: \min_{\pi \ge 0,\ \rho \ge 0} \sum_{i,k} c_{ik}\, \pi_{ik}
          + \mathrm{reg} \sum_{i,k} \pi_{ik} (\log \pi_{ik} - 1) + \mathrm{reg} \sum_i \rho_i (\log \rho_i - 1)
          \quad \text{s.t.} \quad \rho_i + \sum_k \pi_{ik} = \tfrac{1}{n}, \quad \sum_{i,k} \pi_{ik} = \mu,

with :math:`c_{ik} = \lVert \hat x_i - \hat\omega_k \rVert^2` (unit vectors when ``normalize``). The
prototypes' own marginals are free, so for a feature's transported mass :math:`t_i = \sum_k \pi_{ik}` the
optimal split is a softmax, :math:`\pi_{ik} = t_i\, \mathrm{softmax}_k(-c_{ik}/\mathrm{reg})`, and the
problem reduces to a balanced entropic OT between the features (mass :math:`1/n` each) and two bins,
"residual" (cost 0, mass :math:`1 - \mu`) and "selected" (cost
:math:`\tilde c_i = -\mathrm{reg}\log\sum_k e^{-c_{ik}/\mathrm{reg}}`, mass :math:`\mu`), solved here
by :func:`paperlab.solvers.sinkhorn`. The pooled vector is the generalized sum

.. math:: z = \sum_i w_i\, x_i, \qquad w_i = t_i / \mu, \qquad \sum_i w_i = 1,\ 0 \le w_i \le \tfrac{1}{n\mu}.

With :math:`\mu = 1` every feature is fully transported, :math:`w_i = 1/n`, and GSP is exactly GAP;
as :math:`\mathrm{reg} \to 0` with :math:`\mu = k/n` it averages the :math:`k` features nearest to a
prototype.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from paperlab._checks import check_positive, check_tensor
from paperlab._random import as_generator
from paperlab.solvers.sinkhorn import sinkhorn


@dataclass
class GSPTransport:
    """The feature selection that generalized sum pooling computes.

    Attributes:
        weights: pooling weights :math:`w_i = t_i / \\mu`, shape (B, n), each row sums to 1.
        selected_mass: mass :math:`t_i` of each feature sent to the prototypes, (B, n), rows sum to mu.
        assignment: transport plan :math:`\\pi_{ik}` from features to prototypes, (B, n, m).
        n_iter: Sinkhorn iterations done.
        converged: whether the marginal error fell below ``tol``.
        marginal_error: largest marginal error at the last check.
    """

    weights: torch.Tensor
    selected_mass: torch.Tensor
    assignment: torch.Tensor
    n_iter: int
    converged: bool
    marginal_error: float


def _check_gsp_inputs(features, prototypes, mu, reg, max_iter, tol) -> None:
    check_tensor("features", features, dim=3, floating=True)
    check_tensor("prototypes", prototypes, dim=2, floating=True)
    if prototypes.shape[1] != features.shape[2]:
        raise ValueError(
            f"prototypes must have {features.shape[2]} columns (the feature width), "
            f"got shape {tuple(prototypes.shape)}"
        )
    if prototypes.dtype != features.dtype or prototypes.device != features.device:
        raise TypeError(
            f"prototypes must have dtype {features.dtype} on {features.device}, "
            f"got {prototypes.dtype} on {prototypes.device}"
        )
    if isinstance(mu, bool) or not isinstance(mu, (int, float)) or not 0 < mu <= 1:
        raise ValueError(f"mu must be a number in (0, 1], got {mu!r}")
    check_positive("reg", reg)
    check_positive("max_iter", max_iter, integer=True)
    check_positive("tol", tol, allow_zero=True)


def gsp_transport(
    features: torch.Tensor,
    prototypes: torch.Tensor,
    mu: float = 0.5,
    reg: float = 0.1,
    normalize: bool = True,
    max_iter: int = 1000,
    tol: float = 1e-7,
) -> GSPTransport:
    r"""Solve GSP's entropic partial transport of a set of features to prototypes.

    See the module docstring for the problem. Its solution is
    :math:`t_i = \sigma(\theta - \tilde c_i / \mathrm{reg}) / n` with one threshold :math:`\theta` per set
    (:math:`\sum_i t_i = \mu`); :math:`\theta` comes from the reduced two-bin problem solved by the
    log-domain :func:`paperlab.solvers.sinkhorn` without a graph, and its gradient from the implicit
    function theorem, :math:`\partial\theta/\partial \tilde c_j \propto \sigma'_j`, so the backward
    pass costs no more than the forward one.

    Args:
        features: (B, n, d) sets of n local features (a (B, d, H, W) map is
            ``x.flatten(2).transpose(1, 2)``).
        prototypes: (m, d) prototypes, same dtype and device.
        mu: fraction of the mass transported to the prototypes, in (0, 1]; 1 gives average pooling.
        reg: entropic regularization > 0 (the paper's 1/gamma).
        normalize: compare unit-length features and prototypes (costs in [0, 4]).
        max_iter, tol: Sinkhorn's stopping rule (a warning says when max_iter is reached);
            ``mu=1`` needs no solver.

    Returns:
        :class:`GSPTransport` with weights (B, n), selected_mass (B, n), assignment (B, n, m).

    From "Generalized Sum Pooling for Metric Learning".
    """
    _check_gsp_inputs(features, prototypes, mu, reg, max_iter, tol)
    x = F.normalize(features, dim=-1) if normalize else features
    w = F.normalize(prototypes, dim=-1) if normalize else prototypes
    costs = x.square().sum(-1, keepdim=True) + w.square().sum(-1) - 2 * x @ w.T  # (B, n, m)
    costs = costs.clamp_min(0.0)  # |x - w|^2, rounding errors removed
    log_kernel = costs / -reg  # (B, n, m)
    scaled_cost = -torch.logsumexp(log_kernel, dim=-1)  # (B, n) soft-min cost over prototypes / reg
    n = features.shape[1]
    if mu == 1:  # every feature fully transported: average pooling, whatever the costs
        selected_mass = torch.full_like(scaled_cost, 1.0 / n) + 0.0 * scaled_cost
        n_iter, converged, error = 0, True, 0.0
    else:
        theta, n_iter, converged, error = _selection_threshold(scaled_cost.detach(), mu, reg, max_iter, tol)
        selected_mass = torch.sigmoid(_implicit_threshold(theta, scaled_cost).unsqueeze(-1) - scaled_cost) / n
    assignment = selected_mass.unsqueeze(-1) * torch.softmax(log_kernel, dim=-1)  # (B, n, m)
    return GSPTransport(selected_mass / mu, selected_mass, assignment, n_iter, converged, error)


def _selection_threshold(scaled_cost, mu, reg, max_iter, tol):
    """The threshold theta of the solution t_i = sigmoid(theta - c_i / reg) / n, found by Sinkhorn.

    The two-bin entropic OT has P_i1 / P_i0 = mu / (1 - mu) exp((g_1 - g_0 - c_i) / reg), so
    theta = log(mu / (1 - mu)) + (g_1 - g_0) / reg.
    """
    batch = scaled_cost.shape[0]
    M = torch.stack([torch.zeros_like(scaled_cost), reg * scaled_cost], dim=-1)  # (B, n, 2)
    bins = torch.tensor([1.0 - mu, mu], dtype=M.dtype, device=M.device).expand(batch, 2).contiguous()
    result = sinkhorn(None, bins, M, reg, max_iter, tol)
    g = result.potentials[1]  # (B, 2)
    theta = math.log(mu / (1.0 - mu)) + (g[:, 1] - g[:, 0]) / reg  # (B,)
    return theta, result.n_iter, result.converged, result.marginal_error


def _implicit_threshold(theta, scaled_cost):
    r"""theta with its implicit gradient: sum_i sigmoid(theta - u_i) = n mu gives
    :math:`\partial\theta / \partial u_j = \sigma'_j / \sum_i \sigma'_i`; the value stays theta."""
    slope = torch.sigmoid(theta.unsqueeze(-1) - scaled_cost.detach())
    slope = slope * (1.0 - slope)  # (B, n)
    share = slope / slope.sum(-1, keepdim=True).clamp_min(torch.finfo(slope.dtype).tiny)
    return theta + (share * (scaled_cost - scaled_cost.detach())).sum(-1)  # (B,)


def generalized_sum_pooling(
    features: torch.Tensor,
    prototypes: torch.Tensor,
    mu: float = 0.5,
    reg: float = 0.1,
    normalize: bool = True,
    max_iter: int = 1000,
    tol: float = 1e-7,
) -> torch.Tensor:
    r"""Pool a set of features with GSP weights: :math:`z_b = \sum_i w_{bi}\, x_{bi}`.

    Args and the transport problem as in :func:`gsp_transport`; the features are pooled as given
    (not normalized).

    Returns:
        (B, d) pooled vectors; with ``mu=1`` exactly ``features.mean(1)``.

    From "Generalized Sum Pooling for Metric Learning".
    """
    transport = gsp_transport(features, prototypes, mu, reg, normalize, max_iter, tol)
    return (transport.weights.unsqueeze(-1) * features).sum(1)  # (B, d)


class GeneralizedSumPooling(nn.Module):
    """Generalized sum pooling with ``n_prototypes`` learnable prototypes.

    Args:
        dim: feature width d.
        n_prototypes: number m of prototypes, drawn standard normal from ``generator``.
        mu, reg, normalize, max_iter, tol: as in :func:`gsp_transport`.
        generator: seed or ``torch.Generator`` of the prototypes' initialization.

    Shapes: (B, n, d) -> (B, d). :meth:`transport` returns the :class:`GSPTransport` itself.

    From "Generalized Sum Pooling for Metric Learning".
    """

    def __init__(
        self,
        dim: int,
        n_prototypes: int = 16,
        mu: float = 0.5,
        reg: float = 0.1,
        normalize: bool = True,
        max_iter: int = 1000,
        tol: float = 1e-7,
        generator=None,
    ):
        super().__init__()
        check_positive("dim", dim, integer=True)
        check_positive("n_prototypes", n_prototypes, integer=True)
        self.prototypes = nn.Parameter(torch.randn(n_prototypes, dim, generator=as_generator(generator)))
        _check_gsp_inputs(torch.zeros(1, 1, dim), self.prototypes.detach(), mu, reg, max_iter, tol)
        self.mu, self.reg, self.normalize, self.max_iter, self.tol = mu, reg, normalize, max_iter, tol

    def transport(self, features: torch.Tensor) -> GSPTransport:
        """The feature selection of ``features`` (B, n, d)."""
        return gsp_transport(
            features, self.prototypes, self.mu, self.reg, self.normalize, self.max_iter, self.tol
        )

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return (self.transport(features).weights.unsqueeze(-1) * features).sum(1)  # (B, d)

    def extra_repr(self) -> str:
        m, d = self.prototypes.shape
        return f"dim={d}, n_prototypes={m}, mu={self.mu}, reg={self.reg}, normalize={self.normalize}"
