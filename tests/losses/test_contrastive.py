"""Contrastive losses: peers, naive formulas, exactness of the tiled path and its memory footprint."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from pytorch_metric_learning import losses as pml_losses
from torch.utils._python_dispatch import TorchDispatchMode

from paperlab.losses import info_nce, nt_xent_loss, sigmoid_contrastive_loss, supcon_loss, tiled_logsumexp


def randn(*shape, seed=0, dtype=torch.float64):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def labels(n, n_classes, seed=0):
    return torch.randint(0, n_classes, (n,), generator=torch.Generator().manual_seed(seed + 100))


def value_and_grads(fn, *inputs):
    inputs = [x.clone().requires_grad_(True) for x in inputs]
    value = fn(*inputs)
    grads = torch.autograd.grad(value, inputs)
    return (value.detach(), *grads)


def assert_all_close(left, right, **tolerances):
    for a, b in zip(left, right, strict=True):
        torch.testing.assert_close(a, b, **tolerances)


class LargestTensor(TorchDispatchMode):
    """Record the largest tensor any operation produces (forward and backward)."""

    def __init__(self):
        super().__init__()
        self.numel = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for t in out if isinstance(out, (tuple, list)) else (out,):
            if isinstance(t, torch.Tensor):
                self.numel = max(self.numel, t.numel())
        return out


# ---- tiled log-sum-exp -------------------------------------------------------------------------


@pytest.mark.parametrize(("m", "n", "chunk"), [(37, 23, 5), (23, 37, 8), (16, 16, 64), (9, 9, 1)])
def test_tiled_logsumexp_matches_full_value_and_gradients(m, n, chunk):
    q, k = randn(m, 6, seed=1), randn(n, 6, seed=2)
    weights = randn(m, seed=3)  # a generic upstream gradient
    full = value_and_grads(lambda a, b: (tiled_logsumexp(a, b) * weights).sum(), q, k)
    tiled = value_and_grads(lambda a, b: (tiled_logsumexp(a, b, chunk) * weights).sum(), q, k)
    assert_all_close(full, tiled)
    torch.testing.assert_close(tiled_logsumexp(q, k, chunk), torch.logsumexp(q @ k.T, dim=1))


@pytest.mark.parametrize("chunk", [3, 7, 50])
def test_tiled_logsumexp_excludes_the_diagonal(chunk):
    z = randn(20, 4, seed=4)
    logits = (z @ z.T).masked_fill(torch.eye(20, dtype=torch.bool), float("-inf"))
    torch.testing.assert_close(
        tiled_logsumexp(z, z, chunk, exclude_diagonal=True), torch.logsumexp(logits, 1)
    )
    full = value_and_grads(lambda a: tiled_logsumexp(a, a, None, True).square().sum(), z)
    tiled = value_and_grads(lambda a: tiled_logsumexp(a, a, chunk, True).square().sum(), z)
    assert_all_close(full, tiled)


def test_tiled_logsumexp_passes_gradcheck():
    q = randn(11, 3, seed=5).requires_grad_(True)
    k = randn(7, 3, seed=6).requires_grad_(True)
    assert torch.autograd.gradcheck(lambda a, b: tiled_logsumexp(a, b, 4), (q, k))
    z = randn(9, 3, seed=7).requires_grad_(True)
    assert torch.autograd.gradcheck(lambda a: tiled_logsumexp(a, a, 4, exclude_diagonal=True), (z,))


def test_tiled_logsumexp_never_builds_the_full_matrix():
    n, chunk = 96, 16
    z = randn(n, 4, seed=8).requires_grad_(True)
    for chunk_size, bound in ((chunk, chunk * chunk), (None, None)):
        with LargestTensor() as seen:
            supcon_loss(z, labels(n, 5), chunk_size=chunk_size).backward()
        if bound is None:
            assert seen.numel >= n * n  # the reference path does hold it: the probe can see it
        else:
            assert seen.numel <= max(bound, n * z.shape[1])


def test_tiled_logsumexp_is_stable_for_large_logits():
    q = randn(10, 3, seed=9) * 1e3
    out = tiled_logsumexp(q, q, 4)
    assert torch.isfinite(out).all()
    torch.testing.assert_close(out, torch.logsumexp(q @ q.T, dim=1))


# ---- InfoNCE and NT-Xent -----------------------------------------------------------------------


@pytest.mark.parametrize("temperature", [0.07, 0.5])
def test_info_nce_matches_pml_self_supervised_ntxent(temperature):
    q, k = randn(24, 8, seed=10), randn(24, 8, seed=11)
    peer = pml_losses.SelfSupervisedLoss(pml_losses.NTXentLoss(temperature), symmetric=False)
    ours = value_and_grads(lambda a, b: info_nce(a, b, temperature), q, k)
    assert_all_close(ours, value_and_grads(peer, q, k), rtol=1e-5, atol=1e-8)
    assert_all_close(ours, value_and_grads(lambda a, b: info_nce(a, b, temperature, chunk_size=5), q, k))


@pytest.mark.parametrize("chunk", [None, 6])
def test_info_nce_symmetric_and_raw_dot_products_match_cross_entropy(chunk):
    q, k = randn(17, 5, seed=12), randn(17, 5, seed=13)
    target = torch.arange(17)
    logits = F.normalize(q, dim=1) @ F.normalize(k, dim=1).T / 0.2
    clip = 0.5 * (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target))
    torch.testing.assert_close(info_nce(q, k, 0.2, chunk, symmetric=True), clip)
    raw = F.cross_entropy(q @ k.T / 0.2, target, reduction="none")
    torch.testing.assert_close(info_nce(q, k, 0.2, chunk, normalize=False, reduction="none"), raw)


def test_nt_xent_matches_pml_ntxent_on_stacked_views():
    q, k = randn(16, 6, seed=14), randn(16, 6, seed=15)
    peer = pml_losses.NTXentLoss(temperature=0.1)
    stacked_labels = torch.arange(16).repeat(2)
    theirs = value_and_grads(lambda a, b: peer(torch.cat([a, b]), stacked_labels), q, k)
    assert_all_close(
        value_and_grads(lambda a, b: nt_xent_loss(a, b, 0.1), q, k), theirs, rtol=1e-5, atol=1e-8
    )
    assert_all_close(value_and_grads(lambda a, b: nt_xent_loss(a, b, 0.1, chunk_size=7), q, k), theirs)


def test_learnable_temperature_gets_the_same_gradient_tiled_or_not():
    q, k, tau = randn(20, 4, seed=16), randn(20, 4, seed=17), torch.tensor(0.3, dtype=torch.float64)
    full = value_and_grads(lambda a, b, t: info_nce(a, b, t, symmetric=True), q, k, tau)
    tiled = value_and_grads(lambda a, b, t: info_nce(a, b, t, chunk_size=3, symmetric=True), q, k, tau)
    assert_all_close(full, tiled)
    assert full[3].abs() > 0


# ---- SupCon ------------------------------------------------------------------------------------


def naive_supcon(z, y, temperature):
    """Per-anchor L_out by loops over positives, straight from the paper's equation."""
    unit = F.normalize(z, dim=1)
    out = []
    for i in range(len(y)):
        others = [a for a in range(len(y)) if a != i]
        positives = [p for p in others if y[p] == y[i]]
        if not positives:
            out.append(torch.zeros((), dtype=z.dtype))
            continue
        log_denominator = torch.logsumexp(torch.stack([unit[i] @ unit[a] / temperature for a in others]), 0)
        terms = [unit[i] @ unit[p] / temperature - log_denominator for p in positives]
        out.append(-torch.stack(terms).mean())
    return torch.stack(out)


@pytest.mark.parametrize(("n_classes", "temperature"), [(3, 0.1), (6, 0.5), (2, 0.05)])
def test_supcon_matches_pml_and_tiled_matches_full(n_classes, temperature):
    z, y = randn(30, 7, seed=18), labels(30, n_classes, seed=18)
    peer = pml_losses.SupConLoss(temperature=temperature)
    ours = value_and_grads(lambda a: supcon_loss(a, y, temperature), z)
    assert_all_close(ours, value_and_grads(lambda a: peer(a, y), z), rtol=1e-5, atol=1e-8)
    for chunk in (4, 13, 30):
        tiled = value_and_grads(lambda a, c=chunk: supcon_loss(a, y, temperature, chunk_size=c), z)
        assert_all_close(ours, tiled)


def test_supcon_per_anchor_matches_the_paper_formula():
    z, y = randn(15, 4, seed=19), torch.tensor([0, 0, 0, 1, 1, 2, 2, 2, 2, 3, 4, 4, 5, 5, 5])
    expected = naive_supcon(z, y, 0.2)
    torch.testing.assert_close(supcon_loss(z, y, 0.2, reduction="none"), expected)
    torch.testing.assert_close(supcon_loss(z, y, 0.2, chunk_size=4, reduction="none"), expected)
    torch.testing.assert_close(supcon_loss(z, y, 0.2), expected[y != 3].mean())  # item 9 has no positive


def test_supcon_without_positives_is_zero():
    z = randn(6, 3, seed=20).requires_grad_(True)
    loss = supcon_loss(z, torch.arange(6), chunk_size=2)
    loss.backward()
    assert loss.item() == 0.0 and torch.count_nonzero(z.grad) == 0


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 10_000), n=st.integers(2, 30), chunk=st.integers(1, 12), log_scale=st.floats(-3, 3)
)
def test_supcon_invariances_permutation_and_scale(seed, n, chunk, log_scale):
    z, y = randn(n, 5, seed=seed), labels(n, 3, seed=seed)
    g = torch.Generator().manual_seed(seed)
    order = torch.randperm(n, generator=g)
    scales = torch.exp(log_scale + torch.rand(n, 1, generator=g, dtype=z.dtype))
    reference = supcon_loss(z, y, 0.2)
    torch.testing.assert_close(supcon_loss(z[order], y[order], 0.2, chunk_size=chunk), reference)
    torch.testing.assert_close(supcon_loss(z * scales, y, 0.2, chunk_size=chunk), reference)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(2, 20), chunk=st.integers(1, 8), log_scale=st.floats(-3, 3))
def test_pair_losses_are_invariant_to_joint_permutation_and_row_scaling(seed, n, chunk, log_scale):
    q, k = randn(n, 4, seed=seed), randn(n, 4, seed=seed + 1)
    g = torch.Generator().manual_seed(seed)
    order = torch.randperm(n, generator=g)
    scales = torch.exp(log_scale + torch.rand(n, 1, generator=g, dtype=q.dtype))
    for loss in (info_nce, nt_xent_loss, sigmoid_contrastive_loss):
        reference = loss(q, k)
        torch.testing.assert_close(loss(q[order], k[order], chunk_size=chunk), reference)
        torch.testing.assert_close(loss(q * scales, k / scales, chunk_size=chunk), reference)


# ---- sigmoid loss ------------------------------------------------------------------------------


def naive_sigmoid(q, k, scale, bias):
    logits = scale * F.normalize(q, dim=1) @ F.normalize(k, dim=1).T + bias
    signs = 2 * torch.eye(len(q), dtype=q.dtype) - 1
    return -F.logsigmoid(signs * logits).sum() / len(q)


@pytest.mark.parametrize("chunk", [None, 4, 9, 40])
def test_sigmoid_loss_matches_formula_with_learnable_scale_and_bias(chunk):
    q, k = randn(19, 6, seed=21), randn(19, 6, seed=22)
    t, b = torch.tensor(10.0, dtype=torch.float64), torch.tensor(-10.0, dtype=torch.float64)
    expected = value_and_grads(naive_sigmoid, q, k, t, b)
    ours = value_and_grads(
        lambda *a: sigmoid_contrastive_loss(*a[:2], a[2], a[3], chunk_size=chunk), q, k, t, b
    )
    assert_all_close(ours, expected)


# ---- bad inputs --------------------------------------------------------------------------------


def test_bad_inputs_raise_naming_the_argument():
    q, k, y = randn(8, 4), randn(8, 4, seed=1), labels(8, 2)
    with pytest.raises(ValueError, match="same shape"):
        info_nce(q, k[:5])
    with pytest.raises(ValueError, match="temperature"):
        info_nce(q, k, temperature=0.0)
    with pytest.raises(ValueError, match="temperature"):
        supcon_loss(q, y, temperature=torch.tensor(-1.0))
    with pytest.raises(TypeError, match="temperature"):
        nt_xent_loss(q, k, temperature="0.1")
    with pytest.raises(ValueError, match="chunk_size"):
        supcon_loss(q, y, chunk_size=0)
    with pytest.raises(TypeError, match="chunk_size"):
        info_nce(q, k, chunk_size=2.5)
    with pytest.raises(ValueError, match="reduction"):
        info_nce(q, k, reduction="avg")
    with pytest.raises(ValueError, match="labels"):
        supcon_loss(q, y[:3])
    with pytest.raises(ValueError, match="at least 2"):
        info_nce(q[:1], k[:1])
    with pytest.raises(ValueError, match="scale"):
        sigmoid_contrastive_loss(q, k, scale=-1.0)
    with pytest.raises(ValueError, match="bias"):
        sigmoid_contrastive_loss(q, k, bias=float("nan"))
    with pytest.raises(ValueError, match="scale"):
        sigmoid_contrastive_loss(q, k, scale=float("inf"))
    with pytest.raises(ValueError, match="temperature"):
        info_nce(q, k, temperature=float("nan"))
    with pytest.raises(ValueError, match="same width"):
        tiled_logsumexp(q, randn(8, 3))
    with pytest.raises(ValueError, match="exclude_diagonal"):
        tiled_logsumexp(q, randn(5, 4), exclude_diagonal=True)
    nan = q.clone()
    nan[2, 2] = float("nan")
    with pytest.raises(ValueError, match="finite"):
        supcon_loss(nan, y)
