"""Tests for the chunked linear cross-entropy against the dense ``F.cross_entropy(e @ c.T + bias)``."""

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from paperlab.losses.linear_cross_entropy import LinearCrossEntropy, linear_cross_entropy


def make_problem(n, d, v, dtype=torch.float32, seed=0, ignore_every=0, scale=1.0):
    """Random embeddings, classifier, bias and targets; every ``ignore_every``-th target is -100."""
    g = torch.Generator().manual_seed(seed)
    e = (torch.randn(n, d, generator=g, dtype=dtype) * scale).requires_grad_()
    c = (torch.randn(v, d, generator=g, dtype=dtype) * scale).requires_grad_()
    bias = torch.randn(v, generator=g, dtype=dtype).requires_grad_()
    targets = torch.randint(0, v, (n,), generator=g)
    if ignore_every:
        targets[::ignore_every] = -100
    return e, c, bias, targets


def dense_loss(e, c, targets, bias=None, **kwargs):
    logits = e @ c.T if bias is None else e @ c.T + bias
    return F.cross_entropy(logits, targets, **kwargs)


def values_and_grads(loss_fn, inputs, upstream):
    loss = loss_fn()
    grads = torch.autograd.grad((loss * upstream).sum(), inputs)
    return loss.detach(), grads


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("label_smoothing", [0.0, 0.25])
@pytest.mark.parametrize("use_bias", [False, True])
@pytest.mark.parametrize(("n", "v", "chunk_size"), [(64, 252, 50), (33, 507, 128), (70, 123, 123)])
def test_matches_dense_cross_entropy(reduction, label_smoothing, use_bias, n, v, chunk_size):
    e, c, bias, targets = make_problem(n, 16, v, ignore_every=7)
    bias = bias if use_bias else None
    inputs = [e, c] + ([bias] if use_bias else [])
    kwargs = dict(reduction=reduction, label_smoothing=label_smoothing)
    upstream = torch.randn(n) if reduction == "none" else torch.tensor(1.7)
    ours, ours_grads = values_and_grads(
        lambda: linear_cross_entropy(e, c, targets, bias, chunk_size=chunk_size, **kwargs), inputs, upstream
    )
    ref, ref_grads = values_and_grads(lambda: dense_loss(e, c, targets, bias, **kwargs), inputs, upstream)
    torch.testing.assert_close(ours, ref, rtol=1e-5, atol=1e-5)
    for got, expected in zip(ours_grads, ref_grads):
        torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-4)


def test_gradcheck_float64():
    e, c, bias, targets = make_problem(6, 3, 11, dtype=torch.float64, ignore_every=4)
    upstream = torch.randn(6, dtype=torch.float64)

    def per_token(e, c, bias):
        losses = linear_cross_entropy(
            e, c, targets, bias, reduction="none", label_smoothing=0.2, chunk_size=4
        )
        return losses * upstream

    assert torch.autograd.gradcheck(per_token, (e, c, bias))


def test_leading_batch_dims_are_flattened():
    e, c, bias, targets = make_problem(24, 8, 50, ignore_every=5)
    e3, targets3 = e.reshape(2, 3, 4, 8), targets.reshape(2, 3, 4)
    ours = linear_cross_entropy(e3, c, targets3, bias, reduction="none", chunk_size=16)
    assert ours.shape == (2, 3, 4)
    torch.testing.assert_close(ours.reshape(-1), dense_loss(e, c, targets, bias, reduction="none"))


def test_default_chunk_size_and_module_match_dense():
    e, c, bias, targets = make_problem(40, 8, 1000, ignore_every=3)
    module = LinearCrossEntropy(reduction="sum", label_smoothing=0.1)
    expected = dense_loss(e, c, targets, bias, reduction="sum", label_smoothing=0.1)
    torch.testing.assert_close(module(e, c, targets, bias), expected)
    torch.testing.assert_close(
        linear_cross_entropy(e, c, targets, bias, reduction="sum", label_smoothing=0.1), expected
    )


def test_all_tokens_ignored_behaves_like_torch():
    e, c, bias, targets = make_problem(5, 4, 9)
    targets = torch.full_like(targets, -100)
    assert torch.isnan(linear_cross_entropy(e, c, targets)) and torch.isnan(dense_loss(e, c, targets))
    total = linear_cross_entropy(e, c, targets, bias, reduction="sum")
    total.backward()
    assert total.item() == 0.0 and e.grad.abs().max() == 0 and c.grad.abs().max() == 0
    assert linear_cross_entropy(e, c, targets, reduction="none").abs().max() == 0


def test_custom_ignore_index():
    e, c, bias, targets = make_problem(20, 4, 9)
    targets[::3] = 4
    ours = linear_cross_entropy(e, c, targets, bias, ignore_index=4, chunk_size=2)
    torch.testing.assert_close(ours, dense_loss(e, c, targets, bias, ignore_index=4))


def test_bfloat16_returns_input_dtype_and_is_close_to_float32():
    e, c, bias, targets = make_problem(32, 16, 300, ignore_every=6)
    ours = linear_cross_entropy(e.bfloat16(), c.bfloat16(), targets, bias.bfloat16(), chunk_size=64)
    assert ours.dtype == torch.bfloat16
    torch.testing.assert_close(ours.float(), dense_loss(e, c, targets, bias), rtol=2e-2, atol=2e-2)


def test_logits_are_never_materialized():
    n, v = 256, 4096
    e, c, bias, targets = make_problem(n, 8, v)
    chunk_size = 256
    with torch.profiler.profile(
        activities=[torch.profiler.ProfilerActivity.CPU], profile_memory=True
    ) as prof:
        linear_cross_entropy(e, c, targets, bias, chunk_size=chunk_size).backward()
    largest = max(event.cpu_memory_usage for event in prof.events())
    assert 0 < largest <= 4 * n * chunk_size  # one float32 chunk of logits, never the n x v matrix
    with torch.profiler.profile(
        activities=[torch.profiler.ProfilerActivity.CPU], profile_memory=True
    ) as prof:
        dense_loss(e, c, targets, bias).backward()
    assert max(event.cpu_memory_usage for event in prof.events()) >= 4 * n * v  # the check can see logits


def naive_filtered_grads(e, c, bias, targets, eps, chunk_size, tile):
    """Gradients of the mean loss with softmax tiles (tile x tile inside each chunk) below eps dropped."""
    probs = torch.softmax(e @ c.T + bias, dim=1).detach()  # (N, V)
    kept = torch.zeros_like(probs)
    for start in range(0, c.shape[0], chunk_size):
        for row in range(0, e.shape[0], tile):
            for col in range(start, min(start + chunk_size, c.shape[0]), tile):
                block = (slice(row, row + tile), slice(col, min(col + tile, start + chunk_size)))
                if probs[block].max() >= eps:
                    kept[block] = probs[block]
    grad_logits = (kept - F.one_hot(targets, c.shape[0]).to(probs.dtype)) / e.shape[0]  # (N, V)
    return grad_logits @ c, grad_logits.T @ e, grad_logits.sum(0)


def test_gradient_filtering_drops_whole_tiles_only():
    # Rows of c sorted by norm make a few classes likely and most rare, as in a trained language model.
    e, c, bias, targets = make_problem(300, 16, 700, dtype=torch.float64, scale=1.0)
    with torch.no_grad():
        c.mul_(torch.linspace(3.0, 0.1, 700, dtype=torch.float64)[:, None])
        bias.mul_(0)
    inputs = [e, c, bias]
    eps = 1e-3
    run = lambda f: values_and_grads(  # noqa: E731
        lambda: linear_cross_entropy(e, c, targets, bias, chunk_size=300, filter_eps=f),
        inputs,
        torch.tensor(1.0),
    )[1]
    exact, zero_eps, filtered = run(None), run(0.0), run(eps)
    expected = naive_filtered_grads(e, c, bias, targets, eps, chunk_size=300, tile=128)
    for a, b, f, ref in zip(exact, zero_eps, filtered, expected):
        torch.testing.assert_close(a, b)
        torch.testing.assert_close(f, ref)
        assert (a - f).abs().max() > 1e-8  # some tiles were dropped, so the filter did something
    # With eps > 1 every tile is dropped and only the target term -z_t remains.
    _, target_term = values_and_grads(
        lambda: -((e * c[targets]).sum(1) + bias[targets]).mean(), inputs, torch.tensor(1.0)
    )
    for got, expected in zip(run(1.5), target_term):
        torch.testing.assert_close(got, expected)


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(1, 20),
    d=st.integers(1, 6),
    v=st.integers(2, 60),
    chunk_size=st.integers(1, 70),
    label_smoothing=st.sampled_from([0.0, 0.1, 1.0]),
    seed=st.integers(0, 10_000),
)
def test_property_matches_dense_for_any_sizes(n, d, v, chunk_size, label_smoothing, seed):
    e, c, bias, targets = make_problem(n, d, v, dtype=torch.float64, seed=seed, scale=3.0)
    ours = linear_cross_entropy(e, c, targets, bias, chunk_size=chunk_size, label_smoothing=label_smoothing)
    ref = dense_loss(e, c, targets, bias, label_smoothing=label_smoothing)
    torch.testing.assert_close(ours, ref, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize(
    ("make_targets", "message"),
    [
        (lambda t: t.clone().fill_(9), "targets must be in"),
        (lambda t: t.clone().fill_(-1), "targets must be in"),
        (lambda t: t.float(), "int64"),
        (lambda t: t.int(), "int64"),
        (lambda t: t[:-1], "shape"),
        (lambda t: t[None], "shape"),
    ],
)
def test_invalid_targets_raise(make_targets, message):
    e, c, bias, targets = make_problem(6, 4, 9)
    with pytest.raises(ValueError, match=message):
        linear_cross_entropy(e, c, make_targets(targets), bias)


def test_invalid_arguments_raise():
    e, c, bias, targets = make_problem(6, 4, 9)
    with pytest.raises(ValueError, match="c must have shape"):
        linear_cross_entropy(e, c[:, :3], targets)
    with pytest.raises(ValueError, match="bias must have shape"):
        linear_cross_entropy(e, c, targets, bias[:5])
    with pytest.raises(ValueError, match="dtype"):
        linear_cross_entropy(e, c.double(), targets)
    with pytest.raises(ValueError, match="finite"):
        linear_cross_entropy(e.detach().clone().fill_(float("nan")), c, targets)
    with pytest.raises(ValueError, match="reduction"):
        linear_cross_entropy(e, c, targets, reduction="avg")
    with pytest.raises(ValueError, match="label_smoothing"):
        linear_cross_entropy(e, c, targets, label_smoothing=1.5)
    with pytest.raises(ValueError, match="chunk_size"):
        linear_cross_entropy(e, c, targets, chunk_size=0)
    with pytest.raises(ValueError, match="e must have at least 2"):
        linear_cross_entropy(e[0], c, targets[0])
    with pytest.raises(TypeError, match="targets"):
        linear_cross_entropy(e, c, [0] * 6)
