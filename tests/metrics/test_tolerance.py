"""Tolerance metric: a naive pair loop, closed forms and bad inputs."""

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from paperlab.metrics import tolerance


def naive_tolerance(z, labels):
    z = F.normalize(z, dim=1)
    values = [
        float(z[i] @ z[j])
        for i in range(len(labels))
        for j in range(len(labels))
        if i != j and labels[i] == labels[j]
    ]
    return sum(values) / len(values)


@settings(max_examples=25, deadline=None)
@given(n=st.integers(2, 20), d=st.integers(1, 5), n_classes=st.integers(1, 4), seed=st.integers(0, 2**16))
def test_matches_naive_pair_loop(n, d, n_classes, seed):
    generator = torch.Generator().manual_seed(seed)
    z = torch.randn(n, d, generator=generator, dtype=torch.float64)
    labels = torch.randint(0, n_classes, (n,), generator=generator)
    labels[1] = labels[0]  # at least one same-class pair
    assert tolerance(z, labels).item() == pytest.approx(naive_tolerance(z, labels), abs=1e-10)


def test_closed_forms():
    labels = torch.tensor([0, 0, 1, 1])
    collapsed = torch.tensor([[1.0, 0.0], [2.0, 0.0], [0.0, 3.0], [0.0, 1.0]])
    assert tolerance(collapsed, labels).item() == pytest.approx(1.0)
    opposed = torch.tensor([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]])
    assert tolerance(opposed, labels).item() == pytest.approx(-1.0)
    orthogonal = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0], [0.0, 5.0]])
    assert tolerance(orthogonal, labels).item() == pytest.approx(0.0)


def test_without_normalization_uses_raw_dot_products():
    z = torch.tensor([[2.0, 0.0], [3.0, 0.0]], dtype=torch.float64)
    assert tolerance(z, torch.tensor([0, 0]), normalize=False).item() == pytest.approx(6.0)


@pytest.mark.parametrize(
    "embeddings, labels, error, match",
    [
        (torch.randn(4, 2), torch.tensor([0, 1, 2, 3]), ValueError, "two members"),
        (torch.randn(4, 2), torch.tensor([0, 0, 1]), ValueError, "one entry per row"),
        (torch.randn(4, 2), torch.tensor([0.0, 0.0, 1.0, 1.0]), TypeError, "integer"),
        (torch.randn(4), torch.tensor([0, 0, 1, 1]), ValueError, "2 dimensions"),
        (torch.full((4, 2), float("inf")), torch.tensor([0, 0, 1, 1]), ValueError, "finite"),
    ],
)
def test_bad_inputs(embeddings, labels, error, match):
    with pytest.raises(error, match=match):
        tolerance(embeddings, labels)
