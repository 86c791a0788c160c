import math

import numpy as np
import pytest
import scipy.linalg
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from paperlab.metrics import principal_angles


def _scipy_angles(a, b):
    return np.sort(scipy.linalg.subspace_angles(a.numpy(), b.numpy()))


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(4, 12), p=st.integers(1, 4), q=st.integers(1, 4))
def test_matches_scipy_on_random_subspaces(seed, n, p, q):
    g = torch.Generator().manual_seed(seed)
    a = torch.randn(n, p, generator=g, dtype=torch.float64)
    b = torch.randn(n, q, generator=g, dtype=torch.float64)
    ours = principal_angles(a, b)
    assert ours.shape == (min(p, q),)
    np.testing.assert_allclose(ours.numpy(), _scipy_angles(a, b), atol=1e-10)
    np.testing.assert_allclose(principal_angles(b, a).numpy(), ours.numpy(), atol=1e-10)


def test_tiny_angles_are_accurate_like_scipy():
    g = torch.Generator().manual_seed(1)
    a = torch.randn(20, 3, generator=g, dtype=torch.float64)
    b = a @ torch.randn(3, 3, generator=g, dtype=torch.float64) + 1e-9 * torch.randn(
        20, 3, generator=g, dtype=torch.float64
    )
    ours = principal_angles(a, b)
    expected = _scipy_angles(a, b)
    assert expected.max() > 1e-11  # the cosine formula alone would return 0 here
    np.testing.assert_allclose(ours.numpy(), expected, rtol=1e-5)


def test_closed_form_plane_rotation_in_degrees():
    # span(e1, e2) against span(e1, cos t e2 + sin t e3): angles 0 and t.
    t = 0.3
    a = torch.eye(4, dtype=torch.float64)[:, :2]
    b = torch.tensor([[1.0, 0.0], [0.0, math.cos(t)], [0.0, math.sin(t)], [0.0, 0.0]], dtype=torch.float64)
    np.testing.assert_allclose(
        principal_angles(a, b, degrees=True).numpy(), [0.0, math.degrees(t)], atol=1e-10
    )
    orthogonal = torch.eye(4, dtype=torch.float64)[:, 2:]
    np.testing.assert_allclose(principal_angles(a, orthogonal).numpy(), [math.pi / 2] * 2, atol=1e-12)


def test_bad_inputs():
    a = torch.randn(5, 2)
    with pytest.raises(TypeError, match="a"):
        principal_angles(a.numpy(), a)
    with pytest.raises(ValueError, match="rows"):
        principal_angles(a, torch.randn(6, 2))
    with pytest.raises(ValueError, match="dimensions"):
        principal_angles(torch.randn(5), a)
    with pytest.raises(ValueError, match="full column rank"):
        principal_angles(torch.ones(5, 2), a)
    with pytest.raises(ValueError, match="columns"):
        principal_angles(torch.randn(3, 4), torch.randn(3, 1))
    with pytest.raises(ValueError, match="finite"):
        principal_angles(torch.full((5, 2), float("nan")), a)
    with pytest.raises(ValueError, match="dtype"):
        principal_angles(a, a.double())
