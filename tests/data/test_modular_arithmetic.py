"""Tests for the modular-arithmetic tables and their deterministic train/test split."""

import pytest
import torch

from paperlab.data.modular_arithmetic import modular_arithmetic, one_hot_pairs


@pytest.mark.parametrize(
    ("op", "p", "reference"),
    [
        ("+", 7, lambda a, b, p: (a + b) % p),
        ("-", 6, lambda a, b, p: (a - b) % p),
        ("*", 5, lambda a, b, p: (a * b) % p),
        ("/", 11, lambda a, b, p: next(c for c in range(p) if (c * b) % p == a)),
    ],
)
def test_labels_follow_the_operation_and_cover_the_table(op, p, reference):
    data = modular_arithmetic(p, op, train_fraction=0.3, generator=0)
    pairs = torch.cat([data.train_pairs, data.test_pairs])
    labels = torch.cat([data.train_labels, data.test_labels])
    expected_pairs = {(a, b) for a in range(p) for b in range(1 if op == "/" else 0, p)}
    assert {tuple(row) for row in pairs.tolist()} == expected_pairs and len(pairs) == len(expected_pairs)
    for (a, b), c in zip(pairs.tolist(), labels.tolist()):
        assert c == reference(a, b, p)
    assert len(data.train_pairs) == round(0.3 * len(expected_pairs))
    assert data.train_pairs.dtype == torch.long and data.train_labels.dtype == torch.long


def test_split_is_deterministic_and_depends_on_the_seed():
    first = modular_arithmetic(13, generator=3)
    again = modular_arithmetic(13, generator=torch.Generator().manual_seed(3))
    other = modular_arithmetic(13, generator=4)
    assert torch.equal(first.train_pairs, again.train_pairs) and torch.equal(
        first.test_labels, again.test_labels
    )
    assert not torch.equal(first.train_pairs, other.train_pairs)


def test_one_hot_encodes_both_operands():
    data = modular_arithmetic(5, generator=0)
    pairs = torch.tensor([[0, 4], [3, 3]])
    codes = data.one_hot(pairs, dtype=torch.float64)
    assert codes.shape == (2, 10) and codes.dtype == torch.float64
    assert codes[0].nonzero().squeeze(1).tolist() == [0, 9]
    assert codes[1].nonzero().squeeze(1).tolist() == [3, 8]
    torch.testing.assert_close(one_hot_pairs(data.train_pairs, 5).sum(1), torch.full((10,), 2.0))


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        (dict(p=1), ValueError, "p must be"),
        (dict(p=7.0), TypeError, "p must be"),
        (dict(p=7, op="^"), ValueError, "op"),
        (dict(p=7, train_fraction=1.0), ValueError, "train_fraction"),
        (dict(p=7, train_fraction=0.0), ValueError, "train_fraction"),
        (dict(p=2, train_fraction=0.1), ValueError, "empty"),
        (dict(p=9, op="/"), ValueError, "prime"),
    ],
)
def test_bad_arguments_raise(kwargs, error, match):
    with pytest.raises(error, match=match):
        modular_arithmetic(**kwargs)


def test_bad_pairs_raise():
    with pytest.raises(ValueError, match="residues"):
        one_hot_pairs(torch.tensor([[0, 5]]), 5)
    with pytest.raises(ValueError, match="shape"):
        one_hot_pairs(torch.tensor([0, 1, 2]), 5)
    with pytest.raises(TypeError, match="int64"):
        one_hot_pairs(torch.tensor([[0.0, 1.0]]), 5)
