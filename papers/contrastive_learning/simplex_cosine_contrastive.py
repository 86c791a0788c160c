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
# # SimpleX: A Simple and Strong Baseline for Collaborative Filtering
# *2021* · topic `contrastive_learning` · verdict **reproduce**
#
# ## The idea
#
# A collaborative-filtering model has three parts: an interaction encoder, a loss and a negative-sampling
# scheme. The paper argues that the last two matter as much as the first, and backs it with a deliberately
# plain encoder. SimpleX represents a user by a gated sum of a free embedding and the (linearly mapped)
# mean of the embeddings of the items the user interacted with,
#
# $$h_u = g\, e_u + (1 - g)\, V \frac{1}{|H_u|}\sum_{k \in H_u} e_k ,$$
#
# scores items by the cosine $\cos(h_u, e_i)$, and trains with the **cosine contrastive loss** (CCL) over
# one positive item $i$ and many sampled negatives $N$:
#
# $$\ell_u = \big(1 - \cos(h_u, e_i)\big) + \frac{w}{|N|} \sum_{j \in N} \max\big(0, \cos(h_u, e_j) - m\big).$$
#
# The margin $m$ stops the loss from spending effort on negatives that are already far away, and the
# weight $w$ balances the averaged negative term against the single positive. The paper's baselines use
# BPR, $-\log\sigma(s_{ui} - s_{uj})$, usually with one negative per positive.
#
# Here a synthetic low-rank implicit-feedback matrix (`paperlab.data.synthetic_implicit_feedback`) stands
# in for the paper's data sets. The same SimpleX encoder is trained four ways: CCL and BPR, each with 1
# and with many negatives per positive (BPR averaged over them, scored by the dot product as in matrix
# factorisation; CCL scored by the cosine). The margin $m = 0.5$ and weight $w = 10$ were fixed before any
# test recall was looked at, and are not tuned.

# %% tags=["parameters"]
profile = "ci"
seed = 0
device = "auto"
n_users = 500
n_items = 400
rank = 8  # rank of the hidden preference model
dim = 32  # embedding width
many_negatives = 100  # K of the "many negatives" runs
margin = 0.5  # CCL margin m, fixed a priori
negative_weight = 10.0  # CCL weight w, fixed a priori
gate = 0.5  # SimpleX gate g
steps = 150
batch_size = 128
lr = 0.02
k = 20  # Recall@K, NDCG@K

# %%
import matplotlib.pyplot as plt
import pandas as pd
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from paperlab.data import sample_triples, synthetic_implicit_feedback
from paperlab.experiment import require, setup
from paperlab.losses import bpr_loss, cosine_contrastive_loss
from paperlab.metrics import recall_ndcg_at_k
from paperlab.models import SimpleXModel

exp = setup(seed=seed, device=device, profile=profile)
for name, value in [
    ("n_users", n_users),
    ("n_items", n_items),
    ("rank", rank),
    ("dim", dim),
    ("many_negatives", many_negatives),
    ("steps", steps),
    ("batch_size", batch_size),
    ("k", k),
]:
    require(isinstance(value, int) and value >= 2, f"{name} must be an integer >= 2, got {value!r}")
require(isinstance(margin, (int, float)) and -1 <= margin < 1, f"margin must be in [-1, 1), got {margin!r}")
require(
    isinstance(negative_weight, (int, float)) and negative_weight > 0,
    f"negative_weight must be > 0, got {negative_weight!r}",
)
require(isinstance(gate, (int, float)) and 0 <= gate <= 1, f"gate must be in [0, 1], got {gate!r}")
require(isinstance(lr, (int, float)) and lr > 0, f"lr must be > 0, got {lr!r}")
require(k <= n_items, f"k must be at most n_items={n_items}, got {k}")

n_users = exp.pick(ci=n_users, paper=max(n_users, 5000))
n_items = exp.pick(ci=n_items, paper=max(n_items, 3000))
many_negatives = exp.pick(ci=many_negatives, paper=max(many_negatives, 1000))
steps = exp.pick(ci=steps, paper=max(steps, 5000))
batch_size = exp.pick(ci=batch_size, paper=max(batch_size, 1024))
seeds = [seed + i for i in range(exp.pick(ci=1, paper=3))]
require(many_negatives < n_items, f"many_negatives must be below n_items={n_items}, got {many_negatives}")

# %% [markdown]
# ## Data: a rank-8 preference model with popularity skew
#
# Every user draws 20 distinct items from $\mathrm{softmax}_i(\langle p_u, q_i\rangle / (\sqrt{r}\,T) + b_i)$
# with a Zipf-like popularity $b_i$; 4 of them are held out for testing. Training items are excluded from
# the ranking at test time. As bounds for what follows: recommending the most popular items, and ranking
# by the hidden factors (which ignore popularity).

# %%
datasets = {
    s: synthetic_implicit_feedback(n_users, n_items, rank=rank, interactions_per_user=20, seed=s)
    for s in seeds
}


def evaluate(scores, data):
    return recall_ndcg_at_k(scores, data.test.to(scores.device), k, exclude=data.train.to(scores.device))


data = datasets[seeds[0]]
popularity = data.train.sum(0).expand(n_users, -1).clone()
bounds = {
    "most popular": evaluate(popularity, data).recall,
    "hidden factors": evaluate(data.user_factors @ data.item_factors.T, data).recall,
}
pd.Series(bounds, name=f"Recall@{k}")

# %% [markdown]
# ## Four trainings of the same encoder
#
# Same model, initialisation, optimiser (Adam), batches of users and positives, and steps; only the loss
# and the number of negatives per positive change. Negatives are drawn uniformly over all items.

# %%
RUNS = {
    f"CCL, K={many_negatives}": ("ccl", many_negatives),
    "CCL, K=1": ("ccl", 1),
    f"BPR, K={many_negatives}": ("bpr", many_negatives),
    "BPR, K=1": ("bpr", 1),
}


def train(loss_name, n_negatives, data, run_seed):
    generator = torch.Generator().manual_seed(run_seed)
    history = data.train.to(device=exp.device, dtype=torch.float32)
    model = SimpleXModel(history, dim=dim, gate=gate, generator=generator)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    for _ in range(steps):
        batch = sample_triples(history, batch_size, n_negatives, seed=generator)
        user, positive, negative = (
            model.users(batch.users),
            model.items(batch.positives),
            model.items(batch.negatives),
        )
        if loss_name == "ccl":
            loss = cosine_contrastive_loss(user, positive, negative, margin, negative_weight)
        else:
            loss = bpr_loss(user, positive, negative, similarity="dot")
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        users, items = model.users(), model.items()
        if loss_name == "ccl":  # score as trained: cosine for CCL, dot product for BPR
            users, items = F.normalize(users, dim=1), F.normalize(items, dim=1)
        return evaluate(users @ items.T, data)


rows = []
for run_seed in seeds:
    for label, (loss_name, n_negatives) in tqdm(RUNS.items(), desc=f"seed {run_seed}"):
        metrics = train(loss_name, n_negatives, datasets[run_seed], run_seed)
        rows.append(
            {"run": label, "seed": run_seed, f"Recall@{k}": metrics.recall, f"NDCG@{k}": metrics.ndcg}
        )
results = pd.DataFrame(rows).groupby("run", sort=False)[[f"Recall@{k}", f"NDCG@{k}"]].mean()
recall = results[f"Recall@{k}"]
results

# %%
fig, ax = plt.subplots(figsize=(7, 3.5))
colors = ["tab:blue", "lightsteelblue", "tab:orange", "navajowhite"]
ax.bar(results.index, recall, color=colors, label=f"Recall@{k}")
ax.axhline(bounds["most popular"], color="gray", ls="--", label="most popular items")
ax.axhline(bounds["hidden factors"], color="black", ls=":", label="hidden factors (no popularity)")
ax.set_xlabel("loss and negatives per positive")
ax.set_ylabel(f"Recall@{k} (held-out items)")
ax.set_title(f"SimpleX encoder, {len(seeds)} seed(s), {steps} steps")
ax.legend(fontsize=8)
plt.show()

# %% [markdown]
# ## Claims
#
# The paper: with the same encoder, CCL with many negatives beats BPR (the loss matters), and many
# negatives beat one (the sampling ratio matters). At this scale with the a-priori margin and weight,
# many negatives help both losses, but CCL does **not** beat BPR: BPR with the dot product and many
# negatives is clearly ahead, and even BPR with one negative is level with or above CCL with many. Those
# two comparisons are recorded as not reproduced.

# %%
ccl_many, ccl_one = recall[f"CCL, K={many_negatives}"], recall["CCL, K=1"]
bpr_many, bpr_one = recall[f"BPR, K={many_negatives}"], recall["BPR, K=1"]
exp.check_above("recall_ccl_many_minus_ccl_one", ccl_many - ccl_one, 0.0)
exp.check_above("recall_bpr_many_minus_bpr_one", bpr_many - bpr_one, 0.0)
exp.check_above("recall_ccl_many_minus_bpr_many", ccl_many - bpr_many, 0.0, required=False)
exp.check_above("recall_ccl_many_minus_bpr_one", ccl_many - bpr_one, 0.0, required=False)
exp.check_above("recall_ccl_many_minus_most_popular", ccl_many - bounds["most popular"], 0.0)

# %%
# NBVAL_CHECK_OUTPUT
exp.report()

# %% [markdown]
# ## What this small run shows, and what it does not
#
# - The negative-sampling ratio matters here as the paper says: with the same loss, 100 negatives per
#   positive give a clearly higher Recall@20 than 1, for CCL and for BPR alike.
# - The loss comparison does not reproduce. With $m = 0.5$ and $w = 10$, chosen before looking at test
#   recall and left untuned, CCL stays below BPR on this synthetic data. The paper tunes $m$ and $w$ per
#   data set (its margins are often near 0.9 with weights in the hundreds for 1000 negatives) and trains
#   to convergence on real, sparser and more popularity-skewed logs; neither is done here, and a rank-8
#   preference model with a dot-product truth may simply favour dot-product scoring. A fair loss
#   comparison would tune $m$, $w$ and BPR's regularisation on a validation split carved out of the
#   training items, which the `paper` profile's budget would allow.
# - The ci run uses one seed (the notebook's) and 150 steps; the `paper` profile uses 3 seeds, 5000 users,
#   3000 items, 1000 negatives and 5000 steps. Negatives are sampled uniformly and may occasionally be
#   training positives, as in the paper.
