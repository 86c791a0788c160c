r"""A shared encoder with a feature head and a cluster head, both on the unit sphere.

The network of "Unsupervised Manifold Linearizing and Clustering (2023)": the feature head gives the
representation Z that the rate reduction linearizes; the Gram matrix of the cluster head C, projected
onto the doubly stochastic matrices, is the soft membership :math:`\Pi` that says which points belong
together.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from paperlab._checks import check_positive
from paperlab.models.embedding_mlp import EmbeddingMLP
from paperlab.solvers.doubly_stochastic import doubly_stochastic_projection


class ManifoldClusteringNet(nn.Module):
    r"""MLP backbone, then two linear heads normalized to the unit sphere: features Z and cluster codes C.

    .. math:: h = \mathrm{relu}(f_\theta(x)), \quad z = \frac{W_z h}{\|W_z h\|}, \quad
              c = \frac{W_c h}{\|W_c h\|}

    With ``one_shot_init`` (the default) the cluster head starts as a copy of the feature head, so the
    initial membership is the doubly stochastic projection of :math:`Z Z^\top`, the similarity of the
    initial features, instead of a nearly uniform matrix from an unrelated random head.

    Args:
        in_features: input width.
        out_features: width d of the features Z.
        cluster_features: width of the cluster codes C (equal to ``out_features`` for the one-shot init).
        hidden: widths of the backbone's layers (at least one).
        one_shot_init: copy the feature head into the cluster head at construction.

    Shapes: (n, in_features) -> Z (n, out_features), C (n, cluster_features).
    """

    def __init__(
        self,
        in_features: int,
        out_features: int = 32,
        cluster_features: int | None = None,
        hidden=(128, 128),
        one_shot_init: bool = True,
    ):
        super().__init__()
        hidden = tuple(hidden)
        if not hidden:
            raise ValueError("hidden must name at least one backbone layer, got ()")
        cluster_features = out_features if cluster_features is None else cluster_features
        check_positive("cluster_features", cluster_features, integer=True)
        if one_shot_init and cluster_features != out_features:
            raise ValueError(
                "one_shot_init copies the feature head, so cluster_features must equal out_features "
                f"({out_features}), got {cluster_features}"
            )
        self.backbone = EmbeddingMLP(in_features, hidden[-1], hidden=hidden[:-1])
        self.feature_head = nn.Linear(hidden[-1], out_features)
        self.cluster_head = nn.Linear(hidden[-1], cluster_features)
        if one_shot_init:
            self.cluster_head.load_state_dict(self.feature_head.state_dict())

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = torch.relu(self.backbone(x))  # (n, hidden[-1])
        features = F.normalize(self.feature_head(h), dim=1)  # (n, d)
        codes = F.normalize(self.cluster_head(h), dim=1)  # (n, cluster_features)
        return features, codes

    def membership(self, x: torch.Tensor, reg: float = 0.2, max_iter: int = 100) -> torch.Tensor:
        """Doubly stochastic membership (n, n) of a batch, from the Gram matrix of its cluster codes."""
        _, codes = self(x)
        return doubly_stochastic_projection(codes @ codes.T, reg=reg, max_iter=max_iter).membership
