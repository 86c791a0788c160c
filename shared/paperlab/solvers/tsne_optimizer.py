"""Gradient descent for t-SNE: momentum, per-coordinate gains, early and late exaggeration.

Efficient Algorithms for t-distributed Stochastic Neighborhood Embedding: the optimisation is the
standard one (as in scikit-learn and openTSNE), with the gradient from :func:`tsne_gradient`; the paper
adds *late* exaggeration, a factor $\\alpha > 1$ on the attraction during the last iterations, which
tightens clusters.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from tqdm.auto import tqdm

from paperlab._checks import check_choice

from .tsne_forces import as_csr, check_affinities, tsne_gradient


@dataclass
class TSNESchedule:
    """The phases of a t-SNE run.

    Attributes:
        n_iter: total iterations.
        early_exaggeration: attraction factor of the first ``early_exaggeration_iter`` iterations.
        early_exaggeration_iter: iterations of the early phase (momentum ``initial_momentum``).
        late_exaggeration: attraction factor of the last ``late_exaggeration_iter`` iterations.
        late_exaggeration_iter: iterations of the late phase (0: none).
        learning_rate: step size $\\eta$ (for the gradient with its factor 4).
        initial_momentum, final_momentum: momentum during and after the early phase.
        min_gain: floor of the per-coordinate gains.
        max_step_norm: largest step of one point in one iteration (None: unbounded).
    """

    n_iter: int
    early_exaggeration: float
    early_exaggeration_iter: int
    late_exaggeration: float
    late_exaggeration_iter: int
    learning_rate: float
    initial_momentum: float = 0.5
    final_momentum: float = 0.8
    min_gain: float = 0.01
    max_step_norm: float | None = 5.0

    def exaggeration(self, iteration: int) -> float:
        """Attraction factor at ``iteration`` (0-based)."""
        if iteration < self.early_exaggeration_iter:
            return self.early_exaggeration
        if iteration >= self.n_iter - self.late_exaggeration_iter:
            return self.late_exaggeration
        return 1.0

    def momentum(self, iteration: int) -> float:
        """Momentum at ``iteration`` (0-based)."""
        return self.initial_momentum if iteration < self.early_exaggeration_iter else self.final_momentum


@dataclass
class Descent:
    """Outcome of :func:`tsne_descent`.

    Attributes:
        embedding: (n, d) final embedding.
        kl_history: (iteration, KL(P || Q)) every ``kl_every`` iterations, for the unexaggerated P.
    """

    embedding: torch.Tensor
    kl_history: list = field(default_factory=list)


def tsne_descent(
    Y: torch.Tensor,
    P: torch.Tensor,
    schedule: TSNESchedule,
    method: str = "fft",
    n_interpolation_points: int = 3,
    min_num_intervals: int = 50,
    ints_in_interval: float = 1.0,
    kl_every: int = 50,
    progress: bool = False,
) -> Descent:
    r"""Run t-SNE gradient descent from ``Y`` (not modified) under ``schedule``.

    Delta-bar-delta gains: $g \leftarrow g + 0.2$ where the gradient and the previous update disagree in
    sign, $g \leftarrow 0.8 g$ where they agree, $g \ge$ ``min_gain``; then
    $u \leftarrow \mu u - \eta\, g \odot \nabla$, $Y \leftarrow Y + u$, and $Y$ is re-centred.

    Args:
        Y: (n, d) initial embedding.
        P: (n, n) sparse COO or CSR affinities.
        schedule: iterations, exaggerations, learning rate and momenta.
        method: "fft" or "exact" repulsion.
        n_interpolation_points, min_num_intervals, ints_in_interval: grid of the "fft" method.
        kl_every: record KL(P || Q) every this many iterations.
        progress: show a tqdm progress bar.

    Returns:
        :class:`Descent`.
    """
    Y = Y.detach().clone()
    update = torch.zeros_like(Y)
    gains = torch.ones_like(Y)
    P = as_csr(check_affinities(P, Y.shape[0]))  # checked and converted once, not at every gradient
    check_choice("method", method, {"fft", "exact"})
    p = P.values().to(Y.dtype)
    p_log_p = torch.xlogy(p, p).sum()
    history = []
    bar = tqdm(range(schedule.n_iter), desc=f"t-SNE ({method})", disable=not progress)
    for iteration in bar:
        exaggeration = schedule.exaggeration(iteration)
        record_kl = (iteration + 1) % kl_every == 0
        step = tsne_gradient(
            Y,
            P,
            exaggeration,
            method,
            n_interpolation_points,
            min_num_intervals,
            ints_in_interval,
            with_kl=record_kl,
            check_inputs=False,
        )
        gradient = step.gradient
        if record_kl:
            kl = (p_log_p - step.p_log_w + torch.log(step.z)).item()
            history.append((iteration + 1, kl))
            bar.set_postfix(kl=f"{kl:.4f}")
        disagree = (gradient * update) < 0
        gains = torch.where(disagree, gains + 0.2, gains * 0.8).clamp_min_(schedule.min_gain)
        update = schedule.momentum(iteration) * update - schedule.learning_rate * gains * gradient
        if schedule.max_step_norm is not None:
            norm = torch.linalg.vector_norm(update, dim=1, keepdim=True)  # (n, 1)
            update = update * (schedule.max_step_norm / norm).clamp(max=1.0)
        Y += update
        Y -= Y.mean(dim=0, keepdim=True)
    return Descent(embedding=Y, kl_history=history)
