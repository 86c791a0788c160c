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
# # Signal-to-Noise Ratio: A Robust Distance Metric for Deep Metric Learning
# *2019* · topic `metric_learning` · verdict **reproduce**
#
# ## The idea
#
# Deep metric learning trains an embedding $h$ so that items of one class lie close together; "close" is
# almost always the Euclidean distance. The paper borrows a notion from signal processing instead: take the
# anchor embedding $h_a$ as the signal and its difference to another embedding, $n = h_o - h_a$, as noise.
# The **signal-to-noise ratio distance** is the noise-to-signal power ratio, variances taken over the $D$
# features,
#
# $$d_S(h_a, h_o) = \frac{\operatorname{Var}(h_o - h_a)}{\operatorname{Var}(h_a)}
#   = \frac{\lVert \tilde h_o - \tilde h_a \rVert^2}{\lVert \tilde h_a \rVert^2}, \qquad
#   \tilde h = h - \operatorname{mean}(h).$$
#
# It is a squared Euclidean distance between centered vectors, scaled by the anchor's power, so it is
# invariant to shifting and scaling all embeddings and not symmetric. It replaces the Euclidean distance in
# any loss; with the triplet loss,
#
# $$L = \sum_{(a, p, n)} \big[d_S(h_a, h_p) - d_S(h_a, h_n) + \text{margin}\big]_+
#   + \lambda \frac{1}{N} \sum_i \Big|\sum_m h_{im}\Big|,$$
#
# where the paper's regularizer keeps every embedding zero-mean. The claim: the SNR distance jointly
# shrinks intra-class and enlarges inter-class distances, giving more discriminative embeddings.
#
# `paperlab.losses.snr_distance` computes all pairwise SNR distances in $O(NMD)$ without the $(N, M, D)$
# difference tensor; `snr_triplet_loss` adds the triplet loss and regularizer (both checked against
# pytorch-metric-learning); `triplet_margin_loss` is the Euclidean baseline.

# %% tags=["parameters"]
profile = "ci"
seed = 0
device = "auto"
margin = 0.05  # triplet margin, pytorch-metric-learning's default, for both distances
reg = 0.01  # weight of the zero-mean regularizer for the SNR model
embedding_dim = 32
steps = 100  # Adam steps per training run
batch = 128
lr = 1e-3
n_seeds = 3  # training runs per distance; claims use their mean

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits
from tqdm.auto import tqdm

from paperlab.experiment import require, setup
from paperlab.losses import snr_distance, snr_triplet_loss, triplet_margin_loss
from paperlab.metrics import kmeans_nmi, recall_at_k
from paperlab.models import EmbeddingMLP

exp = setup(seed=seed, device=device, profile=profile)
require(isinstance(margin, (int, float)) and margin >= 0, f"margin must be >= 0, got {margin!r}")
require(isinstance(reg, (int, float)) and reg >= 0, f"reg must be >= 0, got {reg!r}")
for name, value in [
    ("embedding_dim", embedding_dim),
    ("steps", steps),
    ("batch", batch),
    ("n_seeds", n_seeds),
]:
    require(isinstance(value, int) and value >= 1, f"{name} must be a positive integer, got {value!r}")
require(embedding_dim >= 2, f"embedding_dim must be >= 2 for a variance, got {embedding_dim}")
require(isinstance(lr, float) and lr > 0, f"lr must be a positive float, got {lr!r}")
steps = exp.pick(ci=steps, paper=max(steps, 3000))
n_seeds = exp.pick(ci=n_seeds, paper=max(n_seeds, 10))

# %% [markdown]
# ## Data: 1200 training and 597 test digits
#
# The 8x8 digits of scikit-learn, pixels scaled to [0, 1], split at random (seeded) into 1200 training and
# 597 test images of all ten classes. Retrieval and clustering are measured on the test images.

# %%
digits = load_digits()
images = torch.tensor(digits.data / 16.0, dtype=torch.float32, device=exp.device)
labels = torch.tensor(digits.target, device=exp.device)
order = torch.randperm(len(images), generator=exp.generator).to(exp.device)
train_x, train_y = images[order[:1200]], labels[order[:1200]]
test_x, test_y = images[order[1200:]], labels[order[1200:]]
print(f"{len(train_x)} training and {len(test_x)} test images")

# %% [markdown]
# ## Same network, same batches, two distances
#
# A 64-128-32 MLP, Adam, `steps` steps of `batch` random training images, triplet loss over all triplets of
# the batch (mean over the violated ones). The Euclidean model uses unit-length embeddings, as is usual (and
# pytorch-metric-learning's default); the SNR model uses raw embeddings, as the paper does. Each model is
# evaluated with its own distance: for a query, ranking by SNR distance is ranking by Euclidean distance
# between centered embeddings, so retrieval and k-means run on the centered embeddings for the SNR model.

# %%
losses = {
    "Euclidean": lambda e, y: triplet_margin_loss(e, y, margin=margin),
    "SNR": lambda e, y: snr_triplet_loss(e, y, margin=margin, reg=reg),
}


def train(loss_fn, run_seed, n_steps):
    torch.manual_seed(run_seed)
    batches = torch.Generator().manual_seed(run_seed)
    model = EmbeddingMLP(64, embedding_dim, hidden=(128,)).to(exp.device)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    for _ in range(n_steps):
        rows = torch.randint(0, len(train_x), (batch,), generator=batches).to(exp.device)
        loss = loss_fn(model(train_x[rows]), train_y[rows])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return model


def as_searched(embeddings, distance):
    """The representation whose Euclidean neighbours are the model's own nearest neighbours."""
    if distance == "Euclidean":
        return F.normalize(embeddings, dim=1)
    return embeddings - embeddings.mean(dim=1, keepdim=True)


def intra_inter_ratio(distances, y):
    """Mean distance between same-class test items over mean distance between different-class ones."""
    same = y[:, None] == y[None, :]
    own = torch.eye(len(y), dtype=torch.bool, device=y.device)
    return (distances[same & ~own].mean() / distances[~same].mean()).item()


def evaluate(model, distance):
    with torch.no_grad():
        embeddings = model(test_x)
    searched = as_searched(embeddings, distance)
    standardized = (embeddings - embeddings.mean(0)) / embeddings.std(0)
    return {
        "Recall@1": recall_at_k(searched, test_y, 1),
        "NMI": kmeans_nmi(searched.cpu(), test_y.cpu(), seed=0),
        "ratio (SNR)": intra_inter_ratio(snr_distance(embeddings, embeddings), test_y),
        "ratio (sq. Euclidean, standardized)": intra_inter_ratio(
            torch.cdist(standardized, standardized).square(), test_y
        ),
    }


results = []
runs = [(name, exp.seed + k) for name in losses for k in range(n_seeds)]
for name, run_seed in tqdm(runs, desc="training runs"):
    model = train(losses[name], run_seed, steps)
    results.append({"distance": name, "seed": run_seed, **evaluate(model, name)})
    if name == "SNR" and run_seed == exp.seed:
        snr_model = model
untrained = evaluate(train(losses["SNR"], exp.seed, 0), "SNR")
table = pd.DataFrame(results)
summary = table.drop(columns="seed").groupby("distance", sort=False).mean()
summary.loc["untrained (SNR search)"] = untrained
summary.round(3)

# %% [markdown]
# ## Intra- and inter-class SNR distances
#
# Histograms of the SNR distances between test images of the same digit and of different digits, for the
# first SNR model and for the same network before training.

# %%
fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), sharey=True)
same = test_y[:, None] == test_y[None, :]
own = torch.eye(len(test_y), dtype=torch.bool, device=test_y.device)
for ax, (title, model) in zip(
    axes, [("untrained", train(losses["SNR"], exp.seed, 0)), ("SNR-trained", snr_model)]
):
    with torch.no_grad():
        embeddings = model(test_x)
    d = snr_distance(embeddings, embeddings).cpu()
    bins = np.linspace(0, float(d.quantile(0.99)), 60)
    ax.hist(d[(same & ~own).cpu()].numpy(), bins=bins, density=True, alpha=0.6, label="same digit")
    ax.hist(d[(~same).cpu()].numpy(), bins=bins, density=True, alpha=0.6, label="different digits")
    ax.set(xlabel="SNR distance $d_S$", title=f"Test pairs, {title} network")
axes[0].set_ylabel("density")
axes[1].legend()
plt.show()

# %% [markdown]
# ## Claims
#
# - Training with the SNR triplet loss works: it lowers the test intra/inter SNR-distance ratio and raises
#   Recall@1 over the same network untrained (both can fail for a wrong distance or gradient).
# - The paper's comparisons, mean over seeds: Recall@1 and NMI of the SNR model at least the Euclidean
#   model's; a lower intra/inter ratio for the SNR model under the same measure (SNR distance, and squared
#   Euclidean on per-feature standardized embeddings). At this scale the two models are within noise of each
#   other and the sign of these differences changes with the seeds and settings (see the last section), so
#   they are reported and marked NOT REPRODUCED when they fail, without failing the notebook.

# %%
snr, euclidean = summary.loc["SNR"], summary.loc["Euclidean"]
exp.check_below("snr_ratio_trained_minus_untrained", snr["ratio (SNR)"] - untrained["ratio (SNR)"], 0.0)
exp.check_above("snr_recall1_trained_minus_untrained", snr["Recall@1"] - untrained["Recall@1"], 0.0)
exp.check(
    "recall1_snr_minus_euclidean",
    snr["Recall@1"] >= euclidean["Recall@1"],
    value=snr["Recall@1"] - euclidean["Recall@1"],
    expect=">= 0",
    required=False,
)
exp.check(
    "nmi_snr_minus_euclidean",
    snr["NMI"] >= euclidean["NMI"],
    value=snr["NMI"] - euclidean["NMI"],
    expect=">= 0",
    required=False,
)
for measure in ("ratio (SNR)", "ratio (sq. Euclidean, standardized)"):
    key = "snr_ratio" if measure == "ratio (SNR)" else "sq_euclidean_ratio"
    exp.check_below(
        f"{key}_snr_model_minus_euclidean_model", snr[measure] - euclidean[measure], 0.0, required=False
    )

# %%
# NBVAL_CHECK_OUTPUT
exp.report()

# %% [markdown]
# ## What this small run shows, and what it does not
#
# - The SNR distance is a working drop-in replacement for the Euclidean distance: a triplet loss on it
#   trains a digits embedding that retrieves and clusters well, and it separates the intra- from the
#   inter-class SNR distances (histograms).
# - The paper's claim that it beats the Euclidean distance is **not reproduced** at this scale: both models
#   reach about 0.97 Recall@1 on the test digits, and which one is ahead in Recall@1, NMI or the
#   intra/inter ratio depends on the seeds. Exploratory runs before writing this notebook (3 seeds, same
#   data): with 150 steps and margin 0.05 the SNR model had Recall@1 0.977 vs 0.974 and NMI 0.962 vs 0.949,
#   a lower SNR-distance ratio (0.207 vs 0.212) but a higher standardized squared-Euclidean ratio (0.222 vs
#   0.217); with 100 steps and margin 0.2 its ratios were higher under both measures. Digits are easy (raw
#   pixels already give a high Recall@1), which leaves little room for a better distance to show.
# - The plan asked for semi-hard mining; `snr_triplet_loss(triplets="semihard")` implements it, but the
#   Euclidean baseline `triplet_margin_loss` uses all triplets, so both use all triplets here for a fair
#   comparison. The regularizer weight `reg` is not the paper's (its value is not in the plan) and was
#   not tuned.
