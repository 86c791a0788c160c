"""Tests for the few-shot episode sampler."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from paperlab.data import fewshot_episodes


def _indexed_pool(n_classes=6, per_class=30):
    """Features that name their own row (feature 0 = row index) and labels 0..n_classes-1."""
    labels = torch.arange(n_classes).repeat_interleave(per_class)
    features = torch.stack([torch.arange(len(labels), dtype=torch.float64), labels.double()], dim=1)
    return features, labels


@settings(max_examples=25, deadline=None)
@given(
    n_way=st.integers(2, 5),
    n_shot=st.integers(1, 4),
    n_query=st.integers(1, 10),
    imbalance=st.sampled_from([None, 0.5, 2.0]),
    seed=st.integers(0, 1000),
)
def test_episodes_are_consistent(n_way, n_shot, n_query, imbalance, seed):
    features, labels = _indexed_pool()
    ep = fewshot_episodes(features, labels, n_way, n_shot, n_query, 4, imbalance=imbalance, seed=seed)
    assert ep.support.shape == (4, n_way * n_shot, 2)
    assert ep.query.shape == (4, n_way * n_query, 2)
    for e in range(4):
        # the episode label k stands for the original class classes[e, k], for supports and queries alike
        assert torch.equal(ep.classes[e][ep.support_labels[e]].double(), ep.support[e, :, 1])
        assert torch.equal(ep.classes[e][ep.query_labels[e]].double(), ep.query[e, :, 1])
        rows = torch.cat([ep.support[e, :, 0], ep.query[e, :, 0]])
        assert len(torch.unique(rows)) == len(rows)  # no image is both support and query, or twice
        assert len(torch.unique(ep.classes[e])) == n_way
        counts = torch.bincount(ep.support_labels[e], minlength=n_way)
        assert torch.equal(counts, torch.full((n_way,), n_shot))
        if imbalance is None:
            assert torch.equal(
                torch.bincount(ep.query_labels[e], minlength=n_way), torch.full((n_way,), n_query)
            )
    assert torch.allclose(ep.query_proportions.sum(1), torch.ones(4, dtype=torch.float64))


def test_imbalance_changes_class_counts_and_seed_fixes_them():
    features, labels = _indexed_pool(5, 60)
    ep = fewshot_episodes(features, labels, 5, 1, 10, 50, imbalance=1.0, seed=3)
    spread = ep.query_proportions.max(1).values - ep.query_proportions.min(1).values
    assert spread.mean() > 0.15  # Dir(1) proportions are far from uniform on average
    again = fewshot_episodes(features, labels, 5, 1, 10, 50, imbalance=1.0, seed=3)
    assert torch.equal(ep.query, again.query) and torch.equal(ep.query_labels, again.query_labels)
    other = fewshot_episodes(features, labels, 5, 1, 10, 50, imbalance=1.0, seed=4)
    assert not torch.equal(ep.query_labels, other.query_labels)


def test_classes_argument_restricts_the_pool():
    features, labels = _indexed_pool()
    ep = fewshot_episodes(features, labels, 3, 1, 2, 20, classes=[3, 4, 5], seed=0)
    assert set(ep.classes.flatten().tolist()) == {3, 4, 5}


def test_bad_inputs_raise():
    features, labels = _indexed_pool(3, 5)
    with pytest.raises(ValueError, match="n_way"):
        fewshot_episodes(features, labels, n_way=4)
    with pytest.raises(ValueError, match=r"n_shot \+ n_query = 6 examples, the smallest has 5"):
        fewshot_episodes(features, labels, n_way=3, n_shot=3, n_query=3)
    with pytest.raises(ValueError, match=r"n_shot \+ 1 = 6 examples, the smallest has 5"):
        fewshot_episodes(features, labels, n_way=3, n_shot=5, n_query=1, imbalance=1.0)
    with pytest.raises(TypeError, match="labels"):
        fewshot_episodes(features, labels.double(), n_way=2)
    with pytest.raises(ValueError, match="labels"):
        fewshot_episodes(features, labels[:-1], n_way=2)
    with pytest.raises(ValueError, match="imbalance"):
        fewshot_episodes(features, labels, 2, 1, 2, imbalance=-1.0)
    with pytest.raises(ValueError, match="n_query"):
        fewshot_episodes(features, labels, 2, 1, 0)
    with pytest.raises(ValueError, match="finite"):
        fewshot_episodes(features * float("nan"), labels, 2, 1, 2)
