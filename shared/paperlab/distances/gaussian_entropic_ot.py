r"""Closed-form entropic optimal transport (the static Schrödinger bridge) between two Gaussians.

For :math:`\mu = \mathcal N(m_0, \Sigma_0)`, :math:`\nu = \mathcal N(m_1, \Sigma_1)`, the cost
:math:`c(x, y) = \tfrac12\lVert x - y\rVert^2` and the regularization :math:`\varepsilon`,

.. math:: \pi^* = \arg\min_{\pi \in \Pi(\mu, \nu)} \int c\,d\pi + \varepsilon\,\mathrm{KL}(\pi \Vert \mu\otimes\nu)

is Gaussian, and so is every conditional: :math:`\pi^*(y|x) = \mathcal N(m_1 + K(x - m_0),\ \varepsilon K)` with

.. math:: K = \Sigma_0^{-1/2}\Big[\big(\Sigma_0^{1/2}\Sigma_1\Sigma_0^{1/2} + \tfrac{\varepsilon^2}{4} I\big)^{1/2}
          - \tfrac{\varepsilon}{2} I\Big]\Sigma_0^{-1/2}.

It follows from two conditions: the log-density of :math:`\pi^*` has the cross term
:math:`x^\top y / \varepsilon` (so :math:`\mathrm{Cov}(y|x) = \varepsilon K`), and the y-marginal is
:math:`\nu` (so :math:`K\Sigma_0K + \varepsilon K = \Sigma_1`). This plan is also the endpoint law of the
Schrödinger bridge with Wiener prior :math:`\sqrt{\varepsilon}\,W` between the two Gaussians; as
:math:`\varepsilon \to 0`, :math:`K` tends to the Bures (Monge) map.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from paperlab._checks import check_positive, check_tensor
from paperlab._random import as_generator
from paperlab.distances.gaussian import _check_gaussian, psd_sqrt


@dataclass
class GaussianEntropicOT:
    """The closed-form entropic OT plan between two Gaussians.

    Attributes:
        mean_source, mean_target: m0 and m1, (d,).
        transport: the symmetric matrix K of the conditional mean m1 + K (x - m0), (d, d).
        conditional_covariance: Cov(y | x) = reg K, (d, d).
        cross_covariance: Cov(x, y) = Sigma0 K, (d, d).
        transport_cost: E_pi ||x - y||^2 / 2, scalar.
        mutual_information: KL(pi || mu x nu), scalar.
        value: transport_cost + reg * mutual_information, scalar.
    """

    mean_source: torch.Tensor
    mean_target: torch.Tensor
    transport: torch.Tensor
    conditional_covariance: torch.Tensor
    cross_covariance: torch.Tensor
    transport_cost: torch.Tensor
    mutual_information: torch.Tensor
    value: torch.Tensor

    def conditional_mean(self, x: torch.Tensor) -> torch.Tensor:
        """E[y | x] = m1 + K (x - m0) for source points x (n, d); returns (n, d)."""
        check_tensor("x", x, dim=2, floating=True)
        if x.shape[1] != self.transport.shape[0]:
            raise ValueError(f"x must have {self.transport.shape[0]} columns, got shape {tuple(x.shape)}")
        return self.mean_target + (x - self.mean_source) @ self.transport  # K is symmetric

    def sample(self, x: torch.Tensor, generator=None) -> torch.Tensor:
        """One draw y ~ pi(y | x) per source point x (n, d); returns (n, d)."""
        mean = self.conditional_mean(x)
        chol = torch.linalg.cholesky(self.conditional_covariance)
        noise = torch.randn(x.shape, generator=as_generator(generator), dtype=x.dtype).to(x.device)
        return mean + noise @ chol.T


def _log_det(matrix: torch.Tensor) -> torch.Tensor:
    return torch.linalg.slogdet(matrix)[1]


def gaussian_entropic_ot(m0, cov0, m1, cov1, reg: float) -> GaussianEntropicOT:
    r"""Entropic OT with the cost ||x - y||^2 / 2 between two Gaussians, in closed form.

    .. math:: \pi^*(y|x) = \mathcal N\big(m_1 + K(x - m_0),\ \varepsilon K\big), \quad
              K = \Sigma_0^{-1/2}\big[(\Sigma_0^{1/2}\Sigma_1\Sigma_0^{1/2} + \tfrac{\varepsilon^2}{4}I)^{1/2}
              - \tfrac{\varepsilon}{2}I\big]\Sigma_0^{-1/2}

    The value is :math:`\tfrac12\mathbb E\lVert x-y\rVert^2 + \varepsilon\,\mathrm{KL}(\pi^*\Vert\mu\otimes\nu)`
    with :math:`\mathrm{KL} = \tfrac12(\log\det\Sigma_1 - \log\det(\varepsilon K))`. The Gaussian-to-Gaussian
    reference of "Light Schrödinger Bridge", "Energy-guided Entropic Neural Optimal Transport".

    Args:
        m0, m1: means (d,).
        cov0, cov1: symmetric positive-definite covariances (d, d).
        reg: the regularization :math:`\varepsilon` (the Wiener prior's volatility), > 0.

    Returns:
        GaussianEntropicOT (transport K, conditional and cross covariances, cost, value); differentiable.
    """
    check_positive("reg", reg)
    d = _check_gaussian("m0", "cov0", m0, cov0)
    if _check_gaussian("m1", "cov1", m1, cov1) != d or m0.shape != m1.shape or m0.dim() != 1:
        raise ValueError(
            f"m0 and m1 must be vectors of the same size (d,), got shapes {tuple(m0.shape)} and {tuple(m1.shape)}"
        )
    eye = torch.eye(d, dtype=cov0.dtype, device=cov0.device)
    root0 = psd_sqrt(cov0)
    inv_root0 = torch.linalg.inv(root0)
    middle = psd_sqrt(root0 @ cov1 @ root0 + reg**2 / 4 * eye) - reg / 2 * eye
    transport = inv_root0 @ middle @ inv_root0
    transport = (transport + transport.T) / 2  # exact symmetry against rounding
    conditional = reg * transport
    cross = cov0 @ transport
    second_moment = (m0 - m1).pow(2).sum() + torch.trace(cov0) + torch.trace(cov1) - 2 * torch.trace(cross)
    cost = second_moment / 2
    information = (_log_det(cov1) - _log_det(conditional)) / 2
    return GaussianEntropicOT(
        m0, m1, transport, conditional, cross, cost, information, cost + reg * information
    )
