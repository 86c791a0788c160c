"""t-SNE with FFT-accelerated interpolation of the repulsive forces (or the exact O(n^2) gradient).

Efficient Algorithms for t-distributed Stochastic Neighborhood Embedding: perplexity-calibrated sparse
affinities on a k-nearest-neighbour graph (:mod:`.tsne_perplexity`), repulsion by polynomial
interpolation on an equispaced grid with FFT convolution (:mod:`.fft_interpolation`), and gradient
descent with early and late exaggeration (:mod:`.tsne_optimizer`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from paperlab._checks import check_choice, check_positive, check_tensor
from paperlab._random import as_generator

from .fft_interpolation import fft_interpolation_repulsion
from .matrix_factorization import truncated_svd
from .tsne_forces import check_affinities, exact_repulsion, tsne_kl_divergence
from .tsne_optimizer import TSNESchedule, tsne_descent
from .tsne_perplexity import tsne_affinities


@dataclass
class TSNEResult:
    """Result of :func:`tsne`.

    Attributes:
        embedding: (n, n_components) final embedding.
        kl_divergence: KL(P || Q) of the final embedding (Z from the run's own method).
        n_iter: iterations run.
        learning_rate: the step size used.
        affinities: (n, n) sparse COO P, to reuse in another run.
        kl_history: (iteration, KL) every 50 iterations.
    """

    embedding: torch.Tensor
    kl_divergence: float
    n_iter: int
    learning_rate: float
    affinities: torch.Tensor
    kl_history: list = field(default_factory=list)


def pca_initialization(X: torch.Tensor, n_components: int) -> torch.Tensor:
    """Leading principal components of ``X``, scaled so that the first has standard deviation 1e-4.

    Args:
        X: (n, D) points, D >= n_components.
        n_components: output dimension.

    Returns:
        (n, n_components) initial embedding.
    """
    centred = X - X.mean(dim=0, keepdim=True)
    svd = truncated_svd(centred, n_components)
    scores = centred @ svd.Vh.T  # (n, n_components)
    largest = scores[
        scores.abs().argmax(dim=0), torch.arange(n_components, device=X.device)
    ]  # (n_components,)
    signs = torch.sign(largest)  # each component's largest score made positive: a deterministic sign
    scores = scores * torch.where(signs == 0, torch.ones_like(signs), signs)
    return scores / scores[:, 0].std().clamp_min(torch.finfo(X.dtype).tiny) * 1e-4


def _initial_embedding(X, init, n_components, generator) -> torch.Tensor:
    n = X.shape[0]
    if isinstance(init, torch.Tensor):
        check_tensor("init", init, dim=2, floating=True)
        if tuple(init.shape) != (n, n_components):
            raise ValueError(f"init must have shape {(n, n_components)}, got {tuple(init.shape)}")
        return init.to(device=X.device, dtype=X.dtype)
    check_choice("init", init, {"pca", "random"})
    if init == "pca" and n_components <= X.shape[1]:
        return pca_initialization(X, n_components)
    if init == "pca":
        raise ValueError(f"init='pca' needs n_components <= {X.shape[1]} features, got {n_components}")
    noise = torch.randn(n, n_components, generator=generator, dtype=X.dtype)
    return (1e-4 * noise).to(X.device)


def tsne(
    X: torch.Tensor,
    n_components: int = 2,
    perplexity: float = 30.0,
    n_iter: int = 750,
    early_exaggeration: float = 12.0,
    learning_rate: float | str = "auto",
    method: str = "fft",
    seed=None,
    *,
    early_exaggeration_iter: int = 250,
    late_exaggeration: float = 1.0,
    late_exaggeration_iter: int = 0,
    init: str | torch.Tensor = "pca",
    affinities: torch.Tensor | None = None,
    n_interpolation_points: int = 3,
    min_num_intervals: int = 50,
    ints_in_interval: float = 1.0,
    max_step_norm: float | None = 5.0,
    verbose: bool = False,
) -> TSNEResult:
    r"""Embed ``X`` with t-SNE, minimising $\mathrm{KL}(P \| Q)$ by gradient descent.

    $q_{ij} = (1 + \|y_i - y_j\|^2)^{-1} / Z$; $P$ from :func:`tsne_affinities` (or ``affinities``).
    ``method="fft"`` interpolates the repulsive forces on a grid (FIt-SNE); ``"exact"`` computes them in
    $O(n^2)$ with the same P. ``learning_rate="auto"`` is $\max(n / \text{early\_exaggeration} / 4, 50)$.

    Args:
        X: (n, D) input points.
        n_components: embedding dimension (1 or 2 for "fft").
        perplexity: effective number of neighbours, 0 < perplexity < n.
        n_iter: total iterations, including the early-exaggeration ones.
        early_exaggeration: attraction factor of the first ``early_exaggeration_iter`` iterations.
        learning_rate: "auto" or a positive step size.
        method: "fft" or "exact".
        seed: int, torch.Generator or None; used by ``init="random"``.
        early_exaggeration_iter: iterations of the early phase (momentum 0.5; 0.8 afterwards).
        late_exaggeration: attraction factor of the last ``late_exaggeration_iter`` iterations.
        late_exaggeration_iter: iterations of the late phase (0: none).
        init: "pca", "random" or an (n, n_components) tensor.
        affinities: precomputed sparse (n, n) P (``perplexity`` is then unused).
        n_interpolation_points, min_num_intervals, ints_in_interval: the interpolation grid of "fft".
        max_step_norm: largest step of a point per iteration (None: unbounded).
        verbose: show a tqdm progress bar with the KL divergence.

    Returns:
        :class:`TSNEResult`.
    """
    check_tensor("X", X, dim=2, floating=True)
    n = X.shape[0]
    if n < 2:
        raise ValueError(f"X must have at least 2 rows, got shape {tuple(X.shape)}")
    check_positive("n_components", n_components, integer=True)
    check_choice("method", method, {"fft", "exact"})
    if method == "fft" and n_components > 2:
        raise ValueError(f"n_components must be 1 or 2 for method='fft', got {n_components}")
    check_positive("n_iter", n_iter, integer=True)
    check_positive("early_exaggeration", early_exaggeration)
    check_positive("early_exaggeration_iter", early_exaggeration_iter, integer=True, allow_zero=True)
    check_positive("late_exaggeration", late_exaggeration)
    check_positive("late_exaggeration_iter", late_exaggeration_iter, integer=True, allow_zero=True)
    if early_exaggeration_iter + late_exaggeration_iter > n_iter:
        raise ValueError(
            f"early_exaggeration_iter + late_exaggeration_iter must be <= n_iter = {n_iter}, "
            f"got {early_exaggeration_iter} + {late_exaggeration_iter}"
        )
    if isinstance(learning_rate, str):
        check_choice("learning_rate", learning_rate, {"auto"})
        learning_rate = max(n / early_exaggeration / 4.0, 50.0)
    else:
        check_positive("learning_rate", learning_rate)
    if max_step_norm is not None:
        check_positive("max_step_norm", max_step_norm)
    check_positive("n_interpolation_points", n_interpolation_points, integer=True)
    check_positive("min_num_intervals", min_num_intervals, integer=True)
    check_positive("ints_in_interval", ints_in_interval)
    generator = as_generator(seed)
    P = tsne_affinities(X, perplexity) if affinities is None else check_affinities(affinities, n)
    P = P.to(device=X.device, dtype=X.dtype)
    schedule = TSNESchedule(
        n_iter=n_iter,
        early_exaggeration=early_exaggeration,
        early_exaggeration_iter=early_exaggeration_iter,
        late_exaggeration=late_exaggeration,
        late_exaggeration_iter=late_exaggeration_iter,
        learning_rate=float(learning_rate),
        max_step_norm=max_step_norm,
    )
    grid = (n_interpolation_points, min_num_intervals, ints_in_interval)
    with torch.no_grad():
        Y0 = _initial_embedding(X.detach(), init, n_components, generator)
        descent = tsne_descent(Y0, P, schedule, method, *grid, progress=verbose)
        Y = descent.embedding
        z = fft_interpolation_repulsion(Y, *grid).z if method == "fft" else exact_repulsion(Y).z
        kl = tsne_kl_divergence(P, Y, z).item()
    return TSNEResult(Y, kl, n_iter, float(learning_rate), P, descent.kl_history)
