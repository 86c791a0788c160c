"""Covariance spectrum, effective rank and condition number against numpy and closed forms."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from paperlab.losses import whiten
from paperlab.metrics import condition_number, covariance_spectrum, effective_rank


def randn(*shape, seed=0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def test_spectrum_matches_numpy():
    x = randn(40, 5) @ randn(5, 5, seed=1)
    expected = np.sort(np.linalg.eigvalsh(np.cov(x.numpy(), rowvar=False)))[::-1]
    assert np.allclose(covariance_spectrum(x).numpy(), expected, atol=1e-12)
    assert condition_number(x) == pytest.approx(expected[0] / expected[-1], rel=1e-9)


def test_effective_rank_matches_singular_value_entropy():
    x = randn(60, 6) @ randn(6, 6, seed=2)
    s = np.linalg.svd(x.numpy() - x.numpy().mean(0), compute_uv=False)
    p = s / s.sum()
    assert effective_rank(x) == pytest.approx(np.exp(-(p * np.log(p)).sum()), rel=1e-9)


def test_effective_rank_closed_forms():
    assert effective_rank(whiten(randn(100, 7))) == pytest.approx(7.0, rel=1e-9)
    line = randn(50, 1) @ randn(1, 4, seed=3)
    assert effective_rank(line) == pytest.approx(1.0, abs=1e-6)
    assert condition_number(line) > 1e8


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), scale=st.floats(1e-3, 1e3))
def test_effective_rank_is_scale_and_shift_invariant(seed, scale):
    x = randn(30, 4, seed=seed)
    assert effective_rank(scale * x + 5.0) == pytest.approx(effective_rank(x), rel=1e-6)


def test_bad_inputs():
    with pytest.raises(ValueError, match="constant"):
        effective_rank(torch.ones(5, 3, dtype=torch.float64))
    with pytest.raises(ValueError, match="embeddings"):
        covariance_spectrum(torch.ones(1, 3, dtype=torch.float64))
    with pytest.raises(TypeError, match="embeddings"):
        covariance_spectrum(torch.ones(4, 3, dtype=torch.int64))
