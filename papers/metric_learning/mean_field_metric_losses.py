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
# # Mean Field Theory in Deep Metric Learning
# *year not given in the catalog* · topic `metric_learning` · verdict **reproduce**
#
# ## The idea
#
# Pair-based metric losses (contrastive, multi-similarity) sum an interaction over every pair of a batch:
# $O(B^2)$ work, and a result that depends on which pairs happen to share a batch. Mean-field theory, from
# statistical physics, replaces the many interactions a particle feels by its interaction with the *mean
# field* of the others. Here each class $c$ gets a learnable mean field $w_c$, and every embedding interacts
# with the $C$ mean fields instead of the $B$ other embeddings. With cosine distances
# $d_{ic} = 1 - \langle \hat x_i, \hat w_c \rangle$, the **mean-field contrastive** loss is
#
# $$L_{MFCon} = \frac{1}{B} \sum_i \Big([d_{i y_i} - m_+]_+ + \sum_{c \ne y_i} [m_- - d_{ic}]_+\Big)
#   + \lambda \frac{1}{C} \sum_c \sum_{c' \ne c} [m_- - D_{cc'}]_+,$$
#
# where $D_{cc'}$ is the distance between mean fields and the last term keeps the mean fields apart. The
# **mean-field class-wise multi-similarity** loss does the same to multi-similarity, averaging the
# exponentials $e^{-\alpha(s_{ic} - b)}$ and $e^{\beta(s_{ic'} - b)}$ within each class before the
# logarithms. Both are classification-like, $O(BC)$, and the paper reports that they match or beat the
# pair-based losses.
#
# `paperlab.losses.mean_field_contrastive_loss` and `mean_field_classwise_ms_loss` (with the module forms
# that own the mean fields) implement them, checked against loop references written from the authors'
# formulas; `contrastive_loss` is the pair-based baseline.

# %% tags=["parameters"]
profile = "ci"
seed = 0
device = "auto"
embedding_dim = 32
steps = 100  # Adam steps per training run (the plan's 400 in the paper profile)
batch = 128
lr = 1e-3
mf_reg = 1.0  # weight of the mean-field regularizer
n_seeds = 3  # training runs per loss; claims use their mean

# %%
import matplotlib.pyplot as plt
import pandas as pd
import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits
from tqdm.auto import tqdm

from paperlab.experiment import require, setup
from paperlab.losses import MeanFieldClassWiseMultiSimilarityLoss, MeanFieldContrastiveLoss, contrastive_loss
from paperlab.metrics import map_at_r, recall_at_k
from paperlab.models import EmbeddingMLP

exp = setup(seed=seed, device=device, profile=profile)
for name, value in [
    ("embedding_dim", embedding_dim),
    ("steps", steps),
    ("batch", batch),
    ("n_seeds", n_seeds),
]:
    require(isinstance(value, int) and value >= 1, f"{name} must be a positive integer, got {value!r}")
require(isinstance(lr, float) and lr > 0, f"lr must be a positive float, got {lr!r}")
require(isinstance(mf_reg, (int, float)) and mf_reg >= 0, f"mf_reg must be >= 0, got {mf_reg!r}")
steps = exp.pick(ci=steps, paper=max(steps, 400))
n_seeds = exp.pick(ci=n_seeds, paper=max(n_seeds, 10))

# %% [markdown]
# ## Data: train on digits 0-5, retrieve digits 6-9
#
# The 8x8 digits of scikit-learn (pixels in [0, 1]). The embedding and the six mean fields are trained on
# the classes 0-5; retrieval (cosine similarity, Recall@1 and MAP@R) is measured on the unseen 6-9, where no
# mean field exists: what transfers is the embedding alone.

# %%
digits = load_digits()
images = torch.tensor(digits.data / 16.0, dtype=torch.float32, device=exp.device)
labels = torch.tensor(digits.target, device=exp.device)
seen = labels < 6
train_x, train_y = images[seen], labels[seen]
test_x, test_y = images[~seen], labels[~seen]
print(f"{len(train_x)} training images (digits 0-5), {len(test_x)} retrieval images (digits 6-9)")

# %% [markdown]
# ## Three losses, same network, same batches
#
# A 64-128-32 MLP trained with Adam (the mean fields are trained with it); each loss trains `n_seeds`
# networks, seed $s$ fixing the initialization and the batches. Loss settings are the package defaults
# (mean-field contrastive $m_+ = 0$, $m_- = 1$; class-wise multi-similarity $\alpha = 2$, $\beta = 50$,
# $b = 0.5$; pair contrastive on unit-length embeddings with margins 0 and 1), not tuned.


# %%
def make_loss(name, run_seed):
    generator = torch.Generator().manual_seed(run_seed)
    if name == "MF contrastive":
        return MeanFieldContrastiveLoss(6, embedding_dim, mf_reg=mf_reg, generator=generator)
    if name == "MF class-wise MS":
        return MeanFieldClassWiseMultiSimilarityLoss(6, embedding_dim, mf_reg=mf_reg, generator=generator)
    return contrastive_loss


def train(name, run_seed):
    torch.manual_seed(run_seed)
    batches = torch.Generator().manual_seed(run_seed)
    model = EmbeddingMLP(64, embedding_dim, hidden=(128,)).to(exp.device)
    loss_fn = make_loss(name, run_seed)
    parameters = list(model.parameters())
    if isinstance(loss_fn, torch.nn.Module):
        loss_fn = loss_fn.to(exp.device)
        parameters += list(loss_fn.parameters())
    optimizer = torch.optim.Adam(parameters, lr=lr)
    history = []
    for _ in range(steps):
        rows = torch.randint(0, len(train_x), (batch,), generator=batches).to(exp.device)
        loss = loss_fn(model(train_x[rows]), train_y[rows])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        history.append(loss.item())
    field_accuracy = float("nan")
    if isinstance(loss_fn, torch.nn.Module):
        with torch.no_grad():
            nearest = (F.normalize(model(train_x), dim=1) @ F.normalize(loss_fn.mean_fields, dim=1).T).argmax(
                1
            )
        field_accuracy = (nearest == train_y).float().mean().item()
    return model, history, field_accuracy


names = ["MF contrastive", "MF class-wise MS", "pair contrastive"]
results, histories = [], {}
for name, k in tqdm([(name, k) for name in names for k in range(n_seeds)], desc="training runs"):
    model, history, field_accuracy = train(name, exp.seed + k)
    with torch.no_grad():
        test_emb = model(test_x)
    results.append(
        {
            "loss": name,
            "seed": exp.seed + k,
            "Recall@1": recall_at_k(test_emb, test_y, 1, metric="cosine"),
            "MAP@R": map_at_r(test_emb, test_y, metric="cosine"),
            "nearest-field accuracy (train)": field_accuracy,
        }
    )
    histories.setdefault(name, history)
with torch.no_grad():
    untrained = EmbeddingMLP(64, embedding_dim, hidden=(128,)).to(exp.device)(test_x)
table = pd.DataFrame(results)
summary = table.drop(columns="seed").groupby("loss", sort=False).mean()
summary.loc["untrained network"] = [
    recall_at_k(untrained, test_y, 1, metric="cosine"),
    map_at_r(untrained, test_y, metric="cosine"),
    float("nan"),
]
summary.round(3)

# %% [markdown]
# ## Training curves
#
# The losses of the first seed, each divided by its first value (their scales differ).

# %%
fig, ax = plt.subplots(figsize=(6.4, 3.6))
for name, history in histories.items():
    ax.plot(torch.tensor(history) / history[0], label=name)
ax.set(xlabel="Adam step", ylabel="loss / initial loss", title="Training on digits 0-5")
ax.legend()
plt.show()

# %% [markdown]
# ## Claims
#
# - The mean fields become class centres: on the training digits, the nearest mean field (cosine) gives
#   the right class for more than 90% of the images, for both losses (fails for a wrong loss or gradient).
# - Transfer: on the unseen digits, MAP@R above the untrained network's. Raw digits are already well
#   ranked by a random network (Recall@1 about 0.97), and training on six classes does not reliably improve
#   on it for the mean-field contrastive loss (nor for the pair contrastive loss), so these are reported
#   and marked NOT REPRODUCED when they fail.
# - The paper's comparison, as planned: Recall@1 of mean-field contrastive at least that of pair
#   contrastive minus 0.01 (mean over seeds). It is on the edge at this scale (seed 0 misses it by a few
#   ten-thousandths, seed 1 passes), so it is reported and marked NOT REPRODUCED when it fails. The plan's
#   second comparison, class-wise MS against pair multi-similarity, needs a multi-similarity loss that the
#   package does not have; the mean-field class-wise MS is compared with pair contrastive instead, with the
#   same tolerance, and is not required either (it is not the paper's claim).

# %%
mfc, mfms, pair = (summary.loc[k] for k in names)
base = summary.loc["untrained network"]
exp.check_above("nearest_field_accuracy_mf_contrastive", mfc["nearest-field accuracy (train)"], 0.9)
exp.check_above("nearest_field_accuracy_mf_classwise_ms", mfms["nearest-field accuracy (train)"], 0.9)
exp.check_above("map_at_r_mf_contrastive_minus_untrained", mfc["MAP@R"] - base["MAP@R"], 0.0, required=False)
exp.check_above(
    "map_at_r_mf_classwise_ms_minus_untrained", mfms["MAP@R"] - base["MAP@R"], 0.0, required=False
)
exp.check(
    "recall1_mf_contrastive_minus_pair_contrastive",
    mfc["Recall@1"] >= pair["Recall@1"] - 0.01,
    value=mfc["Recall@1"] - pair["Recall@1"],
    expect=">= -0.01",
    required=False,
)
exp.check(
    "recall1_mf_classwise_ms_minus_pair_contrastive",
    mfms["Recall@1"] >= pair["Recall@1"] - 0.01,
    value=mfms["Recall@1"] - pair["Recall@1"],
    expect=">= -0.01",
    required=False,
)

# %%
# NBVAL_CHECK_OUTPUT
exp.report()

# %% [markdown]
# ## What this small run shows, and what it does not
#
# - Replacing the pairs by six learnable mean fields gives a classification-like loss whose mean fields
#   become class centres, and whose unseen-digit Recall@1 is within about 0.01 of the pair contrastive
#   loss's (below it for the mean-field contrastive loss, above it for the class-wise MS loss, with
#   seeds 0 and 1).
# - None of the three losses reliably beats an *untrained* network on the unseen digits at this scale
#   (seed 0: MAP@R 0.553 untrained against 0.47-0.52 trained): pulling each training class onto one
#   direction discards within-class variation that would help to separate new digits, and raw digits are
#   easy. The transfer claims are reported as NOT REPRODUCED where they fail.
# - Four unseen digits and a small MLP are far from the paper's benchmarks (CUB, Cars, SOP with CNNs); at
#   this scale retrieval differences of a percent are within seed noise.
# - Not reproduced here: the comparison of the mean-field class-wise multi-similarity loss with the pair
#   multi-similarity loss (no multi-similarity loss in the package yet). The regularizer weight and the
#   margins are package defaults, not the paper's tuned values.
