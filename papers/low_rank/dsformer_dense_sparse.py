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
# # DSFormer: Effective Compression of Text-Transformers by Dense-Sparse Weight Factorization
# *year not listed in the catalog* · topic `low_rank` · verdict **reproduce**
#
# ## The idea
#
# Low-rank compression writes a weight as $W \approx U V^\top$ with rank $r$: every row of $W$ must lie
# in one $r$-dimensional subspace. DSFormer instead writes
#
# $$W \approx (S \odot M)\, D, \qquad D \in \mathbb R^{k \times d_\text{in}} \text{ dense},\quad
# S \in \mathbb R^{d_\text{out} \times k},\quad \|S_{i,:}\|_0 = n \;\; \forall i ,$$
#
# a small dense basis of $k$ rows and a **semi-structured sparse** code: each output unit combines only
# $n \ll k$ basis rows. The factors store $k\, d_\text{in} + n\, d_\text{out}$ values, so at the budget of a
# rank-$r$ factorization the basis can have $k > r$ atoms and the product can have rank $k$: rows lie in a
# union of $n$-dimensional subspaces of a larger space rather than in one small subspace.
#
# The second idea is the **Straight-Through Factorizer (STF)**. Factorizing a trained $W$ by minimising
# $\|W - SD\|_F$ is task-unaware. STF keeps a latent dense $W$; every training step refreshes $S, D$ from
# the current $W$ (one warm-started alternating step: re-code each row on its best support, then
# $D = S^+ W$), runs the forward pass with $\hat W = SD$, and passes $\partial L / \partial \hat W$
# straight through to $W$. The support of $S$ can therefore move during fine-tuning wherever the task
# pulls the weight.
#
# We compress both hidden layers of a $64 \to 256 \to 256 \to 10$ MLP trained on sklearn's digits to 10%
# of their weight values and compare three compressors at (at most) the same number of stored values:
# truncated SVD + fine-tuning, dense-sparse with a task-unaware alternating factorization + fine-tuning,
# and dense-sparse trained with STF for the same number of steps.

# %% tags=["parameters"]
profile = "ci"
seed = 0
device = "auto"
budget_fraction = 0.1  # stored values per compressed layer, as a fraction of its dense weight
density = 0.25  # n over k, non-zeros per row of S relative to the number of atoms
finetune_steps = 300
lr = 1e-3

# %%
import copy

import matplotlib.pyplot as plt
import numpy as np
import torch
from sklearn.datasets import load_digits
from torch import nn
from tqdm.auto import tqdm

from paperlab.experiment import require, setup
from paperlab.models import DenseSparseLinear, LowRankLinear, STFLinear, classifier_accuracy, train_classifier
from paperlab.solvers import dense_sparse_sizes

exp = setup(seed=seed, device=device, profile=profile)
require(
    isinstance(budget_fraction, float) and 0 < budget_fraction < 1,
    f"budget_fraction must be a float in (0, 1), got {budget_fraction!r}",
)
require(
    isinstance(density, float) and 0 < density <= 1, f"density must be a float in (0, 1], got {density!r}"
)
require(
    isinstance(finetune_steps, int) and finetune_steps >= 1,
    f"finetune_steps must be an int >= 1, got {finetune_steps!r}",
)
require(isinstance(lr, float) and lr > 0, f"lr must be a positive float, got {lr!r}")
hidden = exp.pick(ci=256, paper=1024)
pretrain_steps = exp.pick(ci=500, paper=5000)
finetune_steps = exp.pick(ci=finetune_steps, paper=10 * finetune_steps)

images, labels = load_digits(return_X_y=True)
x = torch.tensor(images, dtype=torch.float32, device=exp.device) / 16.0
y = torch.tensor(labels, device=exp.device)
order = torch.randperm(len(x), generator=exp.generator).to(exp.device)
train_idx, test_idx = order[:1200], order[1200:]

# %% [markdown]
# ## The dense network


# %%
def train(model, steps, data_seed):
    """Adam on cross-entropy with batches of 128 training digits; returns the model in eval mode."""
    train_classifier(model, x[train_idx], y[train_idx], steps, lr, batch_size=128, generator=data_seed)
    return model.eval()


def accuracy(model):
    return classifier_accuracy(model, x[test_idx], y[test_idx])


torch.manual_seed(seed)
dense_net = nn.Sequential(
    nn.Linear(64, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, 10)
)
dense_net = train(dense_net.to(exp.device), pretrain_steps, data_seed=seed + 1)
print(f"dense test accuracy {accuracy(dense_net):.3f}")

# %% [markdown]
# ## Compression at equal stored values
#
# For a layer with weight $d_\text{out} \times d_\text{in}$, SVD keeps rank
# $r = \lfloor$ `budget_fraction` $d_\text{out} d_\text{in} / (d_\text{in} + d_\text{out}) \rfloor$ and stores
# $r (d_\text{in} + d_\text{out})$ values; dense-sparse takes the largest $k$ with
# $n = \lfloor$ `density` $k \rfloor$ and $k\, d_\text{in} + n\, d_\text{out} \le r (d_\text{in} + d_\text{out})$
# (`dense_sparse_sizes`), so it never stores more values than SVD. The positions of the non-zeros are not counted (2 bits each for $k \le 4$ groups
# in hardware formats; here up to 6 bits).


# %%
def compress(kind):
    model = copy.deepcopy(dense_net)
    sizes = []
    for index in (0, 2):
        layer = model[index]
        rank = int(budget_fraction * layer.in_features * layer.out_features) // (
            layer.in_features + layer.out_features
        )
        if kind == "SVD":
            model[index], size = LowRankLinear.from_linear(layer, rank), f"r={rank}"
        else:
            budget = rank * (layer.in_features + layer.out_features)  # what the SVD layer stores
            k, n = dense_sparse_sizes(layer.in_features, layer.out_features, budget, density)
            maker = DenseSparseLinear.from_linear if kind == "DS task-unaware" else STFLinear
            model[index], size = maker(layer, k, n), f"k={k}, n={n}"
        sizes.append(size)
    return model, sizes


def stored_values(model):
    total = 0
    for index in (0, 2):
        layer = model[index]
        if isinstance(layer, LowRankLinear):
            total += layer.U.numel() + layer.V.numel()
        else:
            total += layer.dense.numel() + int(layer.mask.sum())
    return total


KINDS = ["SVD", "DS task-unaware", "DS + STF"]
before, after, values = {}, {}, {}
for kind in tqdm(KINDS, desc="compressors"):
    model, sizes = compress(kind)
    before[kind] = accuracy(model.eval())
    model = train(model, finetune_steps, data_seed=seed + 2)
    if kind == "DS + STF":
        for index in (0, 2):
            model[index] = model[index].to_dense_sparse()
    after[kind], values[kind] = accuracy(model), stored_values(model)
    print(
        f"{kind:16s} {sizes}  stored values {values[kind]}  before {before[kind]:.3f}  after {after[kind]:.3f}"
    )
dense_values = sum(dense_net[i].weight.numel() for i in (0, 2))
print(f"dense hidden weights: {dense_values} values")

# %%
fig, ax = plt.subplots(figsize=(6.4, 4.0))
positions = np.arange(len(KINDS))
ax.bar(positions - 0.2, [before[k] for k in KINDS], width=0.4, label="right after compression")
ax.bar(positions + 0.2, [after[k] for k in KINDS], width=0.4, label=f"after {finetune_steps} training steps")
ax.axhline(accuracy(dense_net), color="gray", linestyle="--", label="dense network")
ax.set_xticks(positions, KINDS)
ax.set_ylim(0, 1)
ax.set_ylabel("test accuracy")
ax.set_title(f"Hidden layers at {budget_fraction:.0%} of their weight values")
ax.legend(loc="lower right")
plt.show()

# %% [markdown]
# ## Claims
#
# The paper: at the same budget the dense-sparse factorization keeps more accuracy than low rank, and
# STF beats the task-unaware factorization followed by fine-tuning. For STF the model is evaluated with
# the factors of its last training step. We also check that the budgets match and that the
# dense-sparse product is the more faithful approximation before any training.

# %%
exp.check(
    "ds_over_svd_stored_values",
    values["DS + STF"] <= values["SVD"],
    value=values["DS + STF"] / values["SVD"],
    expect="<= 1",
)
exp.check_above("ds_minus_svd_accuracy_before_training", before["DS task-unaware"] - before["SVD"], 0.0)
exp.check_above("stf_minus_svd_finetuned_accuracy", after["DS + STF"] - after["SVD"], 0.0)
exp.check(
    "stf_minus_task_unaware_finetuned_accuracy",
    after["DS + STF"] >= after["DS task-unaware"],
    value=after["DS + STF"] - after["DS task-unaware"],
    expect=">= 0",
    required=False,
)

# %%
# NBVAL_CHECK_OUTPUT
exp.report()

# %% [markdown]
# ## What this small run shows, and what it does not
#
# * At the same number of stored values (dense-sparse slightly fewer, not counting the non-zero
#   positions), the dense-sparse factorization is a far better starting point than truncated SVD: right
#   after compression it keeps 0.91 to 0.96 test accuracy where SVD falls to about 0.79, and after the same
#   300 training steps it still ends ahead, for seed 0 and seed 1. Its advantage comes from the budget:
#   SVD keeps rank 5 in the $64 \to 256$ layer, dense-sparse keeps a basis of 13 rows.
# * The STF half of the claim does **not** reproduce here: the task-unaware factorization followed by
#   ordinary fine-tuning of $S$ (fixed support) and $D$ ends slightly above STF for both seeds (by one
#   or two of the 597 test digits), so STF is at best on par here.
#   Our STF refreshes the factors with a single cheap alternating step per iteration, which keeps the
#   factorized weight a rough approximation of the latent $W$; the paper's setting (BERT, GLUE, many
#   more steps) gives the latent weight time to settle, which 300 steps on digits do not.
# * In exploratory runs at the catalog's 25% budget the three compressors all stay within about a point of the dense
#   network on digits (trained MLP weights on this easy task are close to low rank), so we compress to
#   10% to make the budget bind. This is an MLP on 8x8 digits, not a transformer on language; no
#   distillation, quantization or hardware speed-up is measured.
# * The `paper` profile widens the hidden layers to 1024 and trains ten times longer.
