"""Control-variate estimators of the squared sliced 2-Wasserstein distance.

From "Sliced Wasserstein Estimation with Control Variates" (2023). Fit a Gaussian to each projected
measure: N(theta^T m_1, theta^T S_1 theta) and N(theta^T m_2, theta^T S_2 theta). Their squared
2-Wasserstein distance is bounded in closed form, and the bounds have closed-form means over
theta ~ U(S^{d-1}) because E[theta theta^T] = I / d:

* lower:  G(theta) = (theta^T (m_1 - m_2))^2,                            E[G] = ||m_1 - m_2||^2 / d
* upper:  G(theta) = (theta^T (m_1 - m_2))^2 + theta^T (S_1 + S_2) theta,
  E[G] = (||m_1 - m_2||^2 + tr S_1 + tr S_2) / d

With Z_l = W_2^2 on direction theta_l and G_l = G(theta_l), the estimator is
$$\\widehat{SW}_2^2 = \\bar Z - \\hat\\gamma (\\bar G - E[G]), \\qquad
  \\hat\\gamma = \\frac{\\widehat{\\mathrm{Cov}}(Z, G)}{\\widehat{\\mathrm{Var}}(G)},$$
which has a variance reduced by the factor 1 - corr(Z, G)^2. With gamma fitted on the same L samples
(``coefficient="in-sample"``, the paper's choice) the estimator carries an O(1/L) bias; fitting gamma for
each sample on the other L - 1 (``coefficient="leave-one-out"``) makes gamma independent of the term it
multiplies, and the estimator exactly unbiased, at the same O(L) cost.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from paperlab._checks import check_choice
from paperlab.distances.sliced import check_point_clouds, projected_wasserstein, resolve_projections

VARIATES = ("lower", "upper")
COEFFICIENTS = ("in-sample", "leave-one-out")


@dataclass
class ControlVariate:
    """Values G(theta_l) of a control variate on each direction and their exact mean E[G]."""

    values: torch.Tensor  # (..., L)
    mean: torch.Tensor  # (...)


def gaussian_control_variate(X, Y, projections, variate: str = "lower") -> ControlVariate:
    """The lower- or upper-bound control variate of the paper for clouds X, Y on given directions.

    X: (..., n, d), Y: (..., m, d), projections: (d, L) or (R, d, L) with unbatched X and Y.
    Means and (biased) covariances are empirical.
    """
    check_choice("variate", variate, VARIATES)
    d = X.shape[-1]
    mean_gap = X.mean(-2) - Y.mean(-2)  # (..., d)
    values = (mean_gap @ projections).pow(2)  # (..., L)
    mean = mean_gap.pow(2).sum(-1) / d
    if variate == "upper":
        x_centered = X - X.mean(-2, keepdim=True)
        y_centered = Y - Y.mean(-2, keepdim=True)
        # theta^T S theta = mean over points of (theta^T (x - m))^2
        x_spread = (x_centered @ projections).pow(2).mean(-2)  # (..., L)
        y_spread = (y_centered @ projections).pow(2).mean(-2)
        values = values + x_spread + y_spread
        trace_sum = (
            x_centered.pow(2).sum((-1, -2)) / X.shape[-2] + y_centered.pow(2).sum((-1, -2)) / Y.shape[-2]
        )
        mean = mean + trace_sum / d
    return ControlVariate(values=values, mean=mean)


def control_variate_estimate(samples: torch.Tensor, variate: ControlVariate, coefficient: str = "in-sample"):
    """Mean of ``samples`` (..., L) corrected by a control variate with known mean.

    ``"in-sample"``: gamma from all L samples, centred on the exact E[G] (the paper's estimator).
    ``"leave-one-out"``: sample l is corrected with gamma fitted on the other L - 1 samples, so that
    E[gamma_{-l} (G_l - E[G])] = E[gamma_{-l}] E[G_l - E[G]] = 0 and the estimate is unbiased.
    """
    check_choice("coefficient", coefficient, COEFFICIENTS)
    centred = variate.values - variate.mean.unsqueeze(-1)  # (..., L), C_l = G_l - E[G]
    tiny = torch.finfo(samples.dtype).tiny
    if coefficient == "in-sample":
        plain = samples.mean(-1)
        covariance = ((samples - plain.unsqueeze(-1)) * centred).mean(-1)
        gamma = covariance / centred.pow(2).mean(-1).clamp_min(tiny)
        return plain - gamma * centred.mean(-1)
    L = samples.shape[-1]
    sum_z, sum_c = samples.sum(-1, keepdim=True), centred.sum(-1, keepdim=True)
    sum_zc, sum_cc = (samples * centred).sum(-1, keepdim=True), centred.pow(2).sum(-1, keepdim=True)
    mean_z_others = (sum_z - samples) / (L - 1)  # (..., L): mean of Z without sample l
    covariance_others = (sum_zc - samples * centred) - mean_z_others * (sum_c - centred)
    gamma_others = covariance_others / (sum_cc - centred.pow(2)).clamp_min(tiny)
    return (samples - gamma_others * centred).mean(-1)


def sliced_wasserstein_cv(
    X,
    Y,
    n_projections: int = 50,
    variate: str = "lower",
    projections=None,
    seed=None,
    coefficient="in-sample",
):
    """Control-variate Monte Carlo estimate of SW_2^2 (the square, not the distance).

    Args:
        X: (..., n, d) and Y: (..., m, d) point clouds with uniform weights.
        n_projections: L, the number of random directions (ignored when ``projections`` is given).
        variate: "lower" (mean-gap bound) or "upper" (mean gap plus both variances).
        projections: (d, L) directions to use instead of random ones, or (R, d, L) for R independent
            estimates at once (unbatched X and Y only).
        seed: int, ``torch.Generator`` or None, for the random directions.
        coefficient: "in-sample" (the paper's gamma, O(1/L) bias) or "leave-one-out" (unbiased, L >= 3).

    Returns:
        The estimate of SW_2^2, shape (...) ((R,) for (R, d, L) projections); differentiable in X and Y.
    """
    check_point_clouds(X, Y)
    check_choice("variate", variate, VARIATES)
    check_choice("coefficient", coefficient, COEFFICIENTS)
    theta = resolve_projections(X, n_projections, projections, seed)
    needed = 2 if coefficient == "in-sample" else 3
    if theta.shape[-1] < needed:
        raise ValueError(
            f"n_projections must be >= {needed} for the {coefficient} coefficient, got {theta.shape[-1]}"
        )
    samples = projected_wasserstein(X, Y, theta, p=2)
    return control_variate_estimate(samples, gaussian_control_variate(X, Y, theta, variate), coefficient)
