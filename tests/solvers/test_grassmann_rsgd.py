"""Tests for Riemannian SGD on orthonormal frames: closed-form steps, orthonormality, eigenspaces."""

import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from paperlab.losses.grassmann import GrassmannClassHead, grassmann_class_logits, random_frames
from paperlab.solvers.grassmann_rsgd import (
    GrassmannRSGD,
    grassmann_exp,
    qr_retraction,
    tangent_projection,
)

EYE2 = torch.eye(2, dtype=torch.float64)


def frame_parameter(frames, manifold="grassmann"):
    param = torch.nn.Parameter(frames.clone())
    param.manifold = manifold
    return param


def one_step(frames, grad, lr, **options):
    param = frame_parameter(frames, options.pop("manifold", "grassmann"))
    optimizer = GrassmannRSGD([param], lr=lr, momentum=0.0, **options)
    param.grad = grad.clone()
    optimizer.step()
    return param.detach()


def orthonormality_error(frames):
    k = frames.shape[-1]
    gram = frames.transpose(-2, -1) @ frames
    return (gram - torch.eye(k, dtype=frames.dtype)).abs().max().item()


def projector_distance(a, b):
    """Spectral distance between the orthogonal projectors onto span(a) and span(b)."""
    return torch.linalg.matrix_norm(a @ a.T - b @ b.T, ord=2).item()


@pytest.mark.parametrize("retraction, expected_angle", [("qr", math.atan(0.3)), ("exp", 0.3)])
def test_single_step_on_the_circle_has_closed_form(retraction, expected_angle):
    """k = 1 in R^2: the frame (1, 0) pushed along -(0, 1) by lr * g = 0.3 turns by atan(0.3) or by 0.3."""
    frames = torch.tensor([[1.0], [0.0]], dtype=torch.float64)
    grad = torch.tensor([[0.5], [-1.5]], dtype=torch.float64)  # the radial part 0.5 must be ignored
    moved = one_step(frames, grad, lr=0.2, retraction=retraction)
    expected = torch.tensor([[math.cos(expected_angle)], [math.sin(expected_angle)]], dtype=torch.float64)
    torch.testing.assert_close(moved, expected)


@pytest.mark.parametrize("t", [0.3, 1.2, 2.5])
def test_exp_step_follows_a_great_circle(t):
    """On Gr(1, 3) the geodesic from e1 along a unit tangent u is cos(t) e1 + sin(t) u, also past 90 degrees."""
    start = torch.tensor([[1.0], [0.0], [0.0]], dtype=torch.float64)
    u = torch.tensor([[0.0], [0.6], [0.8]], dtype=torch.float64)
    torch.testing.assert_close(grassmann_exp(start, t * u), math.cos(t) * start + math.sin(t) * u)
    halfway = grassmann_exp(start, t / 2 * u)
    velocity = -math.sin(t / 2) * start + math.cos(t / 2) * u  # the geodesic's unit velocity there
    torch.testing.assert_close(grassmann_exp(halfway, t / 2 * velocity), grassmann_exp(start, t * u))


def test_grassmann_ignores_rotations_within_the_subspace_stiefel_does_not():
    frames = random_frames(1, 6, 3, generator=0, dtype=torch.float64)[0]
    skew = torch.tensor([[0.0, 1.0, -2.0], [-1.0, 0.0, 0.5], [2.0, -0.5, 0.0]], dtype=torch.float64)
    grad = frames @ skew  # a vertical direction: it only rotates the frame within its span
    torch.testing.assert_close(one_step(frames, grad, lr=0.1), frames)
    moved = one_step(frames, grad, lr=0.1, manifold="stiefel")
    assert (moved - frames).abs().max() > 1e-2
    assert projector_distance(moved, frames) < 1e-12  # the Stiefel step rotates, the span stays


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), k=st.integers(1, 4))
def test_tangent_projections_are_projections(seed, k):
    g = torch.Generator().manual_seed(seed)
    frames = random_frames(2, 7, k, generator=g, dtype=torch.float64)
    grad = torch.randn(2, 7, k, generator=g, dtype=torch.float64)
    for manifold in ("grassmann", "stiefel"):
        xi = tangent_projection(frames, grad, manifold)
        torch.testing.assert_close(tangent_projection(frames, xi, manifold), xi)  # idempotent
        tangency = frames.transpose(1, 2) @ xi  # S^T xi + xi^T S = 0 on both manifolds
        torch.testing.assert_close(tangency + tangency.transpose(1, 2), torch.zeros_like(tangency))
    horizontal = frames.transpose(1, 2) @ tangent_projection(frames, grad)  # Grassmann: S^T xi = 0
    torch.testing.assert_close(horizontal, torch.zeros(2, k, k, dtype=torch.float64))


def test_manifolds_agree_on_gradients_of_subspace_logits():
    """The logits see only the subspace, so S^T G is symmetric and both projections coincide."""
    g = torch.Generator().manual_seed(3)
    features = torch.randn(20, 8, generator=g, dtype=torch.float64)
    frames = random_frames(4, 8, 3, generator=g, dtype=torch.float64).requires_grad_()
    F.cross_entropy(grassmann_class_logits(features, frames), torch.arange(20) % 4).backward()
    torch.testing.assert_close(
        tangent_projection(frames.detach(), frames.grad, "grassmann"),
        tangent_projection(frames.detach(), frames.grad, "stiefel"),
    )


def test_qr_retraction_is_sign_fixed_and_first_order():
    frames = random_frames(3, 6, 2, generator=1, dtype=torch.float64)
    torch.testing.assert_close(qr_retraction(frames, torch.zeros_like(frames)), frames)  # R(S, 0) = S
    grad = torch.randn(3, 6, 2, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    step = tangent_projection(frames, grad)
    for t in (1e-3, 1e-4):
        error = (qr_retraction(frames, t * step) - frames - t * step).abs().max().item()
        assert error < 10 * t**2 * step.abs().max().item() ** 2 + 1e-14  # agrees with S + t xi to first order


@pytest.mark.parametrize("retraction", ["qr", "exp"])
def test_frames_stay_orthonormal_over_many_steps(retraction):
    g = torch.Generator().manual_seed(0)
    param = frame_parameter(random_frames(5, 12, 4, generator=g, dtype=torch.float64))
    optimizer = GrassmannRSGD([param], lr=0.5, momentum=0.9, retraction=retraction)
    for _ in range(300):
        param.grad = torch.randn(5, 12, 4, generator=g, dtype=torch.float64) * 3
        optimizer.step()
        buffer = optimizer.state[param]["momentum_buffer"]
    assert orthonormality_error(param.detach()) < 1e-10
    # the transported momentum lies in the tangent space of the current frames
    assert (param.detach().transpose(1, 2) @ buffer).abs().max().item() < 1e-10


@pytest.mark.parametrize("retraction, momentum", [("qr", 0.0), ("qr", 0.8), ("exp", 0.8)])
def test_converges_to_top_eigenspace_of_a_known_matrix(retraction, momentum):
    """Minimizing -tr(S^T A S) over Gr(3, 10) finds the span of A's three leading eigenvectors."""
    g = torch.Generator().manual_seed(1)
    basis, _ = torch.linalg.qr(torch.randn(10, 10, generator=g, dtype=torch.float64))
    eigenvalues = torch.tensor([5.0, 4.0, 3.5, 1.0, 0.8, 0.6, 0.4, 0.3, 0.2, 0.1], dtype=torch.float64)
    matrix = basis @ torch.diag(eigenvalues) @ basis.T
    param = frame_parameter(random_frames(1, 10, 3, generator=g, dtype=torch.float64)[0])
    optimizer = GrassmannRSGD([param], lr=0.05, momentum=momentum, retraction=retraction)
    objective = lambda: -torch.trace(param.T @ matrix @ param)  # noqa: E731
    values = []
    for _ in range(300):
        optimizer.zero_grad()
        loss = objective()
        loss.backward()
        values.append(loss.item())
        optimizer.step()
    if momentum == 0.0:  # plain Riemannian gradient descent with a small step decreases monotonically
        assert all(b <= a + 1e-12 for a, b in zip(values, values[1:]))
    assert objective().item() == pytest.approx(-eigenvalues[:3].sum().item(), abs=1e-8)
    assert projector_distance(param.detach(), basis[:, :3]) < 1e-5


def test_euclidean_parameters_follow_torch_sgd_exactly():
    g = torch.Generator().manual_seed(0)
    ours = torch.nn.Parameter(torch.randn(4, 3, generator=g, dtype=torch.float64))
    reference = torch.nn.Parameter(ours.detach().clone())
    optimizers = [
        GrassmannRSGD([ours], lr=0.1, momentum=0.9, weight_decay=0.01),
        torch.optim.SGD([reference], lr=0.1, momentum=0.9, weight_decay=0.01),
    ]
    for _ in range(5):
        grad = torch.randn(4, 3, generator=g, dtype=torch.float64)
        for param, optimizer in zip((ours, reference), optimizers):
            param.grad = grad.clone()
            optimizer.step()
    torch.testing.assert_close(ours, reference, rtol=0, atol=1e-14)


def test_group_manifold_key_marks_unflagged_parameters():
    frames = random_frames(1, 2, 1, generator=0, dtype=torch.float64)[0]
    plain = torch.nn.Parameter(frames.clone())  # no attribute
    optimizer = GrassmannRSGD([{"params": [plain], "manifold": "grassmann"}], lr=0.3, momentum=0.0)
    plain.grad = torch.randn(2, 1, generator=torch.Generator().manual_seed(4), dtype=torch.float64)
    optimizer.step()
    assert orthonormality_error(plain.detach()) < 1e-14


def test_trains_a_head_end_to_end():
    g = torch.Generator().manual_seed(0)
    centres = torch.randn(3, 5, generator=g) * 3
    labels = torch.arange(90) % 3
    features = centres[labels] + torch.randn(90, 5, generator=g)
    head = GrassmannClassHead(5, 3, k=2, scale=8.0, generator=1)
    optimizer = GrassmannRSGD(head.parameters(), lr=0.05, momentum=0.9)
    first = None
    for _ in range(60):
        optimizer.zero_grad()
        loss = F.cross_entropy(head(features), labels)
        loss.backward()
        optimizer.step()
        first = first if first is not None else loss.item()
    assert loss.item() < 0.5 * first
    assert orthonormality_error(head.frames.detach()) < 1e-5


@pytest.mark.parametrize(
    "options",
    [
        dict(lr=0.0),
        dict(lr=-1.0),
        dict(momentum=1.0),
        dict(momentum=-0.1),
        dict(weight_decay=-1e-4),
        dict(retraction="cayley"),
        dict(manifold="sphere"),
        dict(retraction="exp", manifold="stiefel"),
    ],
)
def test_bad_options_raise(options):
    param = frame_parameter(random_frames(1, 4, 2, generator=0)[0])
    with pytest.raises((ValueError, TypeError)):
        GrassmannRSGD([param], **options)


def test_frames_wider_than_tall_raise():
    param = torch.nn.Parameter(torch.randn(2, 3))
    param.manifold = "grassmann"
    with pytest.raises(ValueError, match="d >= k"):
        GrassmannRSGD([param])
    with pytest.raises(ValueError, match="manifold"):
        tangent_projection(EYE2, EYE2, "sphere")
