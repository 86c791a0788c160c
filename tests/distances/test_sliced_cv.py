"""Control-variate SW estimators: exact control means, unbiasedness, variance reduction, bad inputs."""

import pytest
import torch

from paperlab.data import point_cloud, random_rigid_motion
from paperlab.distances import (
    projected_wasserstein,
    random_projections,
    sliced_wasserstein,
    sliced_wasserstein_cv,
)
from paperlab.distances.sliced_cv import gaussian_control_variate

f64 = torch.float64


def clouds(seed=0, n=200):
    g = torch.Generator().manual_seed(seed)
    X = point_cloud("swiss_roll", n, seed=g, dtype=f64)
    return X, random_rigid_motion(point_cloud("s_curve", n, seed=g, dtype=f64), seed=g)


@pytest.mark.parametrize("variate", ["lower", "upper"])
def test_control_mean_is_exact_on_the_axis_directions(variate):
    """The 2d directions +-e_i average theta theta^T to exactly I/d, so G averages to E[G] on them."""
    X, Y = clouds()
    axes = torch.cat([torch.eye(3, dtype=f64), -torch.eye(3, dtype=f64)], dim=1)  # (d, 2d)
    cv = gaussian_control_variate(X, Y, axes, variate)
    assert cv.values.mean().item() == pytest.approx(cv.mean.item(), rel=1e-12)


def test_lower_variate_bounds_the_gaussian_w2_from_below_and_upper_from_above():
    X, Y = clouds()
    theta = random_projections(3, 100, seed=0, dtype=f64)
    x_p, y_p = X @ theta, Y @ theta  # (n, L)
    gaussian_w2 = (x_p.mean(0) - y_p.mean(0)).pow(2) + (
        x_p.std(0, correction=0) - y_p.std(0, correction=0)
    ).pow(2)
    assert bool((gaussian_control_variate(X, Y, theta, "lower").values <= gaussian_w2 + 1e-12).all())
    assert bool((gaussian_control_variate(X, Y, theta, "upper").values >= gaussian_w2 - 1e-12).all())


@pytest.mark.parametrize("variate", ["lower", "upper"])
def test_unbiased_and_less_variable_than_monte_carlo(variate):
    X, Y = clouds(n=150)
    reference_values = projected_wasserstein(X, Y, random_projections(3, 20_000, seed=99, dtype=f64))
    reference, reference_se = reference_values.mean(), reference_values.std() / len(reference_values) ** 0.5
    sets = torch.stack([random_projections(3, 50, seed=s, dtype=f64) for s in range(300)])  # (R, d, L)
    mc = sliced_wasserstein(X, Y, projections=sets).pow(2)
    for coefficient in ("in-sample", "leave-one-out"):
        cv = sliced_wasserstein_cv(X, Y, variate=variate, projections=sets, coefficient=coefficient)
        combined_se = (cv.var() / len(cv) + reference_se**2).sqrt()
        assert abs(cv.mean() - reference) < 3 * combined_se
        assert cv.var() < mc.var()


def test_in_sample_coefficient_is_biased_at_small_L_and_leave_one_out_is_not():
    """With L = 10 the paper's in-sample gamma leaves an O(1/L) bias that 3,000 repeats resolve."""
    g = torch.Generator().manual_seed(0)
    X, Y = point_cloud("swiss_roll", 100, seed=g, dtype=f64), point_cloud("s_curve", 100, seed=g, dtype=f64)
    values = projected_wasserstein(X, Y, random_projections(3, 100_000, seed=g, dtype=f64))
    reference, reference_se = values.mean(), values.std() / len(values) ** 0.5
    sets = torch.stack([random_projections(3, 10, seed=g, dtype=f64) for _ in range(3000)])
    z = {}
    for coefficient in ("in-sample", "leave-one-out"):
        cv = sliced_wasserstein_cv(X, Y, variate="upper", projections=sets, coefficient=coefficient)
        z[coefficient] = ((cv.mean() - reference) / (cv.var() / len(cv) + reference_se**2).sqrt()).item()
    assert abs(z["leave-one-out"]) < 3 < abs(z["in-sample"])


def test_leave_one_out_matches_a_naive_loop():
    X, Y = clouds(n=30)
    theta = random_projections(3, 6, seed=1, dtype=f64)
    samples = projected_wasserstein(X, Y, theta)
    cv = gaussian_control_variate(X, Y, theta, "upper")
    centred = cv.values - cv.mean
    corrected = []
    for l in range(6):
        others = [k for k in range(6) if k != l]
        z, c = samples[others], centred[others]
        gamma = ((z - z.mean()) * c).sum() / c.pow(2).sum()
        corrected.append(samples[l] - gamma * centred[l])
    expected = torch.stack(corrected).mean()
    ours = sliced_wasserstein_cv(X, Y, variate="upper", projections=theta, coefficient="leave-one-out")
    assert ours.item() == pytest.approx(expected.item(), rel=1e-12)


def test_cv_estimate_is_differentiable():
    X, Y = clouds(n=20)
    X = X.requires_grad_(True)
    theta = random_projections(3, 8, seed=0, dtype=f64)
    assert torch.autograd.gradcheck(lambda x: sliced_wasserstein_cv(x, Y, projections=theta), (X,))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"variate": "middle"}, "variate must be one of"),
        ({"n_projections": 1}, "n_projections must be >= 2"),
        ({"n_projections": 2, "coefficient": "leave-one-out"}, "n_projections must be >= 3"),
        ({"coefficient": "jackknife"}, "coefficient must be one of"),
        ({"n_projections": 0}, "n_projections must be > 0"),
        ({"Y": torch.randn(10, 2, dtype=f64)}, "feature dimension"),
    ],
)
def test_bad_inputs(kwargs, match):
    args = {"X": torch.randn(10, 3, dtype=f64), "Y": torch.randn(12, 3, dtype=f64), **kwargs}
    with pytest.raises(ValueError, match=match):
        sliced_wasserstein_cv(**args)
