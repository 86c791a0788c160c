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
# # Normalized Loss Functions for Deep Learning with Noisy Labels
# *2020* · topic `classification_losses` · verdict **reproduce**
#
# ## The idea
#
# Write $p_k = \mathrm{softmax}(f(x))_k$ for the $K$ class probabilities and $y$ for the (possibly wrong)
# label. A loss is robust to symmetric label noise (flip rate $\eta < (K-1)/K$) when its sum over all
# possible labels is a constant, $\sum_{k=1}^K L(f(x), k) = C$: then the risk under noise is an affine
# function of the clean risk and both have the same minimizer. Cross-entropy is not such a loss, MAE and
# reverse cross-entropy are. The paper's first observation is that *any* loss becomes one by normalizing it:
#
# $$L_{\text{norm}}(f(x), y) = \frac{L(f(x), y)}{\sum_{k=1}^{K} L(f(x), k)}, \qquad
#   L_{\text{NCE}} = \frac{-\log p_y}{-\sum_k \log p_k}, \qquad
#   L_{\text{NFL}} = \frac{-(1-p_y)^\gamma \log p_y}{-\sum_k (1-p_k)^\gamma \log p_k}.$$
#
# Its second is that robust losses underfit: normalization shrinks the loss to $[0, 1]$ and weakens its
# gradient. The cure is to combine an **active** loss, which only raises $p_y$ (CE, NCE, FL, NFL), with a
# **passive** loss, which also pushes the other $p_k$ down (MAE $= 2(1 - p_y)$, reverse cross-entropy
# RCE $= -\sum_k p_k \log q_k = -A(1 - p_y)$ with $\log 0 := A = -4$). If both are robust, so is their
# Active-Passive Loss
#
# $$L_{\text{APL}} = \alpha\, L_{\text{active}} + \beta\, L_{\text{passive}}, \qquad \text{e.g. NCE+RCE}.$$
#
# `paperlab.losses` provides `normalized_cross_entropy`, `normalized_focal_loss`, `reverse_cross_entropy`,
# `mae_loss` and `active_passive_loss`; `paperlab.data.corrupt_labels` injects symmetric noise (a flipped
# label goes to one of the other $K-1$ classes uniformly) and the paper's asymmetric noise for digits
# ($7 \to 1$, $2 \to 7$, $5 \leftrightarrow 6$, $3 \to 8$, each flipped with probability $\eta$).
#
# Here: small MLPs on the scikit-learn digits whose training labels carry 60% symmetric or 40% asymmetric
# noise, trained with CE, NCE, MAE and NCE+RCE, judged by accuracy on the clean test labels.

# %% tags=["parameters"]
profile = "ci"
seed = 0
device = "auto"
symmetric_rate = 0.6  # flip probability of the symmetric noise
asymmetric_rate = 0.4  # flip probability of the asymmetric noise (source classes only)
alpha = 1.0  # weight of NCE in NCE+RCE
beta = 1.0  # weight of RCE in NCE+RCE
n_runs = 3  # independent label-noise draws and initializations per loss and noise type
n_steps = 150  # full-batch Adam steps
learning_rate = 0.02
eval_every = 10  # steps between two test-accuracy measurements

# %%
import matplotlib.pyplot as plt
import pandas as pd
import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from tqdm.auto import tqdm

from paperlab.data import corrupt_labels
from paperlab.experiment import require, setup
from paperlab.losses import (
    active_passive_loss,
    mae_loss,
    normalized_cross_entropy,
    normalized_focal_loss,
    reverse_cross_entropy,
)

exp = setup(seed=seed, device=device, profile=profile)
require(
    0 <= symmetric_rate < 0.9,
    f"symmetric_rate must be in [0, 0.9) (robustness needs < (K-1)/K), got {symmetric_rate!r}",
)
require(0 <= asymmetric_rate < 0.5, f"asymmetric_rate must be in [0, 0.5), got {asymmetric_rate!r}")
require(alpha > 0 and beta > 0, f"alpha and beta must be > 0, got alpha={alpha!r}, beta={beta!r}")
for name, value in [("n_runs", n_runs), ("n_steps", n_steps), ("eval_every", eval_every)]:
    require(isinstance(value, int) and value >= 1, f"{name} must be a positive integer, got {value!r}")
require(n_runs >= 2, f"n_runs must be >= 2 to measure the spread between runs, got {n_runs!r}")
require(0 < learning_rate < 1, f"learning_rate must be in (0, 1), got {learning_rate!r}")
n_runs = exp.pick(ci=n_runs, paper=max(n_runs, 10))
n_steps = exp.pick(ci=n_steps, paper=max(n_steps, 2_000))
hidden = exp.pick(ci=32, paper=256)

# %% [markdown]
# ## Normalized and symmetric losses, checked on random logits
#
# The defining property: summed over all $K$ labels, NCE and NFL give exactly 1, RCE gives $4(K-1)$ and MAE
# $2(K-1)$, whatever the prediction; cross-entropy's sum depends on the prediction.

# %%
n_classes = 10
logits = 3 * torch.randn(200, n_classes, generator=exp.generator, dtype=torch.float64).to(exp.device)
per_label = {
    "CE": lambda t: F.cross_entropy(logits, t, reduction="none"),
    "NCE": lambda t: normalized_cross_entropy(logits, t, reduction="none"),
    "NFL (γ=0.5)": lambda t: normalized_focal_loss(logits, t, 0.5, reduction="none"),
    "RCE": lambda t: reverse_cross_entropy(logits, t, reduction="none"),
    "MAE": lambda t: mae_loss(logits, t, reduction="none"),
}
label_sums = {
    name: sum(loss(torch.full((len(logits),), k, device=exp.device)) for k in range(n_classes))
    for name, loss in per_label.items()
}
sum_table = pd.DataFrame(
    {name: {"min over x": s.min().item(), "max over x": s.max().item()} for name, s in label_sums.items()}
).T
sum_table

# %% [markdown]
# ## Data and label noise
#
# One stratified split of the 1,797 digits (70% train, 30% test). Each run draws its own noisy training
# labels from `exp.generator`; within a run index every loss sees the same noisy labels, so the losses
# are compared on equal terms. The test labels stay clean. Asymmetric noise only flips the five source
# classes, so about 20% of all training labels end up wrong at a 40% flip rate.

# %%
images, labels = load_digits(return_X_y=True)
train_x, test_x, train_y, test_y = train_test_split(
    images / 16.0, labels, test_size=0.3, stratify=labels, random_state=exp.seed
)
train_x = torch.tensor(train_x, dtype=torch.float32, device=exp.device)
test_x = torch.tensor(test_x, dtype=torch.float32, device=exp.device)
train_y = torch.tensor(train_y, dtype=torch.long, device=exp.device)
test_y = torch.tensor(test_y, dtype=torch.long, device=exp.device)

noise_settings = {
    f"symmetric {symmetric_rate:.0%}": ("symmetric", symmetric_rate),
    f"asymmetric {asymmetric_rate:.0%}": ("asymmetric", asymmetric_rate),
}
noisy_labels = {
    setting: [corrupt_labels(train_y, n_classes, rate, kind, seed=exp.generator) for _ in range(n_runs)]
    for setting, (kind, rate) in noise_settings.items()
}
pd.DataFrame(
    {
        setting: [(noisy != train_y).float().mean().item() for noisy in draws]
        for setting, draws in noisy_labels.items()
    },
    index=[f"run {r}" for r in range(n_runs)],
).rename_axis("fraction of wrong training labels", axis=1)

# %% [markdown]
# ## Training every run at once
#
# Every (noise type, loss, run) triple is one MLP 64-`hidden`-10; all of them are trained together as a
# stack of independent networks (batched matrix products), full-batch, with one Adam optimizer, which acts
# elementwise and so treats them independently. Each loss averages over the items of its own networks;
# multiplying by the number of networks gives every network exactly the gradient of its own mean loss.
# Adam also makes the overall scale of a loss irrelevant, so no per-loss scale is tuned; NCE+RCE uses
# $\alpha = \beta = 1$.

# %%
losses = {
    "CE": lambda z, y: F.cross_entropy(z, y),
    "NCE": normalized_cross_entropy,
    "MAE": mae_loss,
    "NCE+RCE": lambda z, y: active_passive_loss(z, y, "nce", "rce", alpha, beta),
}
runs = [(setting, loss, r) for setting in noise_settings for loss in losses for r in range(n_runs)]
run_labels = torch.stack([noisy_labels[setting][r] for setting, _, r in runs])  # (R, N)
n_nets = len(runs)


def init_stack(sizes):
    """Weights and biases of n_nets MLPs, uniform in +-1/sqrt(fan_in) like nn.Linear."""
    params = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        bound = fan_in**-0.5
        weights = torch.rand(n_nets, fan_in, fan_out, generator=exp.generator) * 2 - 1  # (R, in, out)
        biases = torch.rand(n_nets, 1, fan_out, generator=exp.generator) * 2 - 1  # (R, 1, out)
        params += [weights * bound, biases * bound]
    return [p.to(exp.device).requires_grad_() for p in params]


def forward_stack(params, x):
    """Logits of every network for the same inputs x (n, 64): the result is (R, n, 10)."""
    w1, b1, w2, b2 = params
    x = x.expand(n_nets, *x.shape)  # (R, n, 64)
    return torch.baddbmm(b2, torch.relu(torch.baddbmm(b1, x, w1)), w2)


params = init_stack([64, hidden, n_classes])
optimizer = torch.optim.Adam(params, lr=learning_rate)
groups = [
    (losses[loss], torch.tensor([i for i, run in enumerate(runs) if run[:2] == (setting, loss)]))
    for setting in noise_settings
    for loss in losses
]
curve_steps, curve_accuracy = [], []
for step in tqdm(range(1, n_steps + 1), desc="full-batch steps"):
    logits = forward_stack(params, train_x)  # (R, N, 10)
    total = 0.0
    for loss, nets in groups:
        total = total + len(nets) * loss(logits[nets].reshape(-1, n_classes), run_labels[nets].reshape(-1))
    optimizer.zero_grad()
    total.backward()
    optimizer.step()
    if step % eval_every == 0 or step == n_steps:
        with torch.no_grad():
            curve_accuracy.append((forward_stack(params, test_x).argmax(-1) == test_y).float().mean(1).cpu())
        curve_steps.append(step)

with torch.no_grad():
    train_predictions = forward_stack(params, train_x).argmax(-1)  # (R, N)
corrupted = run_labels != train_y  # (R, N)
memorized = ((train_predictions == run_labels) & corrupted).sum(1) / corrupted.sum(1)
results = pd.DataFrame(
    [
        dict(
            noise=setting,
            loss=loss,
            run=r,
            test_accuracy=curve_accuracy[-1][i].item(),
            memorized=memorized[i].item(),
        )
        for i, (setting, loss, r) in enumerate(runs)
    ]
)
summary = results.groupby(["noise", "loss"], sort=False)[["test_accuracy", "memorized"]].agg(["mean", "std"])
summary.round(3)

# %% [markdown]
# `memorized` is the fraction of the corrupted training items that the network predicts *as their wrong
# label*: how much of the noise it has fitted.

# %%
curves = torch.stack(curve_accuracy, dim=1)  # (R, n_evals)
fig, axes = plt.subplots(1, 2, figsize=(11, 3.8), sharey=True)
for ax, setting in zip(axes, noise_settings):
    for loss in losses:
        nets = [i for i, run in enumerate(runs) if run[:2] == (setting, loss)]
        mean, std = curves[nets].mean(0), curves[nets].std(0)
        ax.plot(curve_steps, mean, label=loss)
        ax.fill_between(curve_steps, mean - std, mean + std, alpha=0.2)
    ax.set(xlabel="full-batch Adam step", title=f"{setting} label noise")
axes[0].set_ylabel("clean test accuracy")
axes[0].legend(title=f"mean ± std, {n_runs} runs", loc="lower center", ncol=2)
fig.suptitle("Test accuracy while training on noisy labels")
plt.show()

# %% [markdown]
# ## Claims
#
# (The normalization itself, NCE summing to 1 over the labels, holds by construction: the table above shows
# it and the unit tests check it; it is not a claim to test here.)
#
# 1. The paper's check, as planned: at 60% symmetric noise, NCE+RCE beats CE by more than 5 points of
#    mean test accuracy, and beats NCE alone.
# 2. At 40% asymmetric noise, NCE+RCE also beats CE. Measured but not required: at this scale the gap
#    is smaller than the spread between runs, so it is not a reliable result (see the notes below).
# 3. The mechanism: CE fits (memorizes) more of the wrong labels than NCE+RCE at 60% symmetric noise.
# 4. Robust but underfitting: MAE alone stays below NCE+RCE at 60% symmetric noise.

# %%
mean_accuracy = results.groupby(["noise", "loss"], sort=False)["test_accuracy"].mean()
mean_memorized = results.groupby(["noise", "loss"], sort=False)["memorized"].mean()
symmetric, asymmetric = noise_settings
gap_ce = mean_accuracy[symmetric, "NCE+RCE"] - mean_accuracy[symmetric, "CE"]
exp.check(f"{symmetric}: acc(NCE+RCE) - acc(CE)", gap_ce > 0.05, value=gap_ce, expect="> 0.05")
gap_nce = mean_accuracy[symmetric, "NCE+RCE"] - mean_accuracy[symmetric, "NCE"]
exp.check(f"{symmetric}: acc(NCE+RCE) - acc(NCE)", gap_nce > 0, value=gap_nce, expect="> 0")
gap_asym = mean_accuracy[asymmetric, "NCE+RCE"] - mean_accuracy[asymmetric, "CE"]
exp.check(f"{asymmetric}: acc(NCE+RCE) - acc(CE)", gap_asym > 0, value=gap_asym, expect="> 0", required=False)
gap_memorized = mean_memorized[symmetric, "CE"] - mean_memorized[symmetric, "NCE+RCE"]
exp.check(
    f"{symmetric}: memorized(CE) - memorized(NCE+RCE)", gap_memorized > 0, value=gap_memorized, expect="> 0"
)
gap_mae = mean_accuracy[symmetric, "NCE+RCE"] - mean_accuracy[symmetric, "MAE"]
exp.check(f"{symmetric}: acc(NCE+RCE) - acc(MAE)", gap_mae > 0, value=gap_mae, expect="> 0")

# %%
# NBVAL_CHECK_OUTPUT
exp.report()

# %% [markdown]
# ## What this small run shows, and what it does not
#
# - **The losses are the paper's.** NCE and NFL sum to 1 over all labels, RCE to $4(K-1)$ and MAE to
#   $2(K-1)$, for every prediction (table above; the unit tests in `tests/losses` also compare each loss
#   and its gradient with a naive formula written from probabilities).
# - **Under 60% symmetric noise, NCE+RCE wins clearly.** Its clean test accuracy stays near its peak,
#   while CE peaks early and then falls by about 25 points as it fits the wrong labels (the `memorized`
#   column: CE predicts the wrong label on about a quarter of the corrupted training items, NCE+RCE on
#   fewer than a tenth). The gap to CE is far above the plan's 5 points for seeds 0 and 1.
# - **NCE alone does not behave as the paper describes here.** The paper reports that NCE alone is robust
#   but underfits; in this run it neither underfits nor resists the noise: it follows CE's curve, peaks
#   early and then memorizes wrong labels. Normalization makes the *risk minimizer* noise-tolerant, which
#   says nothing about a small full-batch network that can fit every training item individually. NCE+RCE
#   still beats NCE alone by a wide margin, as the plan's check asks, but for that reason, not underfitting.
# - **MAE does underfit.** It memorizes the least, but learns slowly and unevenly (large spread between
#   runs) and ends below NCE+RCE; under asymmetric noise it stalls far below every other loss.
# - **Asymmetric noise: weak at this scale.** With 40% of the 7, 2, 5, 6, 3 labels flipped to their
#   look-alikes, NCE+RCE ends only about 2 points above CE for seeds 0 and 1, less than the spread between
#   runs, and for the first two thirds of training it is below CE, which learns faster and decays only
#   slowly. Another seed or a few more or fewer steps could reverse the order, so the check is recorded
#   with `required=False` (it reads NOT REPRODUCED if it fails). The paper's gains were measured on MNIST
#   and CIFAR with long SGD schedules and per-dataset $(\alpha, \beta)$; here $\alpha = \beta = 1$ for
#   both noise types and nothing is tuned.
# - **Scale.** 1,257 training digits, 150 full-batch Adam steps of a 64-32-10 MLP, 3 runs per cell; the
#   `paper` profile uses 10 runs, 2,000 steps and 256 hidden units, which would sharpen the curves but is
#   still far from the paper's convolutional networks and datasets.
