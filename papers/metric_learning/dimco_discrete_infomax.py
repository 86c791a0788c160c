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
# # Discrete Infomax Codes for Supervised Representation Learning
# *year not listed in the catalog* · topic `metric_learning` · verdict **reproduce**
#
# ## The idea
#
# DIMCO trains an encoder whose output is not a vector but a **discrete code**: $M$ blocks, each a
# $K$-way softmax $p(c_m \mid x)$. Rounded to its most likely symbol per block, a codeword costs
# $M \log_2 K$ bits (here $8 \times 4 = 32$ bits). The encoder maximizes the mutual information between
# the code and the label, estimated on each batch from the mean code probabilities:
#
# $$\hat I(Y; C) = \sum_{m=1}^{M} \Big[ H(\bar p_m) - \sum_y \tfrac{n_y}{B}\, H(\bar p_{m\mid y}) \Big],$$
#
# where $\bar p_m$ is the batch mean of $p(c_m \mid x)$ and $\bar p_{m \mid y}$ the mean over the items of
# label $y$. The first entropy asks the batch to use all symbols, the second asks each class to use a
# single one per block; a regularizer pushes the blocks to be independent, so that they carry
# different information. Retrieval needs only the database's codes: an item $n$ is scored for a query $q$
# by $\log p(c = c_n \mid q) = \sum_m \log p(c_m = c_{n,m} \mid q)$, $M$ table look-ups.
#
# The paper also argues that short codes **reduce overfitting in few-shot classification**: a code of
# few bits cannot memorize the training classes' details. We test both on scikit-learn's 8x8 digits,
# with `paperlab.losses.discrete_infomax_loss` and `code_retrieval_scores`.

# %% tags=["parameters"]
profile = "ci"
seed = 0
device = "auto"
n_blocks = 8  # M, blocks of the code
n_symbols = 16  # K, symbols per block: M log2 K is 32 bits
independence_weight = 0.1  # weight of the block-independence regularizer
steps = 400  # Adam steps per training run
batch = 128
lr = 1e-3
n_episodes = 500  # few-shot episodes per setting
n_queries = 15  # query images per class and episode

# %%
import math

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits
from sklearn.metrics import label_ranking_average_precision_score

from paperlab.experiment import require, setup
from paperlab.losses import code_retrieval_scores, discrete_codes, discrete_infomax_loss
from paperlab.models import EmbeddingMLP

exp = setup(seed=seed, device=device, profile=profile)
for name, value in [
    ("n_blocks", n_blocks),
    ("steps", steps),
    ("batch", batch),
    ("n_episodes", n_episodes),
    ("n_queries", n_queries),
]:
    require(isinstance(value, int) and value >= 1, f"{name} must be a positive integer, got {value!r}")
require(
    isinstance(n_symbols, int) and n_symbols >= 2, f"n_symbols must be an integer >= 2, got {n_symbols!r}"
)
require(
    isinstance(independence_weight, (int, float)) and independence_weight >= 0,
    f"independence_weight must be >= 0, got {independence_weight!r}",
)
require(isinstance(lr, float) and lr > 0, f"lr must be a positive float, got {lr!r}")
steps = exp.pick(ci=steps, paper=max(steps, 3000))
n_episodes = exp.pick(ci=n_episodes, paper=max(n_episodes, 2000))

# %% [markdown]
# ## Data: learn on digits 0-6, few-shot on 7-9
#
# Digits 0-6 are split in half: a training set and a held-out set for retrieval. Digits 7, 8 and 9 are
# never seen in training and serve the few-shot episodes (only three novel classes exist, so the episodes
# are 3-way rather than the paper's 5-way).

# %%
digits = load_digits()
images = torch.tensor(digits.data / 16.0, dtype=torch.float32, device=exp.device)
labels = torch.tensor(digits.target, device=exp.device)
seen = torch.nonzero(labels < 7).squeeze(1)
order = torch.randperm(len(seen), generator=exp.generator).to(exp.device)
train_rows, held_rows = seen[order[: len(seen) // 2]], seen[order[len(seen) // 2 :]]
train_x, train_y = images[train_rows], labels[train_rows]
held_x, held_y = images[held_rows], labels[held_rows]
novel_x, novel_y = images[labels >= 7], labels[labels >= 7]
print(f"{len(train_x)} training, {len(held_x)} held-out (digits 0-6), {len(novel_x)} novel images (7-9)")

# %% [markdown]
# ## Two encoders, same network, same batches
#
# A 64-128 MLP. DIMCO's head outputs $M \times K$ logits trained with the infomax loss; the baseline's head
# outputs 7 class logits trained with cross-entropy, and its 128 penultimate ReLU features are what it
# offers for retrieval and few-shot (nearest class mean, the usual prototype baseline).


# %%
def train(loss_of, out_features):
    torch.manual_seed(exp.seed)
    batches = torch.Generator().manual_seed(exp.seed)
    model = EmbeddingMLP(64, out_features, hidden=(128,)).to(exp.device)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    history = []
    for _ in range(steps):
        rows = torch.randint(0, len(train_x), (batch,), generator=batches).to(exp.device)
        loss = loss_of(model(train_x[rows]), train_y[rows])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        history.append(loss.item())
    return model, history


def code_logits(model, x):
    return model(x).reshape(len(x), n_blocks, n_symbols)  # (B, M, K)


def penultimate(model, x):
    return torch.relu(model.layers[0](x))  # (B, 128)


dimco, dimco_history = train(
    lambda out, y: discrete_infomax_loss(out.reshape(len(out), n_blocks, n_symbols), y, independence_weight),
    n_blocks * n_symbols,
)
ce, ce_history = train(F.cross_entropy, 7)
with torch.no_grad():
    information = -discrete_infomax_loss(code_logits(dimco, train_x), train_y).item()
print(f"code-label information on the training set: {information:.3f} nats (label entropy {math.log(7):.3f})")

# %% [markdown]
# ## Retrieval on held-out images of the training classes
#
# Each held-out image queries all the others; DIMCO ranks them by $\log p(c_n \mid q)$ using only their
# 32-bit codes, the baseline by Euclidean distance between 128 float features. The score is the mean
# average precision over all relevant items.


# %%
def mean_average_precision(scores, y):
    """mAP of every row of a (n, n) score matrix over the other n - 1 items."""
    n = len(y)
    others = ~torch.eye(n, dtype=torch.bool, device=y.device)
    relevant = (y[:, None] == y[None, :])[others].reshape(n, n - 1)  # (n, n - 1)
    ranked = scores[others].reshape(n, n - 1)  # (n, n - 1)
    return label_ranking_average_precision_score(relevant.cpu().numpy(), ranked.cpu().numpy())


with torch.no_grad():
    held_logits = code_logits(dimco, held_x)
    dimco_scores = code_retrieval_scores(held_logits, discrete_codes(held_logits))
    ce_features = penultimate(ce, held_x)
    ce_scores = -torch.cdist(ce_features, ce_features)
map_dimco = mean_average_precision(dimco_scores, held_y)
map_ce = mean_average_precision(ce_scores, held_y)
print(f"retrieval mAP: DIMCO codes {map_dimco:.3f}, CE features {map_ce:.3f}")

# %% [markdown]
# ## Few-shot episodes on the novel digits
#
# An episode draws, for each of the 3 novel digits, `shots` support images and `n_queries` query images.
# DIMCO scores a query against a class by the mean of $\log p(c_s \mid q)$ over the class's support codes;
# the baseline assigns a query to the nearest support mean of its penultimate features. Both use one
# score matrix over all novel images, so the episodes are just index draws.

# %%
with torch.no_grad():
    novel_logits = code_logits(dimco, novel_x)
    novel_dimco = code_retrieval_scores(novel_logits, discrete_codes(novel_logits))  # (n, n)
    novel_features = penultimate(ce, novel_x)  # (n, 128)
by_class = [torch.nonzero(novel_y == c).squeeze(1) for c in (7, 8, 9)]
per_class = min(len(rows) for rows in by_class)


def episodes(shots):
    """Support (E, 3, shots) and query (E, 3, n_queries) indices into the novel images."""
    draws = torch.rand(n_episodes, 3, per_class, generator=exp.generator).argsort(dim=2)  # (E, 3, P)
    table = torch.stack([rows[:per_class] for rows in by_class]).to("cpu")  # (3, P)
    picked = torch.gather(table[None].expand(n_episodes, -1, -1), 2, draws)  # (E, 3, P)
    picked = picked.to(exp.device)
    return picked[:, :, :shots], picked[:, :, shots : shots + n_queries]


def episode_accuracy(support, query):
    e = len(support)
    query = query.reshape(e, 3 * n_queries)  # (E, 3Q)
    truth = torch.arange(3, device=exp.device).repeat_interleave(n_queries)  # (3Q,)
    dimco_class = novel_dimco[query[:, :, None, None], support[:, None]].mean(-1)  # (E, 3Q, 3)
    prototypes = novel_features[support].mean(2)  # (E, 3, 128)
    ce_class = -torch.cdist(novel_features[query], prototypes)  # (E, 3Q, 3)
    return [(s.argmax(-1) == truth).double().mean(1).cpu() for s in (dimco_class, ce_class)]


results = {shots: episode_accuracy(*episodes(shots)) for shots in (1, 5)}
for shots, (acc_dimco, acc_ce) in results.items():
    print(f"3-way {shots}-shot accuracy: DIMCO {acc_dimco.mean():.3f}, CE prototypes {acc_ce.mean():.3f}")

# %% [markdown]
# ## Training curves and few-shot accuracies

# %%
fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8))
left.plot(-np.array(dimco_history), label=r"DIMCO batch $\hat I(Y; C)$ (nats)")
left.axhline(n_blocks * math.log(7), color="k", ls="--", lw=1, label=r"$M \log 7$ (bound)")
left.set(xlabel="Adam step", ylabel="nats", title="Code-label information during training")
left.legend(fontsize=8)
positions = np.arange(2)
for offset, (name, k) in zip((-0.15, 0.15), (("DIMCO codes", 0), ("CE features", 1))):
    means = [results[s][k].mean().item() for s in (1, 5)]
    errors = [results[s][k].std().item() / math.sqrt(n_episodes) for s in (1, 5)]
    right.bar(positions + offset, means, width=0.3, yerr=errors, label=name)
right.set(xticks=positions, xticklabels=["1-shot", "5-shot"], ylim=(0.33, 1.0), ylabel="accuracy")
right.set_title("3-way episodes on unseen digits 7-9")
right.legend(fontsize=8)
plt.show()

# %% [markdown]
# ## Claims
#
# - Codes from the infomax objective are efficient for retrieval: mAP above 0.8 on held-out images of the
#   training classes, from 32-bit codes (0.8 is the plan's a-priori bar, not a number from the paper).
# - Short codes generalize to new classes: mean 3-way 1-shot accuracy with DIMCO codes at least that of the
#   CE-trained continuous features. **Not reproduced** here (recorded with `required=False`, see below):
#   DIMCO is near chance on the novel digits while the CE features reach about two thirds.

# %%
exp.check_above("retrieval_map_dimco_codes", map_dimco, 0.8)
acc_dimco_1, acc_ce_1 = results[1]
exp.check(
    "one_shot_dimco_minus_ce",
    acc_dimco_1.mean() >= acc_ce_1.mean(),
    value=(acc_dimco_1.mean() - acc_ce_1.mean()).item(),
    expect=">= 0",
    required=False,
)

# %%
# NBVAL_CHECK_OUTPUT
exp.report()

# %% [markdown]
# ## What this small run shows, and what it does not
#
# - The infomax objective trains in a few hundred steps to near its bound $M \log 7$ on the training
#   batches, and the 32-bit codes retrieve held-out images of the training digits well (mAP 0.93 for
#   seed 0, 0.81 for seed 1; the CE features' Euclidean mAP was 0.90 and 0.91, so the codes are not
#   consistently better, only much smaller).
# - The few-shot claim does **not** reproduce at this scale: 3-way 1-shot accuracy with DIMCO codes was
#   0.37 (seed 0 and 1) against 0.66-0.68 for nearest prototypes on CE features; 5-shot 0.42-0.44 against
#   0.82-0.83. The reason is visible in the codes: with only 7 training classes, maximal code-label
#   information is reached when every block is a relabelling of the class, so each block has (at most)
#   7 used symbols and an unseen digit is sent to the code of a seen one. Most 7s, 8s and 9s fall on the
#   same symbols, many queries tie with supports of several classes, and ties go to the first class. A
#   stronger block-independence weight (1.0 instead of 0.1, one exploratory run) changed nothing
#   (1-shot 0.37). The paper trains on many more classes (e.g. 64 in miniImageNet), where codes have
#   room to describe shared attributes instead of class identity; this notebook cannot test that regime.
# - The rest of the set-up is a miniature: three novel classes only (3-way, not 5-way), an MLP instead of
#   a CNN, a single training run per method, and no sweep over the code length $M$ or $K$, which is the
#   paper's actual argument about overfitting.
