"""Optimal transport between one-dimensional empirical measures, in closed form by sorting.

For measures on the line the optimal plan is monotone, so
$$W_p^p(\\mu, \\nu) = \\int_0^1 |F_\\mu^{-1}(q) - F_\\nu^{-1}(q)|^p \\, dq,$$
a sum over the merged breakpoints of the two cumulative distribution functions.
"""

from __future__ import annotations

import numpy as np
import torch

from paperlab._checks import check_positive, check_tensor

NUMPY_SORTABLE = (torch.float32, torch.float64)


def _numpy_sorts(x: torch.Tensor) -> bool:
    """Sort on the CPU with numpy, whose sort is several times faster than torch's CPU sort."""
    return x.device.type == "cpu" and x.dtype in NUMPY_SORTABLE


def sort_order(x: torch.Tensor) -> torch.Tensor:
    """The permutation that sorts ``x`` along its last axis (argsort), computed where it is fastest."""
    if _numpy_sorts(x):
        return torch.from_numpy(np.argsort(x.detach().contiguous().numpy(), axis=-1))
    return torch.sort(x, dim=-1).indices


def sort_last(x: torch.Tensor) -> torch.Tensor:
    """``x`` sorted along its last axis; differentiable (the gradient flows back through the permutation)."""
    if x.requires_grad or not _numpy_sorts(x):
        return torch.take_along_dim(x, sort_order(x), dim=-1)
    return torch.from_numpy(np.sort(x.contiguous().numpy(), axis=-1))


def _quantiles(levels: torch.Tensor, cumulative: torch.Tensor, sorted_values: torch.Tensor) -> torch.Tensor:
    """Evaluate the quantile function (left-continuous inverse CDF) at ``levels``.

    levels: (..., k), cumulative and sorted_values: (..., n); returns (..., k).
    """
    index = torch.searchsorted(cumulative.contiguous(), levels.contiguous(), right=False)
    index = index.clamp(max=sorted_values.shape[-1] - 1)
    return torch.take_along_dim(sorted_values, index, dim=-1)


def wasserstein_1d_lastdim(u, v, u_weights=None, v_weights=None, p: float = 1.0) -> torch.Tensor:
    """W_p^p between 1-D measures whose samples lie on the last axis.

    u: (..., n), v: (..., m), weights normalized and of the same shapes (or None for uniform).
    Returns (...,). The internal workhorse of :func:`wasserstein_1d` and the sliced distances.
    """
    if u_weights is None and v_weights is None and u.shape[-1] == v.shape[-1]:
        # equal-size uniform measures: the monotone plan pairs the k-th smallest points
        return (sort_last(u) - sort_last(v)).abs().pow(p).mean(-1)
    if u_weights is None:
        u_weights = torch.full_like(u, 1.0 / u.shape[-1])
    if v_weights is None:
        v_weights = torch.full_like(v, 1.0 / v.shape[-1])
    u_order, v_order = sort_order(u), sort_order(v)
    u_sorted, v_sorted = torch.take_along_dim(u, u_order, dim=-1), torch.take_along_dim(v, v_order, dim=-1)
    u_cdf = torch.cumsum(torch.take_along_dim(u_weights, u_order, dim=-1), dim=-1)  # (..., n)
    v_cdf = torch.cumsum(torch.take_along_dim(v_weights, v_order, dim=-1), dim=-1)  # (..., m)
    levels = torch.sort(torch.cat([u_cdf, v_cdf], dim=-1), dim=-1).values  # (..., n + m)
    u_q = _quantiles(levels, u_cdf, u_sorted)
    v_q = _quantiles(levels, v_cdf, v_sorted)
    steps = torch.diff(levels, dim=-1, prepend=torch.zeros_like(levels[..., :1]))  # mass between breakpoints
    return (steps * (u_q - v_q).abs().pow(p)).sum(-1)


def wasserstein_1d(u_values, v_values, u_weights=None, v_weights=None, p: float = 1.0) -> torch.Tensor:
    """W_p^p between two 1-D empirical measures (POT's ``ot.wasserstein_1d`` semantics).

    $$W_p^p(\\mu, \\nu) = \\int_0^1 |F_\\mu^{-1}(q) - F_\\nu^{-1}(q)|^p \\, dq$$

    Args:
        u_values: (n,) or (n, k) sample positions; several measures side by side in the columns.
        v_values: (m,) or (m, k).
        u_weights, v_weights: (n,) / (m,) or the values' shapes; None for uniform. Normalized here.
        p: order of the distance, p >= 1.

    Returns:
        W_p^p, a scalar for 1-D inputs, shape (k,) for (n, k) inputs. Not the p-th root, as in POT.
    """
    check_tensor("u_values", u_values, floating=True)
    check_tensor("v_values", v_values, floating=True)
    check_positive("p", p)
    if p < 1:
        raise ValueError(f"p must be >= 1, got {p!r}")
    if u_values.shape[1:] != v_values.shape[1:]:
        raise ValueError(
            f"u_values and v_values must agree beyond the first axis, got {tuple(u_values.shape)} "
            f"and {tuple(v_values.shape)}"
        )
    u = u_values.movedim(0, -1)  # (..., n): samples on the last axis
    v = v_values.movedim(0, -1)
    uw = _weights_last("u_weights", u_weights, u)
    vw = _weights_last("v_weights", v_weights, v)
    return wasserstein_1d_lastdim(u, v, uw, vw, p)


def _weights_last(name: str, weights, values: torch.Tensor) -> torch.Tensor | None:
    """Check weights given with samples on the first axis; return them normalized, samples last."""
    if weights is None:
        return None
    check_tensor(name, weights, floating=True)
    n = values.shape[-1]
    if weights.shape[0] != n or weights.dim() not in (1, values.dim()):
        raise ValueError(f"{name} must have shape ({n},) or the values' shape, got {tuple(weights.shape)}")
    if bool((weights < 0).any()):
        raise ValueError(f"{name} must be non-negative, got minimum {weights.min().item():.3g}")
    w = weights.movedim(0, -1).expand_as(values)  # (..., n)
    total = w.sum(-1, keepdim=True)
    if bool((total <= 0).any()):
        raise ValueError(f"{name} must have a positive sum, got {total.min().item():.3g}")
    return w / total
