"""Equal error rate against scikit-learn's ROC curve and closed-form cases."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.interpolate import interp1d
from scipy.optimize import brentq
from sklearn.metrics import roc_curve

from paperlab.metrics import equal_error_rate


def _reference_eer(scores, targets):
    """The usual recipe: the root of FNR - FPR on scikit-learn's (interpolated) ROC curve."""
    fpr, tpr, _ = roc_curve(targets, scores)
    return brentq(lambda x: 1.0 - x - interp1d(fpr, tpr)(x), 0.0, 1.0)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(4, 200), shift=st.floats(0, 3), ties=st.booleans())
def test_matches_sklearn_roc_recipe(seed, n, shift, ties):
    g = torch.Generator().manual_seed(seed)
    targets = torch.arange(n) % 3 == 0
    scores = torch.randn(n, generator=g, dtype=torch.float64) + shift * targets
    if ties:
        scores = torch.round(scores * 2) / 2
    expected = _reference_eer(scores.numpy(), targets.numpy())
    assert equal_error_rate(scores, targets) == pytest.approx(expected, abs=1e-9)


def test_closed_forms():
    separated = torch.tensor([0.9, 0.8, 0.1, 0.2])
    assert equal_error_rate(separated, torch.tensor([1, 1, 0, 0])) == 0.0
    assert equal_error_rate(separated, torch.tensor([0, 0, 1, 1])) == 1.0
    constant = torch.zeros(6)
    assert equal_error_rate(constant, torch.tensor([1, 0, 1, 0, 1, 0])) == pytest.approx(0.5)


def test_invariant_to_monotone_transform():
    g = torch.Generator().manual_seed(0)
    targets = torch.rand(100, generator=g) < 0.4
    scores = torch.randn(100, generator=g) + targets
    assert equal_error_rate(torch.exp(3 * scores), targets) == pytest.approx(
        equal_error_rate(scores, targets)
    )


@pytest.mark.parametrize(
    "scores, targets, error, name",
    [
        (torch.zeros(4), torch.ones(4, dtype=torch.bool), ValueError, "both kinds"),
        (torch.zeros(4), torch.tensor([0, 1, 2, 1]), ValueError, "0/1"),
        (torch.zeros(4), torch.tensor([0, 1, 1]), ValueError, "targets"),
        (torch.tensor([0.0, float("nan"), 1.0]), torch.tensor([0, 1, 1]), ValueError, "scores"),
        (torch.zeros(2, 2), torch.zeros(2, 2), ValueError, "scores"),
        (torch.tensor([1, 2]), torch.tensor([0, 1]), TypeError, "scores"),
    ],
)
def test_bad_inputs_raise(scores, targets, error, name):
    with pytest.raises(error, match=name):
        equal_error_rate(scores, targets)
