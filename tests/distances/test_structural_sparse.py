"""Tests for the structural sparse (GSSF) similarity and the dense bilinear baseline."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from paperlab.distances import BilinearSimilarity, GSSFSimilarity, structural_sparse_similarity


def naive_scores(x, y, diagonal, blocks, x_mixing=None, y_mixing=None, normalize=True):
    """One pair at a time, with the dense masked matrices W ⊙ I and W ⊙ U_block written out."""
    if normalize:
        x = x / x.norm(dim=1, keepdim=True)
        y = y / y.norm(dim=1, keepdim=True)
    diagonal_matrix = torch.diag(diagonal)
    block_matrix = torch.block_diag(*blocks)
    scores = torch.empty(x.shape[0], y.shape[0], dtype=x.dtype)
    for i in range(x.shape[0]):
        for j in range(y.shape[0]):
            diagonal_term = x[i] @ diagonal_matrix @ y[j]
            block_term = x[i] @ block_matrix @ y[j]
            if x_mixing is None:
                scores[i, j] = diagonal_term + block_term
            else:
                scores[i, j] = (
                    x_mixing[i, 0] * y_mixing[j, 0] * diagonal_term
                    + x_mixing[i, 1] * y_mixing[j, 1] * block_term
                )
    return scores


def random_inputs(n, m, n_blocks, group, seed, dtype=torch.float64):
    generator = torch.Generator().manual_seed(seed)
    dim = n_blocks * group

    def draw(*shape):
        return torch.randn(*shape, generator=generator, dtype=dtype)

    return draw(n, dim), draw(m, dim), draw(dim), draw(n_blocks, group, group), draw(n, 2), draw(m, 2)


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(1, 5),
    m=st.integers(1, 5),
    n_blocks=st.integers(1, 4),
    group=st.integers(1, 4),
    normalize=st.booleans(),
    dynamic=st.booleans(),
    seed=st.integers(0, 10_000),
)
def test_matches_naive_pairwise_loop(n, m, n_blocks, group, normalize, dynamic, seed):
    x, y, diagonal, blocks, x_mixing, y_mixing = random_inputs(n, m, n_blocks, group, seed)
    if not dynamic:
        x_mixing = y_mixing = None
    ours = structural_sparse_similarity(x, y, diagonal, blocks, x_mixing, y_mixing, normalize=normalize)
    expected = naive_scores(x, y, diagonal, blocks, x_mixing, y_mixing, normalize=normalize)
    torch.testing.assert_close(ours, expected, rtol=1e-10, atol=1e-10)


def test_block_term_only_couples_channels_inside_a_group():
    # x in group 0, y in group 1: no block interaction and no shared diagonal channel, whatever B is.
    blocks = torch.randn(2, 3, 3, dtype=torch.float64)
    x = torch.tensor([[1.0, 2.0, 0.5, 0.0, 0.0, 0.0]], dtype=torch.float64)
    y = torch.tensor([[0.0, 0.0, 0.0, 1.0, -1.0, 2.0]], dtype=torch.float64)
    scores = structural_sparse_similarity(x, y, torch.ones(6, dtype=torch.float64), blocks)
    assert scores.item() == 0.0
    # Within one group the off-diagonal entry B[0, 0, 1] links channel 0 of x to channel 1 of y.
    blocks = torch.zeros(2, 3, 3, dtype=torch.float64)
    blocks[0, 0, 1] = 3.0
    x = torch.tensor([[1.0, 0, 0, 0, 0, 0]], dtype=torch.float64)
    y = torch.tensor([[0, 1.0, 0, 0, 0, 0]], dtype=torch.float64)
    assert structural_sparse_similarity(x, y, torch.zeros(6, dtype=torch.float64), blocks).item() == 3.0


def test_gradcheck_float64():
    x, y, diagonal, blocks, x_mixing, y_mixing = random_inputs(3, 4, 2, 2, seed=1)
    inputs = [t.requires_grad_() for t in (x, y, diagonal, blocks, x_mixing, y_mixing)]
    assert torch.autograd.gradcheck(structural_sparse_similarity, inputs)


def test_module_starts_at_cosine_and_is_dynamic_after_a_step():
    torch.manual_seed(0)
    head = GSSFSimilarity(8, 2).double()
    x, y = torch.randn(4, 8, dtype=torch.float64), torch.randn(5, 8, dtype=torch.float64)
    cosine = torch.nn.functional.normalize(x, dim=1) @ torch.nn.functional.normalize(y, dim=1).T
    torch.testing.assert_close(head(x, y), cosine)
    # At initialisation both terms equal the cosine, so the gates get no gradient until they differ.
    with torch.no_grad():
        head.blocks.add_(0.3 * torch.randn_like(head.blocks))
    head(x, y).pow(2).sum().backward()
    assert head.x_gate.weight.grad.abs().sum() > 0 and head.blocks.grad.abs().sum() > 0


def test_module_matches_functional_and_parameter_budget():
    head = GSSFSimilarity(64, 8)
    assert sum(p.numel() for p in head.parameters()) == 64 + 8 * 8 * 8 + 2 * (64 * 2 + 2)
    assert sum(p.numel() for p in GSSFSimilarity(64, 8, dynamic=False).parameters()) == 64 + 512
    with torch.no_grad():
        head.x_gate.weight.normal_()
        head.blocks.normal_()
    x, y = torch.randn(3, 64), torch.randn(4, 64)
    unit_x = torch.nn.functional.normalize(x, dim=1)
    unit_y = torch.nn.functional.normalize(y, dim=1)
    x_mixing = 2 * torch.softmax(head.x_gate(unit_x), dim=1)
    y_mixing = 2 * torch.softmax(head.y_gate(unit_y), dim=1)
    expected = naive_scores(x, y, head.diagonal, head.blocks, x_mixing, y_mixing)
    torch.testing.assert_close(head(x, y), expected, rtol=1e-5, atol=1e-5)


def test_bilinear_matches_dense_formula():
    head = BilinearSimilarity(5)
    with torch.no_grad():
        head.weight.normal_()
    x, y = torch.randn(3, 5), torch.randn(2, 5)
    unit_x, unit_y = x / x.norm(dim=1, keepdim=True), y / y.norm(dim=1, keepdim=True)
    expected = torch.stack([torch.stack([a @ head.weight @ b for b in unit_y]) for a in unit_x])
    torch.testing.assert_close(head(x, y), expected)


@pytest.mark.parametrize(
    "change, match",
    [
        (lambda a: {**a, "x": a["x"][0]}, "x must have 2 dimensions"),
        (lambda a: {**a, "y": a["y"][:, :5]}, "y must have 6 features"),
        (lambda a: {**a, "diagonal": a["diagonal"][:5]}, "diagonal must have shape"),
        (lambda a: {**a, "blocks": torch.randn(4, 2, 2)}, "blocks must have shape"),
        (lambda a: {**a, "blocks": torch.randn(2, 3, 2)}, "blocks must have shape"),
        (lambda a: {**a, "x_mixing": torch.ones(3, 2)}, "x_mixing and y_mixing"),
        (lambda a: {**a, "x_mixing": torch.ones(3, 3), "y_mixing": torch.ones(4, 2)}, "x_mixing must"),
        (lambda a: {**a, "x": a["x"].masked_fill(torch.eye(3, 6, dtype=torch.bool), float("nan"))}, "finite"),
    ],
)
def test_bad_inputs_raise(change, match):
    args = {
        "x": torch.randn(3, 6),
        "y": torch.randn(4, 6),
        "diagonal": torch.ones(6),
        "blocks": torch.randn(2, 3, 3),
    }
    with pytest.raises(ValueError, match=match):
        structural_sparse_similarity(**change(args))


def test_bad_module_arguments_raise():
    with pytest.raises(ValueError, match="n_blocks must divide"):
        GSSFSimilarity(10, 3)
    with pytest.raises(ValueError, match="dim must be a positive int"):
        GSSFSimilarity(0, 1)
    with pytest.raises(ValueError, match="x must have 4 features"):
        BilinearSimilarity(4)(torch.randn(2, 3), torch.randn(2, 4))
    with pytest.raises(TypeError, match="floating"):
        GSSFSimilarity(4, 2)(torch.ones(2, 4, dtype=torch.int64), torch.randn(2, 4))
