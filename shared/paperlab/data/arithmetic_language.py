"""A synthetic arithmetic language: 'a+b=c' strings of number tokens for tiny language models.

Two forms. *Digit strings* (:func:`digit_equations`) write every operand and the answer digit by digit
with single-digit number tokens, ``<bos> 4 7 + 3 8 = 0 8 5 <eos>``: the setting of number-token losses.
*Number prompts* (:func:`number_prompts`) use one token per number, ``<bos> 17 + 32 = 49``, so the
answer is a single token of a metric vocabulary: the setting of distance-aware soft targets.
Everything is drawn through an explicit ``generator``, so one seed gives one data set.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from paperlab._checks import check_choice, check_positive
from paperlab._random import as_generator

SYMBOLS = ("+", "*", "=", "<bos>", "<eos>")


class ArithmeticVocabulary:
    """Tokens <-> ids, with the number tokens ``"0", ..., str(n_numbers - 1)`` first.

    Number token ``k`` has id ``k`` and numeric value ``k``; the symbols ``+ * = <bos> <eos>`` follow.

    Args:
        n_numbers: how many number tokens (10 for single digits, 99 for the numbers 0..98).
    """

    def __init__(self, n_numbers: int = 10):
        check_positive("n_numbers", n_numbers, integer=True)
        if n_numbers < 2:
            raise ValueError(f"n_numbers must be >= 2, got {n_numbers!r}")
        self.n_numbers = n_numbers
        self.tokens = tuple(str(k) for k in range(n_numbers)) + SYMBOLS
        self._ids = {token: i for i, token in enumerate(self.tokens)}

    def __len__(self) -> int:
        return len(self.tokens)

    def __repr__(self) -> str:
        return f"ArithmeticVocabulary(n_numbers={self.n_numbers})"

    def id_of(self, token: str) -> int:
        """The id of one token; unknown tokens raise ValueError."""
        if token not in self._ids:
            raise ValueError(f"token must be one of the vocabulary's tokens, got {token!r}")
        return self._ids[token]

    def encode(self, tokens) -> torch.Tensor:
        """A sequence of token strings -> int64 ids, shape ``(L,)``."""
        return torch.tensor([self.id_of(t) for t in tokens], dtype=torch.long)

    def decode(self, ids) -> list[str]:
        """Ids (a 1-D tensor or a sequence of ints) -> token strings."""
        ids = ids.tolist() if isinstance(ids, torch.Tensor) else list(ids)
        for i in ids:
            if not 0 <= int(i) < len(self):
                raise ValueError(f"ids must be in [0, {len(self)}), got {i!r}")
        return [self.tokens[int(i)] for i in ids]

    @property
    def number_ids(self) -> torch.Tensor:
        """Ids of the number tokens in increasing numeric order, shape ``(n_numbers,)``."""
        return torch.arange(self.n_numbers)

    def token_values(self, dtype: torch.dtype = torch.float32, device=None) -> torch.Tensor:
        """Numeric value of every token, NaN for the symbols, shape ``(V,)``."""
        values = torch.full((len(self),), float("nan"), dtype=dtype, device=device)
        values[: self.n_numbers] = torch.arange(self.n_numbers, dtype=dtype, device=device)
        return values


@dataclass
class ArithmeticBatch:
    """Equations as token ids, with the position of the answer and the numbers they state.

    Attributes:
        tokens: int64 ids, shape ``(n, L)``, every row the same length.
        answer_start: index of the first answer token in each row.
        answer_length: number of answer tokens.
        operands: the two operands, shape ``(n, 2)``.
        results: the true answers, shape ``(n,)``.
    """

    tokens: torch.Tensor
    answer_start: int
    answer_length: int
    operands: torch.Tensor
    results: torch.Tensor

    @property
    def prompts(self) -> torch.Tensor:
        """Everything before the answer, shape ``(n, answer_start)``."""
        return self.tokens[:, : self.answer_start]

    def next_token_pairs(self, ignore_index: int = -100, answer_only: bool = True):
        """Inputs ``tokens[:, :-1]`` and next-token targets ``tokens[:, 1:]``, both ``(n, L - 1)``.

        With ``answer_only`` every target outside the answer is ``ignore_index``, so a loss sees only
        the answer tokens (the operands are random and cannot be predicted).
        """
        inputs, targets = self.tokens[:, :-1], self.tokens[:, 1:].clone()
        if answer_only:
            first, last = self.answer_start - 1, self.answer_start - 1 + self.answer_length
            targets[:, :first] = ignore_index
            targets[:, last:] = ignore_index
        return inputs, targets


def digit_equations(
    n: int, n_digits: int = 2, operation: str = "+", generator=None
) -> tuple[ArithmeticBatch, ArithmeticVocabulary]:
    """Random equations ``a op b = c`` written digit by digit with single-digit number tokens.

    Operands are uniform in ``[0, 10^n_digits)`` and written with ``n_digits`` digits; the answer is
    zero-padded to its largest width (``n_digits + 1`` for ``+``, ``2 n_digits`` for ``*``), so every row
    reads ``<bos> a_1..a_d op b_1..b_d = c_1..c_m <eos>`` and has the same length.

    Args:
        n: number of equations.
        n_digits: digits per operand.
        operation: ``"+"`` or ``"*"``.
        generator: seed or ``torch.Generator`` (None: torch's global generator).

    Returns:
        The batch and its vocabulary (10 number tokens).
    """
    check_positive("n", n, integer=True)
    check_positive("n_digits", n_digits, integer=True)
    check_choice("operation", operation, {"+", "*"})
    generator = as_generator(generator)
    vocab = ArithmeticVocabulary(10)
    operands = torch.randint(0, 10**n_digits, (n, 2), generator=generator)
    results = operands[:, 0] + operands[:, 1] if operation == "+" else operands[:, 0] * operands[:, 1]
    answer_length = n_digits + 1 if operation == "+" else 2 * n_digits
    columns = [
        torch.full((n, 1), vocab.id_of("<bos>")),
        _digits(operands[:, 0], n_digits),
        torch.full((n, 1), vocab.id_of(operation)),
        _digits(operands[:, 1], n_digits),
        torch.full((n, 1), vocab.id_of("=")),
        _digits(results, answer_length),
        torch.full((n, 1), vocab.id_of("<eos>")),
    ]
    tokens = torch.cat(columns, dim=1)  # (n, 2 n_digits + answer_length + 4)
    batch = ArithmeticBatch(tokens, 2 * n_digits + 3, answer_length, operands, results)
    return batch, vocab


def number_prompts(
    n: int, max_operand: int = 49, generator=None
) -> tuple[ArithmeticBatch, ArithmeticVocabulary]:
    """Random prompts ``<bos> a + b =`` answered by one number token ``a + b``.

    Operands are uniform in ``[0, max_operand]``; the vocabulary has the ``2 max_operand + 1`` number
    tokens ``0 .. 2 max_operand`` and every row reads ``<bos> a + b = c`` (length 6, answer at index 5).

    Args:
        n: number of prompts.
        max_operand: largest operand.
        generator: seed or ``torch.Generator`` (None: torch's global generator).

    Returns:
        The batch and its vocabulary.
    """
    check_positive("n", n, integer=True)
    check_positive("max_operand", max_operand, integer=True)
    generator = as_generator(generator)
    vocab = ArithmeticVocabulary(2 * max_operand + 1)
    operands = torch.randint(0, max_operand + 1, (n, 2), generator=generator)
    results = operands.sum(dim=1)
    symbol = {s: torch.full((n,), vocab.id_of(s)) for s in ("<bos>", "+", "=")}
    tokens = torch.stack(
        [symbol["<bos>"], operands[:, 0], symbol["+"], operands[:, 1], symbol["="], results], dim=1
    )  # (n, 6); number token k has id k
    return ArithmeticBatch(tokens, 5, 1, operands, results), vocab


def digits_to_numbers(digit_ids: torch.Tensor) -> torch.Tensor:
    """Read rows of digit ids (most significant first) as integers; non-digit ids raise ValueError.

    Args:
        digit_ids: int64 ids of single-digit number tokens, shape ``(n, m)``.

    Returns:
        int64 numbers, shape ``(n,)``.
    """
    if not isinstance(digit_ids, torch.Tensor) or digit_ids.dim() != 2 or digit_ids.dtype != torch.long:
        raise ValueError(f"digit_ids must be an int64 tensor of shape (n, m), got {digit_ids!r}")
    if bool(((digit_ids < 0) | (digit_ids > 9)).any()):
        raise ValueError("digit_ids must hold single-digit number tokens (ids 0..9)")
    powers = 10 ** torch.arange(digit_ids.shape[1] - 1, -1, -1, device=digit_ids.device)
    return (digit_ids * powers).sum(dim=1)


def _digits(numbers: torch.Tensor, width: int) -> torch.Tensor:
    """Zero-padded decimal digits, most significant first: ``(n,)`` -> ``(n, width)``."""
    powers = 10 ** torch.arange(width - 1, -1, -1)
    return (numbers.unsqueeze(1) // powers) % 10  # (n, width)
