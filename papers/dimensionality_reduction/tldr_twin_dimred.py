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
# # TLDR: Twin Learning for Dimensionality Reduction
# *2022* · topic `dimensionality_reduction` · verdict **reproduce**
#
# ## The idea
#
# PCA keeps the directions of largest variance; nothing in it asks that a point's *neighbours* stay its
# neighbours after the projection. TLDR learns a linear reduction $y = W x + b$, $W \in \mathbb{R}^{d \times D}$,
# with a self-supervised objective built from neighbourhoods. Where image self-supervision makes two
# "views" of a sample by augmentation, TLDR takes a point $x_i$ and one of its $k$ nearest neighbours
# $x_j \in N_k(x_i)$ in the input space, drawn afresh at every step, as the two views.
#
# Both views go through the encoder $W$ and a wide MLP projector $g$, and the **Barlow Twins** loss is
# computed on the projections $z^A = g(W x_i)$, $z^B = g(W x_j)$ of a batch of $N$ pairs. Each feature is
# standardized over the batch, and the cross-correlation
#
# $$C_{kl} = \frac{1}{N} \sum_{b=1}^{N} \hat z^A_{b,k}\, \hat z^B_{b,l}$$
#
# is pushed towards the identity:
#
# $$\mathcal{L} = \sum_k (1 - C_{kk})^2 + \lambda \sum_k \sum_{l \ne k} C_{kl}^2 .$$
#
# The diagonal term makes a point and its neighbour land at the same place (invariance); the off-diagonal
# term decorrelates the features, which prevents collapse without negatives. The projector is thrown away
# after training: the reduction is the linear map $W$, as cheap to apply as PCA.
#
# `paperlab.data.knn_neighbours` / `knn_pair_batch` build the exact k-NN graph in blocks and draw the
# pairs, `paperlab.losses.barlow_twins_loss` is the loss (checked against a naive loop and the authors'
# batch-norm formulation), `paperlab.models.LinearEncoderProjector` is the model.

# %% tags=["parameters"]
profile = "ci"
seed = 0
device = "auto"
out_dim = 8  # d, the reduced dimension
n_neighbors = 5  # k of the k-NN graph the pairs come from
projector_dim = 128  # width of the projector's hidden layer and output
lambd = 0.0051  # Barlow Twins off-diagonal weight
steps = 200  # Adam steps per training run
batch = 128  # pairs per step
lr = 3e-3
n_seeds = 3  # training runs; claims use their mean

# %%
import matplotlib.pyplot as plt
import pandas as pd
import torch
from tqdm.auto import tqdm

from paperlab.data import digit_images, knn_neighbours, knn_pair_batch
from paperlab.experiment import require, setup
from paperlab.losses import barlow_twins_loss
from paperlab.metrics import knn_accuracy, knn_preservation
from paperlab.models import LinearEncoderProjector
from paperlab.solvers import truncated_svd

exp = setup(seed=seed, device=device, profile=profile)
for name, value in [
    ("out_dim", out_dim),
    ("n_neighbors", n_neighbors),
    ("projector_dim", projector_dim),
    ("steps", steps),
    ("batch", batch),
    ("n_seeds", n_seeds),
]:
    require(isinstance(value, int) and value >= 1, f"{name} must be a positive integer, got {value!r}")
require(out_dim <= 64, f"out_dim must be <= 64 (the digits' input width), got {out_dim}")
require(isinstance(lambd, (int, float)) and lambd >= 0, f"lambd must be >= 0, got {lambd!r}")
require(isinstance(lr, float) and lr > 0, f"lr must be a positive float, got {lr!r}")
steps = exp.pick(ci=steps, paper=max(steps, 2000))
batch = exp.pick(ci=batch, paper=max(batch, 512))
projector_dim = exp.pick(ci=projector_dim, paper=max(projector_dim, 1024))
n_seeds = exp.pick(ci=n_seeds, paper=max(n_seeds, 5))

# %% [markdown]
# ## Data: the 8x8 digits, one fixed train/test split
#
# 64 pixel features in [0, 1], centred with the training mean. The k-NN graph, PCA and TLDR see only the
# training split (1,078 images); every number below is measured on the 719 held-out images.

# %%
split = digit_images(dtype=torch.float32, device=exp.device)
train_x = split.train_x.reshape(len(split.train_x), -1)  # (n, 64)
test_x = split.test_x.reshape(len(split.test_x), -1)  # (m, 64)
centre = train_x.mean(dim=0, keepdim=True)
train_x, test_x = train_x - centre, test_x - centre
neighbours = knn_neighbours(train_x, n_neighbors)  # (n, k)
print(f"{len(train_x)} training and {len(test_x)} test images, {n_neighbors}-NN graph of the training split")

# %% [markdown]
# ## PCA, and TLDR trained on neighbour pairs
#
# PCA-$d$ projects on the top $d$ right singular vectors of the centred training matrix. TLDR trains the
# linear encoder $64 \to d$ with a projector $d \to$ `projector_dim` (Linear-BatchNorm-ReLU, Linear) by
# Adam on `batch` random (point, neighbour) pairs per step. Run $s$ uses seed $s$ for the initialization
# and the pairs.

# %%
components = truncated_svd(train_x, out_dim).Vh  # (d, 64)
pca_train, pca_test = train_x @ components.T, test_x @ components.T  # (n, d), (m, d)


def train_tldr(run_seed):
    torch.manual_seed(run_seed)
    pairs = torch.Generator().manual_seed(run_seed)
    model = LinearEncoderProjector(64, out_dim, hidden=(projector_dim,), projection_dim=projector_dim)
    model = model.to(exp.device)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    history = []
    for _ in range(steps):
        anchors, partners = knn_pair_batch(neighbours, batch, generator=pairs)
        loss = barlow_twins_loss(model(train_x[anchors]), model(train_x[partners]), lambd=lambd)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        history.append(loss.item())
    return model.eval(), history


def scores(train_emb, test_emb):
    return {
        "5-NN accuracy": knn_accuracy(train_emb, split.train_y, test_emb, split.test_y, k=5),
        "10-NN recall": knn_preservation(test_x, test_emb, k=10).item(),
    }


results = [{"method": f"PCA-{out_dim}", "seed": None, **scores(pca_train, pca_test)}]
histories = {}
for run_seed in tqdm([exp.seed + s for s in range(n_seeds)], desc="TLDR runs"):
    model, histories[run_seed] = train_tldr(run_seed)
    with torch.no_grad():
        results.append(
            {
                "method": f"TLDR-{out_dim}",
                "seed": run_seed,
                **scores(model.encode(train_x), model.encode(test_x)),
            }
        )
results.append({"method": "input (64-d)", "seed": None, **scores(train_x, test_x)})
table = pd.DataFrame(results)
summary = table.drop(columns="seed").groupby("method", sort=False).mean()
summary.round(3)

# %% [markdown]
# ## Training curves
#
# The Barlow Twins loss per step for each run: its floor is 0 (perfectly invariant, fully decorrelated
# projections), which neighbours that differ cannot reach.

# %%
fig, ax = plt.subplots(figsize=(6.4, 3.6))
for run_seed, history in histories.items():
    ax.plot(history, lw=1, label=f"TLDR run, seed {run_seed}")
ax.set(xlabel="Adam step", ylabel="Barlow Twins loss", yscale="log")
ax.set_title(f"TLDR on digits k-NN pairs (d = {out_dim}, k = {n_neighbors})")
ax.legend()
plt.show()

# %% [markdown]
# ## Claims
#
# The paper's claim: at the same output dimension, TLDR's linear projection serves nearest-neighbour
# retrieval better than PCA's. Checked as the mean test 5-NN classification accuracy in $d$ dimensions
# over the runs, TLDR > PCA. The recall of each test point's 10 nearest input-space neighbours is reported
# for both but not asserted: PCA keeps the most variance, hence the large distances, and can win on it
# while losing on class-level retrieval.

# %%
tldr_accuracy = summary.loc[f"TLDR-{out_dim}", "5-NN accuracy"]
pca_accuracy = summary.loc[f"PCA-{out_dim}", "5-NN accuracy"]
exp.check_above("tldr_minus_pca_5nn_accuracy", tldr_accuracy - pca_accuracy, 0.0)
exp.check("tldr_5nn_accuracy", True, value=tldr_accuracy, expect="reported")
exp.check("pca_5nn_accuracy", True, value=pca_accuracy, expect="reported")
exp.check("tldr_10nn_recall", True, value=summary.loc[f"TLDR-{out_dim}", "10-NN recall"], expect="reported")
exp.check("pca_10nn_recall", True, value=summary.loc[f"PCA-{out_dim}", "10-NN recall"], expect="reported")

# %%
# NBVAL_CHECK_OUTPUT
exp.report()

# %% [markdown]
# ## What this small run shows, and what it does not
#
# On the digits, a linear map to 8 dimensions trained only to make each training image agree with a
# random one of its 5 nearest neighbours (no labels) gives a better 5-NN classifier on held-out images than
# PCA to 8 dimensions, in the mean of three short runs. The margin is one to two points of accuracy: the
# 64-d pixels are easy and PCA-8 is already strong, so this is a small-scale confirmation, not the
# paper's large-scale retrieval result (ImageNet, landmark retrieval and text embeddings of hundreds to
# thousands of dimensions, far wider projectors and far longer training, which the `paper` profile only
# approaches). In this ci run the projector is 128 wide and training is 200 steps (the plan asked for 500
# steps and a 256-wide projector, too slow for the 10-second budget). On recall of the input-space 10
# nearest neighbours PCA does better here: TLDR is trained to keep the nearest few neighbours together and
# to decorrelate features, not to preserve the full input geometry, so the two measures disagree.
