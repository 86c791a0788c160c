"""Synthetic CTR rows: shapes, Zipf frequencies, click rate, noise fields, determinism, bad inputs."""

from __future__ import annotations

import pytest
import torch

from paperlab.data import synthetic_ctr
from paperlab.metrics import roc_auc


def test_shapes_ranges_and_click_rate():
    data = synthetic_ctr(20_000, n_fields=6, vocab_size=50, n_noise_fields=2, click_rate=0.3, seed=0)
    assert data.x.shape == (20_000, 6) and data.x.dtype == torch.long
    assert int(data.x.min()) >= 0 and int(data.x.max()) < 50
    assert data.field_sizes == [50] * 6
    assert data.informative.tolist() == [True] * 4 + [False] * 2
    assert set(data.y.unique().tolist()) <= {0.0, 1.0}
    assert float(data.click_probability.mean()) == pytest.approx(0.3, abs=1e-3)
    assert float(data.y.mean()) == pytest.approx(0.3, abs=0.015)
    assert roc_auc(data.click_probability, data.y) > 0.7  # the true probabilities are informative


def test_zipf_frequencies():
    s = 1.2
    data = synthetic_ctr(50_000, n_fields=4, vocab_size=100, n_noise_fields=0, zipf_exponent=s, seed=1)
    counts = torch.bincount(data.x.reshape(-1), minlength=100).double()
    assert counts[0] / counts[1] == pytest.approx(2**s, rel=0.05)
    assert counts[0] / counts[3] == pytest.approx(4**s, rel=0.08)


def test_noise_fields_do_not_move_the_click_probability():
    data = synthetic_ctr(30_000, n_fields=5, vocab_size=20, n_noise_fields=2, seed=2)
    for field in (3, 4):  # the noise fields: the mean probability is the same whatever their value
        means = [data.click_probability[data.x[:, field] == v].mean() for v in range(3)]
        assert max(means) - min(means) < 0.01
    means = [data.click_probability[data.x[:, 0] == v].mean() for v in range(3)]
    assert max(means) - min(means) > 0.02  # an informative field does


def test_deterministic_with_seed():
    a, b, c = (synthetic_ctr(500, seed=s) for s in (3, 3, 4))
    assert torch.equal(a.x, b.x) and torch.equal(a.y, b.y)
    assert not torch.equal(a.x, c.x)


def test_bad_inputs_raise():
    for kwargs, name in [
        (dict(n_rows=0), "n_rows"),
        (dict(n_fields=3, n_noise_fields=3), "n_noise_fields"),
        (dict(click_rate=1.0), "click_rate"),
        (dict(zipf_exponent=-1.0), "zipf_exponent"),
        (dict(vocab_size=2.5), "vocab_size"),
    ]:
        with pytest.raises((ValueError, TypeError), match=name):
            synthetic_ctr(**kwargs)
