"""Small reusable networks and layers."""

from .subspace import (
    DenseProjection,
    FastfoodProjection,
    SparseProjection,
    SubspaceModel,
    fast_walsh_hadamard,
)
from .embedding_mlp import EmbeddingMLP
