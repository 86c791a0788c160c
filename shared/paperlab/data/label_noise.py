r"""Synthetic label noise: symmetric (uniform flips) and asymmetric (class-dependent flips).

The two noise models of "Normalized Loss Functions for Deep Learning with Noisy Labels" (2020), as used
by the label-noise literature to test robust losses on clean datasets.
"""

from __future__ import annotations

import torch

from paperlab._checks import check_choice, check_positive, check_tensor
from paperlab._random import as_generator

# The paper's asymmetric noise for the ten digits, pairs of visually similar classes:
# 7 -> 1, 2 -> 7, 5 <-> 6, 3 -> 8; the other classes keep their label.
DIGITS_CLASS_MAP = {7: 1, 2: 7, 5: 6, 6: 5, 3: 8}


def corrupt_labels(
    labels: torch.Tensor,
    n_classes: int,
    rate: float,
    kind: str = "symmetric",
    seed=None,
    class_map: dict[int, int] | None = None,
) -> torch.Tensor:
    r"""Return a copy of ``labels`` with a fraction ``rate`` of them flipped to a wrong class.

    Each label is flipped independently with probability :math:`\eta` = ``rate``:

    - ``"symmetric"``: every label may flip, to one of the :math:`K - 1` *other* classes drawn uniformly,
      so the fraction of wrong labels is :math:`\eta` on average (the transition matrix has
      :math:`1 - \eta` on the diagonal and :math:`\eta / (K - 1)` elsewhere).
    - ``"asymmetric"``: only labels of a source class of ``class_map`` may flip, always to that class's
      target, :math:`P(\tilde y = m(y) \mid y) = \eta`; labels of other classes never change, so the
      fraction of wrong labels is :math:`\eta` times the share of source-class labels. The default map is
      the paper's one for the ten digits, 7 -> 1, 2 -> 7, 5 <-> 6, 3 -> 8 (``DIGITS_CLASS_MAP``).

    Args:
        labels: int64 class indices in ``[0, n_classes)``, any shape.
        n_classes: number of classes :math:`K \ge 2`.
        rate: flip probability :math:`\eta \in [0, 1]`.
        kind: ``"symmetric"`` or ``"asymmetric"``.
        seed: int, ``torch.Generator`` or None (torch's global generator); draws happen on the CPU, so one
            seed gives the same labels on every device.
        class_map: for ``"asymmetric"``, source class -> target class (distinct, both in range); None means
            ``DIGITS_CLASS_MAP`` and needs ``n_classes == 10``.

    Returns:
        Noisy labels, same shape, dtype and device as ``labels``.
    """
    check_tensor("labels", labels)
    if labels.dtype != torch.long:
        raise ValueError(f"labels must be int64 class indices, got dtype {labels.dtype}")
    check_positive("n_classes", n_classes, integer=True)
    if n_classes < 2:
        raise ValueError(f"n_classes must be >= 2, got {n_classes!r}")
    if bool(((labels < 0) | (labels >= n_classes)).any()):
        raise ValueError(
            f"labels must be in [0, {n_classes}), got values in [{labels.min().item()}, {labels.max().item()}]"
        )
    check_positive("rate", rate, allow_zero=True)
    if not 0 <= rate <= 1:  # also rejects NaN
        raise ValueError(f"rate must be in [0, 1], got {rate!r}")
    check_choice("kind", kind, {"symmetric", "asymmetric"})
    if kind == "symmetric" and class_map is not None:
        raise ValueError(
            "class_map is only used with kind='asymmetric', got a class_map with kind='symmetric'"
        )
    generator = as_generator(seed)
    clean = labels.detach().cpu()
    flip = torch.rand(clean.shape, generator=generator, dtype=torch.float64) < rate  # same shape as labels
    if kind == "symmetric":
        # an offset in 1..K-1 added modulo K gives each other class with probability 1 / (K - 1)
        offset = torch.randint(1, n_classes, clean.shape, generator=generator)
        wrong = (clean + offset) % n_classes
    else:
        mapping = _class_map_table(class_map, n_classes)  # (K,): target class, or the class itself
        wrong = mapping[clean]
    noisy = torch.where(flip, wrong, clean)
    return noisy.to(labels.device)


def _class_map_table(class_map, n_classes: int) -> torch.Tensor:
    """Turn a ``{source: target}`` map into a lookup table of length ``n_classes`` (identity elsewhere)."""
    if class_map is None:
        if n_classes != 10:
            raise ValueError(
                f"the default class_map is for 10 classes, got n_classes={n_classes}; pass class_map"
            )
        class_map = DIGITS_CLASS_MAP
    if not isinstance(class_map, dict) or not class_map:
        raise ValueError(f"class_map must be a non-empty dict {{source: target}}, got {class_map!r}")
    table = torch.arange(n_classes)
    for source, target in class_map.items():
        for value in (source, target):
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < n_classes:
                raise ValueError(
                    f"class_map must map classes in [0, {n_classes}), got {source!r}: {target!r}"
                )
        if source == target:
            raise ValueError(f"class_map must map a class to another one, got {source!r}: {target!r}")
        table[source] = target
    return table
