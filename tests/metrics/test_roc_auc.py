"""ROC-AUC against scikit-learn, with ties, and its invariances."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import roc_auc_score

from paperlab.metrics import roc_auc


@settings(max_examples=25, deadline=None)
@given(st.integers(2, 300), st.integers(1, 20), st.integers(0, 10_000))
def test_matches_sklearn_with_ties(n, n_levels, seed):
    g = torch.Generator().manual_seed(seed)
    targets = torch.randint(0, 2, (n,), generator=g)
    targets[0], targets[1] = 0, 1  # both classes present
    scores = torch.randint(0, n_levels, (n,), generator=g).double() + 0.3 * targets  # ties and some signal
    assert roc_auc(scores, targets) == pytest.approx(
        roc_auc_score(targets.numpy(), scores.numpy()), abs=1e-12
    )


def test_extremes_and_monotone_invariance():
    targets = torch.tensor([0, 0, 1, 1, 0, 1])
    scores = torch.tensor([0.1, 0.2, 0.8, 0.9, 0.3, 0.7])
    assert roc_auc(scores, targets) == 1.0
    assert roc_auc(-scores, targets) == 0.0
    assert roc_auc(torch.ones(6), targets) == 0.5
    logits = torch.randn(200, generator=torch.Generator().manual_seed(0))
    labels = (torch.rand(200, generator=torch.Generator().manual_seed(1)) < torch.sigmoid(logits)).float()
    assert roc_auc(torch.sigmoid(logits), labels) == pytest.approx(roc_auc(logits, labels))


def test_bad_inputs_raise():
    with pytest.raises(ValueError, match="both classes"):
        roc_auc(torch.randn(5), torch.ones(5))
    with pytest.raises(ValueError, match="targets"):
        roc_auc(torch.randn(5), torch.ones(4))
    with pytest.raises(ValueError, match="0 and 1"):
        roc_auc(torch.randn(3), torch.tensor([0, 1, 2]))
    with pytest.raises(TypeError, match="scores"):
        roc_auc(torch.tensor([1, 2, 3]), torch.tensor([0, 1, 1]))
    with pytest.raises(ValueError, match="scores"):
        roc_auc(torch.tensor([0.1, float("nan")]), torch.tensor([0, 1]))
