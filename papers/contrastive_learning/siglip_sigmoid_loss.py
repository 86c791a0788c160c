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
# # Sigmoid Loss for Language Image Pre-Training
# *2023* · topic `contrastive_learning` · verdict **reproduce**
#
# ## The idea
#
# CLIP trains an image tower $f$ and a text tower $g$ so that the $B$ matching pairs of a batch score
# higher than the $B^2 - B$ mismatched ones, with a softmax over each row (and column) of the similarity
# matrix $s_{ij} = \cos(f(x_i), g(y_j))$:
#
# $$\mathcal{L}_{softmax} = -\frac{1}{2B} \sum_i \Big( \log \frac{e^{t s_{ii}}}{\sum_j e^{t s_{ij}}}
#   + \log \frac{e^{t s_{ii}}}{\sum_j e^{t s_{ji}}} \Big).$$
#
# The normalizers couple every pair of the batch: a distributed implementation has to gather all
# embeddings, and the loss of a pair depends on the whole batch. SigLIP replaces the softmax by an
# independent binary classification of every pair, match ($z_{ij} = 1$ on the diagonal) or not
# ($z_{ij} = -1$), with a learnable scale $t = e^{t'}$ and bias $b$:
#
# $$\mathcal{L}_{sigmoid} = -\frac{1}{B} \sum_{i=1}^{B} \sum_{j=1}^{B} \log \sigma\big(z_{ij}(t\, s_{ij} + b)\big).$$
#
# The terms do not share a normalizer, so the loss is a plain sum over tiles of the $B \times B$ matrix:
# each device computes its block against the text embeddings passed around, never the full matrix.
# The heavy class imbalance ($B$ positives, $B^2 - B$ negatives) is absorbed by the bias, initialized at
# $b = -10$ with $t' = \log 10$, so that training starts near the prior. The paper reports that the
# sigmoid loss is better than the softmax one at small batch sizes and on par at large ones.
#
# `paperlab.losses.sigmoid_contrastive_loss` implements the loss (with `chunk_size` tiling, each tile
# recomputed in the backward pass), `paperlab.losses.SigmoidContrastiveLoss(learnable=True)` carries
# $t'$ and $b$, and `paperlab.losses.InfoNCELoss(symmetric=True, learnable=True)` is the CLIP baseline.

# %% tags=["parameters"]
profile = "ci"
seed = 0
device = "auto"
batch_sizes = (8, 32, 128)  # the batch sizes compared
steps = 150  # Adam steps per run (the plan has 300; halved for the ci budget)
lr = 3e-3
hidden = (64,)  # hidden widths of each tower
embedding_dim = 32  # output width of both towers
init_temperature = 0.1  # softmax baseline: 1/t at init, the same t of 10 as SigLIP's (t' is log 10)
n_seeds = 3  # independent runs per (loss, batch size), trained together as a stack
chunk_size = 3  # tile side of the chunked-loss check

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from tqdm.auto import tqdm

from paperlab.experiment import require, setup
from paperlab.losses import InfoNCELoss, SigmoidContrastiveLoss, sigmoid_contrastive_loss
from paperlab.models import StackedMLP

exp = setup(seed=seed, device=device, profile=profile)
require(
    isinstance(batch_sizes, (tuple, list)) and all(isinstance(b, int) and b >= 2 for b in batch_sizes),
    f"batch_sizes must be integers >= 2, got {batch_sizes!r}",
)
for name, value in [("steps", steps), ("embedding_dim", embedding_dim), ("n_seeds", n_seeds)]:
    require(isinstance(value, int) and value >= 1, f"{name} must be a positive integer, got {value!r}")
require(isinstance(chunk_size, int) and chunk_size >= 1, f"chunk_size must be >= 1, got {chunk_size!r}")
require(isinstance(lr, float) and lr > 0, f"lr must be a positive float, got {lr!r}")
require(
    isinstance(init_temperature, float) and init_temperature > 0,
    f"init_temperature must be > 0, got {init_temperature!r}",
)
require(
    isinstance(hidden, (tuple, list)) and all(isinstance(w, int) and w >= 1 for w in hidden),
    f"hidden must be a tuple of positive integers, got {hidden!r}",
)
steps = exp.pick(ci=steps, paper=max(steps, 3000))
hidden = exp.pick(ci=tuple(hidden), paper=(512, 512))
n_seeds = exp.pick(ci=n_seeds, paper=max(n_seeds, 10))
batch_sizes = exp.pick(ci=tuple(batch_sizes), paper=(8, 32, 128, 512))

# %% [markdown]
# ## Chunked computation is exact
#
# Without a softmax, the loss over a batch is the sum of the losses of its tiles. With `chunk_size`
# set, `sigmoid_contrastive_loss` walks the $B \times B$ matrix in tiles and recomputes each tile in the
# backward pass, as if each tile lived on its own device. Value and gradients (also those of the
# learnable $t'$ and $b$) must match the full-matrix computation.

# %%
probe_generator = torch.Generator().manual_seed(exp.seed)
query = torch.randn(10, 6, generator=probe_generator, dtype=torch.float64).to(exp.device).requires_grad_()
key = torch.randn(10, 6, generator=probe_generator, dtype=torch.float64).to(exp.device).requires_grad_()
log_scale = torch.tensor(np.log(10.0), dtype=torch.float64, device=exp.device, requires_grad=True)
bias = torch.tensor(-10.0, dtype=torch.float64, device=exp.device, requires_grad=True)


def loss_and_gradients(chunk):
    loss = sigmoid_contrastive_loss(query, key, log_scale.exp(), bias, chunk_size=chunk)
    return [loss.detach(), *torch.autograd.grad(loss, (query, key, log_scale, bias))]


full, chunked = loss_and_gradients(None), loss_and_gradients(chunk_size)
chunk_error = max((a - b).abs().max().item() for a, b in zip(full, chunked))
print(
    f"loss {full[0].item():.6f}; largest difference full vs chunked (value and gradients): {chunk_error:.1e}"
)

# %% [markdown]
# ## Two towers on the two halves of a digit
#
# The "image" is the left half of an 8x8 digit (32 pixels), the "text" its right half: each half
# partly predicts the other, and a test pair can only be matched by what the towers learned. The
# digits are split 60/40 (stratified, fixed). For each batch size and each loss, `n_seeds` pairs of
# MLP towers are trained together as one stack (`StackedMLP`), each with its own initialization, batches
# and learnable $t'$, $b$ (sigmoid) or temperature (softmax, initialized at the same $t = 10$).
# Retrieval: every left half of the test split queries all test right halves, and R@1 is the fraction
# whose nearest right half (cosine) is its own.

# %%
digits = load_digits()
train_rows, test_rows = train_test_split(
    np.arange(len(digits.target)), test_size=0.4, random_state=0, stratify=digits.target
)
images = torch.tensor(digits.images / 16.0, dtype=torch.float32, device=exp.device)  # (N, 8, 8)
left, right = images[:, :, :4].flatten(1), images[:, :, 4:].flatten(1)  # (N, 32) each
train_left, train_right = left[train_rows], right[train_rows]
test_left, test_right = left[test_rows], right[test_rows]
print(f"{len(train_rows)} training pairs, {len(test_rows)} test pairs")

losses = {
    "sigmoid (SigLIP)": lambda: SigmoidContrastiveLoss(learnable=True),
    "softmax (CLIP)": lambda: InfoNCELoss(init_temperature, symmetric=True, learnable=True),
}


def train(loss_name, batch, run_seed):
    """Train n_seeds tower pairs with one loss and batch size; return the test R@1 of each."""
    generator = torch.Generator().manual_seed(run_seed)
    image_tower = StackedMLP(n_seeds, 32, embedding_dim, hidden, generator=generator).to(exp.device)
    text_tower = StackedMLP(n_seeds, 32, embedding_dim, hidden, generator=generator).to(exp.device)
    criteria = torch.nn.ModuleList([losses[loss_name]() for _ in range(n_seeds)]).to(exp.device)
    parameters = [*image_tower.parameters(), *text_tower.parameters(), *criteria.parameters()]
    optimizer = torch.optim.Adam(parameters, lr=lr, foreach=True)
    for _ in range(steps):
        rows = torch.randint(0, len(train_rows), (n_seeds, batch), generator=generator).to(exp.device)
        image_z, text_z = image_tower(train_left[rows]), text_tower(train_right[rows])  # (S, B, dim)
        loss = sum(criterion(image_z[s], text_z[s]) for s, criterion in enumerate(criteria))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        image_z = F.normalize(image_tower(test_left.expand(n_seeds, -1, -1)), dim=2)  # (S, n, dim)
        text_z = F.normalize(text_tower(test_right.expand(n_seeds, -1, -1)), dim=2)  # (S, n, dim)
        nearest = (image_z @ text_z.transpose(1, 2)).argmax(dim=2)  # (S, n)
        own = torch.arange(len(test_rows), device=exp.device)
        return (nearest == own).float().mean(dim=1).cpu().numpy()


records = []
configurations = [(name, batch) for batch in batch_sizes for name in losses]
for loss_name, batch in tqdm(configurations, desc="training stacks"):
    recall = train(loss_name, batch, run_seed=1000 * exp.seed + batch)
    records += [{"loss": loss_name, "batch": batch, "run": s, "R@1": r} for s, r in enumerate(recall)]
table = pd.DataFrame(records)
summary = table.groupby(["batch", "loss"])["R@1"].agg(["mean", "std"]).unstack("loss")
print(f"chance R@1: {1 / len(test_rows):.4f}")
summary.round(3)

# %% [markdown]
# ## Retrieval against batch size
#
# Mean test R@1 over the stacked runs (dots: single runs). The same batches and initializations are not
# shared across losses; each loss sees its own draws from the seed.

# %%
fig, ax = plt.subplots(figsize=(6, 3.8))
for k, loss_name in enumerate(losses):
    part = table[table["loss"] == loss_name]
    means = part.groupby("batch")["R@1"].mean()
    ax.plot(means.index, means.values, "o-", color=f"C{k}", label=loss_name)
    ax.plot(part["batch"], part["R@1"], ".", color=f"C{k}", alpha=0.5)
ax.set(xscale="log", xlabel="batch size", ylabel="test R@1 (left half -> right half)")
ax.set_xticks(list(batch_sizes), [str(b) for b in batch_sizes])
ax.set_title("Cross-modal retrieval on digit halves")
ax.legend()
plt.show()

# %% [markdown]
# ## Claims

# %%
smallest = min(batch_sizes)
sigmoid_small = table[(table["loss"] == "sigmoid (SigLIP)") & (table["batch"] == smallest)]["R@1"].mean()
softmax_small = table[(table["loss"] == "softmax (CLIP)") & (table["batch"] == smallest)]["R@1"].mean()
exp.check_below("chunked_equals_full_loss", chunk_error, 1e-6)
largest = max(batch_sizes)
sigmoid_large = table[(table["loss"] == "sigmoid (SigLIP)") & (table["batch"] == largest)]["R@1"].mean()
exp.check_above("sigmoid_small_batch_r1_times_chance", sigmoid_small * len(test_rows), 10)
exp.check_above("sigmoid_gains_from_larger_batch", sigmoid_large - sigmoid_small, 0.0)
# The paper's small-batch advantage: not reproduced at this scale (see the notes below).
exp.check(
    "sigmoid_at_least_softmax_at_small_batch",
    sigmoid_small >= softmax_small,
    value=sigmoid_small - softmax_small,
    expect=">= 0 (R@1 sigmoid - softmax)",
    required=False,
)

# %%
# NBVAL_CHECK_OUTPUT
exp.report()

# %% [markdown]
# ## What this small run shows, and what it does not
#
# - The chunked loss equals the full-batch loss, values and gradients, to float64 round-off: the
#   property that lets SigLIP skip the all-gather. Here the tiles run in a loop on one device; the
#   paper's ring exchange of text chunks across devices is not simulated.
# - The towers are small MLPs on 32-pixel halves of digits, trained for a few hundred steps, not vision
#   and text transformers on billions of pairs; the smallest-batch comparison is the only one the paper's
#   claim makes at this scale. **It is not reproduced**: at batch 8 the sigmoid and softmax losses give
#   about the same R@1 (equal for seed 0, softmax 0.7 points ahead for seed 1; softmax ahead by 0.6 and
#   1.6 points for seeds 0 and 1 in exploratory runs with the plan's 300 steps), and softmax is ahead at batch 32 and 128.
#   The differences are of the order of the run-to-run spread (the dots), so the check is reported,
#   not required. What does hold: the sigmoid towers learn instance-level retrieval far above chance
#   (chance is 1/719) and gain from larger batches, as in the paper's batch-size study.
# - Instance-level R@1 over 719 test pairs is a hard task for 32-pixel halves (many digits share
#   nearly identical halves), hence the low absolute values.
# - The softmax baseline learns its temperature from the same initial scale $t = 10$ as SigLIP; CLIP's
#   own initialization ($1/0.07$) was not tried.
