"""Tests for the mean IoU, against scikit-learn's jaccard_score."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import confusion_matrix as sk_confusion_matrix
from sklearn.metrics import jaccard_score

from paperlab.metrics.segmentation import confusion_matrix, mean_iou


def random_labels(shape, n_classes, seed):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, n_classes, shape, generator=g), torch.randint(0, n_classes, shape, generator=g)


@settings(max_examples=25, deadline=None)
@given(n_classes=st.integers(2, 6), seed=st.integers(0, 10_000), n_pixels=st.integers(1, 60))
def test_property_matches_sklearn_macro_jaccard_over_seen_classes(n_classes, seed, n_pixels):
    pred, target = random_labels((n_pixels,), n_classes, seed)
    seen = sorted(set(pred.tolist()) | set(target.tolist()))
    expected = jaccard_score(target.numpy(), pred.numpy(), labels=seen, average="macro")
    assert float(mean_iou(pred, target, n_classes)) == pytest.approx(expected, abs=1e-12)


def test_images_and_confusion_matrix():
    pred, target = random_labels((3, 8, 9), 4, 0)
    expected = sk_confusion_matrix(target.flatten().numpy(), pred.flatten().numpy(), labels=range(4))
    assert confusion_matrix(pred, target, 4).tolist() == expected.tolist()
    flat = jaccard_score(target.flatten().numpy(), pred.flatten().numpy(), average="macro")
    assert float(mean_iou(pred, target, 4)) == pytest.approx(flat, abs=1e-12)


def test_closed_forms():
    target = torch.tensor([0, 0, 1, 1])
    assert float(mean_iou(target, target, 2)) == 1.0
    assert float(mean_iou(1 - target, target, 2)) == 0.0
    # class 0: TP 1, union 3 -> 1/3; class 1: TP 1, union 3 -> 1/3; class 2 absent everywhere: left out
    assert float(mean_iou(torch.tensor([0, 1, 1, 0]), target, 3)) == pytest.approx(1 / 3)


def test_bad_inputs_raise():
    pred, target = random_labels((10,), 3, 0)
    with pytest.raises(ValueError, match="int64"):
        mean_iou(pred.int(), target, 3)
    with pytest.raises(ValueError, match=r"in \[0, 3\)"):
        mean_iou(pred + 3, target, 3)
    with pytest.raises(ValueError, match="same shape"):
        mean_iou(pred[:5], target, 3)
    with pytest.raises(ValueError, match="n_classes"):
        mean_iou(pred, target, 0)
    with pytest.raises(ValueError, match="empty"):
        mean_iou(pred[:0], target[:0], 3)
