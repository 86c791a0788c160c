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
# # Learning by Sorting: Self-supervised Learning with Group Ordering Constraints
# *year not listed in the catalog* · topic `contrastive_learning` · verdict **reproduce**
#
# ## The idea
#
# Contrastive learning pulls the views of one image together and pushes other images away. InfoNCE
# does so with a softmax over all similarities of an anchor. GroCo instead asks a **sorting** question:
# if the anchor's similarities to its $P$ positives and its $N$ hardest negatives are sorted, do all the
# positives come out on top? Only mis-ordered pairs matter; how far apart the groups are does not.
#
# To make "sorted" differentiable, GroCo runs the scores
# $s = (n_{(1)}, \dots, n_{(N)}, p_{(1)}, \dots, p_{(P)})$ (each group pre-sorted ascending) through a
# relaxed **sorting network**: a fixed sequence of compare-and-swap layers (here odd-even transposition,
# $N + P$ layers) where each swap of a pair $(a, b)$ becomes the mix
#
# $$\min \approx \alpha a + (1 - \alpha) b,\quad \max \approx (1 - \alpha) a + \alpha b,\quad
#   \alpha = \tfrac{1}{\pi}\arctan\big(\beta (b - a)\big) + \tfrac12 .$$
#
# Tracking the same mixes on an identity matrix gives a doubly stochastic relaxed permutation $\Pi$;
# $q_j = \sum_{r > N} \Pi_{jr}$ is the probability that item $j$ lands among the top $P$ ranks, and the
# loss is the binary cross-entropy of $q_j$ against "$j$ is a positive", averaged over the group.
# `paperlab.losses.group_ordering_loss` implements it as the authors' code does (Cauchy relaxation,
# gradient through the anchor only); `paperlab.losses.supcon_loss` on view indices is the multi-view
# InfoNCE baseline.

# %% tags=["parameters"]
profile = "ci"
seed = 0
device = "auto"
n_views = 4  # augmented views per image, so n_views - 1 positives per anchor
n_negatives = 12  # N, hardest negatives per anchor
steepness = 1.0  # beta of the relaxed swaps (the authors' default)
temperature = 0.1  # InfoNCE temperature
images_per_batch = 32
steps = 150  # Adam steps per training run
lr = 1e-3
n_seeds = 3  # training runs per loss; claims use their mean

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from sklearn.datasets import load_digits
from tqdm.auto import tqdm

from paperlab.data import augment_digits
from paperlab.experiment import require, setup
from paperlab.losses import differentiable_sort, group_ordering_loss, supcon_loss
from paperlab.metrics import knn_accuracy, linear_probe_accuracy
from paperlab.models import EmbeddingMLP

exp = setup(seed=seed, device=device, profile=profile)
for name, value in [
    ("n_negatives", n_negatives),
    ("images_per_batch", images_per_batch),
    ("steps", steps),
    ("n_seeds", n_seeds),
]:
    require(isinstance(value, int) and value >= 1, f"{name} must be a positive integer, got {value!r}")
require(isinstance(n_views, int) and n_views >= 2, f"n_views must be an integer >= 2, got {n_views!r}")
require(
    n_negatives <= n_views * (images_per_batch - 1),
    f"n_negatives must be at most the {n_views * (images_per_batch - 1)} negatives of a batch, got {n_negatives}",
)
for name, value in [("steepness", steepness), ("temperature", temperature), ("lr", lr)]:
    require(isinstance(value, float) and value > 0, f"{name} must be a positive float, got {value!r}")
steps = exp.pick(ci=steps, paper=max(steps, 3000))
n_seeds = exp.pick(ci=n_seeds, paper=max(n_seeds, 5))

# %% [markdown]
# ## Data and views
#
# scikit-learn's 8x8 digits, split in half: the encoder learns from the first half **without labels**;
# k-NN and linear-probe accuracy use the labels of the first half and are measured on the second. A view
# is `augment_digits`: a shift by up to one pixel, Gaussian noise and two erased pixels.

# %%
digits = load_digits()
images = torch.tensor(digits.images / 16.0, dtype=torch.float32, device=exp.device)  # (n, 8, 8)
labels = torch.tensor(digits.target, device=exp.device)
order = torch.randperm(len(images), generator=exp.generator).to(exp.device)
train_rows, test_rows = order[: len(order) // 2], order[len(order) // 2 :]
train_x, train_y = images[train_rows], labels[train_rows]
test_x, test_y = images[test_rows], labels[test_rows]
example = augment_digits(train_x[:1].expand(n_views, 8, 8), generator=exp.generator)
print(f"{len(train_x)} unlabelled training images, {len(test_x)} test images, {n_views} views per image")

# %% [markdown]
# ## What the sorting network does
#
# One anchor's group: 12 negative and 3 positive similarities. The relaxed permutation is doubly
# stochastic; with the authors' steepness $\beta = 1$ it is very soft on cosine similarities in $[-1, 1]$,
# so the loss keeps pushing even well-ordered groups apart. A large $\beta$ gives back the hard sort.

# %%
group = torch.cat([torch.linspace(-0.2, 0.5, n_negatives), torch.tensor([0.4, 0.6, 0.9])])[None].double()
fig, axes = plt.subplots(1, 3, figsize=(11, 3.4))
for ax, beta in zip(axes, (1.0, 10.0, 100.0)):
    shown = ax.imshow(
        differentiable_sort(group, beta, "cauchy").permutation[0], vmin=0, vmax=1, cmap="viridis"
    )
    ax.axhline(n_negatives - 0.5, color="w", lw=1)
    ax.axvline(n_negatives - 0.5, color="w", lw=1)
    ax.set(xlabel="rank (ascending)", ylabel="input item (negatives, then positives)")
    ax.set_title(f"relaxed permutation, beta = {beta:g}")
fig.colorbar(shown, ax=axes[-1], label="share of item at rank")
plt.show()

# %% [markdown]
# ## Training: same network, same views, two losses
#
# A 64-256-64 MLP, Adam, `steps` steps of `images_per_batch` images with `n_views` views each. Run $s$ fixes
# the initialization and the views, shared by both losses.

# %%
view_ids = torch.arange(images_per_batch, device=exp.device).repeat(n_views)  # (V * I,)
losses = {
    "GroCo": lambda e: group_ordering_loss(e, view_ids, n_negatives, steepness),
    "InfoNCE": lambda e: supcon_loss(e, view_ids, temperature),
}


def train(loss_fn, run_seed):
    torch.manual_seed(run_seed)
    draws = torch.Generator().manual_seed(run_seed)
    model = EmbeddingMLP(64, 64, hidden=(256,)).to(exp.device)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    history = []
    for _ in range(steps):
        rows = torch.randperm(len(train_x), generator=draws)[:images_per_batch].to(exp.device)
        batch = train_x[rows].repeat(n_views, 1, 1)  # (V * I, 8, 8), view v of image i at row v * I + i
        views = augment_digits(batch, generator=draws).flatten(1)  # (V * I, 64)
        loss = loss_fn(model(views))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        history.append(loss.item())
    return model, history


results, histories = [], {}
runs = [(name, exp.seed + k) for name in losses for k in range(n_seeds)]
for name, run_seed in tqdm(runs, desc="training runs"):
    model, history = train(losses[name], run_seed)
    with torch.no_grad():
        train_emb, test_emb = model(train_x.flatten(1)), model(test_x.flatten(1))
    results.append(
        {
            "loss": name,
            "seed": run_seed,
            "kNN accuracy (k=5)": knn_accuracy(train_emb, train_y, test_emb, test_y, k=5, metric="cosine"),
            "linear probe": linear_probe_accuracy(train_emb, train_y, test_emb, test_y),
        }
    )
    histories.setdefault(name, history)
table = pd.DataFrame(results)
summary = table.drop(columns="seed").groupby("loss", sort=False).mean()
with torch.no_grad():
    raw = knn_accuracy(train_x.flatten(1), train_y, test_x.flatten(1), test_y, k=5, metric="cosine")
print(f"kNN accuracy on raw pixels: {raw:.3f}")
summary.round(3)

# %%
fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.6))
for name, history in histories.items():
    left.plot(np.array(history) / history[0], label=name)
left.set(xlabel="Adam step", ylabel="loss / initial loss", title="Training loss (first run)")
left.legend()
for offset, name in zip((-0.15, 0.15), losses):
    rows = table[table["loss"] == name]
    right.bar(
        np.arange(2) + offset, rows[["kNN accuracy (k=5)", "linear probe"]].mean(), width=0.3, label=name
    )
right.axhline(raw, color="k", ls="--", lw=1, label="kNN on raw pixels")
right.set(xticks=np.arange(2), xticklabels=["kNN (k=5)", "linear probe"], ylim=(0.8, 1.0), ylabel="accuracy")
right.set_title(f"Held-out digits, mean of {n_seeds} runs")
right.legend(fontsize=8)
plt.show()

# %% [markdown]
# ## Claims
#
# - The paper's claim: GroCo improves over vanilla contrastive learning, especially in k-NN accuracy. The
#   mean k-NN accuracy over the runs, GroCo above InfoNCE (strictly, as the claim says).
# - The linear probe, where the paper reports smaller gains: mean linear-probe accuracy, GroCo above
#   InfoNCE. Measured and reported, not required: at this scale the two are on par (see below).

# %%
groco, infonce = summary.loc["GroCo"], summary.loc["InfoNCE"]
exp.check(
    "knn_groco_minus_infonce",
    groco["kNN accuracy (k=5)"] > infonce["kNN accuracy (k=5)"],
    value=groco["kNN accuracy (k=5)"] - infonce["kNN accuracy (k=5)"],
    expect="> 0",
)
exp.check(
    "probe_groco_minus_infonce",
    groco["linear probe"] > infonce["linear probe"],
    value=groco["linear probe"] - infonce["linear probe"],
    expect="> 0",
    required=False,
)

# %%
# NBVAL_CHECK_OUTPUT
exp.report()

# %% [markdown]
# ## What this small run shows, and what it does not
#
# - The k-NN claim holds in miniature: over 3 runs of 150 steps, GroCo's mean 5-NN accuracy on held-out
#   digits is about 4 points above multi-view InfoNCE (0.956 vs 0.916 for seed 0, 0.964 vs 0.923 for
#   seed 1), with the same network, views and batches.
# - The linear probe does not follow: InfoNCE is slightly ahead (by 0.004 for both seeds). The paper
#   also reports its largest gains in k-NN accuracy and smaller ones under linear evaluation; at this scale
#   the probe difference is within run-to-run noise, so it is reported as NOT REPRODUCED, not required.
# - Caveats. Both encoders are trained briefly (150 steps) and neither reaches k-NN on raw pixels (about
#   0.98): the 8x8 digits are nearly linearly separable already, so this compares two short training runs
#   rather than two converged representations. InfoNCE's temperature (0.1) and GroCo's steepness (1, the
#   authors' default) were not tuned; a different temperature could close part of the k-NN gap. The
#   negatives are the 12 hardest of the batch for GroCo, while InfoNCE sees all of them.
# - The relaxed permutation is doubly stochastic by construction (checked in the unit tests, not here).
