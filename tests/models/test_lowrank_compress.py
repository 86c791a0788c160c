"""Output-feature vs weight low-rank compression: PCA reconstruction (vs scikit-learn), optimality on the
calibration outputs, module surgery on a CTR model, multiply-accumulate counts, bad inputs."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.decomposition import PCA
from torch import nn

from paperlab.models import (
    CTRDNN,
    LowRankEmbedding,
    LowRankLinear,
    feature_lowrank_compress,
    feature_lowrank_embedding,
    feature_lowrank_linear,
    multiply_accumulates,
    svd_compress,
    svd_lowrank_embedding,
)


def linear_and_inputs(n_in=20, n_out=12, n=300, seed=0):
    torch.manual_seed(seed)
    layer = nn.Linear(n_in, n_out).double()
    mixing = torch.randn(n_in, n_in, dtype=torch.float64) * torch.logspace(0, -2, n_in, dtype=torch.float64)
    return layer, torch.randn(n, n_in, dtype=torch.float64) @ mixing + 0.5  # anisotropic, off-centre inputs


def pca_reconstruction(outputs: np.ndarray, k: int) -> np.ndarray:
    pca = PCA(n_components=k, svd_solver="full").fit(outputs)
    return pca.inverse_transform(pca.transform(outputs))


@pytest.mark.parametrize("k", [1, 4, 12])
def test_feature_linear_outputs_are_the_pca_reconstruction(k):
    layer, inputs = linear_and_inputs()
    compressed = feature_lowrank_linear(layer, inputs, k)
    assert isinstance(compressed, LowRankLinear) and compressed.rank == k
    with torch.no_grad():
        expected = pca_reconstruction(layer(inputs).numpy(), k)
        np.testing.assert_allclose(compressed(inputs).numpy(), expected, atol=1e-10)


def test_feature_embedding_is_the_frequency_weighted_pca():
    torch.manual_seed(1)
    table = nn.Embedding(30, 8).double()
    ids = torch.cat([torch.zeros(200, dtype=torch.long), torch.randint(0, 30, (100,))])  # id 0 dominates
    compressed = feature_lowrank_embedding(table, ids, 3)
    with torch.no_grad():
        expected = pca_reconstruction(table(ids).numpy(), 3)
        np.testing.assert_allclose(compressed(ids).numpy(), expected, atol=1e-10)
        torch.testing.assert_close(compressed.weight[ids], compressed(ids))


def test_svd_embedding_is_the_best_rank_k_table():
    torch.manual_seed(2)
    table = nn.Embedding(40, 10).double()
    compressed = svd_lowrank_embedding(table, 4)
    u, s, vh = np.linalg.svd(table.weight.detach().numpy(), full_matrices=False)
    expected = (u[:, :4] * s[:4]) @ vh[:4]
    np.testing.assert_allclose(compressed.weight.detach().numpy(), expected, atol=1e-10)
    assert compressed.bias is None


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 8), st.integers(0, 10_000))
def test_feature_compression_beats_weight_svd_on_calibration_outputs(k, seed):
    """The PCA subspace is the best affine rank-k fit of the outputs; the SVD layer's outputs are one."""
    layer, inputs = linear_and_inputs(seed=seed)
    with torch.no_grad():
        target = layer(inputs)
        feature_error = (feature_lowrank_linear(layer, inputs, k)(inputs) - target).square().sum()
        svd_error = (LowRankLinear.from_linear(layer, k)(inputs) - target).square().sum()
    assert float(feature_error) <= float(svd_error) * (1 + 1e-9) + 1e-12


def ctr_model():
    torch.manual_seed(3)
    return CTRDNN([15, 25, 10], embedding_dim=8, hidden=(16, 12))


def test_model_compression_replaces_the_named_modules_only():
    model = ctr_model()
    x = torch.stack([torch.randint(0, size, (256,)) for size in model.field_sizes], dim=1)  # (256, 3)
    ranks = {"embeddings.0": 2, "embeddings.1": 3, "mlp.0": 5, "mlp.2": 4}
    reference = {name: p.clone() for name, p in model.named_parameters()}
    for compressed in (feature_lowrank_compress(model, x, ranks), svd_compress(model, ranks)):
        assert isinstance(compressed.embeddings[0], LowRankEmbedding) and compressed.embeddings[1].rank == 3
        assert isinstance(compressed.embeddings[2], nn.Embedding)
        assert isinstance(compressed.mlp[0], LowRankLinear) and compressed.mlp[2].rank == 4
        assert isinstance(compressed.mlp[4], nn.Linear)
        assert compressed(x).shape == (256,)
    for name, p in model.named_parameters():  # the original is untouched
        assert torch.equal(p, reference[name])
    assert isinstance(model.mlp[0], nn.Linear)


def test_full_rank_feature_compression_keeps_the_model():
    model = ctr_model()
    x = torch.stack([torch.randint(0, size, (512,)) for size in model.field_sizes], dim=1)
    ranks = {"embeddings.0": 8, "embeddings.1": 8, "embeddings.2": 8, "mlp.0": 16, "mlp.2": 12}
    with torch.no_grad():
        torch.testing.assert_close(
            feature_lowrank_compress(model, x, ranks)(x), model(x), atol=1e-5, rtol=1e-4
        )


def test_multiply_accumulates():
    model = ctr_model()
    x = torch.stack([torch.randint(0, size, (7,)) for size in model.field_sizes], dim=1)
    assert multiply_accumulates(model, x) == 24 * 16 + 16 * 12 + 12 * 1
    compressed = svd_compress(model, {"embeddings.0": 2, "mlp.0": 5})
    assert multiply_accumulates(compressed, x) == 2 * 8 + 5 * (24 + 16) + 16 * 12 + 12


def test_lowrank_embedding_and_ctr_model_bad_inputs():
    with pytest.raises(ValueError, match="projection"):
        LowRankEmbedding(torch.randn(10, 3), torch.randn(8, 2))
    with pytest.raises(ValueError, match="bias"):
        LowRankEmbedding(torch.randn(10, 3), torch.randn(8, 3), torch.randn(5))
    with pytest.raises(ValueError, match="field_sizes"):
        CTRDNN([])
    with pytest.raises(ValueError, match="x"):
        ctr_model()(torch.zeros(4, 2, dtype=torch.long))


def test_compression_bad_inputs():
    model = ctr_model()
    x = torch.stack([torch.randint(0, size, (64,)) for size in model.field_sizes], dim=1)
    layer, inputs = linear_and_inputs()
    with pytest.raises(ValueError, match="rank"):
        feature_lowrank_linear(layer, inputs, 13)
    with pytest.raises(ValueError, match="inputs"):
        feature_lowrank_linear(layer, inputs[:, :5], 2)
    with pytest.raises(TypeError, match="linear"):
        feature_lowrank_linear(nn.Embedding(3, 4), inputs, 2)
    with pytest.raises(ValueError, match="rank"):
        svd_lowrank_embedding(nn.Embedding(30, 8), 9)
    with pytest.raises(ValueError, match="does not exist"):
        svd_compress(model, {"mlp.9": 2})
    with pytest.raises(TypeError, match="nn.Linear or nn.Embedding"):
        feature_lowrank_compress(model, x, {"mlp.1": 2})
    with pytest.raises(TypeError, match="ranks"):
        svd_compress(model, {})
