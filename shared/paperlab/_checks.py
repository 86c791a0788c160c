"""Validation helpers for the public boundary of every paperlab function.

Each helper raises ``ValueError`` or ``TypeError`` whose message names the argument, what was
expected and what was given, so that a bad call fails at once and says why.
"""

from __future__ import annotations

import torch


def check_tensor(
    name: str,
    x,
    *,
    min_dim: int | None = None,
    dim: int | None = None,
    floating: bool = False,
    finite: bool = True,
) -> torch.Tensor:
    """Return ``x`` if it is a tensor with the expected rank and finite values, else raise."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if dim is not None and x.dim() != dim:
        raise ValueError(f"{name} must have {dim} dimensions, got shape {tuple(x.shape)}")
    if min_dim is not None and x.dim() < min_dim:
        raise ValueError(f"{name} must have at least {min_dim} dimensions, got shape {tuple(x.shape)}")
    if floating and not x.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got dtype {x.dtype}")
    if x.numel() == 0:
        raise ValueError(f"{name} must not be empty, got shape {tuple(x.shape)}")
    if finite and x.is_floating_point() and not all_finite(x):
        raise ValueError(f"{name} must contain only finite values (no NaN or inf)")
    return x


def all_finite(x: torch.Tensor) -> bool:
    """True when every entry is finite, without an elementwise temporary in the common case.

    A NaN or inf entry makes the sum non-finite; only when the sum is non-finite (which a huge but
    finite tensor can also cause, by overflow) are the entries checked one by one.
    """
    return bool(torch.isfinite(x.sum())) or bool(torch.isfinite(x).all())


def check_positive(name: str, value, *, integer: bool = False, allow_zero: bool = False):
    """Return ``value`` if it is a positive (or non-negative) number, else raise ValueError."""
    kind = int if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kind):
        expected = "an integer" if integer else "a number"
        raise TypeError(f"{name} must be {expected}, got {value!r}")
    if value != value:  # NaN fails every comparison below
        raise ValueError(f"{name} must be a number, got {value!r}")
    if value < 0 or (value == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be {bound}, got {value!r}")
    return value


def check_choice(name: str, value, choices) -> str:
    """Return ``value`` if it is one of ``choices``, else raise ValueError listing them."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {sorted(choices)}, got {value!r}")
    return value


def check_weights(name: str, w, shape: tuple) -> torch.Tensor | None:
    """Return non-negative weights of exactly ``shape``, normalized on the last axis (None stays None).

    Negative entries or a zero sum raise ValueError naming the argument.
    """
    if w is None:
        return None
    check_tensor(name, w, min_dim=1, floating=True)
    if tuple(w.shape) != tuple(shape):
        raise ValueError(f"{name} must have shape {tuple(shape)}, got {tuple(w.shape)}")
    if bool((w < 0).any()):
        raise ValueError(f"{name} must be non-negative, got minimum {w.min().item():.3g}")
    total = w.sum(-1, keepdim=True)
    if bool((total <= 0).any()):
        raise ValueError(f"{name} must have a positive sum, got {total.min().item():.3g}")
    return w / total


def check_reduction(reduction: str) -> str:
    """Return ``reduction`` if it is 'mean', 'sum' or 'none'."""
    return check_choice("reduction", reduction, {"mean", "sum", "none"})


def reduce(values: torch.Tensor, reduction: str) -> torch.Tensor:
    """Apply a PyTorch-style reduction ('mean', 'sum', 'none') to per-item values."""
    check_reduction(reduction)
    if reduction == "mean":
        return values.mean()
    if reduction == "sum":
        return values.sum()
    return values
