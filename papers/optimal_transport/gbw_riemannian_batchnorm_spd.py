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
# # Learning to Normalize on the SPD Manifold under Bures-Wasserstein Geometry
# *year not listed in the catalog* · topic `optimal_transport` · verdict **reproduce**
#
# ## The idea
#
# Covariance matrices are symmetric positive definite (SPD) and live on a curved manifold, so networks
# that take them as input (SPDNet: bilinear maps $W^\top X W$, eigenvalue rectification, matrix
# logarithm) need a batch normalization that respects the geometry. Riemannian batch norm (RBN) computes
# the batch's Fréchet mean $\bar X$ and moves the batch so that its mean becomes a learned SPD bias.
# The usual choice, the affine-invariant metric (AIM), moves the batch by a congruence
# $X_i \mapsto G^{1/2}\bar X^{-1/2} X_i \bar X^{-1/2} G^{1/2}$; its metric weighs eigenvalues on a log
# scale, which the paper argues handles **ill-conditioned** matrices poorly.
#
# The paper builds RBN on the **Bures-Wasserstein** (BW) metric instead, the 2-Wasserstein distance
# between centred Gaussians,
#
# $$d_{BW}^2(X, Y) = \mathrm{tr}\,X + \mathrm{tr}\,Y - 2\,\mathrm{tr}\big(X^{1/2} Y X^{1/2}\big)^{1/2},$$
#
# generalized with a learnable metric matrix $M$ (GBW, which is BW after $X \mapsto M^{-1/2} X M^{-1/2}$),
# and deformed by a matrix power $X \mapsto X^\theta$ that compresses condition numbers. The batch mean is
# the BW barycenter, the fixed point of $\bar Y = \bar Y^{-1/2}\big(\tfrac1n\sum_i (\bar Y^{1/2} Y_i
# \bar Y^{1/2})^{1/2}\big)^2 \bar Y^{-1/2}$, where the optimal transport maps $S_i = T_{\bar Y \to Y_i}$
# average to the identity. Our GBW-RBN (`paperlab.models.GBWBatchNorm`) re-anchors those maps at the bias
# $G$: $Z_i = S_i G S_i$, so $G$ is exactly the barycenter of the output, and maps back through $M$ and
# the power $1/\theta$.
#
# **Claim.** GBW-RBN handles ill-conditioned SPD data better than AIM-RBN and improves SPDNet. We test
# it on synthetic three-class covariance data with condition numbers around $10^4$ and more.

# %% tags=["parameters"]
profile = "ci"
seed = 0
device = "auto"
n_train = 450  # training covariances (three balanced classes)
n_test = 300  # test covariances
n_channels = 16  # matrix size of the inputs
n_samples = 64  # time points behind each covariance
hidden_size = 8  # matrix size after the BiMap layer
condition_number = 1e4  # spread of the mean source powers
class_separation = 0.3  # std of the class log-power offsets
jitter = 0.5  # std of the per-trial log-power noise
batch_size = 30
epochs = 10
n_runs = 3  # independent datasets and initialisations, paired across models
lr = 0.01  # Adam learning rate
power = 0.5  # GBW matrix-power deformation theta
bn_iters = 3  # barycenter or Karcher iterations per training batch

# %%
import copy

import matplotlib.pyplot as plt
import pandas as pd
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from paperlab.data import synthetic_spd_classes
from paperlab.experiment import require, setup
from paperlab.models import SPDNet
from paperlab.solvers import gbw_barycenter, spd_power

exp = setup(seed=seed, device=device, profile=profile)
for name, value in [
    ("n_train", n_train),
    ("n_test", n_test),
    ("n_channels", n_channels),
    ("n_samples", n_samples),
    ("hidden_size", hidden_size),
    ("batch_size", batch_size),
    ("epochs", epochs),
    ("n_runs", n_runs),
    ("bn_iters", bn_iters),
]:
    require(isinstance(value, int) and value >= 1, f"{name} must be a positive int, got {value!r}")
require(hidden_size <= n_channels, f"hidden_size must be <= n_channels, got {hidden_size} > {n_channels}")
require(n_samples >= n_channels, f"n_samples must be >= n_channels for definite covariances, got {n_samples}")
require(condition_number >= 1, f"condition_number must be >= 1, got {condition_number!r}")
require(lr > 0 and power > 0, f"lr and power must be > 0, got lr={lr!r}, power={power!r}")

n_train = exp.pick(ci=n_train, paper=max(n_train, 1800))
epochs = exp.pick(ci=epochs, paper=max(epochs, 40))
n_runs = exp.pick(ci=n_runs, paper=max(n_runs, 5))
n_channels = exp.pick(ci=n_channels, paper=max(n_channels, 32))
hidden_size = exp.pick(ci=hidden_size, paper=max(hidden_size, 16))
dtype = torch.float64
models = {
    "SPDNet (no BN)": dict(norm=None),
    "AIM-RBN": dict(norm="aim", norm_kwargs=dict(n_iter=bn_iters)),
    "GBW-RBN": dict(norm="gbw", norm_kwargs=dict(power=power, n_iter=bn_iters)),
}

# %% [markdown]
# ## Data
#
# Each covariance comes from `n_samples` time points of a `n_channels`-channel signal whose sources share
# one random mixing rotation and have log-spaced powers (ratio `condition_number`); each class shifts
# the log-powers by its own offset and each trial adds noise. The classes differ only in spectra along
# shared directions, and the matrices are badly conditioned.


# %%
def make_split(generator):
    per_class = (n_train + n_test) // 3
    data = synthetic_spd_classes(
        per_class,
        n_channels=n_channels,
        n_samples=n_samples,
        condition_number=condition_number,
        class_separation=class_separation,
        jitter=jitter,
        dtype=dtype,
        device=exp.device,
        seed=generator,
    )
    x, y = data.covariances, data.labels
    return x[:n_train], y[:n_train], x[n_train : n_train + n_test], y[n_train : n_train + n_test]


sample = make_split(torch.Generator().manual_seed(seed))[0]
conditions = torch.linalg.cond(sample).cpu()
print(f"input condition numbers: median {conditions.median():.3g}, max {conditions.max():.3g}")

# %% [markdown]
# ## Training: the same data, initialisation and batches for every model


# %%
def train(config, split, run_seed):
    x_train, y_train, x_test, y_test = split
    net = SPDNet(n_channels, hidden_size, 3, dtype=dtype, device=exp.device, seed=run_seed, **config)
    optimizer = torch.optim.Adam(net.parameters(), lr=lr)
    order = torch.Generator().manual_seed(run_seed)
    losses = []
    for _ in range(epochs):
        net.train()
        total = 0.0
        for batch in torch.randperm(len(y_train), generator=order).to(exp.device).split(batch_size):
            loss = F.cross_entropy(net(x_train[batch]), y_train[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(batch)
        losses.append(total / len(y_train))
    net.eval()
    with torch.no_grad():
        accuracy = (net(x_test).argmax(1) == y_test).double().mean().item()
    return net, accuracy, losses


rows, curves, nets = [], {}, {}
run_seeds = torch.randint(0, 2**31 - 1, (n_runs,), generator=exp.generator).tolist()
for run, run_seed in enumerate(tqdm(run_seeds, desc="runs")):
    split = make_split(torch.Generator().manual_seed(run_seed))
    for name, config in models.items():
        net, accuracy, losses = train(config, split, run_seed)
        rows.append({"run": run, "model": name, "test accuracy": accuracy, "final train loss": losses[-1]})
        curves[name, run] = losses
        nets[name] = (net, split)
results = pd.DataFrame(rows)
summary = results.groupby("model", sort=False)[["test accuracy", "final train loss"]].agg(["mean", "std"])
print(summary.to_string(float_format=lambda v: f"{v:.3f}"))

# %%
fig, (left, right) = plt.subplots(1, 2, figsize=(9.6, 3.4))
names = list(models)
means = [results[results.model == n]["test accuracy"].mean() for n in names]
left.bar(
    range(len(names)), means, color=["tab:gray", "tab:orange", "tab:blue"], alpha=0.6, label="mean over runs"
)
for i, name in enumerate(names):
    values = results[results.model == name]["test accuracy"]
    left.plot([i] * len(values), values, "ko", ms=4, label="one run" if i == 0 else None)
left.set_xticks(range(len(names)), names)
left.set_ylim(max(0.0, min(results["test accuracy"]) - 0.1), 1.0)
left.set_ylabel("test accuracy")
left.set_title("Ill-conditioned 3-class SPD data")
left.legend(fontsize=8)
for name, colour in zip(names, ["tab:gray", "tab:orange", "tab:blue"]):
    mean_curve = torch.tensor([curves[name, r] for r in range(n_runs)]).mean(0)
    right.plot(range(1, epochs + 1), mean_curve, color=colour, label=name)
right.set_xlabel("epoch")
right.set_ylabel("training cross-entropy (mean over runs)")
right.set_title("Training loss")
right.legend(fontsize=8)
plt.tight_layout()
plt.show()

# %% [markdown]
# ## A property that holds by design
#
# On a fixed float64 batch (BiMap outputs of 30 test matrices, with the trained GBW layer's learned
# metric $M$ and bias $B$), with the barycenter iterated to convergence rather than the few training-time
# iterations, the power-deformed GBW mean of the normalized batch must equal the bias.

# %%
gbw_net, (_, _, x_test, _) = nets["GBW-RBN"]
layer = copy.deepcopy(gbw_net.norm).train()  # a copy, so the running mean of the trained model is untouched
with torch.no_grad():
    hidden = gbw_net.bimap(x_test[:30])
    normalized = layer(hidden, n_iter=300)
    deformed_mean = gbw_barycenter(
        spd_power(normalized, power), layer.metric, n_iter_max=1000, tol=1e-13
    ).mean
    bias = layer.bias
    bias_error = (
        torch.linalg.matrix_norm(spd_power(deformed_mean, 1 / power) - bias) / torch.linalg.matrix_norm(bias)
    ).item()
metric_eigenvalues = torch.linalg.eigvalsh(layer.metric).cpu()
print(f"relative error of the GBW mean of the normalized batch vs the bias: {bias_error:.2e}")
print(f"learned metric M: eigenvalues from {metric_eigenvalues.min():.3g} to {metric_eigenvalues.max():.3g}")

# %% [markdown]
# ## Claims
#
# Required: GBW-RBN beats the network without batch norm on mean test accuracy, the task is not
# saturated, and the by-design property holds. The paper's second comparison, GBW-RBN at least as good
# as AIM-RBN, is measured but not required: at this scale the two are within run-to-run noise, and the
# sign of their gap changes with the seed (see the notes below).

# %%
mean_accuracy = results.groupby("model")["test accuracy"].mean()
exp.check_above(
    "mean accuracy: GBW-RBN minus no-BN SPDNet",
    mean_accuracy["GBW-RBN"] - mean_accuracy["SPDNet (no BN)"],
    0.0,
)
exp.check(
    "mean accuracy: GBW-RBN minus AIM-RBN",
    mean_accuracy["GBW-RBN"] >= mean_accuracy["AIM-RBN"],
    value=mean_accuracy["GBW-RBN"] - mean_accuracy["AIM-RBN"],
    expect=">= 0",
    required=False,
)
exp.check_below("task not saturated: best mean accuracy", mean_accuracy.max(), 0.97)
exp.check(  # round-off level (~1e-13) varies across machines, so the report shows only pass/fail
    "by design: GBW mean of normalized batch equals the bias (rel. error < 1e-4)",
    bias_error < 1e-4,
    expect="< 1e-4",
)

# %%
# NBVAL_CHECK_OUTPUT
exp.report()

# %% [markdown]
# ## What this small run shows, and what it does not
#
# - On synthetic covariances with condition numbers of $10^4$ and more, SPDNet with GBW-RBN reaches a
#   higher mean test accuracy than the same network without batch norm, over `n_runs` paired runs (same
#   data, initialisation and batches).
# - GBW-RBN against AIM-RBN is **not reproduced** as a reliable gain: with `seed=0` GBW-RBN is ahead by
#   about 3 points, with `seed=1` AIM-RBN is ahead by about 2. Both batch norms help; which helps more
#   is within the noise of 3 runs with 300 test matrices each (one run's accuracy moves by 1 point per 3
#   errors). The paper's gains come from real datasets, larger networks and a tuned $\theta$.
# - The last check is true by construction (the maps to the barycenter average to the identity); it
#   verifies the implementation, not the paper.
# - Deviations: synthetic data instead of the paper's EEG / radar / drone datasets; our GBW-RBN centres
#   and biases by re-anchoring the optimal transport maps at the bias and does no variance
#   normalisation (neither does AIM-RBN here); the power $\theta$ = `power` was fixed a priori, not
#   tuned; BiMap weights are kept orthonormal by a parametrization instead of a QR retraction; the
#   barycenters use `bn_iters` fixed-point steps per batch started from the arithmetic mean.
