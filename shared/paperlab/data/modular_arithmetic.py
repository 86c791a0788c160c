r"""Modular arithmetic tables, the classic grokking task: predict :math:`(a \circ b) \bmod p`.

Used by "Grokking at the Edge of Numerical Stability" (2025), after the algorithmic datasets on which
grokking was first seen. Every pair :math:`(a, b)` of residues is one sample; a random fraction of the
table is the training set and the rest the test set, so the test set probes whether the network
learned the operation rather than memorized the table.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from paperlab._checks import check_choice, check_positive
from paperlab._random import as_generator

OPERATIONS = ("+", "-", "*", "/")


@dataclass
class ModularArithmetic:
    """A train/test split of the table of :math:`(a \\circ b) \\bmod p`.

    ``*_pairs`` are int64 ``(n, 2)`` rows ``(a, b)``, ``*_labels`` int64 ``(n,)`` results in ``[0, p)``.
    """

    p: int
    op: str
    train_pairs: torch.Tensor
    train_labels: torch.Tensor
    test_pairs: torch.Tensor
    test_labels: torch.Tensor

    def one_hot(self, pairs: torch.Tensor, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        """Concatenated one-hot codes of ``a`` and ``b``: ``(n, 2)`` pairs to ``(n, 2p)`` inputs."""
        return one_hot_pairs(pairs, self.p, dtype)


def _is_prime(p: int) -> bool:
    return p >= 2 and all(p % k for k in range(2, int(p**0.5) + 1))


def modular_arithmetic(
    p: int, op: str = "+", train_fraction: float = 0.4, generator=None
) -> ModularArithmetic:
    r"""Every pair of residues with its result :math:`(a \circ b) \bmod p`, split at random.

    ``"+"``, ``"-"`` and ``"*"`` use all :math:`p^2` pairs; ``"/"`` means :math:`a\, b^{-1} \bmod p`, needs
    a prime :math:`p` and uses the :math:`p (p - 1)` pairs with :math:`b \ne 0`. The split is a random
    permutation drawn from ``generator``: the same seed gives the same split.

    Args:
        p: the modulus, an integer ``>= 2``.
        op: one of ``"+"``, ``"-"``, ``"*"``, ``"/"``.
        train_fraction: share of the table in the training set, in ``(0, 1)``; both parts are non-empty.
        generator: int seed, ``torch.Generator`` or None (torch's global generator).

    Returns:
        A :class:`ModularArithmetic` with int64 tensors on the CPU.
    """
    check_positive("p", p, integer=True)
    if p < 2:
        raise ValueError(f"p must be >= 2, got {p!r}")
    check_choice("op", op, OPERATIONS)
    check_positive("train_fraction", train_fraction)
    if train_fraction >= 1:
        raise ValueError(f"train_fraction must be in (0, 1), got {train_fraction!r}")
    if op == "/" and not _is_prime(p):
        raise ValueError(f"p must be prime for op='/', got {p!r}")
    generator = as_generator(generator)

    residues = torch.arange(p)
    a, b = torch.meshgrid(residues, residues if op != "/" else residues[1:], indexing="ij")
    pairs = torch.stack([a.reshape(-1), b.reshape(-1)], dim=1)  # (n, 2)
    labels = _apply(op, pairs[:, 0], pairs[:, 1], p)
    n_train = round(train_fraction * len(pairs))
    if not 0 < n_train < len(pairs):
        raise ValueError(
            f"train_fraction={train_fraction!r} leaves an empty train or test set of the {len(pairs)} pairs"
        )
    order = torch.randperm(len(pairs), generator=generator)
    train, test = order[:n_train], order[n_train:]
    return ModularArithmetic(p, op, pairs[train], labels[train], pairs[test], labels[test])


def _apply(op: str, a: torch.Tensor, b: torch.Tensor, p: int) -> torch.Tensor:
    if op == "+":
        return (a + b) % p
    if op == "-":
        return (a - b) % p
    if op == "*":
        return (a * b) % p
    inverse = torch.tensor([pow(int(v), -1, p) for v in range(1, p)])  # b^{-1} for b = 1 .. p-1
    return (a * inverse[b - 1]) % p


def one_hot_pairs(pairs: torch.Tensor, p: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Concatenate the one-hot codes of the two operands: ``(n, 2)`` int64 to ``(n, 2p)`` of ``dtype``.

    Args:
        pairs: int64 ``(n, 2)`` residues in ``[0, p)``.
        p: the modulus.
        dtype: floating dtype of the result.
    """
    check_positive("p", p, integer=True)
    if not isinstance(pairs, torch.Tensor) or pairs.dtype != torch.long:
        raise TypeError(f"pairs must be an int64 tensor, got {getattr(pairs, 'dtype', type(pairs).__name__)}")
    if pairs.dim() != 2 or pairs.shape[1] != 2:
        raise ValueError(f"pairs must have shape (n, 2), got {tuple(pairs.shape)}")
    if pairs.numel() and bool(((pairs < 0) | (pairs >= p)).any()):
        raise ValueError(
            f"pairs must hold residues in [0, {p}), got values in [{pairs.min()}, {pairs.max()}]"
        )
    codes = torch.nn.functional.one_hot(pairs, p).to(dtype)  # (n, 2, p)
    return codes.reshape(len(pairs), 2 * p)  # (n, 2p)
