"""Tests for synthetic symmetric and asymmetric label noise."""

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from paperlab.data import DIGITS_CLASS_MAP, corrupt_labels


def balanced_labels(n_classes=10, per_class=2_000):
    return torch.arange(n_classes).repeat_interleave(per_class)


def within_binomial(observed_fraction, n, p, n_sigma=5.0):
    """True when a fraction of n Bernoulli(p) draws lies within n_sigma standard deviations of p."""
    return abs(observed_fraction - p) <= n_sigma * math.sqrt(p * (1 - p) / n) + 1e-12


@pytest.mark.parametrize("rate", [0.2, 0.6, 0.8])
def test_symmetric_rate_and_uniform_wrong_classes(rate):
    labels = balanced_labels()
    noisy = corrupt_labels(labels, 10, rate, seed=0)
    flipped = noisy != labels
    assert within_binomial(flipped.double().mean().item(), len(labels), rate)
    for k in range(10):  # within each class, the flip rate is rate and every other class is equally likely
        of_class = labels == k
        assert within_binomial(flipped[of_class].double().mean().item(), int(of_class.sum()), rate)
        wrong = noisy[of_class & flipped]
        counts = torch.bincount(wrong, minlength=10)
        assert counts[k] == 0
        for j in range(10):
            if j != k:
                assert within_binomial(counts[j].item() / len(wrong), len(wrong), 1 / 9)


@pytest.mark.parametrize("rate", [0.4, 0.9])
def test_asymmetric_follows_the_digit_map(rate):
    labels = balanced_labels()
    noisy = corrupt_labels(labels, 10, rate, kind="asymmetric", seed=1)
    for k in range(10):
        of_class = labels == k
        flipped = noisy[of_class] != k
        if k in DIGITS_CLASS_MAP:
            assert bool((noisy[of_class][flipped] == DIGITS_CLASS_MAP[k]).all())
            assert within_binomial(flipped.double().mean().item(), int(of_class.sum()), rate)
        else:
            assert not bool(flipped.any())
    assert DIGITS_CLASS_MAP == {7: 1, 2: 7, 5: 6, 6: 5, 3: 8}


def test_asymmetric_with_custom_map_and_rate_one():
    labels = torch.tensor([0, 1, 2, 3, 0, 1, 2, 3])
    noisy = corrupt_labels(labels, 4, 1.0, kind="asymmetric", class_map={0: 3, 2: 1}, seed=0)
    assert noisy.tolist() == [3, 1, 1, 3, 3, 1, 1, 3]


def test_extreme_rates():
    labels = balanced_labels(per_class=50)
    assert torch.equal(corrupt_labels(labels, 10, 0.0, seed=0), labels)
    assert bool((corrupt_labels(labels, 10, 1.0, seed=0) != labels).all())
    assert torch.equal(corrupt_labels(labels, 10, 0.0, kind="asymmetric", seed=0), labels)


def test_determinism_and_generator():
    labels = balanced_labels(per_class=100)
    first = corrupt_labels(labels, 10, 0.5, seed=7)
    assert torch.equal(first, corrupt_labels(labels, 10, 0.5, seed=7))
    assert not torch.equal(first, corrupt_labels(labels, 10, 0.5, seed=8))
    g1, g2 = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    draws = [corrupt_labels(labels, 10, 0.5, seed=g1) for _ in range(2)]
    assert not torch.equal(draws[0], draws[1])  # a generator advances
    assert torch.equal(draws[0], corrupt_labels(labels, 10, 0.5, seed=g2))


@settings(max_examples=25, deadline=None)
@given(
    shape=st.lists(st.integers(1, 6), min_size=1, max_size=3),
    n_classes=st.integers(2, 12),
    rate=st.floats(0.0, 1.0),
    seed=st.integers(0, 10_000),
)
def test_property_shape_dtype_range_and_only_flips_change(shape, n_classes, rate, seed):
    g = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, n_classes, shape, generator=g)
    noisy = corrupt_labels(labels, n_classes, rate, seed=seed)
    assert noisy.shape == labels.shape and noisy.dtype == torch.long and noisy.device == labels.device
    assert bool(((noisy >= 0) & (noisy < n_classes)).all())
    again = corrupt_labels(labels, n_classes, rate, seed=seed)
    assert torch.equal(noisy, again)
    assert torch.equal(
        labels, torch.randint(0, n_classes, shape, generator=torch.Generator().manual_seed(seed))
    )


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        (dict(labels=torch.tensor([0.0, 1.0])), ValueError, "int64"),
        (dict(labels=[0, 1]), TypeError, "torch.Tensor"),
        (dict(labels=torch.tensor([0, 10])), ValueError, "labels must be in"),
        (dict(labels=torch.tensor([-1, 0])), ValueError, "labels must be in"),
        (dict(labels=torch.tensor([], dtype=torch.long)), ValueError, "empty"),
        (dict(n_classes=1), ValueError, "n_classes"),
        (dict(n_classes=2.5), TypeError, "n_classes"),
        (dict(rate=-0.1), ValueError, "rate"),
        (dict(rate=1.5), ValueError, "rate"),
        (dict(rate=float("nan")), ValueError, "rate"),
        (dict(kind="pairflip"), ValueError, "kind"),
        (dict(seed=-1), ValueError, "seed"),
        (dict(class_map={1: 2}), ValueError, "class_map"),
        (dict(kind="asymmetric", n_classes=12, labels=torch.tensor([0, 11])), ValueError, "10 classes"),
        (dict(kind="asymmetric", class_map={1: 1}), ValueError, "another"),
        (dict(kind="asymmetric", class_map={1: 10}), ValueError, "class_map"),
        (dict(kind="asymmetric", class_map={}), ValueError, "class_map"),
        (dict(kind="asymmetric", class_map=[(1, 2)]), ValueError, "class_map"),
    ],
)
def test_bad_inputs_raise(kwargs, error, message):
    arguments = dict(labels=torch.tensor([0, 1, 2]), n_classes=10, rate=0.3, seed=0) | kwargs
    with pytest.raises(error, match=message):
        corrupt_labels(**arguments)
