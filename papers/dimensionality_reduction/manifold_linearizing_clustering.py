# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Unsupervised Manifold Linearizing and Clustering
# *2023* · topic `dimensionality_reduction` · verdict **reproduce**
#
# ## The idea
#
# Data from a union of curved manifolds is hard to cluster: the clusters are neither blobs (k-means)
# nor linear subspaces (subspace clustering). The paper learns, at the same time, a representation
# $Z = f_\theta(X)$ on the unit sphere that maps every manifold to a low-dimensional *linear* subspace,
# and a soft membership matrix $\Pi$ saying which points belong together. Both come from the
# maximal coding rate reduction principle (MCR$^2$). The coding rate of $n$ features in $\mathbb{R}^d$,
#
# $$R(Z) = \tfrac12 \log\det\Big(I + \tfrac{d}{n\epsilon^2} Z^\top Z\Big),$$
#
# counts the nats needed to code them up to a distortion $\epsilon$; it is large when the features fill
# many directions. With the rows $\Pi_j$ of a membership matrix as (soft) groups,
#
# $$R_c(Z, \Pi) = \frac{1}{2n}\sum_{j=1}^n \log\det\Big(I + \tfrac{d}{\epsilon^2} Z^\top \mathrm{diag}(\Pi_j) Z\Big)$$
#
# is the rate of coding each group on its own. Maximizing $R(Z) - R_c(Z, \Pi)$ spreads the whole set
# out while compressing every group onto a few directions: groups become low-dimensional subspaces that
# are nearly orthogonal to each other.
#
# The membership comes from a second head of the network, with unit-norm codes $C$: its Gram matrix is
# projected onto the doubly stochastic matrices by entropic Sinkhorn,
#
# $$\Pi = \arg\max_{\Pi \ge 0,\ \Pi 1 = \Pi^\top 1 = 1}\ \langle C C^\top, \Pi\rangle - \gamma \sum_{ij}\Pi_{ij}\log\Pi_{ij},$$
#
# so $\Pi$ is symmetric and every point spreads one unit of membership over the points it resembles.
# The regularization $\gamma$ caps how sharp $\Pi$ can be, so a row can only concentrate by having
# many points share one code: this keeps each point from forming its own group. The cluster head starts
# as a copy of the feature head (the paper's one-shot initialization), so the first $\Pi$ is the
# projection of the initial feature similarities. Clusters are read off $\Pi$ by spectral clustering.
#
# Here an MLP is trained from scratch on 64-pixel digits and on a synthetic union of five curved
# 1-D and 2-D manifolds in $\mathbb{R}^{32}$ (the paper starts from self-supervised features of large
# image encoders). `paperlab.losses.mlc_loss`, `paperlab.solvers.doubly_stochastic_projection` and
# `paperlab.models.ManifoldClusteringNet` implement the method.

# %% tags=["parameters"]
profile = "ci"
seed = 0
device = "auto"
feature_dim = 32  # width d of the unit-norm features Z
hidden = 128  # width of the two backbone layers
steps = 150  # Adam steps per dataset
batch_size = 128  # points per step (the n per-row log-dets of R_c dominate the cost)
lr = 0.003  # Adam learning rate
reg = 0.2  # entropic regularization gamma of the doubly stochastic projection
eps = 0.5  # distortion of the coding rates
sinkhorn_iters = 5  # unrolled Sinkhorn iterations per training step
subspace_rank = 4  # directions per cluster when comparing cluster subspaces

# %%
import warnings

import matplotlib.pyplot as plt
import numpy as np
import torch
from sklearn.cluster import KMeans, SpectralClustering
from sklearn.datasets import load_digits
from tqdm.auto import tqdm

from paperlab.data import union_of_manifolds
from paperlab.experiment import require, setup
from paperlab.losses import mlc_loss, rate_reduction
from paperlab.metrics import clustering_accuracy, effective_rank, normalized_mutual_info, principal_angles
from paperlab.models import ManifoldClusteringNet
from paperlab.solvers import doubly_stochastic_projection

exp = setup(seed=seed, device=device, profile=profile)
for name, value in [
    ("feature_dim", feature_dim),
    ("hidden", hidden),
    ("steps", steps),
    ("batch_size", batch_size),
]:
    require(isinstance(value, int) and value >= 1, f"{name} must be a positive integer, got {value!r}")
require(
    isinstance(sinkhorn_iters, int) and sinkhorn_iters >= 1,
    f"sinkhorn_iters must be >= 1, got {sinkhorn_iters!r}",
)
for name, value in [("lr", lr), ("reg", reg), ("eps", eps)]:
    require(isinstance(value, (int, float)) and value > 0, f"{name} must be a positive number, got {value!r}")
require(
    isinstance(subspace_rank, int) and 1 <= subspace_rank <= feature_dim,
    f"subspace_rank must be an integer in [1, feature_dim], got {subspace_rank!r}",
)
steps = exp.pick(ci=steps, paper=max(steps, 2_000))
batch_size = exp.pick(ci=batch_size, paper=max(batch_size, 512))
n_per_manifold = exp.pick(ci=200, paper=1_000)

# %% [markdown]
# ## Two datasets and two baselines
#
# The synthetic union: five manifolds (three curves, two surfaces) drawn through random Fourier
# features and random linear maps into $\mathbb{R}^{32}$, all centred near the origin, so they
# overlap in space. Every feature is standardized. The digits are the 1,797 8x8 images of scikit-learn,
# pixels scaled to [0, 1]. Baselines on the raw data: k-means (10 restarts) and spectral clustering on
# a 10-nearest-neighbour graph.

# %%
digits = load_digits()
manifolds = union_of_manifolds(n_per_manifold, intrinsic_dims=(1, 1, 2, 2, 1), ambient_dim=32, seed=0)
raw = (manifolds.points - manifolds.points.mean(0)) / manifolds.points.std(0)
datasets = {
    "manifolds": (raw.to(exp.device), manifolds.labels.to(exp.device)),
    "digits": (
        torch.tensor(digits.data / 16.0, dtype=torch.float32, device=exp.device),
        torch.tensor(digits.target, device=exp.device),
    ),
}


def baselines(x, y, k):
    points = x.cpu().double().numpy()
    kmeans = KMeans(k, n_init=10, random_state=seed).fit_predict(points)
    with warnings.catch_warnings():  # the kNN graph of separated manifolds is disconnected, as expected
        warnings.simplefilter("ignore", UserWarning)
        spectral = SpectralClustering(
            k, affinity="nearest_neighbors", n_neighbors=10, random_state=seed
        ).fit_predict(points)
    return {
        "k-means": clustering_accuracy(y.cpu(), torch.from_numpy(kmeans)),
        "spectral": clustering_accuracy(y.cpu(), torch.from_numpy(spectral)),
    }


# %% [markdown]
# ## Training
#
# Each step draws a batch, computes $Z$ and $C$, projects $CC^\top$ with a few unrolled Sinkhorn
# iterations and takes an Adam step on $R_c(Z, \Pi) - R(Z)$; the gradient reaches the cluster head
# through the Sinkhorn iterations. After training, $\Pi$ of the whole dataset (100 iterations) is
# clustered spectrally into $k$ groups.


# %%
def cluster_subspace_stats(features, labels, k):
    """Mean per-cluster effective rank and mean cosine of principal angles between cluster subspaces."""
    ranks, bases = [], []
    for c in range(k):
        members = features[labels == c].double()
        ranks.append(effective_rank(members))
        bases.append(torch.linalg.svd(members, full_matrices=False).Vh[:subspace_rank].T)  # (d, r)
    cosines = [
        torch.cos(principal_angles(bases[i], bases[j])).mean().item()
        for i in range(k)
        for j in range(i + 1, k)
    ]
    return float(np.mean(ranks)), float(np.mean(cosines))


def train_mlc(x, y):
    k = int(y.max()) + 1
    net = ManifoldClusteringNet(x.shape[1], feature_dim, hidden=(hidden, hidden)).to(exp.device)
    with torch.no_grad():
        init_rank, init_cos = cluster_subspace_stats(net(x)[0], y, k)
    optimizer = torch.optim.Adam(net.parameters(), lr=lr)
    losses = []
    for _ in tqdm(range(steps), desc="MLC", leave=False):
        batch = torch.randperm(x.shape[0], generator=exp.generator)[:batch_size].to(exp.device)
        features, codes = net(x[batch])
        loss = mlc_loss(features, codes, reg=reg, eps=eps, max_iter=sinkhorn_iters)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    with torch.no_grad():
        features, codes = net(x)
        membership = doubly_stochastic_projection(codes @ codes.T, reg=reg, max_iter=100).membership
        clusters = SpectralClustering(k, affinity="precomputed", random_state=seed).fit_predict(
            membership.cpu().double().numpy()
        )
        clusters = torch.from_numpy(clusters)
        rank, cos = cluster_subspace_stats(features, y, k)
        reduction = rate_reduction(features, torch.nn.functional.one_hot(y).T.to(features.dtype), eps).item()
    return {
        "accuracy": clustering_accuracy(y.cpu(), clusters),
        "nmi": normalized_mutual_info(y.cpu(), clusters),
        "rank": rank,
        "cos": cos,
        "init_rank": init_rank,
        "init_cos": init_cos,
        "reduction": reduction,
        "losses": losses,
        "features": features.cpu(),
    }


results = {}
for name, (x, y) in datasets.items():
    k = int(y.max()) + 1
    results[name] = {**baselines(x, y, k), **train_mlc(x, y)}
    r = results[name]
    print(
        f"{name:9s} k-means {r['k-means']:.3f}  spectral {r['spectral']:.3f}  MLC {r['accuracy']:.3f} "
        f"(NMI {r['nmi']:.3f})  cluster erank {r['init_rank']:.1f} -> {r['rank']:.1f}  "
        f"mean cos {r['init_cos']:.3f} -> {r['cos']:.3f}"
    )

# %%
fig, axes = plt.subplots(1, 3, figsize=(14, 3.8))
methods = ["k-means", "spectral", "accuracy"]
width = 0.25
for i, method in enumerate(methods):
    axes[0].bar(
        np.arange(2) + (i - 1) * width,
        [results[name][method] for name in datasets],
        width,
        label="MLC" if method == "accuracy" else method + " (raw)",
    )
axes[0].set_xticks(np.arange(2), list(datasets))
axes[0].set_ylabel("clustering accuracy")
axes[0].set_title("Accuracy (Hungarian matching)")
axes[0].legend()
for name in datasets:
    axes[1].plot(results[name]["losses"], label=name)
axes[1].set_xlabel("step")
axes[1].set_ylabel(r"$R_c(Z, \Pi) - R(Z)$")
axes[1].set_title("Training loss")
axes[1].legend()
features, labels = results["manifolds"]["features"], datasets["manifolds"][1].cpu()
for c in range(int(labels.max()) + 1):
    singular = torch.linalg.svdvals(features[labels == c].double())
    axes[2].plot(
        np.arange(1, len(singular) + 1), (singular / singular[0]).numpy(), marker=".", label=f"manifold {c}"
    )
axes[2].set_xlabel("index")
axes[2].set_ylabel("singular value / largest")
axes[2].set_title("Spectrum of each manifold's learned features")
axes[2].legend(fontsize=8)
fig.tight_layout()
plt.show()

# %% [markdown]
# ## Claims
#
# Linearization: each cluster's features should occupy few directions (mean effective rank of the
# per-cluster features lower than at initialization, and at most $d/4$ as the paper's subspaces are),
# and the top `subspace_rank` directions of different clusters should be nearly orthogonal (mean cosine
# of the principal angles below 0.3). Clustering: the paper reports accuracies above deep-clustering
# baselines; here the bar is k-means on the raw data.

# %%
for name in datasets:
    r = results[name]
    exp.check_below(f"{name}_cluster_rank_below_init", r["rank"], r["init_rank"])
    exp.check_below(f"{name}_subspace_mean_cos", r["cos"], 0.3)
    exp.check_below(f"{name}_cluster_rank_quarter_d", r["rank"], feature_dim / 4, required=False)
    exp.check_above(f"{name}_mlc_acc_above_kmeans", r["accuracy"], r["k-means"], required=False)

# %%
# NBVAL_CHECK_OUTPUT
exp.report()

# %% [markdown]
# ## What this small run shows, and what it does not
#
# - The rate reduction does linearize: within 150 steps the features of each cluster collapse onto
#   fewer directions than at initialization (mean effective rank about 15 -> 9 on the manifolds,
#   22 -> 11 on digits), and the dominant directions of different clusters become nearly orthogonal
#   (mean cosine about 0.5 -> 0.03 and 0.6 -> 0.1). The per-cluster effective rank stays above $d/4$:
#   the subspaces are not yet as thin as the paper's (300 steps get closer, about 8-9).
# - The clustering claim is **not reproduced** at this scale. From a randomly initialized MLP and 150
#   steps of batches of 128, spectral clustering on $\Pi$ lands near k-means on the raw data, above it
#   for some seeds and below for others, and spectral clustering on a kNN graph of the raw data beats
#   both on these inputs. The paper starts from self-supervised features of large image encoders (its
#   one-shot initialization then inherits a good neighbourhood structure), trains far longer on larger
#   batches, and uses data augmentation; none of that is run here. The `paper` profile raises steps
#   and batch size but keeps the from-scratch MLP.
# - The result depends strongly on $\gamma$: with $\gamma = 0.1$ the rows of $\Pi$ become nearly
#   one-hot (each point its own group) and accuracy collapses; with larger $\gamma$ the membership
#   stays too diffuse on digits.
