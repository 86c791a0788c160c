r"""The Light Schrödinger Bridge: a Gaussian-mixture Schrödinger potential with closed-form plans and drift.

The Schrödinger bridge with Wiener prior :math:`\sqrt{\varepsilon}\,W` between :math:`p_0` and :math:`p_1`
has the static plan :math:`\pi^*(x, y) = p_0(x)\,\pi^*(y|x)`, the entropic OT plan with cost
:math:`\tfrac12\lVert x-y\rVert^2` and regularization :math:`\varepsilon`. Its conditionals are
:math:`\pi^*(y|x) = \exp(\langle x, y\rangle/\varepsilon)\,v^*(y) / c^*(x)` for an *adjusted
Schrödinger potential* :math:`v^*`. LightSB takes

.. math:: v_\theta(y) = \sum_k \alpha_k\,\mathcal N(y \mid r_k, \varepsilon S_k), \qquad
          c_\theta(x) = \sum_k \alpha_k
          \exp\Big(\frac{x^\top S_k x}{2\varepsilon} + \frac{r_k^\top x}{\varepsilon}\Big),

so that :math:`\pi_\theta(y|x) = \sum_k \tilde\alpha_k(x)\,\mathcal N(y \mid r_k + S_k x, \varepsilon S_k)`
with :math:`\tilde\alpha_k(x) \propto \alpha_k \exp(x^\top S_k x / 2\varepsilon + r_k^\top x/\varepsilon)`,
and learns :math:`\theta` by minimizing :math:`\mathrm{KL}(\pi^* \Vert \pi_\theta)` up to a constant,

.. math:: \mathcal L(\theta) = \mathbb E_{x\sim p_0} \log c_\theta(x) - \mathbb E_{y\sim p_1} \log v_\theta(y).

The bridge between :math:`x` and :math:`y` is a Brownian bridge, and the SDE drift is
:math:`g(x, t) = (\mathbb E[y \mid X_t = x] - x)/(1 - t)`, again a closed-form Gaussian-mixture expression.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from paperlab._checks import check_choice, check_positive, check_tensor
from paperlab._random import as_generator


def _randn(shape, like: torch.Tensor, generator) -> torch.Tensor:
    """Standard normal draws on the CPU from ``generator``, moved to ``like``'s device and dtype."""
    return torch.randn(shape, generator=as_generator(generator), dtype=like.dtype).to(like.device)


@dataclass
class GaussianMixturePlan:
    """The conditional plan pi(y | x) of n source points, each a mixture of K Gaussians.

    Attributes:
        log_weights: normalized log mixture weights (n, K).
        means: component means r_k + S_k x, (n, K, d).
        covariances: component covariances reg S_k, shared by all x, (K, d, d).
    """

    log_weights: torch.Tensor
    means: torch.Tensor
    covariances: torch.Tensor

    def mean(self) -> torch.Tensor:
        """E[y | x], (n, d)."""
        return (self.log_weights.exp().unsqueeze(-1) * self.means).sum(1)

    def covariance(self) -> torch.Tensor:
        """Cov(y | x) = sum_k w_k (C_k + mu_k mu_k^T) - E[y|x] E[y|x]^T, (n, d, d)."""
        weights = self.log_weights.exp()  # (n, K)
        mean = self.mean()
        second = torch.einsum("nk,kde->nde", weights, self.covariances)  # (n, d, d)
        second = second + torch.einsum("nk,nkd,nke->nde", weights, self.means, self.means)
        return second - mean.unsqueeze(-1) * mean.unsqueeze(-2)

    def sample(self, generator=None) -> torch.Tensor:
        """One draw y ~ pi(y | x) per source point, (n, d)."""
        generator = as_generator(generator)
        n, _, d = self.means.shape
        probabilities = self.log_weights.detach().exp().to("cpu", torch.float64)
        component = torch.multinomial(probabilities, 1, generator=generator).squeeze(1).to(self.means.device)
        chol = torch.linalg.cholesky(self.covariances)[component]  # (n, d, d)
        noise = _randn((n, d, 1), self.means, generator)
        picked = self.means[torch.arange(n, device=self.means.device), component]  # (n, d)
        return picked + (chol @ noise).squeeze(-1)


class LightSB(nn.Module):
    r"""Gaussian-mixture adjusted Schrödinger potential :math:`v_\theta` with its closed-form plan and drift.

    Parameters: free log weights :math:`\log\alpha_k` (K,), means :math:`r_k` (K, d), and :math:`S_k = L_kL_k^\top`
    with :math:`L_k` diagonal (``covariance_type="diagonal"``) or lower triangular (``"full"``) with a
    positive diagonal. Start: :math:`\alpha_k = 1/K`, :math:`S_k = I`, :math:`r_k` standard normal
    (or target samples, with :meth:`initialize_means`).

    From "Light Schrödinger Bridge".

    Args:
        dim: dimension d of the data.
        n_components: number K of mixture components.
        reg: the Wiener prior's volatility :math:`\varepsilon` (the entropic OT regularization), > 0.
        covariance_type: ``"diagonal"`` or ``"full"``.
        generator: seed or ``torch.Generator`` of the initialization.
    """

    def __init__(
        self, dim: int, n_components: int = 8, reg: float = 0.1, covariance_type="diagonal", generator=None
    ):
        super().__init__()
        check_positive("dim", dim, integer=True)
        check_positive("n_components", n_components, integer=True)
        check_positive("reg", reg)
        check_choice("covariance_type", covariance_type, {"diagonal", "full"})
        self.dim, self.n_components, self.reg, self.covariance_type = (
            dim,
            n_components,
            float(reg),
            covariance_type,
        )
        generator = as_generator(generator)
        self.log_alpha = nn.Parameter(torch.full((n_components,), -math.log(n_components)))
        self.means = nn.Parameter(torch.randn(n_components, dim, generator=generator))
        self.log_diagonal = nn.Parameter(torch.zeros(n_components, dim))  # log of the diagonal of L_k
        if covariance_type == "full":
            self.lower = nn.Parameter(torch.zeros(n_components, dim, dim))  # strictly lower part of L_k

    @torch.no_grad()
    def initialize_means(self, y: torch.Tensor, generator=None) -> None:
        """Set the means r_k to K distinct random rows of target samples y (m, d), m >= K."""
        self._check_points("y", y)
        if y.shape[0] < self.n_components:
            raise ValueError(f"y needs at least n_components = {self.n_components} rows, got {y.shape[0]}")
        rows = torch.randperm(y.shape[0], generator=as_generator(generator))[: self.n_components]
        self.means.copy_(y[rows.to(y.device)])

    def scale_tril(self) -> torch.Tensor:
        """L_k, (K, d, d), lower triangular with a positive diagonal."""
        diagonal = torch.diag_embed(self.log_diagonal.exp())  # (K, d, d)
        if self.covariance_type == "diagonal":
            return diagonal
        return diagonal + torch.tril(self.lower, diagonal=-1)

    def covariances(self) -> torch.Tensor:
        """S_k = L_k L_k^T, (K, d, d)."""
        tril = self.scale_tril()
        return tril @ tril.transpose(-1, -2)

    def _check_points(self, name: str, x: torch.Tensor) -> None:
        check_tensor(name, x, dim=2, floating=True)
        if x.shape[1] != self.dim:
            raise ValueError(f"{name} must have shape (n, {self.dim}), got {tuple(x.shape)}")

    def log_potential(self, y: torch.Tensor) -> torch.Tensor:
        r"""Log adjusted potential, y (m, d) -> (m,).

        .. math:: \log v_\theta(y) = \mathrm{LSE}_k(\log\alpha_k + \log\mathcal N(y \mid r_k, \varepsilon S_k))
        """
        self._check_points("y", y)
        tril = self.scale_tril()
        diff = (y.unsqueeze(0) - self.means.unsqueeze(1)).transpose(1, 2)  # (K, d, m)
        whitened = torch.linalg.solve_triangular(tril, diff, upper=False)  # L_k^{-1} (y - r_k), (K, d, m)
        squared = whitened.pow(2).sum(1) / self.reg  # (K, m)
        log_det = self.dim * math.log(self.reg) + 2 * self.log_diagonal.sum(1)  # log det(eps S_k), (K,)
        log_normal = -0.5 * (squared + log_det.unsqueeze(1) + self.dim * math.log(2 * math.pi))
        return torch.logsumexp(self.log_alpha.unsqueeze(1) + log_normal, dim=0)

    def _component_logits(self, x: torch.Tensor) -> torch.Tensor:
        """log alpha_k + x^T S_k x / (2 eps) + r_k^T x / eps, (n, K)."""
        projected = torch.einsum("nd,kde->kne", x, self.scale_tril())  # L_k^T x, (K, n, d)
        quadratic = projected.pow(2).sum(-1).T  # (n, K)
        return self.log_alpha + (quadratic / 2 + x @ self.means.T) / self.reg

    def log_normalizer(self, x: torch.Tensor) -> torch.Tensor:
        r"""Log normalizer, x (n, d) -> (n,).

        .. math:: \log c_\theta(x) = \log\int e^{\langle x, y\rangle/\varepsilon} v_\theta(y)\,dy
        """
        self._check_points("x", x)
        return torch.logsumexp(self._component_logits(x), dim=1)

    def conditional_plan(self, x: torch.Tensor) -> GaussianMixturePlan:
        """pi_theta(y | x) for source points x (n, d): a K-component Gaussian mixture per point."""
        self._check_points("x", x)
        logits = self._component_logits(x)
        covariances = self.covariances()
        means = self.means + torch.einsum("kde,ne->nkd", covariances, x)  # r_k + S_k x, (n, K, d)
        return GaussianMixturePlan(torch.log_softmax(logits, dim=1), means, self.reg * covariances)

    def sample(self, x: torch.Tensor, generator=None) -> torch.Tensor:
        """One draw y ~ pi_theta(y | x) per source point x (n, d); returns (n, d)."""
        return self.conditional_plan(x).sample(generator)

    def drift(self, x: torch.Tensor, t: float) -> torch.Tensor:
        r"""SDE drift :math:`g(x, t) = (\mathbb E[y \mid X_t = x] - x)/(1 - t)` for x (n, d) at time t in [0, 1).

        With :math:`u = t/(1-t)`, :math:`A_k = I + uS_k` and :math:`M_k = A_k^{-1}S_k`, the posterior of y given
        :math:`X_t = x` is a mixture with means :math:`M_k x/(1-t) + A_k^{-1}r_k` and log weights
        :math:`\log\alpha_k - \tfrac12\log\det A_k + [x^\top M_kx/(1-t)^2 + 2x^\top A_k^{-1}r_k/(1-t)
        - u\,r_k^\top A_k^{-1}r_k]/(2\varepsilon)`.
        """
        self._check_points("x", x)
        if not 0 <= t < 1:
            raise ValueError(f"t must be in [0, 1), got {t!r}")
        covariances = self.covariances()
        u = t / (1 - t)
        eye = torch.eye(self.dim, dtype=covariances.dtype, device=covariances.device)
        shifted = eye + u * covariances  # A_k, (K, d, d)
        transport = torch.linalg.solve(shifted, covariances)  # M_k, (K, d, d)
        offset = torch.linalg.solve(shifted, self.means.unsqueeze(-1)).squeeze(-1)  # A_k^{-1} r_k, (K, d)
        scaled = x / (1 - t)
        mapped = torch.einsum("kde,ne->nkd", transport, scaled)  # M_k x / (1 - t), (n, K, d)
        quadratic = (mapped * scaled.unsqueeze(1)).sum(-1)  # (n, K)
        constant = (
            self.log_alpha
            - 0.5 * torch.linalg.slogdet(shifted)[1]
            - u * (self.means * offset).sum(-1) / (2 * self.reg)
        )
        logits = constant + (quadratic + 2 * scaled @ offset.T) / (2 * self.reg)  # (n, K)
        posterior_mean = (torch.softmax(logits, dim=1).unsqueeze(-1) * (mapped + offset)).sum(1)  # (n, d)
        return (posterior_mean - x) / (1 - t)

    def sample_sde(
        self, x: torch.Tensor, n_steps: int = 100, generator=None, return_trajectory: bool = False
    ):
        r"""Euler-Maruyama on :math:`dX_t = g(X_t, t)\,dt + \sqrt{\varepsilon}\,dW_t` from :math:`X_0 = x` (n, d).

        Returns:
            X_1 (n, d), or the whole trajectory (n_steps + 1, n, d) when ``return_trajectory``.
        """
        check_positive("n_steps", n_steps, integer=True)
        self._check_points("x", x)
        generator = as_generator(generator)
        dt = 1.0 / n_steps
        path = [x]
        for step in range(n_steps):
            current = path[-1]
            noise = _randn(current.shape, current, generator)
            path.append(current + self.drift(current, step * dt) * dt + math.sqrt(self.reg * dt) * noise)
        return torch.stack(path) if return_trajectory else path[-1]


def light_sb_loss(model: LightSB, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    r"""The LightSB objective :math:`\frac1n\sum_i \log c_\theta(x_i) - \frac1m\sum_j \log v_\theta(y_j)`.

    Equal to :math:`\mathrm{KL}(\pi^*\Vert\pi_\theta)` up to a constant that does not depend on :math:`\theta`.
    From "Light Schrödinger Bridge".

    Args:
        model: the LightSB potential.
        x: source samples (n, d). y: target samples (m, d), drawn independently of x.

    Returns:
        Scalar loss, differentiable in the model's parameters.
    """
    if not isinstance(model, LightSB):
        raise TypeError(f"model must be a LightSB, got {type(model).__name__}")
    return model.log_normalizer(x).mean() - model.log_potential(y).mean()


def brownian_bridge(x: torch.Tensor, y: torch.Tensor, t, reg: float, generator=None) -> torch.Tensor:
    r"""Sample the Brownian bridge of volatility :math:`\sqrt{\varepsilon}` from x to y at time t.

    .. math:: X_t = (1 - t)\,x + t\,y + \sqrt{\varepsilon\,t(1-t)}\;\xi, \qquad \xi \sim \mathcal N(0, I)

    Args:
        x, y: endpoints (n, d).
        t: a float in [0, 1] or a tensor (n,) of times in [0, 1].
        reg: :math:`\varepsilon`, > 0.
        generator: seed or ``torch.Generator`` of the noise.

    Returns:
        X_t, (n, d).
    """
    check_tensor("x", x, dim=2, floating=True)
    check_tensor("y", y, dim=2, floating=True)
    if x.shape != y.shape:
        raise ValueError(
            f"x and y must have the same shape (n, d), got {tuple(x.shape)} and {tuple(y.shape)}"
        )
    check_positive("reg", reg)
    if isinstance(t, torch.Tensor):
        check_tensor("t", t, dim=1, floating=True)
        if t.shape[0] != x.shape[0]:
            raise ValueError(f"t must have shape ({x.shape[0]},), got {tuple(t.shape)}")
        t = t.unsqueeze(1)  # (n, 1)
        out_of_range = bool(((t < 0) | (t > 1)).any())
    else:
        check_positive("t", t, allow_zero=True)
        out_of_range = t > 1
    if out_of_range:
        raise ValueError("t must lie in [0, 1]")
    spread = (reg * t * (1 - t)) ** 0.5
    return (1 - t) * x + t * y + spread * _randn(x.shape, x, generator)
