r"""Synthetic click-through data: categorical fields with Zipf frequencies and a logistic ground truth.

A stand-in for Criteo/Avazu-style logs in click-through-rate (CTR) prediction, as used for "Unified
Low-rank Compression Framework for Click-through Rate Prediction" (2024) and "OptEmbed: Learning Optimal
Embedding Table for Click-through Rate Prediction" (2022). Each row has one feature id per field, drawn
with Zipf frequencies $\Pr(\text{id} = r) \propto (r + 1)^{-s}$. The click probability is a logistic model
with first-order weights and low-rank pairwise interactions between the informative fields:

.. math:: \mathrm{logit} = b + \sum_{f \in I} a_f[x_f] + \frac{\gamma}{\sqrt{|I|}} \sum_{f < g \in I}
          \langle v_f[x_f], v_g[x_g] \rangle,
          \qquad a \sim \mathcal N(0, \sigma_a^2),\ v \sim \mathcal N(0, I_r / \sqrt r),

$I$ the informative fields; the ``n_noise_fields`` last fields are pure noise. The bias $b$ is set by
bisection so that the mean click probability equals ``click_rate``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from paperlab._checks import check_positive
from paperlab._random import as_generator


@dataclass
class CTRData:
    """Synthetic CTR rows.

    Attributes:
        x: (n_rows, n_fields) int64 feature ids, field-local (0 <= x[:, f] < field_sizes[f]).
        y: (n_rows,) float32 clicks in {0, 1}.
        click_probability: (n_rows,) the true click probabilities (the Bayes-optimal scores).
        field_sizes: vocabulary size of every field.
        informative: (n_fields,) bool, False for the pure-noise fields.
    """

    x: torch.Tensor
    y: torch.Tensor
    click_probability: torch.Tensor
    field_sizes: list
    informative: torch.Tensor


def synthetic_ctr(
    n_rows: int = 50_000,
    n_fields: int = 10,
    vocab_size: int = 100,
    n_noise_fields: int = 2,
    zipf_exponent: float = 1.1,
    interaction_rank: int = 4,
    interaction_scale: float = 1.0,
    first_order_scale: float = 0.3,
    click_rate: float = 0.2,
    seed=None,
) -> CTRData:
    """Draw ``n_rows`` CTR rows (see the module docstring for the model).

    Args:
        n_rows: number of rows.
        n_fields: categorical fields, including the noise fields.
        vocab_size: feature values per field.
        n_noise_fields: fields with no effect on clicks (the last ones), 0 <= . < n_fields.
        zipf_exponent: s > 0 of the Zipf frequencies (larger: more skewed).
        interaction_rank: r, width of the interaction vectors.
        interaction_scale: gamma, strength of the pairwise interactions.
        first_order_scale: sigma_a, spread of the first-order weights.
        click_rate: mean click probability, in (0, 1).
        seed: int, torch.Generator or None (draws on the CPU).

    Returns:
        :class:`CTRData`.
    """
    for name, value in [("n_rows", n_rows), ("n_fields", n_fields), ("vocab_size", vocab_size)]:
        check_positive(name, value, integer=True)
    check_positive("n_noise_fields", n_noise_fields, integer=True, allow_zero=True)
    if n_noise_fields >= n_fields:
        raise ValueError(f"n_noise_fields must be < n_fields = {n_fields}, got {n_noise_fields}")
    check_positive("zipf_exponent", zipf_exponent)
    check_positive("interaction_rank", interaction_rank, integer=True)
    check_positive("interaction_scale", interaction_scale, allow_zero=True)
    check_positive("first_order_scale", first_order_scale, allow_zero=True)
    check_positive("click_rate", click_rate)
    if click_rate >= 1:
        raise ValueError(f"click_rate must be in (0, 1), got {click_rate}")
    generator = as_generator(seed)
    frequencies = (torch.arange(vocab_size, dtype=torch.float64) + 1) ** -zipf_exponent  # (V,)
    x = torch.multinomial(frequencies, n_rows * n_fields, replacement=True, generator=generator)
    x = x.reshape(n_rows, n_fields)  # (n, F)
    n_informative = n_fields - n_noise_fields
    first_order = first_order_scale * torch.randn(
        n_informative, vocab_size, generator=generator, dtype=torch.float64
    )
    vectors = torch.randn(
        n_informative, vocab_size, interaction_rank, generator=generator, dtype=torch.float64
    )
    vectors = vectors / math.sqrt(math.sqrt(interaction_rank))  # <v, v'> has variance 1
    fields = torch.arange(n_informative)
    logit = first_order[fields, x[:, :n_informative]].sum(dim=1)  # (n,)
    chosen = vectors[fields, x[:, :n_informative]]  # (n, |I|, r)
    summed = chosen.sum(dim=1)  # (n, r): sum_{f<g} <v_f, v_g> = (||sum v||^2 - sum ||v||^2) / 2
    pairwise = ((summed * summed).sum(dim=1) - (chosen * chosen).sum(dim=(1, 2))) / 2
    logit = logit + interaction_scale / math.sqrt(n_informative) * pairwise
    bias = _bias_for_rate(logit, click_rate)
    probability = torch.sigmoid(logit + bias)
    y = torch.bernoulli(probability, generator=generator)
    informative = torch.arange(n_fields) < n_informative
    return CTRData(x, y.float(), probability.float(), [vocab_size] * n_fields, informative)


def _bias_for_rate(logit: torch.Tensor, rate: float, steps: int = 60) -> float:
    """The b with mean(sigmoid(logit + b)) = rate, by bisection (the mean is increasing in b)."""
    low, high = -50.0, 50.0
    for _ in range(steps):
        middle = (low + high) / 2
        if torch.sigmoid(logit + middle).mean().item() < rate:
            low = middle
        else:
            high = middle
    return (low + high) / 2
