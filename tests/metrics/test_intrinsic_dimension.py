"""TwoNN and Levina-Bickel MLE: known manifolds, scikit-dimension agreement, invariances, bad inputs."""

import math

import numpy as np
import pytest
import skdim
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.datasets import make_swiss_roll

from paperlab.metrics import mle_levina_bickel, twonn

ESTIMATORS = {
    "twonn_linear": lambda X: twonn(X),
    "twonn_mle": lambda X: twonn(X, method="mle"),
    "mle_harmonic": lambda X: mle_levina_bickel(X),
    "mle_mean": lambda X: mle_levina_bickel(X, average="mean"),
}


def _embed(Z: torch.Tensor, ambient: int, seed: int) -> torch.Tensor:
    """Put (n, d) points into R^ambient by a random isometry plus a shift."""
    g = torch.Generator().manual_seed(seed)
    basis, _ = torch.linalg.qr(torch.randn(ambient, Z.shape[1], generator=g, dtype=Z.dtype))  # (D, d)
    return Z @ basis.T + torch.randn(ambient, generator=g, dtype=Z.dtype)


def _ball(n: int, d: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    directions = torch.randn(n, d, generator=g, dtype=torch.float64)
    directions /= directions.norm(dim=1, keepdim=True)
    return directions * torch.rand(n, 1, generator=g, dtype=torch.float64) ** (1 / d)


def _cube(n: int, d: int, seed: int) -> torch.Tensor:
    return torch.rand(n, d, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


# Stated tolerance: both estimators are biased low as d grows (boundary effects, and 2000 points
# are sparse in 10 dimensions), so an estimate must lie in [0.8 d, 1.1 d]. Cubes stop at d = 5:
# their corners bias the 10-d estimate to about 0.8 d, on the edge of the band.
@pytest.mark.parametrize("estimator", sorted(ESTIMATORS))
@pytest.mark.parametrize("shape, d", [("ball", 2), ("ball", 5), ("ball", 10), ("cube", 2), ("cube", 5)])
def test_recovers_dimension_of_flat_manifolds(estimator, shape, d):
    Z = (_ball if shape == "ball" else _cube)(2000, d, seed=d)
    estimate = float(ESTIMATORS[estimator](_embed(Z, ambient=d + 7, seed=1)))
    assert 0.8 * d <= estimate <= 1.1 * d


@pytest.mark.parametrize("estimator", sorted(ESTIMATORS))
def test_swiss_roll_is_two_dimensional(estimator):
    X, _ = make_swiss_roll(2000, random_state=0)
    assert 1.6 <= float(ESTIMATORS[estimator](torch.from_numpy(X))) <= 2.2


def test_distinguishes_dimensions():
    estimates = [float(twonn(_embed(_ball(1000, d, seed=3), 12, seed=4))) for d in (1, 3, 6)]
    assert estimates[0] < estimates[1] < estimates[2]


@pytest.fixture(scope="module", params=[12, 30], ids=["D12", "D30"])
def skdim_data(request):
    """5-d ball in 12 (scikit-dimension's tree path) and 30 (its chunked-distance path) dimensions."""
    return _embed(_ball(800, 5, seed=7), request.param, seed=8).numpy()


@pytest.mark.parametrize("method", ["linear", "mle"])
@pytest.mark.parametrize("discard_fraction", [0.1, 0.25])
def test_twonn_matches_scikit_dimension(skdim_data, method, discard_fraction):
    ours = float(twonn(torch.from_numpy(skdim_data), discard_fraction=discard_fraction, method=method))
    theirs = skdim.id.TwoNN(discard_fraction=discard_fraction, method=method).fit(skdim_data).dimension_
    assert ours == pytest.approx(theirs, rel=1e-6)


@pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning")  # its unused linear-fit output
def test_twonn_mle_without_discarding_matches_scikit_dimension(skdim_data):
    ours = float(twonn(torch.from_numpy(skdim_data), discard_fraction=0.0, method="mle"))
    assert ours == pytest.approx(
        skdim.id.TwoNN(discard_fraction=0.0, method="mle").fit(skdim_data).dimension_
    )


def test_twonn_linear_without_discarding_leaves_out_the_largest_ratio(skdim_data):
    n = len(skdim_data)
    one_point = 1 / n
    assert int(n * (1 - one_point)) == n - 1  # scikit-dimension then keeps exactly n - 1 ratios
    theirs = skdim.id.TwoNN(discard_fraction=one_point).fit(skdim_data).dimension_
    assert float(twonn(torch.from_numpy(skdim_data), discard_fraction=0.0)) == pytest.approx(theirs, rel=1e-6)


@pytest.mark.parametrize("average, comb", [("harmonic", "mle"), ("mean", "mean"), ("median", "median")])
@pytest.mark.parametrize("k, unbiased", [(20, False), (10, False), (10, True)])
def test_mle_matches_scikit_dimension(skdim_data, average, comb, k, unbiased):
    ours = float(mle_levina_bickel(torch.from_numpy(skdim_data), k=k, average=average, unbiased=unbiased))
    theirs = skdim.id.MLE(unbiased=unbiased).fit(skdim_data, n_neighbors=k, comb=comb).dimension_
    assert ours == pytest.approx(theirs, rel=1e-6)


def test_mle_local_estimates_combine_into_the_averages():
    X = _embed(_ball(400, 3, seed=2), 6, seed=2)
    local = mle_levina_bickel(X, average="none")
    assert local.shape == (400,)
    assert float(mle_levina_bickel(X)) == pytest.approx(float(1 / (1 / local).mean()))
    assert float(mle_levina_bickel(X, average="mean")) == pytest.approx(float(local.mean()))
    assert float(mle_levina_bickel(X, average="median")) == pytest.approx(float(np.median(local.numpy())))


BASE = _embed(_ball(300, 3, seed=11), 6, seed=12)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), log_scale=st.floats(-3, 3), shift=st.floats(-1e3, 1e3))
def test_invariant_to_rotation_translation_scaling_and_order(seed, log_scale, shift):
    g = torch.Generator().manual_seed(seed)
    rotation, _ = torch.linalg.qr(torch.randn(6, 6, generator=g, dtype=torch.float64))
    order = torch.randperm(300, generator=g)
    moved = (BASE @ rotation.T * 10**log_scale + shift)[order]
    for name, estimator in ESTIMATORS.items():
        assert float(estimator(moved)) == pytest.approx(float(estimator(BASE)), rel=1e-6), name


def test_float32_input_gives_float32_result_close_to_float64():
    X = _embed(_ball(1000, 4, seed=5), 9, seed=6)
    for estimator in ESTIMATORS.values():
        low = estimator(X.float())
        assert low.dtype == torch.float32 and low.dim() == 0
        assert float(low) == pytest.approx(float(estimator(X)), rel=1e-3)


def test_block_boundaries_do_not_matter(monkeypatch):
    import paperlab.metrics._nearest_neighbours as nn_module

    X = _embed(_ball(500, 4, seed=9), 8, seed=9)
    whole = float(mle_levina_bickel(X)), float(twonn(X))
    monkeypatch.setattr(nn_module, "_BLOCK_ENTRIES", 500 * 37)  # 37 rows per block, ragged last block
    assert (float(mle_levina_bickel(X)), float(twonn(X))) == pytest.approx(whole, rel=1e-12)


@pytest.mark.parametrize("estimator", sorted(ESTIMATORS))
def test_duplicate_points_raise(estimator):
    X = _embed(_ball(200, 3, seed=1), 5, seed=1)
    X = torch.cat([X, X[:3]])
    with pytest.raises(ValueError, match="duplicates"):
        ESTIMATORS[estimator](X)


def test_duplicates_removed_with_unique_give_the_original_estimate():
    X = _embed(_ball(200, 3, seed=1), 5, seed=1)
    assert float(twonn(torch.unique(torch.cat([X, X[:3]]), dim=0))) == pytest.approx(float(twonn(X)))


@pytest.mark.parametrize(
    "call, error",
    [
        (lambda X: twonn(X.numpy()), TypeError),
        (lambda X: twonn(X[:, 0]), ValueError),
        (lambda X: twonn(X.long()), TypeError),
        (lambda X: twonn(torch.where(X == X[0, 0], math.nan, X)), ValueError),
        (lambda X: twonn(X[:2]), ValueError),
        (lambda X: twonn(X, discard_fraction=1.0), ValueError),
        (lambda X: twonn(X, discard_fraction=-0.1), ValueError),
        (lambda X: twonn(X, discard_fraction=True), TypeError),
        (lambda X: twonn(X, method="ols"), ValueError),
        (lambda X: twonn(X[:5], discard_fraction=0.7), ValueError),
        (lambda X: mle_levina_bickel(X, k=1), ValueError),
        (lambda X: mle_levina_bickel(X, k=2, unbiased=True), ValueError),
        (lambda X: mle_levina_bickel(X, k=2.0), TypeError),
        (lambda X: mle_levina_bickel(X[:20], k=20), ValueError),
        (lambda X: mle_levina_bickel(X, average="geometric"), ValueError),
        (lambda X: mle_levina_bickel(X, unbiased=1), TypeError),
        (lambda X: mle_levina_bickel(X[:0]), ValueError),
    ],
)
def test_bad_inputs(call, error):
    with pytest.raises(error):
        call(_embed(_ball(50, 2, seed=0), 4, seed=0))


def test_inputs_that_require_grad_are_accepted_and_the_estimate_is_differentiable():
    X = _embed(_ball(300, 3, seed=4), 6, seed=4).requires_grad_()
    estimate = twonn(X, method="mle") + mle_levina_bickel(X)
    estimate.backward()
    assert X.grad is not None and bool(torch.isfinite(X.grad).all())
