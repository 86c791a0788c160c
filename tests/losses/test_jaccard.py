"""Tests for the soft Jaccard loss and the Jaccard metric losses (JML1, JML2)."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from paperlab.losses.jaccard import JaccardMetricLoss, SoftJaccardLoss, jaccard_metric_loss, soft_jaccard_loss

VARIANTS = ["jml1", "jml2"]


def make_problem(n=3, n_classes=4, spatial=(5, 6), seed=0, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    input = torch.randn((n, n_classes, *spatial), generator=g, dtype=dtype).mul(2).softmax(1)
    hard = torch.randint(0, n_classes, (n, *spatial), generator=g)
    soft = torch.randn((n, n_classes, *spatial), generator=g, dtype=dtype).softmax(1)
    return input, hard, soft


def one_hot(target, n_classes, dtype=torch.float64):
    return torch.nn.functional.one_hot(target, n_classes).movedim(-1, 1).to(dtype)


def naive_loss(kind, x, y, smooth):
    """One class's loss from flat vectors, written from the paper's formulas."""
    l1_x, l1_y, l1_diff, dot = x.sum(), y.sum(), (x - y).abs().sum(), (x * y).sum()
    if kind == "soft":
        return 1 - (dot + smooth) / (l1_x + l1_y - dot + smooth)
    if kind == "jml1":
        return 1 - (l1_x + l1_y - l1_diff + smooth) / (l1_x + l1_y + l1_diff + smooth)
    return 1 - (dot + smooth) / (dot + l1_diff + smooth)


def naive_reduced(kind, x, y, per_image, classes, smooth):
    """Mean over (images and) selected classes, with Python loops over images and classes."""
    n, c = x.shape[:2]
    present = one_hot(y.argmax(1), c).flatten(2).amax(2) > 0  # (N, C)
    groups = [range(n)] if not per_image else [[i] for i in range(n)]
    means = []
    for images in groups:
        losses = []
        for k in range(c):
            if classes == "present" and not present[list(images), k].any():
                continue
            losses.append(
                naive_loss(kind, x[list(images), k].flatten(), y[list(images), k].flatten(), smooth)
            )
        if losses:
            means.append(torch.stack(losses).mean())
    return torch.stack(means).mean()


def loss_fn(kind):
    if kind == "soft":
        return soft_jaccard_loss
    return lambda *args, **kwargs: jaccard_metric_loss(*args, variant=kind, **kwargs)


@pytest.mark.parametrize("kind", ["soft", *VARIANTS])
@pytest.mark.parametrize("per_image", [False, True])
@pytest.mark.parametrize("classes", ["all", "present"])
@pytest.mark.parametrize("smooth", [0.0, 1.0])
def test_matches_naive_formula_on_soft_labels(kind, per_image, classes, smooth):
    input, _, soft = make_problem()
    soft[0, 3] = 0.0  # class 3 absent from image 0
    soft[0] /= soft[0].sum(0, keepdim=True)
    ours = loss_fn(kind)(input, soft, per_image=per_image, classes=classes, smooth=smooth)
    expected = naive_reduced(kind, input, soft, per_image, classes, smooth)
    torch.testing.assert_close(ours, expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("per_image", [False, True])
@pytest.mark.parametrize("classes", ["all", "present"])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_jml_equals_soft_jaccard_on_hard_labels(variant, per_image, classes, reduction):
    input, hard, _ = make_problem(n_classes=5)  # 5 classes over 30 pixels: some may be absent
    kwargs = dict(reduction=reduction, per_image=per_image, classes=classes, smooth=0.0)
    jml = jaccard_metric_loss(input, hard, variant, **kwargs)
    torch.testing.assert_close(jml, soft_jaccard_loss(input, hard, **kwargs), rtol=0, atol=1e-6)
    # one-hot float labels are the same labels as the class indices
    torch.testing.assert_close(jml, jaccard_metric_loss(input, one_hot(hard, 5), variant, **kwargs))


def test_jml_differs_from_soft_jaccard_on_soft_labels():
    input, _, soft = make_problem()
    gap = jaccard_metric_loss(input, soft, smooth=0.0) - soft_jaccard_loss(input, soft, smooth=0.0)
    assert gap.abs() > 1e-3


probability_vectors = st.integers(0, 2**31 - 1).map(
    lambda seed: torch.rand(3, 1, 2, 7, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
)


def _distance(variant, x, y):
    """JML between two vectors of [0, 1]^14 seen as one class's maps, no smoothing."""
    return jaccard_metric_loss(x, y, variant, reduction="none", classes="all", smooth=0.0)


@settings(max_examples=25, deadline=None)
@given(vectors=probability_vectors, variant=st.sampled_from(VARIANTS), snap=st.booleans())
def test_property_jml_is_a_metric(vectors, variant, snap):
    if snap:  # push entries to the corners {0, 1}, where the L1 terms have their kinks
        vectors = torch.where(vectors < 0.3, 0.0, torch.where(vectors > 0.7, 1.0, vectors))
    x, y, z = vectors.unbind(0)  # each (1, 2, 7): one image, two "classes" of 7 pixels
    d_xy, d_yx = _distance(variant, x, y), _distance(variant, y, x)
    torch.testing.assert_close(d_xy, d_yx, rtol=0, atol=1e-12)
    assert bool((d_xy >= 0).all()) and bool((d_xy <= 1).all())
    assert bool((_distance(variant, x, x) == 0).all())
    assert bool((d_xy + _distance(variant, y, z) >= _distance(variant, x, z) - 1e-12).all())
    distinct = (x - y).abs().amax(dim=(0, 2)) > 0  # (2,) per class
    assert bool((d_xy[distinct] > 0).all())


def test_soft_jaccard_is_not_zero_at_a_soft_label():
    _, _, soft = make_problem()
    assert soft_jaccard_loss(soft, soft, smooth=0.0) > 0.1
    assert jaccard_metric_loss(soft, soft, smooth=0.0) == 0
    assert jaccard_metric_loss(soft, soft, "jml2", smooth=0.0) == 0


def _minimize(loss, target, steps=300):
    logits = torch.zeros_like(target, requires_grad=True)
    optimizer = torch.optim.Adam([logits], lr=0.05)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, steps)
    for _ in range(steps):
        optimizer.zero_grad()
        loss(logits.softmax(1), target).backward()
        optimizer.step()
        schedule.step()
    return logits.detach().softmax(1)


@pytest.mark.parametrize("variant", VARIANTS)
def test_minimizer_recovers_a_soft_label_while_soft_jaccard_does_not(variant):
    target = torch.tensor([[0.7, 0.2, 0.1], [0.5, 0.3, 0.2], [0.1, 0.6, 0.3]], dtype=torch.float64)
    target = target.T.reshape(1, 3, 3)  # (N=1, C=3, P=3) soft labels
    jml = _minimize(lambda x, y: jaccard_metric_loss(x, y, variant, smooth=0.0, classes="all"), target)
    soft = _minimize(lambda x, y: soft_jaccard_loss(x, y, smooth=0.0, classes="all"), target)
    assert (jml - target).abs().max() < 1e-3
    assert (soft - target).abs().max() > 0.05


@pytest.mark.parametrize("kind", ["soft", *VARIANTS])
@pytest.mark.parametrize("per_image", [False, True])
def test_gradcheck_float64(kind, per_image):
    input, _, soft = make_problem(n=2, n_classes=3, spatial=(3, 2), seed=3)
    input = input.clone().requires_grad_()
    loss = loss_fn(kind)
    assert torch.autograd.gradcheck(lambda x: loss(x, soft, per_image=per_image, smooth=0.5), (input,))


def test_ignore_index_leaves_pixels_out():
    input, hard, _ = make_problem(n=1, spatial=(4, 6))
    hard[0, 0, :3] = 255
    keep = hard[0] != 255
    kept_input, kept_target = input[0][:, keep].unsqueeze(0), hard[0][keep].unsqueeze(0)  # (1, C, K), (1, K)
    for variant in VARIANTS:
        ours = jaccard_metric_loss(input, hard, variant, ignore_index=255)
        torch.testing.assert_close(ours, jaccard_metric_loss(kept_input, kept_target, variant))
    torch.testing.assert_close(
        soft_jaccard_loss(input, hard, ignore_index=255), soft_jaccard_loss(kept_input, kept_target)
    )


def test_empty_classes_count_as_a_match_and_have_finite_gradients():
    input = torch.zeros(1, 2, 4, dtype=torch.float64)
    input[:, 0] = 1.0
    input.requires_grad_()
    target = torch.zeros(1, 4, dtype=torch.long)  # class 1 absent from both maps
    losses = jaccard_metric_loss(input, target, reduction="none", classes="all", smooth=0.0)
    torch.testing.assert_close(losses, torch.zeros(2, dtype=torch.float64))
    losses.sum().backward()
    assert bool(torch.isfinite(input.grad).all())


@pytest.mark.parametrize("variant", VARIANTS)
def test_float32_agrees_with_float64(variant):
    input, hard, soft = make_problem()
    for target in (hard, soft):
        single_target = target.float() if target.is_floating_point() else target
        single = jaccard_metric_loss(input.float(), single_target, variant, per_image=True)
        assert single.dtype == torch.float32
        expected = jaccard_metric_loss(input, target, variant, per_image=True)
        torch.testing.assert_close(single.double(), expected, rtol=1e-5, atol=1e-6)


def test_modules_match_functions():
    input, hard, soft = make_problem()
    torch.testing.assert_close(
        JaccardMetricLoss("jml2", per_image=True, smooth=0.5)(input, soft),
        jaccard_metric_loss(input, soft, "jml2", per_image=True, smooth=0.5),
    )
    torch.testing.assert_close(
        SoftJaccardLoss(classes="all")(input, hard), soft_jaccard_loss(input, hard, classes="all")
    )


@pytest.mark.parametrize(
    "make_target, error, message",
    [
        (lambda h, s: h.int(), ValueError, "int64"),
        (lambda h, s: h + 4, ValueError, r"in \[0, 4\)"),
        (lambda h, s: h[:, :, :3], ValueError, "shape"),
        (lambda h, s: s[:, :3], ValueError, "shape"),
        (lambda h, s: s * 2, ValueError, r"soft labels in \[0, 1\]"),
        (lambda h, s: s.masked_fill(s > 0.5, float("nan")), ValueError, "finite"),
        (lambda h, s: s.tolist(), TypeError, "torch.Tensor"),
    ],
)
def test_bad_targets_raise(make_target, error, message):
    input, hard, soft = make_problem()
    for loss in (soft_jaccard_loss, jaccard_metric_loss):
        with pytest.raises(error, match=message):
            loss(input, make_target(hard, soft))


def test_bad_inputs_and_options_raise():
    input, hard, soft = make_problem()
    with pytest.raises(ValueError, match=r"probabilities in \[0, 1\]"):
        jaccard_metric_loss(input * 2, hard)
    with pytest.raises(ValueError, match="finite"):
        jaccard_metric_loss(torch.full_like(input, float("nan")), hard)
    with pytest.raises(ValueError, match="at least 3 dimensions"):
        jaccard_metric_loss(input[:, :, 0, 0], hard[:, 0, 0])
    with pytest.raises(ValueError, match="variant"):
        jaccard_metric_loss(input, hard, "jml3")
    with pytest.raises(ValueError, match="classes"):
        jaccard_metric_loss(input, hard, classes="some")
    with pytest.raises(ValueError, match="reduction"):
        soft_jaccard_loss(input, hard, reduction="avg")
    with pytest.raises(ValueError, match="smooth"):
        soft_jaccard_loss(input, hard, smooth=-1.0)
    with pytest.raises(ValueError, match="ignore_index"):
        jaccard_metric_loss(input, soft, ignore_index=0)
    with pytest.raises(TypeError, match="per_image"):
        jaccard_metric_loss(input, hard, per_image=1)
