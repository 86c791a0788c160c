r"""Perpendicular gradient (perpGrad): drop the part of the gradient that only rescales the weights.

From "Grokking at the Edge of Numerical Stability" (2025). After a network fits its training set, the
gradient of cross-entropy points mostly along the weights themselves: scaling the logits up lowers the
loss without changing any prediction ("naive loss minimization"), until the softmax collapses
numerically. perpGrad removes that direction from each weight tensor :math:`\theta`'s gradient before
the optimizer sees it,

.. math:: \nabla_\perp L = \nabla L - \frac{\theta^\top \nabla L}{\theta^\top \theta}\, \theta,

so the update must reduce the loss by changing what the network computes, not how loud it says it.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch


@torch.no_grad()
def project_out_weight_direction_(params: Iterable[torch.Tensor], preserve_norm: bool = False) -> None:
    r"""Replace each parameter's ``.grad`` by its component orthogonal to the parameter, in place.

    .. math:: g \leftarrow g - \frac{\langle \theta, g \rangle}{\langle \theta, \theta \rangle}\, \theta

    Each tensor is treated as one flat vector. A zero tensor has no direction and keeps its gradient;
    parameters without a gradient are skipped.

    Args:
        params: parameters (tensors with ``.grad``), e.g. ``model.parameters()``.
        preserve_norm: rescale the projected gradient back to the norm of the original one, as some
            public implementations do; the paper's formula is the plain projection (``False``).
    """
    if isinstance(params, torch.Tensor):
        params = [params]
    if not isinstance(preserve_norm, bool):
        raise TypeError(f"preserve_norm must be a bool, got {preserve_norm!r}")
    for param in params:
        if not isinstance(param, torch.Tensor):
            raise TypeError(f"params must hold tensors, got {type(param).__name__}")
        grad = param.grad
        if grad is None:
            continue
        if grad.is_sparse:
            raise ValueError("params must have dense gradients, got a sparse one")
        weight = param.detach()
        squared_norm = (weight * weight).sum().clamp_min(torch.finfo(weight.dtype).tiny)
        coefficient = (weight * grad).sum() / squared_norm  # zero when the weight is zero
        old_norm = grad.norm() if preserve_norm else None
        grad.sub_(coefficient * weight)
        if preserve_norm:
            grad.mul_(old_norm / grad.norm().clamp_min(torch.finfo(grad.dtype).tiny))


class PerpGrad:
    """Wrap an optimizer so that every ``step()`` first projects the gradients (see the module docstring).

    ``PerpGrad(torch.optim.Adam(model.parameters(), lr=1e-3))`` is used like the wrapped optimizer:
    ``zero_grad()``, ``step(closure=None)``, ``param_groups``, ``state_dict()``, ``load_state_dict()``.

    Args:
        optimizer: a ``torch.optim.Optimizer`` over the parameters to project.
        preserve_norm: as in :func:`project_out_weight_direction_`.
    """

    def __init__(self, optimizer: torch.optim.Optimizer, preserve_norm: bool = False):
        if not isinstance(optimizer, torch.optim.Optimizer):
            raise TypeError(f"optimizer must be a torch.optim.Optimizer, got {type(optimizer).__name__}")
        if not isinstance(preserve_norm, bool):
            raise TypeError(f"preserve_norm must be a bool, got {preserve_norm!r}")
        self.optimizer, self.preserve_norm = optimizer, preserve_norm

    @property
    def param_groups(self) -> list[dict]:
        return self.optimizer.param_groups

    def parameters(self) -> list[torch.Tensor]:
        """All parameters of the wrapped optimizer, group after group."""
        return [p for group in self.optimizer.param_groups for p in group["params"]]

    def zero_grad(self, set_to_none: bool = True) -> None:
        self.optimizer.zero_grad(set_to_none=set_to_none)

    def step(self, closure=None):
        """Evaluate ``closure`` (if given) for the gradients, project them, then step the optimizer."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        project_out_weight_direction_(self.parameters(), self.preserve_norm)
        self.optimizer.step()
        return loss

    def state_dict(self) -> dict:
        return self.optimizer.state_dict()

    def load_state_dict(self, state_dict: dict) -> None:
        self.optimizer.load_state_dict(state_dict)

    def __repr__(self) -> str:
        return f"PerpGrad({self.optimizer!r}, preserve_norm={self.preserve_norm})"
