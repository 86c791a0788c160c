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
# # GSSF: Generalized Structural Sparse Function for Deep Cross-modal Metric Learning
# *2024* · topic `metric_learning` · verdict **reproduce**
#
# ## The idea
#
# A two-tower retrieval model embeds an image as $x$ and a caption as $y$ and scores the pair, most often by
# the cosine $\hat x^\top \hat y$ of the unit vectors. The cosine compares channel $m$ of one view only with
# channel $m$ of the other, with equal weights; a dense bilinear form $\hat x^\top W \hat y$ lets every
# channel talk to every other one but costs $D^2$ parameters and overfits. GSSF sits in between: a learned
# similarity written as a **masked bilinear form**
#
# $$M(x, y \mid W, U) = \hat x^\top (W \odot U)\, \hat y ,$$
#
# with two fixed sparsity patterns $U$. The **diagonal** term ($U = I$) weighs each channel,
# $\sum_m w_m \hat x_m \hat y_m$; the **block-diagonal** term cuts the $D$ channels into $G$ groups and lets
# the channels of a group interact, $\sum_g \hat x_g^\top B_g \hat y_g$, for $D + D^2/G$ parameters.
# The paper calls the function *dynamic*: the weights adapt to the pair.
#
# **What is confirmed and what is our reading.** The masked form $x^\top (W \odot U) y$ on normalised
# features and the diagonal and block-diagonal structures are confirmed (abstract and a third-party summary
# of the method); the official repository holds only a README, so the exact way the two terms are combined
# and how the weights are made dynamic is not. Our reading, in `paperlab.distances.GSSFSimilarity`: the two
# terms are summed with per-sample mixing weights $\lambda(x), \mu(y) = 2\,\mathrm{softmax}(A\hat x + a)$,
#
# $$s(x, y) = \lambda_1(x)\mu_1(y) \sum_m w_m \hat x_m \hat y_m
#   + \lambda_2(x)\mu_2(y) \sum_g \hat x_g^\top B_g \hat y_g ,$$
#
# which keeps every term a matrix product, so the $(N, M)$ score matrix needs no $(N, M, D)$ tensor.
#
# The towers are trained with the bidirectional hinge of VSE++, which keeps only the hardest in-batch
# negative of every query and of every candidate (`paperlab.losses.hardest_negative_triplet_loss`):
#
# $$\ell_i = \max_{j \ne i} [\alpha + s_{ij} - s_{ii}]_+ + \max_{j \ne i} [\alpha + s_{ji} - s_{ii}]_+ .$$

# %% tags=["parameters"]
profile = "ci"
seed = 0
device = "auto"
embedding_dim = 64  # output width D of each tower
n_blocks = 8  # channel groups G of the block-diagonal term
hidden = 64  # hidden width of each tower
epochs = 30
warmup_epochs = 15  # epochs with the sum over negatives before switching to the hardest negative
batch = 128
lr = 3e-3
margin = 0.2
n_runs = 3  # independent runs per head (trained side by side); claims use their mean
n_test = 500

# %%
import matplotlib.pyplot as plt
import pandas as pd
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from paperlab.data import two_view_digits
from paperlab.distances import BilinearSimilarity, GSSFSimilarity
from paperlab.experiment import require, setup
from paperlab.losses import hardest_negative_triplet_loss
from paperlab.models import StackedMLP

exp = setup(seed=seed, device=device, profile=profile)
for name, value in [
    ("embedding_dim", embedding_dim),
    ("n_blocks", n_blocks),
    ("hidden", hidden),
    ("epochs", epochs),
    ("batch", batch),
    ("n_runs", n_runs),
    ("n_test", n_test),
]:
    require(isinstance(value, int) and value >= 1, f"{name} must be a positive integer, got {value!r}")
require(embedding_dim % n_blocks == 0, f"n_blocks must divide embedding_dim, got {n_blocks}")
require(
    isinstance(warmup_epochs, int) and 0 <= warmup_epochs <= epochs, "warmup_epochs must be in [0, epochs]"
)
require(isinstance(lr, float) and lr > 0, f"lr must be a positive float, got {lr!r}")
require(isinstance(margin, (int, float)) and margin >= 0, f"margin must be >= 0, got {margin!r}")
require(batch >= 2 and n_test < 1797, "batch must be >= 2 and n_test < 1797")
epochs = exp.pick(ci=epochs, paper=max(epochs, 200))
warmup_epochs = exp.pick(ci=warmup_epochs, paper=max(warmup_epochs, 50))
n_runs = exp.pick(ci=n_runs, paper=max(n_runs, 10))

# %% [markdown]
# ## Data: two halves of a digit as two "modalities"
#
# Each 8x8 digit is cut into its left and right 8x4 halves (32 pixels each); the halves of one image are a
# matching pair, like an image and its caption. 500 images are held out; retrieval asks, for each left half,
# for its own right half among the 500 (and the other way round). Chance Recall@1 is 1/500, and halves of
# same-class digits look alike, so Recall@1 stays far from 1.

# %%
data = two_view_digits(n_test=n_test, device=exp.device, generator=exp.generator)
print(f"{len(data.left_train)} training pairs, {len(data.left_test)} test pairs, 32 pixels per view")

# %% [markdown]
# ## Three heads on identical towers
#
# Every run has its own pair of towers (32-`hidden`-64 MLPs) and one similarity head: **cosine** (no
# parameters), **GSSF** (diagonal + block-diagonal, dynamic mixing, $G$ = `n_blocks` groups) or a **dense
# bilinear** form $\hat x^\top W \hat y$. All heads start at the cosine. The `3 * n_runs` runs are trained
# side by side as stacked networks with the same batches, and their losses are summed (no parameter is
# shared). In our trials, hardest negatives from the first step collapsed every head (Recall@1 near 0.015),
# the difficulty VSE++ meets without pretrained features; the first `warmup_epochs` therefore use the sum
# over negatives, then the hardest negative.

# %%
head_names = ["cosine", "GSSF", "dense bilinear"]


def cosine(x, y):
    return F.normalize(x, dim=-1) @ F.normalize(y, dim=-1).T


def make_head(name):
    if name == "cosine":
        return cosine
    if name == "GSSF":
        return GSSFSimilarity(embedding_dim, n_blocks).to(exp.device)
    return BilinearSimilarity(embedding_dim).to(exp.device)


runs = [(name, k) for name in head_names for k in range(n_runs)]
n_models = len(runs)
left_towers = StackedMLP(n_models, 32, embedding_dim, hidden=(hidden,), generator=exp.generator).to(
    exp.device
)
right_towers = StackedMLP(n_models, 32, embedding_dim, hidden=(hidden,), generator=exp.generator).to(
    exp.device
)
heads = [make_head(name) for name, _ in runs]
parameters = [*left_towers.parameters(), *right_towers.parameters()]
parameters += [p for head in heads if isinstance(head, torch.nn.Module) for p in head.parameters()]
optimizer = torch.optim.Adam(parameters, lr=lr)


def run_scores(left, right):
    """(S, N, D) and (S, M, D) tower outputs -> one (N, M) score matrix per run."""
    return [head(left[s], right[s]) for s, head in enumerate(heads)]


def recall(scores, k):
    """Mean of left->right and right->left Recall@k of the matching pairs on the diagonal."""
    target = torch.arange(len(scores), device=scores.device)
    by_row = (scores.topk(k, dim=1).indices == target[:, None]).any(1).float().mean()
    by_column = (scores.T.topk(k, dim=1).indices == target[:, None]).any(1).float().mean()
    return 0.5 * (by_row + by_column).item()


def evaluate():
    with torch.no_grad():
        left = left_towers(data.left_test.expand(n_models, -1, -1))  # (S, N_test, D)
        right = right_towers(data.right_test.expand(n_models, -1, -1))  # (S, N_test, D)
        return [(recall(s, 1), recall(s, 5)) for s in run_scores(left, right)]


initial = evaluate()
n_train = len(data.left_train)
history = []
for epoch in tqdm(range(epochs), desc="epochs"):
    order = torch.randperm(n_train, generator=exp.generator).to(exp.device)
    epoch_losses = torch.zeros(n_models)
    for start in range(0, n_train - batch + 1, batch):
        rows = order[start : start + batch]
        left = left_towers(data.left_train[rows].expand(n_models, -1, -1))  # (S, B, D)
        right = right_towers(data.right_train[rows].expand(n_models, -1, -1))  # (S, B, D)
        per_run = torch.stack(
            [
                hardest_negative_triplet_loss(s, margin, hardest=epoch >= warmup_epochs)
                for s in run_scores(left, right)
            ]
        )
        optimizer.zero_grad()
        per_run.sum().backward()
        optimizer.step()
        epoch_losses += per_run.detach().cpu()
    history.append(epoch_losses / (n_train // batch))

final = evaluate()
table = pd.DataFrame(
    [
        {"head": name, "run": k, "R@1 before": before[0], "R@1": after[0], "R@5": after[1]}
        for (name, k), before, after in zip(runs, initial, final)
    ]
)
summary = table.drop(columns="run").groupby("head", sort=False).mean()
summary

# %% [markdown]
# ## Parameter budget of the heads
#
# A budget, not a test: the counts follow from the structure ($D + D^2/G$ plus $2(2D + 2)$ for the two
# gates, against $D^2$).

# %%
budget = pd.DataFrame(
    {
        "head": head_names,
        "parameters": [
            sum(p.numel() for p in head.parameters()) if isinstance(head, torch.nn.Module) else 0
            for head in (heads[0], heads[n_runs], heads[2 * n_runs])
        ],
    }
).set_index("head")
budget

# %%
fig, (ax_loss, ax_recall) = plt.subplots(1, 2, figsize=(11, 4))
losses = torch.stack(history)  # (epochs, S)
for i, name in enumerate(head_names):
    for k in range(n_runs):
        s = i * n_runs + k
        ax_loss.plot(losses[:, s], color=f"C{i}", alpha=0.7, label=name if k == 0 else None)
        ax_recall.scatter(i, final[s][0], color=f"C{i}", alpha=0.7)
    ax_recall.hlines(summary.loc[name, "R@1"], i - 0.25, i + 0.25, color=f"C{i}", label=f"{name} mean")
ax_loss.axvline(warmup_epochs, color="grey", linestyle=":", label="switch to hardest negative")
ax_loss.set(xlabel="epoch", ylabel="training loss (mean per pair)", title="Training loss, every run")
ax_loss.legend()
ax_recall.axhline(1 / n_test, color="grey", linestyle="--", label="chance")
ax_recall.set_xticks(range(len(head_names)), head_names)
ax_recall.set(ylabel="test Recall@1 (both directions)", title=f"Cross-half retrieval among {n_test} pairs")
ax_recall.legend()
fig.tight_layout()
plt.show()

# %% [markdown]
# ## Claims
#
# The paper's claim, GSSF retrieves better than cosine, is checked as stated (mean Recall@1 of GSSF at
# least that of cosine, no tolerance). It is recorded as not required: at this scale the three heads end
# within the spread of the runs, and which one is ahead changes with the seed, so it is not a reliable
# outcome of a correct implementation here. The required check is that training works for GSSF at all:
# its mean Recall@1 is more than 20 times chance (it starts at chance, since it equals the cosine of
# random towers at initialisation; the value shown is Recall@1 divided by chance).

# %%
gssf_r1, cosine_r1 = summary.loc["GSSF", "R@1"], summary.loc["cosine", "R@1"]
exp.check_above("gssf_recall1_over_chance", gssf_r1 * n_test, 20.0)
exp.check(
    "gssf_recall1_ge_cosine",
    gssf_r1 >= cosine_r1,
    value=gssf_r1 - cosine_r1,
    expect=">= 0 (GSSF minus cosine mean R@1)",
    required=False,
)

# %%
# NBVAL_CHECK_OUTPUT
exp.report()

# %% [markdown]
# ## What this small run shows, and what it does not
#
# - The package's GSSF head trains end to end with the hardest-negative hinge and reaches the same league
#   as cosine and the dense bilinear head; its parameter count is a fraction of the dense form's.
# - It does **not** show the paper's gain over cosine: with 32-pixel views, 64-D towers trained from
#   scratch for a few seconds and 500 test pairs, the differences between heads are within run-to-run
#   noise. The paper's setting (pretrained image and text encoders, 1024-D features, large datasets) is where a
#   richer similarity has something to model; the `paper` profile runs longer and with more runs.
# - The combination of the two terms and the form of the dynamic weights are our reading (see above),
#   not the authors' code.
