"""Tests for the Grassmann class logits and head against projection norms written from the definition."""

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from paperlab.losses.grassmann import GrassmannClassHead, grassmann_class_logits, random_frames


def make_problem(n=11, n_classes=5, dim=9, k=3, seed=0, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    features = torch.randn(n, dim, generator=g, dtype=dtype) * 3
    return features, random_frames(n_classes, dim, k, generator=g, dtype=dtype)


def naive_logits(features, frames, scale, normalize=True):
    """scale * ||P_c f|| with the projector P_c = S_c S_c^T, one class at a time."""
    if normalize:
        features = features / features.norm(dim=1, keepdim=True)
    columns = []
    for frame in frames:
        projector = frame @ frame.T  # (d, d)
        columns.append((features @ projector).norm(dim=1))  # ||P f|| = ||S^T f|| for orthonormal S
    return scale * torch.stack(columns, dim=1)


def random_orthogonal(k, generator, dtype=torch.float64):
    q, _ = torch.linalg.qr(torch.randn(k, k, generator=generator, dtype=dtype))
    return q


@pytest.mark.parametrize("normalize", [True, False])
@pytest.mark.parametrize("shape", [(11, 5, 9, 3), (1, 2, 4, 4), (7, 3, 6, 1)])
def test_logits_match_projector_norm(shape, normalize):
    n, n_classes, dim, k = shape
    features, frames = make_problem(n, n_classes, dim, k)
    ours = grassmann_class_logits(features, frames, scale=2.5, normalize=normalize)
    assert ours.shape == (n, n_classes)
    torch.testing.assert_close(ours, naive_logits(features, frames, 2.5, normalize))


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), k=st.integers(1, 5))
def test_logits_invariant_to_rotation_within_each_subspace(seed, k):
    features, frames = make_problem(k=k, seed=seed)
    g = torch.Generator().manual_seed(seed + 1)
    rotations = torch.stack([random_orthogonal(k, g) for _ in range(len(frames))])  # (C, k, k)
    rotated = frames @ rotations  # S_c R_c spans the same subspace
    torch.testing.assert_close(
        grassmann_class_logits(features, rotated), grassmann_class_logits(features, frames)
    )


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_logits_scale_free_in_features_and_bounded(seed):
    features, frames = make_problem(seed=seed)
    logits = grassmann_class_logits(features, frames, scale=4.0)
    torch.testing.assert_close(grassmann_class_logits(features * 7.3, frames, scale=4.0), logits)
    assert bool((logits >= 0).all()) and bool((logits <= 4.0 + 1e-12).all())


def test_k_equal_one_is_absolute_cosine_logit():
    features, frames = make_problem(k=1)
    vectors = frames[:, :, 0]  # (C, d) unit class vectors
    cosine = F.normalize(features, dim=1) @ vectors.T  # (N, C)
    torch.testing.assert_close(grassmann_class_logits(features, frames, scale=3.0), 3.0 * cosine.abs())


def test_full_dimensional_subspace_gives_constant_logit():
    features, frames = make_problem(dim=6, k=6)
    torch.testing.assert_close(
        grassmann_class_logits(features, frames, scale=5.0), torch.full((11, 5), 5.0, dtype=torch.float64)
    )


def test_stacked_problems_match_one_call_each():
    g = torch.Generator().manual_seed(7)
    features = torch.randn(2, 3, 10, 6, generator=g, dtype=torch.float64)  # (2, 3) stacked problems
    frames = random_frames(2 * 3 * 4, 6, 2, generator=g, dtype=torch.float64).view(2, 3, 4, 6, 2)
    stacked = grassmann_class_logits(features, frames, scale=2.0)
    assert stacked.shape == (2, 3, 10, 4)
    for i in range(2):
        for j in range(3):
            torch.testing.assert_close(stacked[i, j], naive_logits(features[i, j], frames[i, j], 2.0))
    with pytest.raises(ValueError, match="features must have shape"):
        grassmann_class_logits(features[:1], frames)  # batch dims differ


def test_gradcheck_features_and_frames():
    features, frames = make_problem(n=4, n_classes=3, dim=5, k=2)
    features.requires_grad_()
    frames.requires_grad_()
    assert torch.autograd.gradcheck(lambda f, s: grassmann_class_logits(f, s, 1.7), (features, frames))
    assert torch.autograd.gradcheck(lambda f, s: grassmann_class_logits(f, s, 1.7, False), (features, frames))


def test_frame_gradient_has_symmetric_overlap():
    """Rotations within a subspace do not change the logits, so S^T dL/dS is symmetric per class."""
    features, frames = make_problem()
    frames.requires_grad_()
    target = torch.arange(11) % 5
    F.cross_entropy(grassmann_class_logits(features, frames), target).backward()
    overlap = frames.detach().transpose(1, 2) @ frames.grad  # (C, k, k)
    torch.testing.assert_close(overlap, overlap.transpose(1, 2))


def test_random_frames_are_orthonormal_and_seeded():
    frames = random_frames(4, 10, 3, generator=5, dtype=torch.float64)
    gram = frames.transpose(1, 2) @ frames
    torch.testing.assert_close(gram, torch.eye(3, dtype=torch.float64).expand(4, 3, 3))
    torch.testing.assert_close(random_frames(4, 10, 3, generator=5, dtype=torch.float64), frames)
    assert not torch.allclose(random_frames(4, 10, 3, generator=6, dtype=torch.float64), frames)


def test_head_flags_frames_and_computes_logits():
    head = GrassmannClassHead(9, 5, k=3, scale=2.0, generator=0).double()
    assert head.frames.shape == (5, 9, 3) and head.frames.manifold == "grassmann"
    features = make_problem()[0]
    torch.testing.assert_close(head(features), naive_logits(features, head.frames.detach(), 2.0))


@pytest.mark.parametrize(
    "features, frames, scale, error",
    [
        (torch.randn(4, 6), torch.randn(3, 5, 2), 1.0, ValueError),  # d mismatch
        (torch.randn(4, 6), torch.randn(6, 2), 1.0, ValueError),  # frames not 3-D
        (torch.randn(4, 6, 1), torch.randn(3, 6, 2), 1.0, ValueError),  # features not 2-D
        (torch.randn(4, 3), torch.randn(2, 3, 4), 1.0, ValueError),  # k > d
        (torch.randn(4, 6), torch.randn(3, 6, 2, dtype=torch.float64), 1.0, ValueError),  # dtype mismatch
        (torch.full((4, 6), float("nan")), torch.randn(3, 6, 2), 1.0, ValueError),  # NaN
        (torch.randn(4, 6), torch.randn(3, 6, 2), 0.0, ValueError),  # scale not > 0
        (torch.randn(4, 6), torch.randn(3, 6, 2), "1", TypeError),  # scale not a number
        (torch.randint(0, 3, (4, 6)), torch.randn(3, 6, 2), 1.0, TypeError),  # integer features
        (torch.randn(0, 6), torch.randn(3, 6, 2), 1.0, ValueError),  # empty
        (torch.randn(4, 6).numpy(), torch.randn(3, 6, 2), 1.0, TypeError),  # not a tensor
    ],
)
def test_bad_inputs_raise(features, frames, scale, error):
    with pytest.raises(error):
        grassmann_class_logits(features, frames, scale)


@pytest.mark.parametrize("args", [(5, 3, 6), (0, 3, 2), (5, 3, 2.5)])
def test_random_frames_bad_sizes(args):
    with pytest.raises((ValueError, TypeError)):
        random_frames(*args)
