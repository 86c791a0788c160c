"""Spectral matrix functions: values against SciPy, Daleckii-Krein gradients by gradcheck and near ties."""

import numpy as np
import pytest
import scipy.linalg
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from paperlab.solvers import (
    rectify_eigenvalues,
    spd_inv_sqrt,
    spd_log,
    spd_power,
    spd_sqrt,
    spectral_function,
    sym_exp,
)


def random_spd(d, seed, batch=(), condition=10.0):
    g = torch.Generator().manual_seed(seed)
    q = torch.linalg.qr(torch.randn(*batch, d, d, generator=g, dtype=torch.float64)).Q
    eigenvalues = torch.logspace(0, -np.log10(condition), d, dtype=torch.float64)
    eigenvalues = eigenvalues * torch.exp(0.1 * torch.randn(*batch, d, generator=g, dtype=torch.float64))
    return (q * eigenvalues.unsqueeze(-2)) @ q.mT


@settings(max_examples=25, deadline=None)
@given(d=st.integers(1, 6), seed=st.integers(0, 1000), condition=st.sampled_from([1.5, 10.0, 1e4]))
def test_values_match_scipy(d, seed, condition):
    x = random_spd(d, seed, condition=condition)
    a = x.numpy()
    np.testing.assert_allclose(spd_sqrt(x).numpy(), scipy.linalg.sqrtm(a).real, rtol=1e-7, atol=1e-10)
    np.testing.assert_allclose(spd_log(x).numpy(), scipy.linalg.logm(a).real, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(
        spd_power(x, 0.3).numpy(), scipy.linalg.fractional_matrix_power(a, 0.3).real, rtol=1e-6, atol=1e-10
    )
    np.testing.assert_allclose(
        spd_inv_sqrt(x).numpy(), np.linalg.inv(scipy.linalg.sqrtm(a).real), rtol=1e-6, atol=1e-8
    )
    s = 0.5 * (a + a.T) - np.eye(d)
    np.testing.assert_allclose(
        sym_exp(torch.from_numpy(s)).numpy(), scipy.linalg.expm(s), rtol=1e-8, atol=1e-10
    )


def test_inverse_pairs():
    x = random_spd(5, 0, batch=(3,), condition=100.0)
    torch.testing.assert_close(spd_sqrt(x) @ spd_sqrt(x), x)
    torch.testing.assert_close(sym_exp(spd_log(x)), x)
    torch.testing.assert_close(spd_power(spd_power(x, 0.5), 2.0), x)


@pytest.mark.parametrize(
    "fn",
    [
        spd_sqrt,
        spd_inv_sqrt,
        spd_log,
        sym_exp,
        lambda x: spd_power(x, 0.7),
        lambda x: rectify_eigenvalues(x, 0.5),
    ],
)
def test_gradcheck(fn):
    x = random_spd(4, 1, batch=(2,), condition=5.0).requires_grad_()
    assert torch.autograd.gradcheck(lambda m: fn(0.5 * (m + m.mT)), (x,), eps=1e-6, atol=1e-5)


def test_gradient_matches_eigh_autograd_for_distinct_eigenvalues():
    x = random_spd(4, 2, condition=20.0)
    weights = torch.randn(4, 4, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    ours = x.clone().requires_grad_()
    (spd_log(ours) * weights).sum().backward()
    plain = x.clone().requires_grad_()
    w, u = torch.linalg.eigh(0.5 * (plain + plain.mT))
    ((u * w.log().unsqueeze(-2)) @ u.mT * weights).sum().backward()
    torch.testing.assert_close(ours.grad, plain.grad)


def test_repeated_eigenvalues_give_finite_gradients():
    x = torch.eye(4, dtype=torch.float64).requires_grad_()
    spd_sqrt(x).sum().backward()
    assert torch.isfinite(x.grad).all()
    torch.testing.assert_close(
        x.grad, 0.5 * torch.ones(4, 4, dtype=torch.float64)
    )  # d sqrt at I is half the identity map


def test_rectification_floors_the_spectrum():
    x = random_spd(5, 3, condition=1e6)
    out = rectify_eigenvalues(x, 1e-2)
    assert float(torch.linalg.eigvalsh(out).min()) >= 1e-2 - 1e-12
    big = torch.linalg.eigvalsh(x) > 1e-2
    torch.testing.assert_close(torch.linalg.eigvalsh(out)[big], torch.linalg.eigvalsh(x)[big])


def test_bad_inputs_raise():
    with pytest.raises(ValueError, match="square"):
        spd_sqrt(torch.ones(3, 4, dtype=torch.float64))
    with pytest.raises(ValueError, match="threshold"):
        rectify_eigenvalues(torch.eye(3), 0.0)
    with pytest.raises(TypeError, match="power"):
        spd_power(torch.eye(3), "half")
    with pytest.raises(ValueError, match="finite|NaN"):
        spd_log(torch.full((3, 3), float("nan")))
    with pytest.raises(TypeError):
        spectral_function(torch.eye(3, dtype=torch.int64), torch.sqrt, torch.sqrt)
