"""A one-hidden-layer denoising autoencoder built from SET sparse layers, and its training loop.

From "Quick and Robust Feature Selection: the Strength of Energy-efficient Sparse Training for
Autoencoders (2020)" (QuickSelection): the autoencoder reconstructs clean inputs from inputs with
additive Gaussian noise, its two layers evolve their sparse topology after every epoch, and the strength
of each input neuron (``paperlab.metrics.neuron_strength``) then ranks the features.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .._checks import check_choice, check_positive, check_tensor
from .._random import as_generator
from .sparse_evolutionary_linear import SparseEvolutionaryLinear

_ACTIVATIONS = {"sigmoid": torch.sigmoid, "relu": F.relu, "tanh": torch.tanh, "linear": lambda z: z}


class SparseDenoisingAutoencoder(nn.Module):
    r"""Denoising autoencoder $\hat x = W_2^\top \sigma(W_1 \tilde x + b_1) + b_2$ with sparse $W_1, W_2$.

    $\tilde x = x + \nu\, \xi$, $\xi \sim \mathcal N(0, I)$ is the corrupted input during training.

    Args:
        n_features: input (and output) width.
        n_hidden: hidden width.
        epsilon: Erdős–Rényi sparsity level of both layers.
        noise: noise factor $\nu \ge 0$.
        activation: hidden activation, one of 'sigmoid' (the paper's), 'relu', 'tanh', 'linear'.
        output_activation: output activation, same choices ('linear' by default).
        generator: seed or ``torch.Generator`` for both topologies and initial weights.
        device, dtype: where and in which float type the parameters live.

    Shapes:
        input (batch, n_features) -> reconstruction (batch, n_features).
    """

    def __init__(
        self,
        n_features: int,
        n_hidden: int,
        epsilon: float = 13.0,
        noise: float = 0.2,
        activation: str = "sigmoid",
        output_activation: str = "linear",
        generator=None,
        device=None,
        dtype=None,
    ) -> None:
        super().__init__()
        check_positive("noise", noise, allow_zero=True)
        self.activation = check_choice("activation", activation, set(_ACTIVATIONS))
        self.output_activation = check_choice("output_activation", output_activation, set(_ACTIVATIONS))
        self.noise = noise
        generator = as_generator(generator)
        factory = dict(epsilon=epsilon, generator=generator, device=device, dtype=dtype)
        self.encoder = SparseEvolutionaryLinear(n_features, n_hidden, **factory)
        self.decoder = SparseEvolutionaryLinear(n_hidden, n_features, **factory)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Hidden code (batch, n_hidden) of a clean or corrupted input (batch, n_features)."""
        return _ACTIVATIONS[self.activation](self.encoder(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _ACTIVATIONS[self.output_activation](self.decoder(self.encode(x)))

    def corrupt(self, x: torch.Tensor, generator=None) -> torch.Tensor:
        """Return x + noise * N(0, I), drawn on the CPU and moved to x's device."""
        check_tensor("x", x, min_dim=1, floating=True)
        xi = torch.randn(x.shape, generator=as_generator(generator), dtype=torch.float64)
        return x + self.noise * xi.to(device=x.device, dtype=x.dtype)

    def evolve(self, zeta: float, generator=None) -> int:
        """SET step on both layers; returns the number of connections replaced."""
        generator = as_generator(generator)
        return self.encoder.evolve(zeta, generator) + self.decoder.evolve(zeta, generator)


@dataclass
class SparseDAETraining:
    """What ``train_sparse_dae`` returns.

    Attributes:
        model: the trained autoencoder (the same object that was passed in).
        losses: mean reconstruction MSE of each epoch, before that epoch's evolution step.
        replaced: connections replaced by the evolution step after each epoch.
    """

    model: SparseDenoisingAutoencoder
    losses: list[float]
    replaced: list[int]


def train_sparse_dae(
    model: SparseDenoisingAutoencoder,
    x: torch.Tensor,
    epochs: int = 20,
    batch_size: int = 100,
    lr: float = 0.01,
    momentum: float = 0.9,
    weight_decay: float = 2e-4,
    zeta: float = 0.2,
    generator=None,
) -> SparseDAETraining:
    r"""Train with SGD on $\lVert \hat x(\tilde x) - x \rVert^2$ and run a SET step after every epoch but the last.

    Args:
        model: a ``SparseDenoisingAutoencoder``.
        x: training data (n_samples, n_features) on the model's device and dtype.
        epochs, batch_size, lr, momentum, weight_decay: SGD settings.
        zeta: fraction of connections replaced per epoch (0 turns evolution off: a static sparse AE).
        generator: seed or ``torch.Generator`` for shuffling, noise and regrowth.

    Returns:
        ``SparseDAETraining`` with the per-epoch losses and replacement counts.
    """
    if not isinstance(model, SparseDenoisingAutoencoder):
        raise TypeError(f"model must be a SparseDenoisingAutoencoder, got {type(model).__name__}")
    check_tensor("x", x, dim=2, floating=True)
    if x.shape[1] != model.encoder.in_features:
        raise ValueError(f"x must have {model.encoder.in_features} columns, got shape {tuple(x.shape)}")
    check_positive("epochs", epochs, integer=True)
    check_positive("batch_size", batch_size, integer=True)
    check_positive("lr", lr)
    check_positive("momentum", momentum, allow_zero=True)
    check_positive("weight_decay", weight_decay, allow_zero=True)
    generator = as_generator(generator)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum, weight_decay=weight_decay)
    losses, replaced = [], []
    for epoch in range(epochs):
        order = torch.randperm(x.shape[0], generator=generator).to(x.device)
        total = 0.0
        for start in range(0, x.shape[0], batch_size):
            clean = x[order[start : start + batch_size]]  # (batch, n_features)
            loss = F.mse_loss(model(model.corrupt(clean, generator)), clean)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total += loss.item() * clean.shape[0]
        losses.append(total / x.shape[0])
        if epoch < epochs - 1:
            replaced.append(model.evolve(zeta, generator))
            for layer in (model.encoder, model.decoder):  # stale momentum must not revive pruned weights
                state = optimizer.state.get(layer.weight, {})
                if "momentum_buffer" in state and state["momentum_buffer"] is not None:
                    state["momentum_buffer"].mul_(layer.mask)
    return SparseDAETraining(model=model, losses=losses, replaced=replaced)
