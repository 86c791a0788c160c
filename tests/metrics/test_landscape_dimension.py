"""intrinsic_dim_90: the first swept dimension that reaches 90% of the baseline."""

import math

import pytest

from paperlab.metrics import intrinsic_dim_90


def test_first_dimension_reaching_the_threshold():
    dims, scores = [10, 25, 50, 100], [0.5, 0.85, 0.89, 0.95]
    assert intrinsic_dim_90(dims, scores, baseline=0.97) == 50  # 0.9 * 0.97 = 0.873
    assert intrinsic_dim_90(dims, scores, baseline=0.97, fraction=0.5) == 10
    assert intrinsic_dim_90(dims, scores, baseline=0.9) == 25  # 0.81


def test_order_of_the_sweep_does_not_matter_and_a_later_dip_is_ignored():
    assert intrinsic_dim_90([100, 10, 50], [0.95, 0.2, 0.93], baseline=1.0) == 50
    assert intrinsic_dim_90([10, 20, 40], [0.95, 0.5, 0.96], baseline=1.0) == 10


def test_unreached_threshold_gives_infinity():
    assert intrinsic_dim_90([10, 20], [0.1, 0.2], baseline=1.0) == math.inf


@pytest.mark.parametrize(
    "kwargs, error",
    [
        ({"dims": [10, 20], "scores": [0.5]}, ValueError),
        ({"dims": [], "scores": []}, ValueError),
        ({"dims": [0, 20], "scores": [0.5, 0.6]}, ValueError),
        ({"dims": [1.5, 20.0], "scores": [0.5, 0.6]}, ValueError),
        ({"dims": [10, 20], "scores": [0.5, math.nan]}, ValueError),
        ({"dims": [10, 20], "scores": [0.5, 0.6], "baseline": 0.0}, ValueError),
        ({"dims": [10, 20], "scores": [0.5, 0.6], "fraction": 1.5}, ValueError),
    ],
)
def test_bad_inputs(kwargs, error):
    kwargs = {"baseline": 1.0, **kwargs}
    with pytest.raises(error):
        intrinsic_dim_90(**kwargs)
