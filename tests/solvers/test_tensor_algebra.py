"""Tensor algebra: unfolding convention, Khatri-Rao and mode products against einsum and TensorLy."""

import numpy as np
import pytest
import tensorly as tl
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from paperlab._checks import check_tensor
from paperlab.solvers import (
    cp_to_tensor,
    fold,
    khatri_rao,
    mode_dot,
    multi_mode_dot,
    tt_to_tensor,
    tucker_to_tensor,
    unfold,
)

shapes = st.lists(st.integers(1, 5), min_size=1, max_size=5)


@settings(max_examples=25, deadline=None)
@given(shape=shapes, data=st.data())
def test_fold_inverts_unfold(shape, data):
    mode = data.draw(st.integers(0, len(shape) - 1))
    x = torch.randn(*shape, dtype=torch.float64)
    assert torch.equal(fold(unfold(x, mode), mode, x.shape), x)
    assert unfold(x, mode).shape == (shape[mode], x.numel() // shape[mode])


@settings(max_examples=25, deadline=None)
@given(shape=st.lists(st.integers(1, 5), min_size=2, max_size=4), data=st.data())
def test_unfold_matches_tensorly(shape, data):
    mode = data.draw(st.integers(0, len(shape) - 1))
    x = np.random.default_rng(0).standard_normal(shape)
    np.testing.assert_array_equal(unfold(torch.from_numpy(x), mode).numpy(), tl.unfold(x, mode))


def test_khatri_rao_against_einsum_and_tensorly():
    a, b, c = (torch.randn(n, 3, dtype=torch.float64) for n in (4, 5, 2))
    expected = torch.einsum("ir,jr,kr->ijkr", a, b, c).reshape(-1, 3)
    torch.testing.assert_close(khatri_rao([a, b, c]), expected)
    reference = tl.tenalg.khatri_rao([a.numpy(), b.numpy(), c.numpy()])
    np.testing.assert_allclose(khatri_rao([a, b, c]).numpy(), reference)
    w = torch.rand(3, dtype=torch.float64)
    torch.testing.assert_close(khatri_rao([a, b], weights=w), khatri_rao([a, b]) * w)


@pytest.mark.parametrize("mode", [0, 1, 2, -1])
def test_mode_dot_against_einsum(mode):
    x = torch.randn(3, 4, 5, dtype=torch.float64)
    m = torch.randn(6, x.shape[mode], dtype=torch.float64)
    letters = "abc"
    axis = letters[mode]
    out = letters.replace(axis, "z")
    expected = torch.einsum(f"{letters},z{axis}->{out}", x, m)
    torch.testing.assert_close(mode_dot(x, m, mode), expected)
    vector = m[0]
    torch.testing.assert_close(mode_dot(x, vector, mode), expected.select(mode % 3, 0))


def test_cp_and_tucker_and_tt_to_tensor_against_einsum():
    a, b, c = (torch.randn(n, 2, dtype=torch.float64) for n in (3, 4, 5))
    w = torch.tensor([2.0, -0.5], dtype=torch.float64)
    torch.testing.assert_close(cp_to_tensor(w, [a, b, c]), torch.einsum("r,ir,jr,kr->ijk", w, a, b, c))
    core = torch.randn(2, 3, 2, dtype=torch.float64)
    f = [torch.randn(n, r, dtype=torch.float64) for n, r in zip((3, 4, 5), core.shape)]
    torch.testing.assert_close(tucker_to_tensor(core, f), torch.einsum("pqr,ip,jq,kr->ijk", core, *f))
    torch.testing.assert_close(multi_mode_dot(core, f, [0, 1, 2]), tucker_to_tensor(core, f))
    cores = [torch.randn(1, 3, 2), torch.randn(2, 4, 3), torch.randn(3, 5, 1)]
    cores = [g.double() for g in cores]
    expected = torch.einsum("aib,bjc,ckd->ijk", *cores)
    torch.testing.assert_close(tt_to_tensor(cores), expected)


def test_dtype_is_kept():
    x = torch.randn(3, 4, dtype=torch.float32)
    assert unfold(x, 1).dtype == torch.float32
    assert mode_dot(x, torch.randn(2, 4), 1).dtype == torch.float32


def test_bad_inputs_raise():
    x = torch.randn(3, 4, 5)
    with pytest.raises(ValueError, match="mode"):
        unfold(x, 3)
    with pytest.raises(TypeError, match="mode"):
        unfold(x, 1.0)
    with pytest.raises(ValueError, match="unfolded"):
        fold(torch.randn(4, 15), 0, (3, 4, 5))
    with pytest.raises(ValueError, match="matrix"):
        mode_dot(x, torch.randn(2, 3), 1)
    with pytest.raises(ValueError, match="columns"):
        khatri_rao([torch.randn(3, 2), torch.randn(3, 3)])
    with pytest.raises(ValueError, match="weights"):
        cp_to_tensor(torch.ones(3), [torch.randn(3, 2), torch.randn(4, 2)])
    with pytest.raises(ValueError, match="columns"):
        cp_to_tensor(None, [torch.randn(3, 2), torch.randn(4, 3)])
    with pytest.raises(ValueError, match="factors"):
        tucker_to_tensor(torch.randn(2, 2), [torch.randn(3, 2)])
    with pytest.raises(ValueError, match="last core"):
        tt_to_tensor([torch.randn(1, 3, 2), torch.randn(2, 3, 2)])


def test_finiteness_check_accepts_huge_values_and_rejects_nan():
    huge = torch.full((4, 4), 1e308, dtype=torch.float64)  # the sum overflows, the entries are finite
    assert check_tensor("x", huge) is huge
    huge[1, 2] = float("-inf")
    with pytest.raises(ValueError, match="x must contain only finite"):
        check_tensor("x", huge)
