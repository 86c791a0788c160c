"""Tests for intra-class variability (against pairwise cosine distances) and the linear probe."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from paperlab.metrics.feature_transfer import intra_class_variability, linear_probe_accuracy


def pairwise_variability(features, labels, normalize=True):
    """Average within-class over average total pair distance, from the definition (class-balanced)."""
    x = features / features.norm(dim=1, keepdim=True) if normalize else features
    classes = labels.unique()
    members = [x[labels == c] for c in classes]
    if normalize:  # cosine distance 1 - cos, as in the transferability literature
        distance = lambda a, b: 1 - a @ b.T  # noqa: E731
    else:
        distance = lambda a, b: torch.cdist(a, b).pow(2) / 2  # noqa: E731
    within = sum(distance(m, m).mean() for m in members) / len(classes)
    total = sum(distance(a, b).mean() for a in members for b in members) / len(classes) ** 2
    return within / total


def blobs(n_per_class=(20, 35, 12), dim=6, spread=0.5, seed=0):
    g = torch.Generator().manual_seed(seed)
    centres = torch.randn(len(n_per_class), dim, generator=g, dtype=torch.float64) * 2
    labels = torch.cat([torch.full((n,), 3 * c + 1) for c, n in enumerate(n_per_class)])  # labels 1, 4, 7
    features = centres[(labels - 1) // 3] + spread * torch.randn(
        len(labels), dim, generator=g, dtype=torch.float64
    )
    return features, labels


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), spread=st.floats(0.05, 5.0), normalize=st.booleans())
def test_variability_matches_pairwise_definition(seed, spread, normalize):
    features, labels = blobs(spread=spread, seed=seed)
    ours = intra_class_variability(features, labels, normalize=normalize)
    torch.testing.assert_close(ours, pairwise_variability(features, labels, normalize))
    assert 0.0 <= ours.item() <= 1.0


def test_variability_grows_with_spread_and_vanishes_when_collapsed():
    values = [intra_class_variability(*blobs(spread=s)).item() for s in (0.0, 0.3, 1.0, 3.0)]
    assert values[0] == pytest.approx(0.0, abs=1e-12)
    assert values == sorted(values) and values[-1] > 0.5


def test_variability_invariant_to_label_names_and_order():
    features, labels = blobs()
    order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(0))
    relabelled = torch.tensor([0, 0, 0, 0, 9, 0, 0, 2])[labels]  # 1 -> 0, 4 -> 9, 7 -> 2
    torch.testing.assert_close(
        intra_class_variability(features[order], relabelled[order]), intra_class_variability(features, labels)
    )


@pytest.mark.parametrize(
    "features, labels, error",
    [
        (torch.randn(5, 3), torch.zeros(5, dtype=torch.long), ValueError),  # one class
        (torch.randn(5, 3), torch.arange(4), ValueError),  # length mismatch
        (torch.randn(5, 3), torch.arange(5).float(), TypeError),  # float labels
        (torch.randn(5), torch.arange(5), ValueError),  # features not 2-D
        (torch.full((5, 3), float("inf")), torch.arange(5), ValueError),  # non-finite
        (torch.ones(4, 3), torch.tensor([0, 0, 1, 1]), ValueError),  # zero total variance
    ],
)
def test_variability_bad_inputs(features, labels, error):
    with pytest.raises(error):
        intra_class_variability(features, labels)


def test_probe_separates_separable_classes_and_takes_tensors_or_arrays():
    features, labels = blobs(n_per_class=(40, 40, 40), spread=0.3, seed=1)
    train = torch.arange(len(labels)) % 2 == 0
    accuracy = linear_probe_accuracy(features[train], labels[train], features[~train], labels[~train])
    assert accuracy == 1.0
    as_arrays = [t.numpy() for t in (features[train], labels[train], features[~train], labels[~train])]
    assert linear_probe_accuracy(*as_arrays) == accuracy


def test_probe_is_at_chance_on_labels_unrelated_to_features():
    rng = np.random.default_rng(0)
    x_train, x_test = rng.normal(size=(300, 5)), rng.normal(size=(1000, 5))
    y_train, y_test = rng.integers(0, 2, 300), rng.integers(0, 2, 1000)
    assert 0.4 < linear_probe_accuracy(x_train, y_train, x_test, y_test) < 0.6  # binomial sd 0.016


def test_probe_matches_a_hand_built_reference_on_overlapping_classes():
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    features, labels = blobs(n_per_class=(60, 60, 60), spread=2.5, seed=2)
    x, y = features.numpy(), labels.numpy()
    reference = make_pipeline(StandardScaler(), LogisticRegression(C=0.3, max_iter=1000)).fit(x[::2], y[::2])
    expected = reference.score(x[1::2], y[1::2])
    assert 0.5 < expected < 1.0  # overlapping classes: the value is informative
    assert linear_probe_accuracy(x[::2], y[::2], x[1::2], y[1::2], C=0.3) == pytest.approx(expected)


@pytest.mark.parametrize(
    "change, error",
    [
        (dict(test_labels=np.array([0, 1, 5, 1])), ValueError),  # class unseen in training
        (dict(train_labels=np.zeros(6, dtype=int)), ValueError),  # one training class
        (dict(test_features=np.ones((4, 2))), ValueError),  # width mismatch
        (dict(train_labels=np.zeros(5, dtype=int)), ValueError),  # length mismatch
        (dict(train_features=np.full((6, 3), np.nan)), ValueError),  # NaN
        (dict(train_labels=np.array([0.0, 1, 0, 1, 0, 1])), ValueError),  # float labels
        (dict(train_features=[[0.0] * 3] * 6), TypeError),  # a list
        (dict(C=0.0), ValueError),
        (dict(n_threads=0), ValueError),
    ],
)
def test_probe_bad_inputs(change, error):
    args = dict(
        train_features=np.arange(18.0).reshape(6, 3),
        train_labels=np.array([0, 1, 0, 1, 0, 1]),
        test_features=np.ones((4, 3)),
        test_labels=np.array([0, 1, 0, 1]),
    )
    args.update(change)
    with pytest.raises(error):
        linear_probe_accuracy(**args)
