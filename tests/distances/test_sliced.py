"""Sliced Wasserstein and 1-D Wasserstein: against POT, closed forms, invariants and bad inputs."""

import numpy as np
import ot
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from paperlab.distances import projected_wasserstein, random_projections, sliced_wasserstein, wasserstein_1d

f64 = torch.float64


def cloud(n, d, seed, shift=0.0):
    return torch.randn(n, d, generator=torch.Generator().manual_seed(seed), dtype=f64) + shift


def weights(n, seed):
    return torch.rand(n, generator=torch.Generator().manual_seed(seed), dtype=f64) + 0.1


@pytest.mark.parametrize("n, m", [(60, 60), (60, 45), (7, 123)])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("p", [1, 2, 3])
def test_matches_pot_on_identical_projections(n, m, weighted, p):
    X, Y = cloud(n, 4, 0), cloud(m, 4, 1, shift=0.7)
    theta = random_projections(4, 50, seed=3, dtype=f64)
    a, b = (weights(n, 4), weights(m, 5)) if weighted else (None, None)
    ours = sliced_wasserstein(X, Y, p=p, a=a, b=b, projections=theta)
    a_np = None if a is None else (a / a.sum()).numpy()
    b_np = None if b is None else (b / b.sum()).numpy()
    theirs = ot.sliced_wasserstein_distance(X.numpy(), Y.numpy(), a_np, b_np, p=p, projections=theta.numpy())
    assert ours.item() == pytest.approx(theirs, rel=1e-6, abs=1e-9)


@pytest.mark.parametrize("columns", [None, 3])
@pytest.mark.parametrize("p", [1, 2])
def test_wasserstein_1d_matches_pot(columns, p):
    shape_u, shape_v = ((30,), (17,)) if columns is None else ((30, columns), (17, columns))
    g = torch.Generator().manual_seed(0)
    u, v = torch.randn(shape_u, generator=g, dtype=f64), torch.randn(shape_v, generator=g, dtype=f64) + 0.3
    uw, vw = torch.rand(30, generator=g, dtype=f64), torch.rand(17, generator=g, dtype=f64)
    ours = wasserstein_1d(u, v, uw, vw, p=p)
    theirs = ot.wasserstein_1d(u.numpy(), v.numpy(), (uw / uw.sum()).numpy(), (vw / vw.sum()).numpy(), p=p)
    np.testing.assert_allclose(ours.numpy(), theirs, rtol=1e-6, atol=1e-10)


def test_equal_size_fast_path_equals_weighted_path():
    u, v = cloud(40, 1, 0)[:, 0], cloud(40, 1, 1)[:, 0]
    uniform = torch.full((40,), 1 / 40, dtype=f64)
    assert wasserstein_1d(u, v, p=2).item() == pytest.approx(
        wasserstein_1d(u, v, uniform, uniform, p=2).item()
    )


@settings(max_examples=25, deadline=None)
@given(n=st.integers(2, 30), d=st.integers(1, 5), seed=st.integers(0, 10_000))
def test_zero_on_identical_inputs_and_symmetric(n, d, seed):
    X, Y = cloud(n, d, seed), cloud(n + 3, d, seed + 1)
    theta = random_projections(d, 20, seed=seed, dtype=f64)
    assert sliced_wasserstein(X, X, projections=theta).item() == pytest.approx(0.0, abs=1e-12)
    forward = sliced_wasserstein(X, Y, projections=theta)
    backward = sliced_wasserstein(Y, X, projections=theta)
    assert forward.item() == pytest.approx(backward.item(), rel=1e-12)


@settings(max_examples=25, deadline=None)
@given(n=st.integers(2, 30), d=st.integers(1, 5), seed=st.integers(0, 10_000))
def test_translation_closed_form(n, d, seed):
    """Shifting a cloud by t moves every projection by theta^T t: SW_2^2 = mean_l (theta_l^T t)^2."""
    X = cloud(n, d, seed)
    t = torch.randn(d, generator=torch.Generator().manual_seed(seed + 7), dtype=f64)
    theta = random_projections(d, 30, seed=seed, dtype=f64)
    expected = (t @ theta).pow(2).mean()
    assert sliced_wasserstein(X + t, X, projections=theta).pow(2).item() == pytest.approx(
        expected.item(), rel=1e-9
    )


def test_monte_carlo_converges_to_the_sphere_average_of_a_translation():
    X, t = cloud(50, 3, 0), torch.tensor([1.0, -2.0, 0.5], dtype=f64)
    estimate = sliced_wasserstein(X + t, X, n_projections=200_000, seed=0).pow(2)
    assert estimate.item() == pytest.approx(t.pow(2).sum().item() / 3, rel=0.01)


def test_batch_equals_loop_and_stacked_projections_equal_loop():
    X, Y = (
        torch.stack([cloud(20, 3, s) for s in range(4)]),
        torch.stack([cloud(25, 3, s + 9) for s in range(4)]),
    )
    theta = random_projections(3, 15, seed=0, dtype=f64)
    batched = sliced_wasserstein(X, Y, projections=theta)
    looped = torch.stack([sliced_wasserstein(X[i], Y[i], projections=theta) for i in range(4)])
    torch.testing.assert_close(batched, looped)
    sets = torch.stack([random_projections(3, 15, seed=s, dtype=f64) for s in range(5)])  # (R, d, L)
    stacked = sliced_wasserstein(X[0], Y[0], projections=sets)
    torch.testing.assert_close(
        stacked, torch.stack([sliced_wasserstein(X[0], Y[0], projections=s) for s in sets])
    )


def test_seed_gives_reproducible_directions():
    X, Y = cloud(30, 3, 0), cloud(30, 3, 1)
    assert sliced_wasserstein(X, Y, seed=5).item() == sliced_wasserstein(X, Y, seed=5).item()
    assert sliced_wasserstein(X, Y, seed=5).item() != sliced_wasserstein(X, Y, seed=6).item()


@pytest.mark.parametrize("weighted", [False, True])
def test_gradcheck(weighted):
    X = cloud(6, 2, 0).requires_grad_(True)
    Y = cloud(5, 2, 1).requires_grad_(True)
    theta = random_projections(2, 4, seed=0, dtype=f64)
    a = weights(6, 2).requires_grad_(weighted) if weighted else None

    def f(X, Y, *a_):
        return sliced_wasserstein(X, Y, projections=theta, a=a_[0] if a_ else None)

    inputs = (X, Y, a) if weighted else (X, Y)
    assert torch.autograd.gradcheck(f, inputs)


def test_per_direction_values_average_to_the_distance():
    X, Y = cloud(20, 3, 0), cloud(20, 3, 1)
    theta = random_projections(3, 10, seed=0, dtype=f64)
    per_direction = projected_wasserstein(X, Y, theta, p=2)
    assert per_direction.shape == (10,)
    assert per_direction.mean().sqrt().item() == pytest.approx(
        sliced_wasserstein(X, Y, projections=theta).item()
    )


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"Y": torch.randn(5, 4)}, "feature dimension"),
        ({"X": torch.full((5, 3), float("nan"))}, "finite"),
        ({"a": -torch.ones(5)}, "non-negative"),
        ({"a": torch.zeros(5)}, "positive sum"),
        ({"a": torch.ones(4)}, "a must have shape"),
        ({"n_projections": 0}, "n_projections"),
        ({"X": torch.randn(5)}, "at least 2 dimensions"),
        ({"p": 0.5}, "p must be >= 1"),
        ({"projections": torch.randn(4, 10)}, "projections must have shape"),
        ({"Y": torch.randn(2, 5, 3)}, "batch shape"),
    ],
)
def test_bad_inputs_raise_value_error_naming_the_argument(kwargs, match):
    args = {"X": torch.randn(5, 3), "Y": torch.randn(6, 3), **kwargs}
    with pytest.raises(ValueError, match=match):
        sliced_wasserstein(**args)


def test_integer_input_is_a_type_error():
    with pytest.raises(TypeError, match="X must be a floating-point tensor"):
        sliced_wasserstein(torch.ones(5, 3, dtype=torch.long), torch.randn(5, 3))


@pytest.mark.parametrize("requires_grad", [False, True])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_numpy_sort_path_equals_torch_sort(requires_grad, dtype):
    from paperlab.distances.wasserstein_1d import sort_last, sort_order

    x = torch.randn(4, 7, 33, dtype=dtype).requires_grad_(requires_grad)
    torch.testing.assert_close(sort_last(x), torch.sort(x, dim=-1).values)
    torch.testing.assert_close(torch.take_along_dim(x, sort_order(x), -1), torch.sort(x, dim=-1).values)
    if requires_grad:
        upstream = torch.randn_like(x)
        (ours,) = torch.autograd.grad(sort_last(x), x, upstream)
        (theirs,) = torch.autograd.grad(torch.sort(x, dim=-1).values, x, upstream)
        torch.testing.assert_close(ours, theirs)
    assert sort_last(x.to(torch.float16)).dtype == torch.float16  # other dtypes fall back to torch.sort
