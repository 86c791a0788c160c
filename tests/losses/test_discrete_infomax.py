"""Tests for the DIMCO code-label mutual information, its block-dependence term and code retrieval."""

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import mutual_info_score

from paperlab.losses import (
    DiscreteInfomaxLoss,
    code_block_dependence,
    code_label_mutual_information,
    code_retrieval_scores,
    discrete_codes,
    discrete_infomax_loss,
)


def make_batch(n=24, blocks=3, symbols=4, n_classes=3, seed=0, dtype=torch.float64, scale=2.0):
    g = torch.Generator().manual_seed(seed)
    logits = (torch.randn(n, blocks, symbols, generator=g, dtype=dtype) * scale).requires_grad_()
    labels = torch.randint(0, n_classes, (n,), generator=g)
    return logits, labels


def brute_force_information(probs, labels):
    """I(Y; C_m) of the joint table p(y, c) = (1/B) sum_b [y_b = y] p_b(c), summed over blocks, by loops."""
    total = 0.0
    classes = sorted(set(labels.tolist()))
    n, blocks, symbols = probs.shape
    for m in range(blocks):
        joint = [[sum(float(probs[b, m, k]) for b in range(n) if labels[b] == y) / n for k in range(symbols)]
                 for y in classes]  # fmt: skip
        p_y = [sum(row) for row in joint]
        p_c = [sum(joint[i][k] for i in range(len(classes))) for k in range(symbols)]
        for i in range(len(classes)):
            for k in range(symbols):
                if joint[i][k] > 0:
                    total += joint[i][k] * math.log(joint[i][k] / (p_y[i] * p_c[k]))
    return total


def test_matches_brute_force_joint_table():
    logits, labels = make_batch()
    expected = brute_force_information(logits.softmax(-1).detach(), labels)
    assert code_label_mutual_information(logits, labels).item() == pytest.approx(expected, abs=1e-10)


def test_hard_codes_match_sklearn_mutual_information():
    g = torch.Generator().manual_seed(3)
    codes = torch.randint(0, 5, (40, 2), generator=g)
    labels = torch.randint(0, 4, (40,), generator=g)
    logits = torch.nn.functional.one_hot(codes, 5).double() * 200.0  # one-hot probabilities in float64
    expected = sum(mutual_info_score(labels.numpy(), codes[:, m].numpy()) for m in range(2))
    assert code_label_mutual_information(logits, labels).item() == pytest.approx(expected, abs=1e-9)


def test_perfect_code_reaches_label_entropy_and_loss_is_its_negative():
    labels = torch.tensor([0, 0, 1, 1, 2, 2, 3, 3])
    codes = torch.stack([labels, labels.flip(0)], dim=1)  # each block identifies the class
    logits = torch.nn.functional.one_hot(codes, 4).double() * 100.0
    assert code_label_mutual_information(logits, labels).item() == pytest.approx(2 * math.log(4))
    assert discrete_infomax_loss(logits, labels).item() == pytest.approx(-2 * math.log(4))
    assert DiscreteInfomaxLoss()(logits, labels).item() == pytest.approx(-2 * math.log(4))


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), blocks=st.integers(1, 4), symbols=st.integers(2, 6))
def test_information_is_bounded(seed, blocks, symbols):
    logits, labels = make_batch(n=10, blocks=blocks, symbols=symbols, seed=seed, scale=4.0)
    value = code_label_mutual_information(logits, labels).item()
    n_classes = len(torch.unique(labels))
    bound = blocks * min(math.log(symbols), math.log(n_classes)) if n_classes > 1 else 0.0
    assert -1e-12 <= value <= bound + 1e-12


def test_block_dependence_brute_force_and_zero_for_independent_blocks():
    logits, _ = make_batch(n=12, blocks=3, symbols=3)
    p = logits.softmax(-1).detach()
    pairs = []
    for i in range(3):
        for j in range(3):
            if i != j:
                joint = torch.einsum("bk,bl->kl", p[:, i], p[:, j]) / 12
                prod = p[:, i].mean(0)[:, None] * p[:, j].mean(0)[None, :]
                pairs.append((joint * (joint / prod).log()).sum().item())
    assert code_block_dependence(logits).item() == pytest.approx(sum(pairs) / len(pairs), abs=1e-12)
    # Hard codes whose two blocks are a product design (every pair of symbols once) are independent.
    grid = torch.cartesian_prod(torch.arange(3), torch.arange(3))
    independent = torch.nn.functional.one_hot(grid, 3).double() * 100.0
    assert code_block_dependence(independent).item() == pytest.approx(0.0, abs=1e-12)
    duplicated = torch.nn.functional.one_hot(torch.stack([grid[:, 0], grid[:, 0]], 1), 3).double() * 100.0
    assert code_block_dependence(duplicated).item() == pytest.approx(math.log(3))


def test_independence_weight_adds_the_dependence_term():
    logits, labels = make_batch()
    plain = discrete_infomax_loss(logits, labels)
    weighted = discrete_infomax_loss(logits, labels, independence_weight=0.5)
    assert (weighted - plain).item() == pytest.approx(0.5 * code_block_dependence(logits).item())


def test_gradcheck():
    logits, labels = make_batch(n=9, blocks=2, symbols=3)
    assert torch.autograd.gradcheck(lambda z: discrete_infomax_loss(z, labels, 0.3), (logits,))
    assert torch.autograd.gradcheck(
        lambda z: code_retrieval_scores(z, torch.tensor([[0, 2], [1, 1]])), (logits,)
    )


def test_retrieval_scores_are_log_probabilities_of_codes():
    logits, _ = make_batch(n=5, blocks=3, symbols=4)
    database, _ = make_batch(n=7, blocks=3, symbols=4, seed=1)
    codes = discrete_codes(database)
    assert codes.shape == (7, 3) and codes.dtype == torch.int64
    scores = code_retrieval_scores(logits, codes)
    log_p = logits.log_softmax(-1)
    for q in range(5):
        for n in range(7):
            expected = sum(log_p[q, m, codes[n, m]] for m in range(3))
            assert scores[q, n].item() == pytest.approx(expected.item())
    # A query's own code is its most probable code.
    own = code_retrieval_scores(logits, discrete_codes(logits))
    assert torch.equal(own.argmax(dim=1), torch.arange(5))


def test_float32_and_dtype_kept():
    logits, labels = make_batch(dtype=torch.float32)
    assert discrete_infomax_loss(logits, labels, 1.0).dtype == torch.float32


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda z, y: code_label_mutual_information(z[:, 0], y), "logits"),
        (lambda z, y: code_label_mutual_information(z[:, :, :1], y), "logits"),
        (lambda z, y: code_label_mutual_information(z, y[:-1]), "labels"),
        (lambda z, y: code_label_mutual_information(z, y.double()), "labels"),
        (lambda z, y: code_label_mutual_information(z.detach() * float("nan"), y), "finite"),
        (lambda z, y: discrete_infomax_loss(z, y, independence_weight=-1.0), "independence_weight"),
        (lambda z, y: DiscreteInfomaxLoss(independence_weight=-1.0), "independence_weight"),
        (lambda z, y: code_retrieval_scores(z, torch.zeros(2, 2, dtype=torch.long)), "codes"),
        (lambda z, y: code_retrieval_scores(z, torch.full((2, 3), 4)), "codes"),
        (lambda z, y: code_retrieval_scores(z, torch.zeros(2, 3)), "codes"),
    ],
)
def test_bad_inputs(call, match):
    logits, labels = make_batch()
    with pytest.raises((ValueError, TypeError), match=match):
        call(logits, labels)
