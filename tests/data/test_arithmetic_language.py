import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from paperlab.data import ArithmeticVocabulary, digit_equations, digits_to_numbers, number_prompts


def test_vocabulary_round_trip_and_values():
    vocab = ArithmeticVocabulary(10)
    tokens = ["<bos>", "4", "7", "+", "3", "=", "9", "<eos>"]
    ids = vocab.encode(tokens)
    assert ids.dtype == torch.long
    assert vocab.decode(ids) == tokens
    values = vocab.token_values(dtype=torch.float64)
    assert values.dtype == torch.float64 and values.shape == (len(vocab),)
    assert torch.equal(values[:10], torch.arange(10, dtype=torch.float64))
    assert torch.isnan(values[10:]).all() and len(vocab) == 15
    assert torch.equal(vocab.number_ids, torch.arange(10))


def test_vocabulary_rejects_bad_tokens_and_ids():
    vocab = ArithmeticVocabulary(10)
    with pytest.raises(ValueError, match="token"):
        vocab.encode(["12"])
    with pytest.raises(ValueError, match="ids"):
        vocab.decode([99])
    with pytest.raises(ValueError, match="n_numbers"):
        ArithmeticVocabulary(1)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), n_digits=st.integers(1, 3), operation=st.sampled_from(["+", "*"]))
def test_digit_equations_state_true_equations(seed, n_digits, operation):
    batch, vocab = digit_equations(20, n_digits, operation, generator=seed)
    a, b = batch.operands.T
    assert torch.equal(batch.results, a + b if operation == "+" else a * b)
    width = n_digits + 1 if operation == "+" else 2 * n_digits
    assert batch.answer_length == width
    assert batch.tokens.shape == (20, 2 * n_digits + width + 4)
    # read the operands and the answer back from the token strings
    assert torch.equal(digits_to_numbers(batch.tokens[:, 1 : 1 + n_digits]), a)
    assert torch.equal(digits_to_numbers(batch.tokens[:, 2 + n_digits : 2 + 2 * n_digits]), b)
    answer = batch.tokens[:, batch.answer_start : batch.answer_start + width]
    assert torch.equal(digits_to_numbers(answer), batch.results)
    row = vocab.decode(batch.tokens[0])
    assert row[0] == "<bos>" and row[-1] == "<eos>" and row[batch.answer_start - 1] == "="
    assert row[1 + n_digits] == operation


def test_digit_equations_are_deterministic_per_seed():
    first, _ = digit_equations(50, generator=3)
    again, _ = digit_equations(50, generator=3)
    other, _ = digit_equations(50, generator=4)
    assert torch.equal(first.tokens, again.tokens)
    assert not torch.equal(first.tokens, other.tokens)


def test_next_token_pairs_mask_everything_but_the_answer():
    batch, _ = digit_equations(8, 2, generator=0)
    inputs, targets = batch.next_token_pairs(ignore_index=-7)
    assert inputs.shape == targets.shape == (8, batch.tokens.shape[1] - 1)
    kept = targets != -7
    assert kept.sum(dim=1).eq(batch.answer_length).all()
    # the kept targets are the answer digits, predicted from the position just before each
    answer = batch.tokens[:, batch.answer_start : batch.answer_start + batch.answer_length]
    assert torch.equal(targets[kept].view(8, -1), answer)
    _, all_targets = batch.next_token_pairs(answer_only=False)
    assert torch.equal(all_targets, batch.tokens[:, 1:])


def test_number_prompts_answer_is_one_token():
    batch, vocab = number_prompts(100, max_operand=49, generator=0)
    assert len(vocab) == 99 + 5 and batch.tokens.shape == (100, 6)
    assert batch.answer_start == 5 and batch.answer_length == 1
    assert torch.equal(batch.tokens[:, 5], batch.operands.sum(1))
    assert batch.operands.max() <= 49 and batch.operands.min() >= 0
    assert vocab.decode(batch.tokens[0])[2] == "+"
    assert torch.equal(vocab.token_values()[batch.tokens[:, 5]].long(), batch.results)
    assert batch.prompts.shape == (100, 5)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: digit_equations(0), "n"),
        (lambda: digit_equations(5, 0), "n_digits"),
        (lambda: digit_equations(5, operation="-"), "operation"),
        (lambda: number_prompts(5, max_operand=0), "max_operand"),
        (lambda: digits_to_numbers(torch.tensor([[1, 12]])), "digit_ids"),
        (lambda: digits_to_numbers(torch.tensor([1, 2])), "digit_ids"),
    ],
)
def test_bad_arguments_raise(call, match):
    with pytest.raises(ValueError, match=match):
        call()
