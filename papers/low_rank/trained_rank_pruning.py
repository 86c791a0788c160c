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
# # Trained Rank Pruning for Efficient Deep Neural Networks
# *year not listed in the catalog* · topic `low_rank` · verdict **reproduce**
#
# ## The idea
#
# A weight matrix $W \in \mathbb{R}^{m \times n}$ of rank $k$ factorizes as $W = U V^\top$ with
# $U \in \mathbb{R}^{m \times k}$, $V \in \mathbb{R}^{n \times k}$: $k(m + n)$ parameters and
# multiply-adds instead of $mn$. Decomposing a normally trained network this way is lossy: its weights
# are not low-rank, the discarded singular directions carry signal, and accuracy drops until the
# factorized network is fine-tuned.
#
# Trained Rank Pruning (TRP) makes the network low-rank *while it trains*. Every $m$ steps each weight
# is replaced by its truncated SVD at the smallest rank $k$ that keeps a fraction $e$ of its energy,
#
# $$W = \sum_i s_i u_i v_i^\top \;\mapsto\; \sum_{i \le k} s_i u_i v_i^\top,\qquad
#   k = \min\Big\{k : \sum_{i \le k} s_i^2 \ge e \sum_i s_i^2\Big\},$$
#
# and the loss carries a nuclear-norm penalty $\lambda \sum_l \|W_l\|_*$, optimized by the stochastic
# subgradient $\partial \|W\|_* \ni U V^\top$ (the singular vectors of $W$). Between projections the
# network trains freely with its full capacity; the projections and the penalty keep pulling its
# spectrum towards a few directions. At the end the network is decomposed once, with no fine-tuning.
#
# `paperlab.solvers.train_trained_rank_pruning` runs this loop (projection before a gradient step, so
# training never ends on a projection) and `paperlab.models.LowRankLinear.from_linear` builds the
# factorized layers.

# %% tags=["parameters"]
profile = "ci"
seed = 0
device = "auto"
hidden = 256  # width of the two hidden layers of the MLP 64-hidden-hidden-10
period = 20  # m, gradient steps between low-rank projections
energy = 0.95  # e, fraction of squared singular values kept by a projection
reg = 1e-4  # lambda, weight of the nuclear-norm penalty
lr = 1e-3  # Adam learning rate
batch_size = 64

# %%
import matplotlib.pyplot as plt
import torch
from torch import nn
from tqdm.auto import tqdm

from paperlab.data import digit_images
from paperlab.experiment import require, setup
from paperlab.models import LowRankLinear
from paperlab.solvers import train_trained_rank_pruning

exp = setup(seed=seed, device=device, profile=profile)
require(isinstance(hidden, int) and hidden >= 10, f"hidden must be an integer >= 10, got {hidden!r}")
require(isinstance(period, int) and period >= 1, f"period must be a positive integer, got {period!r}")
require(isinstance(energy, float) and 0 < energy < 1, f"energy must be a float in (0, 1), got {energy!r}")
require(isinstance(reg, (int, float)) and reg >= 0, f"reg must be a number >= 0, got {reg!r}")
require(isinstance(lr, float) and lr > 0, f"lr must be a positive float, got {lr!r}")
require(
    isinstance(batch_size, int) and batch_size >= 1,
    f"batch_size must be a positive integer, got {batch_size!r}",
)
n_steps = exp.pick(ci=300, paper=600)  # ci halves the planned 600 steps to fit its time budget
require(n_steps > period, f"period must be smaller than the {n_steps} training steps, got {period}")

digits = digit_images(device=exp.device)
train_x, train_y = digits.train_x.flatten(1), digits.train_y  # (N, 64)
test_x, test_y = digits.test_x.flatten(1), digits.test_y
print(f"{len(train_y)} training and {len(test_y)} test digits, {n_steps} steps of batch {batch_size}")

# %% [markdown]
# ## Baseline and TRP from the same initialization and batches
#
# Both networks start from the same weights and see the same mini-batches; the baseline is plain Adam
# training, TRP adds the projections (every `period` steps) and the nuclear-norm subgradient on the
# three weight matrices.


# %%
def make_mlp() -> nn.Sequential:
    torch.manual_seed(seed)
    widths = (64, hidden, hidden, 10)
    layers = []
    for fan_in, fan_out in zip(widths[:-1], widths[1:]):
        layers += [nn.Linear(fan_in, fan_out), nn.ReLU()]
    return nn.Sequential(*layers[:-1]).to(exp.device)


batches = [torch.randint(0, len(train_y), (batch_size,), generator=exp.generator) for _ in range(n_steps)]


def train(model, trp: bool):
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    weights = [layer.weight for layer in model if isinstance(layer, nn.Linear)]
    progress = tqdm(total=n_steps, desc="TRP" if trp else "baseline", leave=False)

    def loss_fn(step):
        progress.update()
        rows = batches[step].to(exp.device)
        return nn.functional.cross_entropy(model(train_x[rows]), train_y[rows])

    # The baseline is the same loop without projection (period beyond the run) or penalty.
    result = train_trained_rank_pruning(
        weights,
        loss_fn,
        optimizer,
        n_steps,
        period=period if trp else n_steps + 1,
        energy=energy,
        reg=reg if trp else 0.0,
    )
    progress.close()
    return result


def accuracy(model) -> float:
    with torch.no_grad():
        return (model(test_x).argmax(1) == test_y).float().mean().item()


baseline, trp_model = make_mlp(), make_mlp()
baseline_run, trp_run = train(baseline, trp=False), train(trp_model, trp=True)
ranks = [int(r) for r in trp_run.ranks]
full_ranks = [min(layer.weight.shape) for layer in trp_model if isinstance(layer, nn.Linear)]
print(f"TRP ranks at the last projection (step {trp_run.projection_steps[-1]}): {ranks} of {full_ranks}")

# %% [markdown]
# ## Decompose both networks at the TRP ranks, without fine-tuning
#
# Each `nn.Linear` becomes a `LowRankLinear` built from its truncated SVD (the best approximation at that
# rank). The TRP weights are taken after their last gradient steps, so their truncation is not
# lossless by construction.


# %%
def decompose(model, layer_ranks) -> nn.Sequential:
    layer_ranks = iter(layer_ranks)
    return nn.Sequential(
        *(LowRankLinear.from_linear(m, next(layer_ranks)) if isinstance(m, nn.Linear) else m for m in model)
    )


def relative_truncation_error(model, layer_ranks) -> float:
    weights = [m.weight.detach() for m in model if isinstance(m, nn.Linear)]
    low = [m.weight.detach() for m in decompose(model, layer_ranks) if isinstance(m, LowRankLinear)]
    squared = sum(float((w - v).square().sum()) for w, v in zip(weights, low))
    return (squared / sum(float(w.square().sum()) for w in weights)) ** 0.5


results = {}
for name, model in [("baseline", baseline), ("TRP", trp_model)]:
    low_rank = decompose(model, ranks)
    full, truncated = accuracy(model), accuracy(low_rank)
    results[name] = dict(full=full, truncated=truncated, drop=full - truncated)
    print(
        f"{name:8s}: accuracy {full:.4f} -> {truncated:.4f} after decomposition (drop {full - truncated:+.4f})"
    )
dense_parameters = sum(p.numel() for p in trp_model.parameters())
low_parameters = sum(m.parameter_count() for m in decompose(trp_model, ranks) if isinstance(m, LowRankLinear))
print(f"parameters: {dense_parameters} dense -> {low_parameters} factorized")

# %%
fig, (ax_spec, ax_rank) = plt.subplots(1, 2, figsize=(10, 3.8))
for name, model, style in [("baseline", baseline, "-"), ("TRP", trp_model, "--")]:
    s = torch.linalg.svdvals(model[2].weight.detach()).cpu()
    ax_spec.semilogy(torch.arange(1, len(s) + 1), s / s[0], style, label=name)
ax_spec.axvline(ranks[1], color="gray", lw=0.8, label=f"TRP rank {ranks[1]}")
ax_spec.set(xlabel="index i", ylabel="$s_i / s_1$", title="Spectrum of the hidden-to-hidden weight")
ax_spec.legend()
for layer, label in enumerate(["64 -> hidden", "hidden -> hidden", "hidden -> 10"]):
    history = [int(step_ranks[layer]) for step_ranks in trp_run.rank_history]
    ax_rank.plot(trp_run.projection_steps, history, marker="o", ms=3, label=label)
ax_rank.set(xlabel="training step", ylabel="rank kept", title=f"TRP ranks (energy {energy})", yscale="log")
ax_rank.legend()
fig.tight_layout()
plt.show()

# %% [markdown]
# ## Claims
#
# After decomposing both networks to the same (TRP) ranks: TRP loses less than one point of accuracy and
# less than the normally trained baseline; the total kept rank is under half of the full rank; and the
# TRP weights are not exactly low-rank when decomposed (the last gradient steps left a non-zero tail,
# so a small drop is measured, not assumed). The paper also reports that TRP's undecomposed accuracy
# matches the baseline; that is recorded but not required (here it costs a little accuracy).

# %%
exp.check_below("trp_accuracy_drop", results["TRP"]["drop"], 0.01)
exp.check(
    "trp_drop_below_baseline_drop",
    results["TRP"]["drop"] < results["baseline"]["drop"],
    value=results["baseline"]["drop"] - results["TRP"]["drop"],
    expect="> 0 (baseline drop - TRP drop)",
)
exp.check_below("kept_rank_fraction", sum(ranks) / sum(full_ranks), 0.5)
exp.check_above("trp_truncation_rel_error", relative_truncation_error(trp_model, ranks), 0.0)
exp.check_below(
    "trp_full_accuracy_gap_to_baseline",
    results["baseline"]["full"] - results["TRP"]["full"],
    0.01,
    required=False,
)

# %%
# NBVAL_CHECK_OUTPUT
exp.report()

# %% [markdown]
# ## What this small run shows, and what it does not
#
# - On a 64-256-256-10 MLP for 8x8 digits, TRP drives the kept ranks from near-full to a few directions
#   per layer, and the trained network can be factorized at those ranks with no fine-tuning and
#   essentially no accuracy loss, while the same factorization of the normally trained network loses
#   several points: the paper's central claim holds at this scale.
# - The ci profile trains 300 steps instead of the planned 600 (time budget); the `paper` profile runs
#   600. Accuracies are on 719 test images, so one image is 0.14 points.
# - The undecomposed TRP network is slightly less accurate than the baseline here; the paper's
#   CIFAR-10/ImageNet results (ResNets, convolutions decomposed channel- or spatial-wise, fine
#   hyper-parameter choices) are not reproduced, and no speed-up is measured.
