import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import wasserstein_distance

from paperlab.losses import NumberTokenLossLp, NumberTokenLossW1, number_token_loss_lp, number_token_loss_w1

NAN = float("nan")


def vocabulary_values(dtype=torch.float64):
    """Seven tokens: two symbols, then numbers with uneven gaps, listed out of order."""
    return torch.tensor([NAN, 3.0, NAN, 0.0, 1.0, 7.0, 2.5], dtype=dtype)


def naive_lp(logits, target, values, p):
    """|y - sum_k p_k v_k|^p over number targets, probabilities renormalized over number tokens (N, C)."""
    number = ~torch.isnan(values)
    probs = torch.softmax(logits[:, number], dim=1)
    expected = probs @ values[number]
    losses = [
        abs(values[t] - e) ** p for t, e in zip(target.tolist(), expected) if not torch.isnan(values[t])
    ]
    return torch.stack(losses).mean()


def naive_w1_cdf(logits, target, values):
    """W1 by the CDF formula: sort the number values, sum |F_pred - F_true| times the gaps (N, C)."""
    number = ~torch.isnan(values)
    sorted_values, order = values[number].sort()
    probs = torch.softmax(logits[:, number], dim=1)[:, order]
    losses = []
    for row, t in enumerate(target.tolist()):
        if torch.isnan(values[t]):
            continue
        true_cdf = (sorted_values >= values[t]).to(probs.dtype)
        gaps = sorted_values[1:] - sorted_values[:-1]
        losses.append(((probs[row].cumsum(0) - true_cdf)[:-1].abs() * gaps).sum())
    return torch.stack(losses).mean()


def make_batch(n=12, seed=0, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(n, 7, generator=g, dtype=dtype) * 2
    target = torch.randint(0, 7, (n,), generator=g)
    target[0], target[1] = 4, 0  # at least one number and one symbol target
    return logits, target


@pytest.mark.parametrize("p", [1.0, 2.0, 3.0])
def test_lp_matches_naive_formula(p):
    logits, target = make_batch()
    values = vocabulary_values()
    torch.testing.assert_close(
        number_token_loss_lp(logits, target, values, p=p), naive_lp(logits, target, values, p)
    )


def test_w1_matches_cdf_formula_and_scipy():
    logits, target = make_batch(seed=1)
    values = vocabulary_values()
    ours = number_token_loss_w1(logits, target, values, reduction="none")
    torch.testing.assert_close(
        ours.sum() / (~torch.isnan(values[target])).sum(), naive_w1_cdf(logits, target, values)
    )
    number = ~torch.isnan(values)
    probs = torch.softmax(logits[:, number], dim=1).numpy()
    for row, t in enumerate(target.tolist()):
        if torch.isnan(values[t]):
            assert ours[row] == 0
            continue
        expected = wasserstein_distance(values[number].numpy(), [values[t].item()], u_weights=probs[row])
        assert ours[row].item() == pytest.approx(expected, rel=1e-10, abs=1e-12)


def test_sequence_layout_with_ignore_index_matches_flat_call():
    g = torch.Generator().manual_seed(2)
    logits = torch.randn(3, 7, 5, generator=g, dtype=torch.float64)  # (N, C, T)
    target = torch.randint(0, 7, (3, 5), generator=g)
    target[0, 0], target[2, 4] = -100, 1
    values = vocabulary_values()
    flat_logits = logits.transpose(1, 2).reshape(-1, 7)  # (N T, C)
    flat_target = target.reshape(-1)
    kept = flat_target != -100
    for loss in (number_token_loss_lp, number_token_loss_w1):
        torch.testing.assert_close(
            loss(logits, target, values), loss(flat_logits[kept], flat_target[kept], values)
        )
        per_position = loss(logits, target, values, reduction="none")
        assert per_position.shape == target.shape and per_position[0, 0] == 0
        torch.testing.assert_close(per_position.sum(), loss(logits, target, values, reduction="sum"))


def test_only_number_tokens_count_and_probabilities_are_renormalized():
    logits, target = make_batch(seed=3)
    values = vocabulary_values()
    shifted = logits.clone()
    shifted[:, [0, 2]] += (
        5.0  # more mass on the two symbols: the renormalized number distribution is unchanged
    )
    for loss in (number_token_loss_lp, number_token_loss_w1):
        torch.testing.assert_close(loss(logits, target, values), loss(shifted, target, values))
        assert not torch.allclose(
            loss(logits, target, values), loss(logits + torch.arange(7.0), target, values)
        )
    symbol_only = torch.tensor([0, 2, 0])
    assert torch.isnan(
        number_token_loss_w1(logits[:3], symbol_only, values)
    )  # no number target: NaN, as torch
    assert number_token_loss_w1(logits[:3], symbol_only, values, reduction="sum") == 0


def test_lp_misses_a_bimodal_prediction_that_w1_penalizes():
    values = torch.tensor([0.0, 1.0, 2.0, 3.0, 4.0, 5.0, NAN], dtype=torch.float64)
    logits = torch.full((1, 7), -1e4, dtype=torch.float64)
    logits[0, [3, 5]] = 0.0  # half on 3, half on 5; the truth is 4
    target = torch.tensor([4])
    assert number_token_loss_lp(logits, target, values).item() == pytest.approx(0.0, abs=1e-12)
    assert number_token_loss_w1(logits, target, values).item() == pytest.approx(1.0)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), scale=st.floats(0.1, 10.0))
def test_w1_bounds_the_l1_loss_and_is_non_negative(seed, scale):
    logits, target = make_batch(seed=seed)
    logits = logits * scale
    values = vocabulary_values()
    w1 = number_token_loss_w1(logits, target, values, reduction="none")
    l1 = number_token_loss_lp(logits, target, values, p=1, reduction="none")
    assert (w1 >= l1 - 1e-12).all() and (l1 >= 0).all()  # Jensen: E|v - y| >= |E v - y|


def test_confident_correct_prediction_gives_zero():
    values = vocabulary_values()
    target = torch.tensor([1, 3, 5, 6])
    logits = F.one_hot(target, 7).double() * 60
    for loss in (number_token_loss_lp, number_token_loss_w1):
        assert loss(logits, target, values).item() == pytest.approx(0.0, abs=1e-12)


def test_gradcheck_float64():
    logits, target = make_batch(n=5, seed=4)
    logits.requires_grad_(True)
    values = vocabulary_values()
    assert torch.autograd.gradcheck(lambda z: number_token_loss_lp(z, target, values), (logits,))
    assert torch.autograd.gradcheck(lambda z: number_token_loss_w1(z, target, values), (logits,))


def test_float32_and_modules_match_functional():
    logits, target = make_batch(seed=5, dtype=torch.float32)
    values = vocabulary_values(torch.float32)
    assert NumberTokenLossLp(values, p=1.5)(logits, target).dtype == torch.float32
    torch.testing.assert_close(
        NumberTokenLossLp(values, p=1.5)(logits, target), number_token_loss_lp(logits, target, values, p=1.5)
    )
    torch.testing.assert_close(
        NumberTokenLossW1(values, reduction="sum")(logits, target),
        number_token_loss_w1(logits, target, values, reduction="sum"),
    )
    assert "token_values" in dict(NumberTokenLossW1(values).named_buffers())


@pytest.mark.parametrize(
    "change, match",
    [
        (lambda z, t, v: (z, t.float(), v), "int64"),
        (lambda z, t, v: (z, t.clone().fill_(7), v), r"\[0, 7\)"),
        (lambda z, t, v: (z, t[:-1], v), "shape"),
        (lambda z, t, v: (z, t, v[:-1]), "one entry per class"),
        (lambda z, t, v: (z, t, torch.full_like(v, NAN).index_fill(0, torch.tensor([1]), 1.0)), "at least 2"),
        (lambda z, t, v: (z, t, v.index_fill(0, torch.tensor([0]), float("inf"))), "inf"),
        (lambda z, t, v: (z.index_fill(0, torch.tensor([0]), NAN), t, v), "finite"),
    ],
)
def test_bad_inputs_raise_value_error(change, match):
    logits, target = make_batch()
    args = change(logits, target, vocabulary_values())
    for loss in (number_token_loss_lp, number_token_loss_w1):
        with pytest.raises(ValueError, match=match):
            loss(*args)


def test_bad_options_raise():
    logits, target = make_batch()
    values = vocabulary_values()
    with pytest.raises(ValueError, match="p"):
        number_token_loss_lp(logits, target, values, p=0)
    with pytest.raises(ValueError, match="reduction"):
        number_token_loss_w1(logits, target, values, reduction="avg")
    with pytest.raises(TypeError, match="token_values"):
        number_token_loss_w1(logits, target, values.long())
