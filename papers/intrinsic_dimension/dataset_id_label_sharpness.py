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
# # The Effect of Intrinsic Dataset Properties on Generalization: Unraveling Learning Differences Between Natural and Medical Images
# *2024* · topic `intrinsic_dimension` · verdict **illustrate**
#
# ## The idea
#
# Networks trained on medical images generalize worse, for the same intrinsic dimension of the
# training set, than networks trained on natural images. The paper explains the gap with a second
# property of a labelled dataset, its **label sharpness**, the empirical Lipschitz constant of the
# labels as a function of the images:
#
# $$\hat K_F = \max_{j \ne k} \frac{|y_j - y_k|}{\lVert x_j - x_k \rVert_2}.$$
#
# For binary labels, $\hat K_F$ is one over the smallest distance between two differently labelled images:
# large when images that look alike carry different labels. The paper bounds the generalization
# error by a term that grows with the intrinsic dimension $d_{data}$ of the training images, and with a
# steepness set by $K_F$. It reports three regularities across 11 natural and medical datasets:
#
# 1. test error grows with $d_{data}$, more steeply for the sharper (medical) datasets;
# 2. sharper labels go with lower robustness to adversarial attacks;
# 3. the intrinsic dimension of the learned representation is bounded by that of the data.
#
# The real datasets are replaced here by controlled ones (`paperlab.data.latent_manifold_images`): 8x8
# images rendered smoothly from $d$ latent factors, so $d_{data} = d$ by construction, labelled by one of
# two rules of the latents, **smooth** (one flat boundary) or **sharp** (a sine of the same direction,
# several boundaries). The rule does not depend on $d$, so dimension and sharpness vary independently.
# Label sharpness is `paperlab.metrics.label_sharpness`, the dimensions come from
# `paperlab.metrics.twonn`, robustness from `paperlab.metrics.robust_accuracy` (PGD).

# %% tags=["parameters"]
profile = "ci"
seed = 0
device = "auto"
latent_dims = [2, 4, 8, 12]  # intrinsic dimensions d of the training sets
n_train = 500  # training images per dataset
n_test = 500  # test images per dataset
n_replicates = 2  # datasets and networks per (d, rule)
steps = 150  # Adam steps per network
batch_size = 64  # images per step
lr = 0.003  # Adam learning rate
sharp_frequency = 1.25  # boundaries per unit of the label direction in the sharp rule
attack_eps = 0.05  # l_inf radius of the PGD attack (pixels lie in 0..1)
attack_steps = 10  # PGD steps
n_attack = 200  # test images attacked per network

# %%
import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from paperlab.data import latent_manifold_images
from paperlab.experiment import require, setup
from paperlab.metrics import label_sharpness, robust_accuracy, twonn
from paperlab.models import DigitCNN

exp = setup(seed=seed, device=device, profile=profile)
require(
    isinstance(latent_dims, list)
    and len(latent_dims) >= 2
    and all(isinstance(d, int) and 1 <= d <= 63 for d in latent_dims),
    f"latent_dims must list at least two integers in [1, 63], got {latent_dims!r}",
)
for name, value in [
    ("n_train", n_train),
    ("n_test", n_test),
    ("n_replicates", n_replicates),
    ("steps", steps),
    ("batch_size", batch_size),
    ("attack_steps", attack_steps),
    ("n_attack", n_attack),
]:
    require(isinstance(value, int) and value >= 1, f"{name} must be a positive integer, got {value!r}")
require(n_attack <= n_test, f"n_attack must be at most n_test ({n_test}), got {n_attack}")
for name, value in [("lr", lr), ("sharp_frequency", sharp_frequency), ("attack_eps", attack_eps)]:
    require(isinstance(value, (int, float)) and value > 0, f"{name} must be a positive number, got {value!r}")
n_train = exp.pick(ci=n_train, paper=max(n_train, 2_000))
steps = exp.pick(ci=steps, paper=max(steps, 2_000))
n_replicates = exp.pick(ci=n_replicates, paper=max(n_replicates, 5))
rules = ["smooth", "sharp"]

# %% [markdown]
# ## One network per (dimension, rule, replicate)
#
# Each run draws fresh training and test sets, trains a small CNN (`paperlab.models.DigitCNN`, two
# convolutions with 8 and 16 channels), and measures: the test error; $\hat K_F$ of the training set; the
# accuracy under an $\ell_\infty$ PGD attack divided by the clean accuracy on the same images (raw
# robust accuracy would also fall merely because the sharp rule is learned worse); and the TwoNN
# intrinsic dimension of the training images and of their penultimate-layer features.


# %%
def run(latent_dim, rule, replicate):
    stream = 1000 * (10 * seed + replicate) + latent_dim  # same latents for both rules
    train = latent_manifold_images(
        n_train, latent_dim, rule, frequency=sharp_frequency, seed=stream, device=exp.device
    )
    test = latent_manifold_images(
        n_test, latent_dim, rule, frequency=sharp_frequency, seed=stream + 500, device=exp.device
    )
    torch.manual_seed(10 * seed + replicate)
    net = DigitCNN(n_classes=2, channels=(8, 16), hidden=32).to(exp.device)
    optimizer = torch.optim.Adam(net.parameters(), lr=lr)
    batches = torch.Generator().manual_seed(stream)
    for _ in range(steps):
        batch = torch.randint(0, n_train, (batch_size,), generator=batches).to(exp.device)
        loss = F.cross_entropy(net(train.images[batch]), train.labels[batch])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    net.eval()
    with torch.no_grad():
        error = (net(test.images).argmax(1) != test.labels).double().mean().item()
        features = torch.unique(net.features(train.images).double(), dim=0)  # ReLU can tie rows
    attacked_x, attacked_y = test.images[:n_attack], test.labels[:n_attack]
    clean = robust_accuracy(net, attacked_x, attacked_y, eps=0.0, n_steps=0)
    robust = robust_accuracy(
        net, attacked_x, attacked_y, eps=attack_eps, n_steps=attack_steps, generator=stream
    )
    return {
        "d": latent_dim,
        "rule": rule,
        "error": error,
        "sharpness": label_sharpness(train.images.double(), train.labels).item(),
        "robust_ratio": robust / max(clean, 1e-12),
        "id_data": twonn(train.images.flatten(1).double()).item(),
        "id_repr": twonn(features).item(),
    }


runs = [
    run(d, rule, r)
    for r, d, rule in tqdm(
        [(r, d, rule) for r in range(n_replicates) for d in latent_dims for rule in rules], desc="runs"
    )
]


def column(key, rule, d=None):
    return np.array([x[key] for x in runs if x["rule"] == rule and (d is None or x["d"] == d)])


slopes = {rule: float(np.polyfit(column("d", rule), column("error", rule), 1)[0]) for rule in rules}
for rule in rules:
    print(
        f"{rule:6s} error slope {slopes[rule]:.4f}/dim  mean K_F {column('sharpness', rule).mean():.2f}  "
        f"mean robust/clean {column('robust_ratio', rule).mean():.3f}  "
        f"max error at d={max(latent_dims)}: {column('error', rule, max(latent_dims)).max():.3f}"
    )

# %%
fig, axes = plt.subplots(1, 3, figsize=(14, 3.8))
for rule, color in zip(rules, ["C0", "C3"]):
    d, error = column("d", rule), column("error", rule)
    axes[0].scatter(d, error, color=color, alpha=0.6)
    fit = np.polyfit(d, error, 1)
    grid = np.array([min(latent_dims), max(latent_dims)])
    axes[0].plot(grid, np.polyval(fit, grid), color=color, label=f"{rule} (slope {fit[0]:.3f})")
    axes[1].scatter(column("sharpness", rule), column("robust_ratio", rule), color=color, label=rule)
    axes[2].scatter(column("id_data", rule), column("id_repr", rule), color=color, label=rule)
axes[0].set_xlabel("intrinsic dimension d of the training images")
axes[0].set_ylabel("test error")
axes[0].set_title("Generalization vs data dimension")
axes[0].legend()
axes[1].set_xscale("log")
axes[1].set_xlabel(r"label sharpness $\hat K_F$ of the training set")
axes[1].set_ylabel("PGD accuracy / clean accuracy")
axes[1].set_title(rf"Robustness at $\epsilon$ = {attack_eps}")
axes[1].legend()
top = max(x["id_data"] for x in runs) + 1
axes[2].plot([0, top], [0, top], "k--", lw=1, label="$d_{repr} = d_{data}$")
axes[2].set_xlabel("TwoNN dimension of the training images")
axes[2].set_ylabel("TwoNN dimension of the features")
axes[2].set_title("Representation vs data dimension")
axes[2].legend()
fig.tight_layout()
plt.show()

# %% [markdown]
# ## Claims
#
# At N = 500: the least-squares slope of test error against $d$ is positive for both rules and
# larger for the sharp one; the sharp training sets have the larger mean $\hat K_F$; PGD robust accuracy
# relative to clean accuracy is lower for the sharp rule (mean over $d$ and replicates); and in every run
# the representation's TwoNN dimension is at most the data's plus one (same estimator, same N). The sharp
# rule must stay learnable (error below 0.4 at the largest $d$), otherwise its slope flattens by
# saturation and the comparison says nothing.

# %%
worst_excess = max(x["id_repr"] - x["id_data"] for x in runs)
exp.check_below("sharp_error_at_max_d", column("error", "sharp", max(latent_dims)).max(), 0.4)
exp.check_above("smooth_error_slope", slopes["smooth"], 0.0)
exp.check_above("sharp_minus_smooth_slope", slopes["sharp"] - slopes["smooth"], 0.0)
exp.check_above(
    "sharp_minus_smooth_mean_sharpness",
    column("sharpness", "sharp").mean() - column("sharpness", "smooth").mean(),
    0.0,
)
exp.check_below(
    "sharp_minus_smooth_robust_ratio",
    column("robust_ratio", "sharp").mean() - column("robust_ratio", "smooth").mean(),
    0.0,
)
exp.check_below("max_id_repr_minus_id_data", worst_excess, 1.0)

# %%
# NBVAL_CHECK_OUTPUT
exp.report()

# %% [markdown]
# ## What this small run shows, and what it does not
#
# - On images whose intrinsic dimension and label sharpness are set independently, the three regularities
#   the paper reports on real datasets appear: error grows with $d$, faster for the sharp rule; the
#   sharp rule's networks lose a larger share of their accuracy under the same PGD attack; and the
#   features never have a higher estimated dimension than the images (up to estimator noise).
# - This illustrates the mechanism; it does not test the paper's explanation of the natural-vs-medical gap,
#   which needs the real datasets. Our "sharp" rule is a stand-in for whatever makes medical labels sharp.
# - $\hat K_F$ is a maximum over pairs, dominated by the closest pair across a boundary: it falls quickly
#   with $d$ (points spread out) and is noisy, so only its mean per rule is compared, not its value at each
#   $d$. The paper normalizes images and estimates $K_F$ on subsamples; absolute values are not comparable.
# - TwoNN underestimates the dimension above about 8 on 500 points, for the data and the features alike;
#   the bound $d_{repr} \le d_{data}$ is a theorem for Lipschitz maps, so only estimator noise could break it.
