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
# # PolyLoss: A Polynomial Expansion Perspective of Classification Loss Functions
# *2022* · topic `classification_losses` · verdict **reproduce**
#
# ## The idea
#
# Write $p_t$ for the probability a classifier gives to the true class. Cross-entropy and focal loss
# are both power series in $1 - p_t$ (Taylor expansion of $-\log p_t$ around $p_t = 1$):
#
# $$L_{\mathrm{CE}} = -\log p_t = \sum_{j=1}^{\infty} \frac{1}{j} (1 - p_t)^j, \qquad
#   L_{\mathrm{FL}} = -(1 - p_t)^{\gamma} \log p_t = \sum_{j=1}^{\infty} \frac{1}{j} (1 - p_t)^{j + \gamma}.$$
#
# PolyLoss treats the coefficients as knobs, $L_{\mathrm{Poly}} = \sum_j \alpha_j (1 - p_t)^j$. Near
# $p_t = 1$ the leading term dominates the gradient, $-\partial L_{\mathrm{CE}} / \partial p_t =
# \sum_j (1 - p_t)^{j-1} = 1 + (1 - p_t) + \dots$, so the paper perturbs just that one coefficient:
#
# $$L_{\text{Poly-1}} = -\log p_t + \epsilon\, (1 - p_t), \qquad
#   -\frac{\partial L_{\text{Poly-1}}}{\partial p_t} = \frac{1}{p_t} + \epsilon .$$
#
# A positive $\epsilon$ keeps pushing confident predictions; $\epsilon = -1$ removes the constant
# part of the gradient. The focal-loss version adds $\epsilon (1 - p_t)^{\gamma + 1}$. The paper's claim
# is that the best member of the family depends on the task, and that a tuned Poly-1 beats both
# cross-entropy and focal loss. `paperlab.losses` provides `poly1_cross_entropy`, `polyn_cross_entropy`
# (Poly-N), `poly_loss` (free coefficients), `focal_loss` and `poly1_focal_loss`.
#
# Here: an MLP 64-128-10 on the scikit-learn digits, on the balanced training set and on a long-tailed
# one, trained with cross-entropy, focal loss ($\gamma = 2$) and Poly-1 for each $\epsilon$ of a grid;
# $\epsilon$ is chosen on a validation split and judged on a held-out test split.

# %% tags=["parameters"]
profile = "ci"
seed = 0
device = "auto"
epsilons = [-1.0, 1.0, 2.0]  # the Poly-1 grid searched on the validation split
gamma = 2.0  # focal-loss exponent of the baseline
n_steps = 200  # Adam steps per run
batch_size = 64
learning_rate = 1e-2
n_runs = 3  # independent initializations (and batch orders) per loss; accuracies are their mean
imbalance_ratio = 0.05  # size of the rarest class over the most frequent one in the long-tailed training set
series_terms = 200  # terms of the truncated series (alpha_j equal to 1/j) compared with cross-entropy

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from paperlab.experiment import require, setup
from paperlab.losses import focal_loss, poly1_cross_entropy, poly1_focal_loss, poly_loss

exp = setup(seed=seed, device=device, profile=profile)
require(
    isinstance(epsilons, (list, tuple)) and len(epsilons) > 0 and all(float(e) >= -1 for e in epsilons),
    f"epsilons must be a non-empty list of numbers >= -1, got {epsilons!r}",
)
require(
    0.0 not in [float(e) for e in epsilons],
    "epsilons must not contain 0: epsilon = 0 is cross-entropy itself",
)
require(isinstance(gamma, (int, float)) and gamma >= 0, f"gamma must be >= 0, got {gamma!r}")
for name, value in [
    ("n_steps", n_steps),
    ("batch_size", batch_size),
    ("n_runs", n_runs),
    ("series_terms", series_terms),
]:
    require(isinstance(value, int) and value >= 1, f"{name} must be a positive integer, got {value!r}")
require(n_runs >= 2, f"n_runs must be >= 2 to measure the spread between runs, got {n_runs!r}")
require(0 < learning_rate < 1, f"learning_rate must be in (0, 1), got {learning_rate!r}")
require(0 < imbalance_ratio <= 1, f"imbalance_ratio must be in (0, 1], got {imbalance_ratio!r}")
n_steps = exp.pick(ci=n_steps, paper=max(n_steps, 3_000))
n_runs = exp.pick(ci=n_runs, paper=max(n_runs, 20))
hidden = exp.pick(ci=128, paper=512)

# %% [markdown]
# ## The family, seen as functions of $p_t$
#
# Poly-1 shifts cross-entropy by a line in $1 - p_t$; focal loss flattens it near $p_t = 1$. The plan's
# sanity check of the expansion: the truncated series with $\alpha_j = 1/j$ and 200 terms is
# cross-entropy wherever $p_t \ge 0.1$, and falls short of it as $p_t \to 0$, where the missing tail is large.

# %%
pt_grid = torch.linspace(1e-3, 1 - 1e-3, 400, dtype=torch.float64, device=exp.device)
# two classes with softmax (p_t, 1 - p_t): logits (400, 2)
two_class_logits = torch.stack([torch.log(pt_grid), torch.log1p(-pt_grid)], dim=1)
true_class = torch.zeros(len(pt_grid), dtype=torch.long, device=exp.device)
curves = {"cross-entropy": F.cross_entropy(two_class_logits, true_class, reduction="none")}
for eps in epsilons:
    curves[f"Poly-1, ε = {eps:g}"] = poly1_cross_entropy(two_class_logits, true_class, eps, reduction="none")
curves[f"focal, γ = {gamma:g}"] = focal_loss(two_class_logits, true_class, gamma, reduction="none")
curves["Poly-1 focal, ε = 1"] = poly1_focal_loss(two_class_logits, true_class, 1.0, gamma, reduction="none")
series = poly_loss(
    two_class_logits, true_class, [1.0 / j for j in range(1, series_terms + 1)], reduction="none"
)
confident = pt_grid >= 0.1
series_error = (series - curves["cross-entropy"])[confident].abs().max().item()
print(
    f"truncated series ({series_terms} terms) vs cross-entropy: max |error| for p_t >= 0.1 = {series_error:.2e}"
)

fig, ax = plt.subplots(figsize=(6.4, 3.8))
for label, values in curves.items():
    ax.plot(pt_grid.cpu(), values.cpu(), label=label)
ax.plot(pt_grid.cpu(), series.cpu(), "k:", label=f"series, {series_terms} terms")
ax.set(xlabel="$p_t$", ylabel="loss", ylim=(-0.1, 4), title="PolyLoss family as functions of $p_t$")
ax.legend(fontsize=8)
plt.show()

# %% [markdown]
# ## Data: balanced and long-tailed digits
#
# One stratified split of the 1,797 digits into train / validation / test (49% / 21% / 30%). The
# long-tailed variant keeps class $k$ of the training set with a fraction $r^{k/9}$ of its images
# ($r$ = `imbalance_ratio`); validation and test stay balanced, as in long-tail benchmarks.

# %%
images, labels = load_digits(return_X_y=True)
images = images / 16.0
train_x, test_x, train_y, test_y = train_test_split(
    images, labels, test_size=0.3, stratify=labels, random_state=exp.seed
)
train_x, val_x, train_y, val_y = train_test_split(
    train_x, train_y, test_size=0.3, stratify=train_y, random_state=exp.seed
)
kept = np.concatenate(
    [
        exp.rng.choice(
            np.flatnonzero(train_y == k),
            max(2, round((train_y == k).sum() * imbalance_ratio ** (k / 9))),
            replace=False,
        )
        for k in range(10)
    ]
)
as_x = lambda a: torch.tensor(a, dtype=torch.float32, device=exp.device)  # noqa: E731
as_y = lambda a: torch.tensor(a, dtype=torch.long, device=exp.device)  # noqa: E731
datasets = {
    "balanced": (as_x(train_x), as_y(train_y)),
    "long-tailed": (as_x(train_x[kept]), as_y(train_y[kept])),
}
val_x, val_y, test_x, test_y = as_x(val_x), as_y(val_y), as_x(test_x), as_y(test_y)
print({name: np.bincount(y.cpu().numpy(), minlength=10).tolist() for name, (x, y) in datasets.items()})

# %% [markdown]
# ## Training every loss at once
#
# The runs are small, so all of them (every loss times `n_runs` initializations) are trained together
# as one stack of independent MLPs: batched matrix products, each network with its own weights and its
# own mini-batches, and one Adam optimizer (learning rate annealed to 0 on a cosine), which acts elementwise
# and so treats them independently.
# Each loss averages over its own networks' batches; multiplying by the number of networks gives every
# network exactly the gradient of its own mean loss.

# %%
losses = {
    "cross-entropy": lambda z, y: F.cross_entropy(z, y),
    f"focal (γ={gamma:g})": lambda z, y: focal_loss(z, y, gamma),
}
for eps in epsilons:
    losses[f"Poly-1 ε={eps:g}"] = lambda z, y, eps=eps: poly1_cross_entropy(z, y, eps)
loss_names = list(losses)


def init_stack(n_nets, sizes, generator):
    """Weights and biases of n_nets MLPs, uniform in +-1/sqrt(fan_in) like nn.Linear."""
    params = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        bound = fan_in**-0.5
        weights = torch.rand(n_nets, fan_in, fan_out, generator=generator) * 2 - 1  # (R, in, out)
        biases = torch.rand(n_nets, 1, fan_out, generator=generator) * 2 - 1  # (R, 1, out)
        params += [weights * bound, biases * bound]
    return [p.to(exp.device).requires_grad_() for p in params]


def forward_stack(params, x):
    """Logits of every network: x is (R, B, 64), the result (R, B, 10)."""
    w1, b1, w2, b2 = params
    return torch.baddbmm(b2, torch.relu(torch.baddbmm(b1, x, w1)), w2)


def train_stack(train_x, train_y):
    n_nets = len(loss_names) * n_runs
    params = init_stack(n_nets, [64, hidden, 10], exp.generator)
    optimizer = torch.optim.Adam(params, lr=learning_rate)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=n_steps)
    for _ in range(n_steps):
        batch = torch.randint(0, len(train_y), (n_nets, batch_size), generator=exp.generator)  # (R, B)
        batch = batch.to(exp.device)
        logits = forward_stack(params, train_x[batch])  # (R, B, 10)
        total = 0.0
        for i, name in enumerate(loss_names):
            nets = slice(i * n_runs, (i + 1) * n_runs)
            total = total + n_runs * losses[name](
                logits[nets].reshape(-1, 10), train_y[batch[nets]].reshape(-1)
            )
        optimizer.zero_grad()
        total.backward()
        optimizer.step()
        schedule.step()
    return params


def evaluate(params, x, y):
    """Per-network accuracy and mean p_t on (x, y), as (len(loss_names), n_runs) arrays."""
    with torch.no_grad():
        logits = forward_stack(params, x.expand(len(params[0]), *x.shape))  # (R, n, 10)
        accuracy = (logits.argmax(-1) == y).float().mean(1)
        pt = torch.softmax(logits, -1).gather(-1, y.expand(len(logits), -1)[..., None]).squeeze(-1).mean(1)
    shape = (len(loss_names), n_runs)
    return accuracy.reshape(shape).cpu().numpy(), pt.reshape(shape).cpu().numpy()


rows = []
for dataset, (x, y) in datasets.items():
    params = train_stack(x, y)
    val_acc, _ = evaluate(params, val_x, val_y)
    test_acc, _ = evaluate(params, test_x, test_y)
    _, train_pt = evaluate(params, x, y)
    for i, name in enumerate(loss_names):
        for run in range(n_runs):
            rows.append(
                dict(
                    dataset=dataset,
                    loss=name,
                    run=run,
                    val=val_acc[i, run],
                    test=test_acc[i, run],
                    train_pt=train_pt[i, run],
                )
            )
results = pd.DataFrame(rows)
summary = results.groupby(["dataset", "loss"], sort=False)[["val", "test", "train_pt"]].agg(["mean", "std"])
summary.round(4)

# %% [markdown]
# ## Selecting $\epsilon$ on the validation split
#
# For each dataset the Poly-1 with the best mean validation accuracy is the "tuned Poly-1"; its mean
# test accuracy is compared with cross-entropy and focal loss. $\epsilon = 0$ is not in the grid, since
# it is cross-entropy itself and would make the comparison pass by construction.

# %%
mean = results.groupby(["dataset", "loss"], sort=False)[["val", "test", "train_pt"]].mean()
poly_names = [name for name in loss_names if name.startswith("Poly-1")]
selected = {
    dataset: max(poly_names, key=lambda name: mean.loc[(dataset, name), "val"]) for dataset in datasets
}
comparison = pd.DataFrame(
    {
        dataset: {
            "selected": selected[dataset],
            "tuned Poly-1 test": mean.loc[(dataset, selected[dataset]), "test"],
            "cross-entropy test": mean.loc[(dataset, "cross-entropy"), "test"],
            "focal test": mean.loc[(dataset, loss_names[1]), "test"],
            "std between runs (CE)": results.query("dataset == @dataset and loss == 'cross-entropy'")[
                "test"
            ].std(),
        }
        for dataset in datasets
    }
).T
comparison

# %%
fig, axes = plt.subplots(1, 2, figsize=(11, 3.8), sharey=False)
for ax, dataset in zip(axes, datasets):
    part = results[results.dataset == dataset]
    means = part.groupby("loss", sort=False)["test"].mean()
    errors = part.groupby("loss", sort=False)["test"].std()
    colors = ["C3" if name == selected[dataset] else "C0" for name in means.index]
    ax.bar(
        range(len(means)),
        means.values,
        yerr=errors.values,
        color=colors,
        capsize=3,
        label="mean ± std over runs",
    )
    ax.set_xticks(range(len(means)), means.index, rotation=30, ha="right", fontsize=8)
    ax.set(
        ylim=(means.min() - 0.03, min(1.0, means.max() + 0.02)),
        ylabel="test accuracy",
        title=f"{dataset} digits",
    )
    ax.legend(fontsize=8, loc="lower right")
fig.suptitle("Test accuracy per loss (red: Poly-1 selected on validation)")
plt.show()

# %% [markdown]
# ## Claims
#
# 1. The expansion: 200 terms of $\sum_j (1 - p_t)^j / j$ equal cross-entropy to $10^{-4}$ for $p_t \ge 0.1$.
# 2. The mechanism: the leading coefficient sets how hard confident predictions are pushed, so the mean
#    training $p_t$ rises with $\epsilon$: Poly-1 at the smallest $\epsilon$ < cross-entropy < Poly-1 at
#    the smallest positive $\epsilon$, on both datasets.
# 3. The paper's claim, as planned: the tuned Poly-1 has test accuracy $\ge$ cross-entropy and $\ge$
#    focal loss on both datasets. It is measured but marked not required: at this scale the gaps are
#    smaller than the spread between runs (see the note below).

# %%
exp.check("series 1/j, 200 terms = CE (p_t >= 0.1)", series_error < 1e-4, value=series_error, expect="< 1e-4")
lowest = f"Poly-1 ε={min(epsilons):g}"
positive = [e for e in epsilons if e > 0]
for dataset in datasets:
    pt_low = mean.loc[(dataset, lowest), "train_pt"]
    pt_ce = mean.loc[(dataset, "cross-entropy"), "train_pt"]
    if positive and min(epsilons) < 0:
        pt_high = mean.loc[(dataset, f"Poly-1 ε={min(positive):g}"), "train_pt"]
        margin = min(pt_ce - pt_low, pt_high - pt_ce)
        exp.check(
            f"train p_t: eps<0 < CE < eps>0 ({dataset})", margin > 0, value=margin, expect="> 0 (min gap)"
        )
for dataset in datasets:
    row = comparison.loc[dataset]
    gap = min(
        row["tuned Poly-1 test"] - row["cross-entropy test"], row["tuned Poly-1 test"] - row["focal test"]
    )
    exp.check(f"tuned Poly-1 >= CE and focal ({dataset})", gap >= 0, value=gap, expect=">= 0", required=False)

# %%
# NBVAL_CHECK_OUTPUT
exp.report()

# %% [markdown]
# ## What this small run shows, and what it does not
#
# - **The family is implemented as the paper writes it.** Poly-1 with $\epsilon = 0$ is cross-entropy,
#   focal loss with $\gamma = 0$ is cross-entropy, and the truncated series converges to cross-entropy
#   where it should (these are also unit tests in `tests/losses`).
# - **The leading coefficient does what the gradient says.** Raising $\epsilon$ raises the confidence
#   the network reaches on its training set, and $\epsilon = -1$ lowers it; this holds on both datasets
#   (and for seeds 0-5). It needs the learning rate to be annealed: with a constant rate the final
#   iterate's confidence jitters by about as much as the gap between $\epsilon = 0$ and $\epsilon = 1$.
# - **"A tuned Poly-1 beats CE and focal loss": not reproduced at this scale.** On 1,797 digits with a
#   small MLP, the test accuracies of all losses lie within about one standard deviation between runs
#   of each other, so whether the validation-selected $\epsilon$ comes out ahead is decided by noise;
#   it does in some seeds and datasets and not in others (5 of the 12 seed x dataset cases for seeds
#   0-5 while this notebook was written). The paper's gains (fractions of a point to a few points) were
#   measured on ImageNet, COCO and similar tasks with long training; with 540 test images here the
#   standard error of one accuracy near 96% is already about 0.8 points. The `paper` profile (20 runs,
#   3,000 steps, a wider MLP) shrinks the run-to-run part of that error, but digits remain an easy task.
# - **Task dependence.** The selected $\epsilon$ per dataset is reported in the table above; with gaps
#   this small we do not read anything into it.
