"""Tests for the Softmax Collapse fraction against a loss computed per sample by hand."""

import pytest
import torch
import torch.nn.functional as F

from paperlab.metrics.softmax_collapse import softmax_collapse_fraction


def logits_with_margins(margins, n_classes=10, dtype=torch.float32):
    """Class 0 leads every other class (all at 0) by the given margins, one sample per margin."""
    logits = torch.zeros(len(margins), n_classes, dtype=dtype)
    logits[:, 0] = torch.tensor(margins, dtype=dtype)
    return logits, torch.zeros(len(margins), dtype=torch.long)


def test_counts_samples_whose_float16_loss_is_exactly_zero():
    logits, target = logits_with_margins([0.0, 2.0, 5.0, 30.0, 40.0])
    per_sample = [F.cross_entropy(row[None].half(), t[None]).item() for row, t in zip(logits, target)]
    expected = sum(value == 0 for value in per_sample) / len(per_sample)
    assert expected == 0.4  # the two widest margins round to a loss of exactly 0 in float16
    assert softmax_collapse_fraction(logits, target) == expected


def test_depends_on_the_dtype_and_the_loss():
    logits, target = logits_with_margins([12.0, 30.0, 60.0, 200.0])
    in_half = softmax_collapse_fraction(logits, target, dtype=torch.float16)
    in_double = softmax_collapse_fraction(logits, target, dtype=torch.float64)
    assert in_half > in_double  # more rounding, more collapse
    expected_double = (F.cross_entropy(logits.double(), target, reduction="none") == 0).float().mean().item()
    assert in_double == expected_double
    assert softmax_collapse_fraction(logits, target, loss="stablemax") == 0.0


def test_wrong_class_leading_never_collapses():
    logits, target = logits_with_margins([50.0, 60.0])
    assert softmax_collapse_fraction(logits, target + 1) == 0.0


def test_bad_inputs_raise():
    logits, target = logits_with_margins([1.0, 2.0])
    with pytest.raises(TypeError, match="dtype"):
        softmax_collapse_fraction(logits, target, dtype=torch.int32)
    with pytest.raises(ValueError, match="loss"):
        softmax_collapse_fraction(logits, target, loss="sparsemax")
    with pytest.raises(ValueError, match="target must be in"):
        softmax_collapse_fraction(logits, target + 20)
    with pytest.raises(ValueError, match="range"):
        softmax_collapse_fraction(logits * 1e5, target, dtype=torch.float16)
