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
# # Measuring the Intrinsic Dimension of Objective Landscapes
# *2018* · topic `intrinsic_dimension` · verdict **reproduce**
#
# ## The idea
#
# A network with $D$ parameters is usually trained in all $D$ directions at once. How many of them
# does a task really need? The paper answers with a simple experiment: freeze the initial parameters
# $\theta_0$ and train only along a fixed random $d$-dimensional subspace,
#
# $$\theta = \theta_0 + P z, \qquad P \in \mathbb{R}^{D \times d} \text{ random, fixed}, \qquad
#   z \in \mathbb{R}^{d},\ z_0 = 0,$$
#
# so the optimiser sees only the $d$ coordinates of $z$, and the gradient it receives is
# $\nabla_z L = P^\top \nabla_\theta L$. For small $d$ the subspace misses every good solution; as $d$
# grows, performance climbs to that of ordinary training. The **intrinsic dimension** of the objective
# landscape is the smallest $d$ that gets there, operationally
#
# $$d_{\mathrm{int}90} = \min \{ d : \mathrm{acc}(d) \ge 0.9 \cdot \mathrm{acc}_{\mathrm{full}} \}.$$
#
# The columns of $P$ are normalised to unit length, so a unit step in $z$ moves $\theta$ by about one
# unit. Dense Gaussian $P$ costs $O(Dd)$ memory; for large networks the paper uses sparse or Fastfood
# projections ($P z = H G \Pi H B z$ with Hadamard transforms $H$, $O(D \log D)$ time, $O(D)$ memory).
# `paperlab.models.SubspaceModel(module, intrinsic_dim, projection="dense" | "sparse" | "fastfood")`
# wraps any module this way through `torch.func.functional_call`; `paperlab.metrics.intrinsic_dim_90`
# reads $d_{\mathrm{int}90}$ off a sweep.
#
# Two claims of the paper are checked here: $d_{\mathrm{int}90}$ is much smaller than the parameter
# count, and it changes little between networks of very different size on the same task. Here: MLPs
# 64-$w$-10 of width $w = 32$ ($D = 2{,}410$) and $w = 128$ ($D = 9{,}610$) on scikit-learn's 8x8 digits,
# full-batch Adam, trained with all parameters and in random subspaces of a sweep of dimensions $d$.

# %% tags=["parameters"]
profile = "ci"
seed = 0
device = "auto"
widths = [32, 128]  # hidden widths of the two MLPs compared (the first is the small one)
dims = [10, 25, 50, 100, 200, 400]  # subspace dimensions d of the sweep
projection = "dense"  # "dense", "sparse" or "fastfood"
n_steps = 150  # full-batch Adam steps per run (the paper profile uses more)
n_seeds = 1  # independent initialisations, subspaces and splits; accuracies are averaged over them
n_train = 500  # training digits; the rest (1,297) is the test set
lr_full = 1e-2  # Adam learning rate for ordinary training of all D parameters
lr_subspace = 1e-1  # Adam learning rate for z
threshold = 0.9  # fraction of the full-training accuracy that defines d_int

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits
from torch import nn
from tqdm.auto import tqdm

from paperlab.experiment import require, setup
from paperlab.metrics import intrinsic_dim_90
from paperlab.models import SubspaceModel

exp = setup(seed=seed, device=device, profile=profile)
require(
    isinstance(widths, (list, tuple))
    and len(widths) == 2
    and all(isinstance(w, int) and w >= 1 for w in widths),
    f"widths must be two positive integers (small, large), got {widths!r}",
)
require(
    isinstance(dims, (list, tuple)) and len(dims) >= 2 and all(isinstance(d, int) and d >= 1 for d in dims),
    f"dims must be a list of at least two positive integers, got {dims!r}",
)
require(
    projection in ("dense", "sparse", "fastfood"),
    f"projection must be dense, sparse or fastfood, got {projection!r}",
)
for name, value in [("n_steps", n_steps), ("n_seeds", n_seeds), ("n_train", n_train)]:
    require(isinstance(value, int) and value >= 1, f"{name} must be a positive integer, got {value!r}")
require(100 <= n_train <= 1500, f"n_train must lie in [100, 1500] to leave a test set, got {n_train!r}")
require(
    0 < lr_full < 1 and 0 < lr_subspace < 10,
    f"learning rates must be positive, got {lr_full!r}, {lr_subspace!r}",
)
require(0 < threshold <= 1, f"threshold must lie in (0, 1], got {threshold!r}")

widths = exp.pick(ci=widths, paper=[*widths, 512])
dims = sorted(exp.pick(ci=dims, paper=sorted({*dims, 75, 150, 300, 600, 800, 1200})))
n_steps = exp.pick(ci=n_steps, paper=max(n_steps, 1_000))
n_seeds = exp.pick(ci=n_seeds, paper=max(n_seeds, 3))
n_train = exp.pick(ci=n_train, paper=max(n_train, 1_297))
small, large = widths[0], widths[1]

# %% [markdown]
# ## Data and models
#
# Pixels scaled to $[0, 1]$, a random train/test split per seed. The MLPs are plain
# `nn.Sequential(Linear, ReLU, Linear)`; for each seed one initialisation $\theta_0$ is shared by the
# full-parameter run and every subspace run of that width, and each subspace run draws its own $P$.

# %%
digits_x, digits_y = load_digits(return_X_y=True)
digits_x = torch.tensor(digits_x / 16.0, dtype=torch.float32, device=exp.device)
digits_y = torch.tensor(digits_y, device=exp.device)


def split(run_seed):
    order = torch.from_numpy(np.random.default_rng(run_seed).permutation(len(digits_y))).to(exp.device)
    train, test = order[:n_train], order[n_train:]
    return digits_x[train], digits_y[train], digits_x[test], digits_y[test]


def mlp(width):
    return nn.Sequential(nn.Linear(64, width), nn.ReLU(), nn.Linear(width, 10)).to(exp.device)


def train_full_batch(model, parameters, x, y, lr):
    optimizer = torch.optim.Adam(parameters, lr=lr)
    for _ in range(n_steps):
        optimizer.zero_grad()
        F.cross_entropy(model(x), y).backward()
        optimizer.step()
    return model


@torch.no_grad()
def accuracy(model, x, y):
    return (model(x).argmax(dim=1) == y).float().mean().item()


# %% [markdown]
# ## The sweep
#
# For each seed and width: one full-parameter run (the baseline) and one subspace run per $d$, all with
# the same number of full-batch steps.

# %%
rows = []
runs = [(s, w) for s in range(n_seeds) for w in widths]
for run_seed, width in tqdm(runs, desc="seeds x widths"):
    x_train, y_train, x_test, y_test = split(1_000 * seed + run_seed)
    torch.manual_seed(1_000 * seed + run_seed)
    initial = mlp(width)
    full = mlp(width)
    full.load_state_dict(initial.state_dict())
    train_full_batch(full, full.parameters(), x_train, y_train, lr_full)
    D = sum(p.numel() for p in full.parameters())
    rows.append(
        dict(seed=run_seed, width=width, D=D, d=D, kind="full", test_accuracy=accuracy(full, x_test, y_test))
    )
    for index, d in enumerate(d for d in dims if d <= D):
        model = SubspaceModel(initial, d, projection=projection, seed=10_000 * seed + 100 * run_seed + index)
        train_full_batch(model, [model.z], x_train, y_train, lr_subspace)
        test_accuracy = accuracy(model, x_test, y_test)
        rows.append(dict(seed=run_seed, width=width, D=D, d=d, kind="subspace", test_accuracy=test_accuracy))
results = pd.DataFrame(rows)

baseline = results[results.kind == "full"].groupby("width").test_accuracy.mean()
parameter_count = results.groupby("width").D.first()
sweep = results[results.kind == "subspace"].groupby(["width", "d"]).test_accuracy.mean().unstack("width")
d_int = {
    w: intrinsic_dim_90(sweep.index.tolist(), sweep[w].tolist(), baseline[w], fraction=threshold)
    for w in widths
}
summary = pd.DataFrame(
    {
        "D": parameter_count,
        "full accuracy": baseline,
        f"d_int{round(100 * threshold)}": pd.Series(d_int),
        "d_int / D": pd.Series(d_int) / parameter_count,
    }
)
print(sweep.round(3).to_string())
print()
print(summary.round(4).to_string())

# %%
fig, ax = plt.subplots(figsize=(6.4, 4.0))
colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
for color, width in zip(colors, widths):
    ax.plot(
        sweep.index, sweep[width], "o-", color=color, label=f"width {width} (D = {parameter_count[width]:,})"
    )
    ax.axhline(
        threshold * baseline[width],
        color=color,
        ls="--",
        lw=1,
        label=f"{threshold:.0%} of full training, width {width}",
    )
    if np.isfinite(d_int[width]):
        ax.axvline(
            d_int[width], color=color, ls=":", lw=1.5, label=f"d_int{round(100 * threshold)}, width {width}"
        )
ax.set_xscale("log")
ax.set_xticks(sweep.index, [str(d) for d in sweep.index])
ax.minorticks_off()
ax.set_xlabel("subspace dimension d (log scale)")
ax.set_ylabel(f"test accuracy (mean of {n_seeds} seed{'s' * (n_seeds > 1)})")
ax.set_title("Training in random subspaces: digits MLPs")
ax.legend(fontsize=8, loc="lower right")
plt.show()

# %% [markdown]
# ## Claims
#
# 1. Setup sanity: both networks train properly with all their parameters (test accuracy > 0.9), and
#    the smallest swept subspace is not enough (so $d_{\mathrm{int}90}$ is measured, not a floor of the
#    grid).
# 2. Intrinsic dimension much smaller than the parameter count: $d_{\mathrm{int}90} \le 0.1\,D$ for the
#    width-128 network.
# 3. Intrinsic dimension nearly independent of network size: $d_{\mathrm{int}90}(128) /
#    d_{\mathrm{int}90}(32) \in [0.5, 2]$ while $D$ grows four times.

# %%
for width in widths:
    exp.check(
        f"full training accuracy > 0.9 (width {width})",
        baseline[width] > 0.9,
        value=baseline[width],
        expect="> 0.9",
    )
smallest_gap = min(threshold * baseline[w] - sweep[w].iloc[0] for w in widths)
exp.check(
    f"d={dims[0]} falls short of the threshold",
    smallest_gap > 0,
    value=smallest_gap,
    expect="> 0 (accuracy gap)",
)
fraction_of_d = d_int[large] / parameter_count[large]
exp.check(f"d_int90 <= 0.1 D (width {large})", fraction_of_d <= 0.1, value=fraction_of_d, expect="<= 0.1")
ratio = d_int[large] / d_int[small]
exp.check(f"d_int90 ratio width {large} / {small}", 0.5 <= ratio <= 2, value=ratio, expect="in [0.5, 2]")

# %%
# NBVAL_CHECK_OUTPUT
exp.report()

# %% [markdown]
# ## What this small run shows, and what it does not
#
# - **Both claims hold at this scale.** A 9,610-parameter MLP reaches 90% of its full-training test
#   accuracy when trained along a random subspace of a few hundred dimensions, a few percent of $D$, and
#   the four-times smaller network needs about the same $d$. The paper found the same on MNIST
#   (a $d_{\mathrm{int}90}$ of about 750 for fully connected networks of several widths and depths).
# - **Resolution.** $d_{\mathrm{int}90}$ is read on a grid whose neighbours differ by factors of 2 to 2.5,
#   so "ratio in [0.5, 2]" passes when both widths land on the same grid point or on neighbours a
#   factor 2 apart. The paper profile uses a finer grid, three seeds and a third width.
# - **Budget.** The ci run uses one seed, 500 training digits and 150 full-batch Adam steps per run
#   (the plan had two seeds and 300 steps, which takes several times the ci budget on one core). The
#   subspace runs are not trained to convergence, so their accuracies, and $d_{\mathrm{int}90}$, are
#   those of a fixed step budget; the full-parameter baseline gets the same number of steps.
# - **Robustness.** While this notebook was written, $d_{\mathrm{int}90} = 200$ came out for both widths
#   for seeds 0-3 with dense projections, and for seed 0 with `projection="sparse"` and `"fastfood"`.
# - **Digits are easy.** 90% of ~95% is ~86% accuracy, which a linear model on the pixels exceeds, so
#   the threshold measures how many random directions it takes to fit such a solution, not a hard
#   task. The paper's wider comparison (CNNs vs MLPs, CIFAR, RL) is not reproduced here.
