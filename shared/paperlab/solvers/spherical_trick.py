r"""Exact training of a linear output layer under a spherical loss at a cost independent of D.

From "The Z-loss: a shift and scale invariant classification loss belonging to the Spherical Family" (2016),
which builds on the factored output layer of "Efficient Exact Gradient Update for training Deep
Networks with Very Large Sparse Targets" (2015). The scores are :math:`o = W h` with
:math:`W \in \mathbb{R}^{D \times d}` and a spherical loss reads only

.. math:: S_1 = \sum_k o_k = \bar w^\top h,\qquad S_2 = \|o\|^2 = h^\top Q h,\qquad o_c = W_c h

with the column sums :math:`\bar w = W^\top 1` and the Gram matrix :math:`Q = W^\top W`. Writing
:math:`\alpha, \beta, \gamma` for the derivatives of the loss in :math:`S_1, S_2, o_c`, the score
gradient is :math:`\alpha 1 + 2 \beta o + \gamma e_c`, so the hidden gradient is
:math:`\alpha \bar w + 2 \beta Q h + \gamma W_c` and a minibatch SGD step is

.. math:: W \leftarrow W M - \eta\, 1 a^\top - \eta \textstyle\sum_i \gamma_i e_{c_i} h_i^\top,
          \qquad M = I - 2\eta H^\top \mathrm{diag}(\beta) H,\quad a = H^\top \alpha.

Keeping :math:`W = V U + 1 \omega^\top` factored, :math:`M` goes into :math:`U`, the all-rows term
into :math:`\omega` and only the target rows of :math:`V` change (through :math:`U^{-1}`, kept by the
Woodbury identity); :math:`Q` and :math:`\bar w` follow in closed form. A step of a batch of
:math:`m` costs :math:`O(m d^2 + m^2 d)` whatever the number of classes :math:`D`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import torch

from paperlab._checks import check_positive, check_reduction, check_tensor
from paperlab.losses.spherical import squared_error_from_sums, taylor_softmax_from_sums
from paperlab.losses.z_loss import z_loss_from_sums

SPHERICAL_LOSSES = {
    "z_loss": z_loss_from_sums,
    "squared_error": squared_error_from_sums,
    "taylor_softmax": taylor_softmax_from_sums,
}


@dataclass
class SphericalGradient:
    """Loss of a minibatch and its gradients, from the spherical statistics only.

    ``loss`` is a scalar (or ``(m,)`` for ``reduction="none"``); ``hidden_grad`` ``(m, d)`` is
    :math:`\\partial L / \\partial h`; ``d_sum``, ``d_sum_sq``, ``d_target`` ``(m,)`` are
    :math:`\\alpha, \\beta, \\gamma`.
    """

    loss: torch.Tensor
    hidden_grad: torch.Tensor
    d_sum: torch.Tensor
    d_sum_sq: torch.Tensor
    d_target: torch.Tensor


@dataclass
class StepCost:
    """Multiply-adds of one SGD step of the output layer, done naively and with the spherical trick."""

    n_classes: int
    hidden_dim: int
    batch_size: int
    naive: int
    spherical: int

    @property
    def speedup(self) -> float:
        return self.naive / self.spherical


class SphericalOutputLayer:
    """A linear output layer :math:`o = W h` trained exactly under a spherical loss in O(d^2) per item.

    Holds :math:`V` ``(D, d)``, :math:`U` and :math:`U^{-1}` ``(d, d)``, :math:`\\omega` ``(d,)``,
    the Gram matrix ``gram`` :math:`= W^\\top W` ``(d, d)`` and ``column_sum`` :math:`= W^\\top 1`
    ``(d,)``, with :math:`W = V U + 1 \\omega^\\top`. All live on the device and dtype of ``weight``.

    Args:
        weight: the initial weight :math:`W`, shape ``(D, d)``.
        loss: ``"z_loss"``, ``"squared_error"``, ``"taylor_softmax"`` or a callable
            ``loss(sum_o, sum_sq, o_target, n_classes) -> (m,)`` per-item losses.
        **loss_kwargs: extra keyword arguments of the named loss (``a``, ``b`` of the Z-loss).
    """

    def __init__(self, weight: torch.Tensor, loss: str | Callable = "z_loss", **loss_kwargs):
        check_tensor("weight", weight, dim=2, floating=True)
        if weight.shape[0] < 2:
            raise ValueError(f"weight must have at least 2 rows (classes), got shape {tuple(weight.shape)}")
        self.loss_fn = _resolve_loss(loss, loss_kwargs)
        self.n_classes, self.hidden_dim = weight.shape
        eye = torch.eye(self.hidden_dim, dtype=weight.dtype, device=weight.device)
        self.V = weight.detach().clone()
        self.U, self.U_inv = eye.clone(), eye.clone()
        self.omega = torch.zeros(self.hidden_dim, dtype=weight.dtype, device=weight.device)
        self.gram = self.V.T @ self.V  # (d, d)
        self.column_sum = self.V.sum(dim=0)  # (d,)

    def weight(self) -> torch.Tensor:
        """The dense :math:`W = V U + 1 \\omega^\\top`, shape ``(D, d)`` (O(D d^2): for checks only)."""
        return self.V @ self.U + self.omega

    def refactor(self) -> None:
        """Fold :math:`U` and :math:`\\omega` back into :math:`V`; recompute :math:`Q` and :math:`\\bar w`.

        Costs O(D d^2); calling it every few thousand steps bounds the drift of the maintained
        quantities and the conditioning of :math:`U` in long float32 runs. It does not change :math:`W`.
        """
        self.__init__(self.weight(), self.loss_fn)

    def rows(self, index: torch.Tensor) -> torch.Tensor:
        """Rows :math:`W_c` for the classes in ``index`` ``(m,)``, shape ``(m, d)``, in O(m d^2)."""
        return self.V[index] @ self.U + self.omega

    def scores(self, hidden: torch.Tensor) -> torch.Tensor:
        """All scores :math:`H W^\\top`, shape ``(m, D)`` (O(m D d): for prediction, not training)."""
        return (hidden @ self.U.T) @ self.V.T + (hidden @ self.omega).unsqueeze(1)

    def statistics(self, hidden: torch.Tensor, target: torch.Tensor):
        """The spherical statistics :math:`(S_1, S_2, o_c)`, each ``(m,)``, differentiable in ``hidden``."""
        self._check_batch(hidden, target)
        sum_o = hidden @ self.column_sum
        sum_sq = ((hidden @ self.gram) * hidden).sum(dim=1)
        o_target = (self.rows(target) * hidden).sum(dim=1)
        return sum_o, sum_sq, o_target

    def loss(self, hidden: torch.Tensor, target: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
        """The spherical loss of the batch, differentiable with respect to ``hidden`` ``(m, d)``."""
        check_reduction(reduction)
        losses = self.loss_fn(*self.statistics(hidden, target), self.n_classes)
        return _reduce(losses, reduction)

    def loss_and_hidden_grad(
        self, hidden: torch.Tensor, target: torch.Tensor, reduction: str = "mean"
    ) -> SphericalGradient:
        """Loss and :math:`\\partial L/\\partial h = \\alpha \\bar w + 2\\beta Q h + \\gamma W_c`, in O(m d^2).

        Args:
            hidden: last hidden layer :math:`H`, shape ``(m, d)``.
            target: class indices, int64, shape ``(m,)``.
            reduction: ``"mean"`` or ``"sum"`` over the batch.
        """
        if check_reduction(reduction) == "none":
            raise ValueError("reduction must be 'mean' or 'sum' for a gradient step, got 'none'")
        hidden = hidden.detach()
        self._check_batch(hidden, target)
        target_rows = self.rows(target)  # (m, d)
        with torch.enable_grad():
            sum_o = (hidden @ self.column_sum).requires_grad_()
            hidden_gram = hidden @ self.gram  # (m, d)
            sum_sq = (hidden_gram * hidden).sum(dim=1).requires_grad_()
            o_target = (target_rows * hidden).sum(dim=1).requires_grad_()
            loss = _reduce(self.loss_fn(sum_o, sum_sq, o_target, self.n_classes), reduction)
            statistics = (sum_o, sum_sq, o_target)
            grads = torch.autograd.grad(loss, statistics, allow_unused=True)
        d_sum, d_sum_sq, d_target = (
            torch.zeros_like(s) if g is None else g for s, g in zip(statistics, grads)
        )
        hidden_grad = (
            d_sum.unsqueeze(1) * self.column_sum
            + 2 * d_sum_sq.unsqueeze(1) * hidden_gram
            + d_target.unsqueeze(1) * target_rows
        )  # (m, d)
        return SphericalGradient(loss.detach(), hidden_grad, d_sum, d_sum_sq, d_target)

    def step(self, hidden: torch.Tensor, target: torch.Tensor, lr: float, reduction: str = "mean"):
        """One exact SGD step :math:`W \\leftarrow W - \\eta\\, \\partial L/\\partial W`; returns the gradient.

        The returned :class:`SphericalGradient` is computed at the weight before the step, so its
        ``hidden_grad`` can be back-propagated into the layers below.
        """
        check_positive("lr", lr)
        grad = self.loss_and_hidden_grad(hidden, target, reduction)
        self._apply_update(hidden.detach(), target, grad, float(lr))
        return grad

    def _apply_update(self, hidden, target, grad: SphericalGradient, lr: float) -> None:
        H, eta, m = hidden, lr, hidden.shape[0]
        G = grad.d_sum_sq.unsqueeze(1) * H  # (m, d): rows beta_i h_i, so M = I - 2 eta H^T G
        a = H.T @ grad.d_sum  # (d,)
        gamma_H = grad.d_target.unsqueeze(1) * H  # (m, d): rows gamma_i h_i
        g = gamma_H.sum(dim=0)  # (d,) = S^T 1
        # rows of A = W M at the targets, and A^T 1, before anything changes
        target_rows = self.rows(target)  # (m, d)
        A_rows = target_rows - 2 * eta * (target_rows @ H.T) @ G  # (m, d)
        col_sum_A = self.column_sum - 2 * eta * G.T @ (H @ self.column_sum)  # (d,)
        # Q_A = M^T Q M, expanded so that it costs O(m d^2)
        QHt = self.gram @ H.T  # (d, m)
        gram_A = self.gram - 2 * eta * (QHt @ G + G.T @ QHt.T) + 4 * eta**2 * G.T @ (H @ QHt) @ G
        # R = -eta (1 a^T + S), S = sum_i gamma_i e_{c_i} h_i^T; Q_new = Q_A + A^T R + R^T A + R^T R
        AtS = A_rows.T @ gamma_H  # (d, d)
        AtR = -eta * (torch.outer(col_sum_A, a) + AtS)
        same_class = (target.unsqueeze(0) == target.unsqueeze(1)).to(H.dtype)  # (m, m)
        StS = gamma_H.T @ same_class @ gamma_H  # (d, d)
        RtR = eta**2 * (self.n_classes * torch.outer(a, a) + torch.outer(a, g) + torch.outer(g, a) + StS)
        self.gram = gram_A + AtR + AtR.T + RtR
        self.column_sum = col_sum_A - eta * (self.n_classes * a + g)
        # factors: U <- U M, omega <- M^T omega - eta a, U^{-1} <- M^{-1} U^{-1} (Woodbury)
        self.U = self.U - 2 * eta * (self.U @ H.T) @ G
        self.omega = self.omega - 2 * eta * G.T @ (H @ self.omega) - eta * a
        eye_m = torch.eye(m, dtype=H.dtype, device=H.device)
        K = torch.linalg.solve(eye_m - 2 * eta * G @ H.T, G @ self.U_inv)  # (m, d)
        self.U_inv = self.U_inv + 2 * eta * H.T @ K
        # sparse rows: V_c U_new -= eta gamma h^T  <=>  V_c -= eta gamma h^T U_new^{-1}
        self.V.index_add_(0, target, -eta * gamma_H @ self.U_inv)

    def _check_batch(self, hidden, target) -> None:
        check_tensor("hidden", hidden, dim=2, floating=True)
        if hidden.shape[1] != self.hidden_dim:
            raise ValueError(f"hidden must have shape (m, {self.hidden_dim}), got {tuple(hidden.shape)}")
        if hidden.dtype != self.V.dtype or hidden.device != self.V.device:
            raise ValueError(
                f"hidden must have the layer's dtype {self.V.dtype} and device {self.V.device}, "
                f"got {hidden.dtype} on {hidden.device}"
            )
        if not isinstance(target, torch.Tensor) or target.dtype != torch.long:
            raise ValueError(f"target must be an int64 tensor of class indices, got {target!r:.80}")
        if target.shape != hidden.shape[:1]:
            raise ValueError(f"target must have shape ({hidden.shape[0]},), got {tuple(target.shape)}")
        if target.device != hidden.device:
            raise ValueError(f"target must be on hidden's device {hidden.device}, got {target.device}")
        if bool(((target < 0) | (target >= self.n_classes)).any()):
            raise ValueError(f"target must be in [0, {self.n_classes}), got values outside it")


def step_cost(n_classes: int, hidden_dim: int, batch_size: int) -> StepCost:
    """Multiply-adds of one forward + backward + SGD step of the output layer, naive vs spherical trick.

    Naive: scores :math:`H W^\\top`, hidden gradient and weight gradient are three ``m D d`` products,
    plus the ``D d`` update and the :math:`O(mD)` loss. Spherical trick: the statistics, hidden gradient
    and factored update of :meth:`SphericalOutputLayer.step`, counted term by term (:math:`O(md^2 +
    m^2 d)`, no term in :math:`D` beyond the ``D a a^T`` scalar factor).
    """
    for name, value in (("n_classes", n_classes), ("hidden_dim", hidden_dim), ("batch_size", batch_size)):
        check_positive(name, value, integer=True)
    D, d, m = n_classes, hidden_dim, batch_size
    naive = 3 * m * D * d + D * d + 4 * m * D
    spherical_terms = {
        "statistics and hidden gradient": 2 * m * d * d + 6 * m * d,
        "target rows of W and of A = W M": 2 * m * d * d + 2 * m * m * d + 2 * m * d,
        "Q_A = M^T Q M": 4 * m * d * d + 2 * m * m * d,
        "A^T S, S^T S and the rank-one terms": 2 * m * d * d + m * m * d + 4 * d * d,
        "U M and M^T omega": 2 * m * d * d + 2 * m * d,
        "Woodbury update of U^{-1}": 2 * m * d * d + 2 * m * m * d + m**3,
        "the target rows of V": m * d * d,
    }
    return StepCost(D, d, m, naive, sum(spherical_terms.values()))


def _resolve_loss(loss, loss_kwargs) -> Callable:
    if callable(loss):
        return partial(loss, **loss_kwargs) if loss_kwargs else loss
    if loss not in SPHERICAL_LOSSES:
        raise ValueError(f"loss must be one of {sorted(SPHERICAL_LOSSES)} or a callable, got {loss!r}")
    return partial(SPHERICAL_LOSSES[loss], **loss_kwargs)


def _reduce(losses: torch.Tensor, reduction: str) -> torch.Tensor:
    if reduction == "mean":
        return losses.mean()
    return losses.sum() if reduction == "sum" else losses
