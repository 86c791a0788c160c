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
# # Compressing Neural Networks: Towards Determining the Optimal Layer-wise Decomposition
# *year not listed in the catalog* · topic `low_rank` · verdict **reproduce**
#
# ## The idea
#
# Low-rank compression of a whole network has to decide, for every layer, how much to keep. ALDS
# (automatic layer-wise decomposition selection) makes the decision from one number per layer: the
# relative spectral error of its decomposition. A layer may also be split into $k$ groups of input
# channels, $W = [W_1, \dots, W_k]$, each with its own rank-$j$ SVD (the multiple-subspace
# decomposition). That costs $j\,(k\,d_\text{out} + d_\text{in})$ values and
#
# $$\varepsilon_\ell(k, j) = \frac{\sqrt{\sum_i \sigma_{j+1}(W_i)^2}}{\|W\|_2} \;\ge\;
# \frac{\|W - \hat W\|_2}{\|W\|_2}, \qquad
# \min_{(k_\ell, j_\ell)} \max_\ell \varepsilon_\ell(k_\ell, j_\ell)
# \;\;\text{s.t.}\;\; \sum_\ell j_\ell (k_\ell d^\ell_\text{out} + d^\ell_\text{in}) \le B .$$
#
# Because a layer's cheapest option below an error threshold $t$ does not depend on the other layers,
# the min-max problem is solved exactly by bisection over $t$ (`paperlab.solvers.alds`); the budget left
# over then lowers the other layers' errors. For $k = 1$ the bound is exact (Eckart-Young).
#
# We train a $64 \to 256 \to 256 \to 128 \to 10$ MLP on sklearn's digits, compress all four weights to a
# fraction of their values with ALDS and with two baselines that use one group per layer, the same rank
# everywhere (**uniform rank**) or the same fraction of spectral energy everywhere (**energy
# threshold**), and measure test accuracy right after compression and after 50 fine-tuning steps.

# %% tags=["parameters"]
profile = "ci"
seed = 0
device = "auto"
budgets = [0.3, 0.15, 0.08]  # stored weight values as a fraction of the dense weights
group_choices = [1, 2, 4, 8]  # channel groups k that ALDS may pick per layer
finetune_steps = 50
lr = 1e-3

# %%
import copy

import matplotlib.pyplot as plt
import torch
from sklearn.datasets import load_digits
from torch import nn
from tqdm.auto import tqdm

from paperlab.experiment import require, setup
from paperlab.models import GroupedLowRankLinear, classifier_accuracy, train_classifier
from paperlab.solvers import alds, energy_allocation, uniform_rank_allocation

exp = setup(seed=seed, device=device, profile=profile)
require(
    isinstance(budgets, list)
    and len(budgets) > 0
    and all(isinstance(b, float) and 0 < b < 1 for b in budgets),
    f"budgets must be a non-empty list of floats in (0, 1), got {budgets!r}",
)
require(
    0.3 in budgets and 0.15 in budgets, f"budgets must contain 0.3 and 0.15 (the claims), got {budgets!r}"
)
require(
    isinstance(group_choices, list)
    and 1 in group_choices
    and all(isinstance(k, int) and k >= 1 for k in group_choices),
    f"group_choices must be a list of ints >= 1 containing 1, got {group_choices!r}",
)
require(
    isinstance(finetune_steps, int) and finetune_steps >= 0,
    f"finetune_steps must be an int >= 0, got {finetune_steps!r}",
)
require(isinstance(lr, float) and lr > 0, f"lr must be a positive float, got {lr!r}")
widths = exp.pick(ci=[64, 256, 256, 128, 10], paper=[64, 1024, 1024, 512, 10])
train_steps = exp.pick(ci=300, paper=5000)

images, labels = load_digits(return_X_y=True)
x = torch.tensor(images, dtype=torch.float32, device=exp.device) / 16.0
y = torch.tensor(labels, device=exp.device)
order = torch.randperm(len(x), generator=exp.generator).to(exp.device)
train_idx, test_idx = order[:1200], order[1200:]


# %%
def train(model, steps, data_seed):
    """Adam on cross-entropy with batches of 128 training digits; returns the model in eval mode."""
    train_classifier(model, x[train_idx], y[train_idx], steps, lr, batch_size=128, generator=data_seed)
    return model.eval()


def accuracy(model):
    return classifier_accuracy(model, x[test_idx], y[test_idx])


torch.manual_seed(seed)
layers = []
for fan_in, fan_out in zip(widths[:-1], widths[1:]):
    layers += [nn.Linear(fan_in, fan_out), nn.ReLU()]
dense_net = train(nn.Sequential(*layers[:-1]).to(exp.device), train_steps, data_seed=seed + 1)
linear_positions = [i for i, layer in enumerate(dense_net) if isinstance(layer, nn.Linear)]
weights = [dense_net[i].weight.detach() for i in linear_positions]
dense_values = sum(w.numel() for w in weights)
dense_accuracy = accuracy(dense_net)
print(f"dense test accuracy {dense_accuracy:.3f}, {dense_values} weight values")

# %% [markdown]
# ## Allocations and accuracies

# %%
ALLOCATORS = {
    "ALDS": lambda budget: alds(weights, budget, group_choices=group_choices),
    "uniform rank": lambda budget: uniform_rank_allocation(weights, budget),
    "energy threshold": lambda budget: energy_allocation(weights, budget),
}
before = {name: [] for name in ALLOCATORS}
after = {name: [] for name in ALLOCATORS}
allocations = {}
for fraction in tqdm(budgets, desc="budgets"):
    budget = int(fraction * dense_values)
    for name, allocate in ALLOCATORS.items():
        allocation = allocate(budget)
        allocations[name, fraction] = allocation
        model = copy.deepcopy(dense_net)
        for position, k, j in zip(linear_positions, allocation.n_groups, allocation.ranks):
            model[position] = GroupedLowRankLinear.from_linear(model[position], k, j)
        before[name].append(accuracy(model))
        after[name].append(accuracy(train(model, finetune_steps, data_seed=seed + 2)))
        print(
            f"{fraction:4.0%} {name:16s} groups {allocation.n_groups} ranks {allocation.ranks} "
            f"size {allocation.total_size / dense_values:.3f}  max error {allocation.max_error:.2f}  "
            f"accuracy {before[name][-1]:.3f} -> {after[name][-1]:.3f}"
        )

# %%
fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.0))
for name, color in zip(ALLOCATORS, ["C0", "C1", "C2"]):
    left.plot(budgets, before[name], marker="o", color=color, label=f"{name}, compressed")
    left.plot(
        budgets,
        after[name],
        marker="s",
        linestyle="--",
        color=color,
        label=f"{name}, +{finetune_steps} steps",
    )
left.axhline(dense_accuracy, color="gray", linestyle=":", label="dense")
left.set_xlabel("stored weight values / dense")
left.set_ylabel("test accuracy")
left.set_title("Digits MLP compressed by per-layer SVD")
left.legend(fontsize=7)
shown = 0.15
positions = torch.arange(len(weights), dtype=torch.float32)
for offset, name in zip([-0.25, 0.0, 0.25], ALLOCATORS):
    right.bar(positions + offset, allocations[name, shown].errors, width=0.25, label=name)
right.set_xticks(positions, [f"{w.shape[1]}->{w.shape[0]}" for w in weights])
right.set_xlabel("layer")
right.set_ylabel("relative spectral error bound")
right.set_title(f"Per-layer error at {shown:.0%} of the values")
right.legend()
plt.show()

# %% [markdown]
# ## Claims
#
# The paper: the automatically chosen per-layer decomposition beats existing low-rank allocations at the
# same global compression. The first check is the optimisation itself (ALDS minimises the largest error
# bound, so no baseline may have a smaller one); then accuracy right after compression, where the
# allocation alone decides. ALDS against uniform rank is recorded but not required: at this scale the
# two are within a few test digits of each other at 30% and 15%, and the sign flips between seeds at 8%.

# %%
for fraction in budgets:
    tag = f"{round(100 * fraction)}pct"
    i = budgets.index(fraction)
    baseline_errors = [allocations[n, fraction].max_error for n in ("uniform rank", "energy threshold")]
    margin = min(baseline_errors) - allocations["ALDS", fraction].max_error
    exp.check(f"min_baseline_minus_alds_max_error_{tag}", margin >= 0, value=margin, expect=">= 0")
    exp.check_above(
        f"alds_minus_energy_accuracy_{tag}", before["ALDS"][i] - before["energy threshold"][i], 0.0
    )
    exp.check_above(
        f"alds_minus_uniform_accuracy_{tag}",
        before["ALDS"][i] - before["uniform rank"][i],
        0.0,
        required=False,
    )

# %%
# NBVAL_CHECK_OUTPUT
exp.report()

# %% [markdown]
# ## What this small run shows, and what it does not
#
# * ALDS does what it optimises: at every budget its largest per-layer error bound is below both
#   baselines', and it keeps far more accuracy right after compression than the global energy threshold
#   (10 to 18 points at every budget), which starves the small $128 \to 10$ layer: a fixed fraction of
#   energy costs few ranks in a layer with a fast-decaying spectrum but those ranks matter for the output.
# * Against the same rank in every layer ALDS is **not** clearly better here. On an MLP for 8x8 digits
#   both keep within a point of the dense accuracy at 30% and 15%, so the comparison is decided by a few
#   test digits (for seed 1 uniform rank is ahead at 30%). At 8% the accuracy right after compression
#   swings widely with the seed (ALDS ahead by 17 points for seed 0, behind by 13 for seed 1), while
#   after 50 fine-tuning steps ALDS ends slightly ahead for both. The paper's gains are measured on
#   ImageNet-scale CNNs, where layers differ far more than in this four-layer MLP.
# * Channel grouping ($k > 1$) is rarely chosen: on this MLP a single SVD per layer is usually the cheapest
#   way to a given error; ALDS picks $k = 8$ for the $64 \to 256$ layer or $k = 2$ for the output layer
#   in some runs. "Channels" here are column slices of each weight; convolutions are not exercised.
# * The error measure is the paper's bound on the relative spectral error of each weight, not the
#   effect on the network's output; the allocation uses no data. The `paper` profile widens the network
#   and trains longer.
