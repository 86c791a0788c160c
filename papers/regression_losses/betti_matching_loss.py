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
# # Topologically faithful image segmentation via induced matching of persistence barcodes
# *2023* · topic `regression_losses` · verdict **reproduce**
#
# ## The idea
#
# A segmentation of vessels, roads or cell membranes can score a high Dice and still be useless: one
# missing pixel cuts a vessel in two, one spurious pixel closes a loop. Persistent homology describes
# that topology. Filter a likelihood map $L$ by its superlevel sets $L_t = \{L \ge t\}$ as $t$ falls from
# 1 to 0; every component (dimension 0) or hole (dimension 1) appears at some level $b$ and vanishes at
# a lower level $d$, a bar $(b, d)$ of the **barcode** $\mathcal B(L)$. A confident feature has a long bar.
#
# Comparing barcodes by their values alone (the Wasserstein matching) ignores *where* the features are:
# a ring in the wrong place costs nothing, and so does the Betti number error
# $\sum_k |\beta_k(L) - \beta_k(G)|$. The paper matches bars **spatially**. The comparison image
# $C = \max(L, G)$ has superlevel sets $C_t = L_t \cup G_t$, so the inclusions
# $L_t \hookrightarrow C_t \hookleftarrow G_t$ map the homology of both images into that of $C$. Each map
# has an *image barcode* whose bars are born with a bar of its domain and die with a bar of $C$; this
# gives the induced matchings $\sigma_L : \mathcal B(L) \to \mathcal B(C)$ and $\sigma_G$. A bar $q$ of the
# prediction and a bar $q'$ of the target are **Betti-matched** when $\sigma_L(q) = \sigma_G(q')$: both
# are the same feature of the union, at the same place. The **Betti matching error** counts the bars
# left unmatched on either side. The **Betti matching loss** pulls matched bars onto their partner and
# pushes the others onto the diagonal (where a feature is born and dies at once, i.e. disappears):
#
# $$\mathcal L_{BM}(L, G) = \sum_{(q, q') \in \mathcal M} 2\,\|q - q'\|_2^2
#   + \sum_{q \in \mathcal B(L)\ \text{unmatched}} 2\,\|q - \pi_\Delta(q)\|_2^2
#   + \sum_{q' \in \mathcal B(G)\ \text{unmatched}} 2\,\|q' - \pi_\Delta(q')\|_2^2 .$$
#
# A bar's ends are the likelihoods of two pixels (its birth and death pixels), so the gradient of
# $\mathcal L_{BM}$ reaches exactly those pixels. Networks are trained with $\mathcal L_{Dice} + \alpha
# \mathcal L_{BM}$, $\alpha = 0.5$ in the reference configurations.
#
# `paperlab.metrics.cubical_persistence` computes the barcodes with a union-find (dimension 1 by duality,
# checked against gudhi), `paperlab.metrics.betti_matching` the image barcodes and the matching,
# `paperlab.losses.betti_matching_loss` the loss, `paperlab.metrics.barcode_wasserstein_distance` the
# value-only comparison.

# %% tags=["parameters"]
profile = "ci"
seed = 0
device = "auto"
alpha = 0.5  # weight of the Betti matching loss, as in the reference configurations
size = 24  # image side; 24 rather than 32 because one Betti matching takes tens of ms in Python
n_train = 64
n_test = 32
pretrain_steps = 150  # Dice-only steps before the two continuations
pretrain_batch = 8
continue_steps = 40  # steps of each continuation (Dice + alpha * BM vs Dice only)
continue_batch = 4
pretrain_lr = 3e-3
continue_lr = 1e-3
noise = 0.3  # standard deviation of the image noise
fade = 0.6  # largest contrast loss along the curves

# %%
import copy
import time

import matplotlib.pyplot as plt
import numpy as np
import torch
from tqdm.auto import tqdm

from paperlab.data import curvilinear_images, ring_mask
from paperlab.experiment import require, setup
from paperlab.losses import betti_matching_loss, soft_dice_loss
from paperlab.metrics import (
    barcode_wasserstein_distance,
    betti_matching,
    betti_matching_error,
    betti_number_error,
)
from paperlab.models import TinyUNet

exp = setup(seed=seed, device=device, profile=profile)
require(isinstance(alpha, (int, float)) and alpha > 0, f"alpha must be > 0, got {alpha!r}")
require(
    isinstance(size, int) and size >= 8 and size % 4 == 0, f"size must be a multiple of 4, >= 8, got {size!r}"
)
for name, value in [
    ("n_train", n_train),
    ("n_test", n_test),
    ("pretrain_steps", pretrain_steps),
    ("pretrain_batch", pretrain_batch),
    ("continue_steps", continue_steps),
    ("continue_batch", continue_batch),
]:
    require(isinstance(value, int) and value >= 1, f"{name} must be a positive integer, got {value!r}")
for name, value in [("pretrain_lr", pretrain_lr), ("continue_lr", continue_lr)]:
    require(isinstance(value, float) and value > 0, f"{name} must be a positive float, got {value!r}")
require(isinstance(noise, (int, float)) and noise >= 0, f"noise must be >= 0, got {noise!r}")
require(isinstance(fade, (int, float)) and 0 <= fade <= 1, f"fade must be in [0, 1], got {fade!r}")
size = exp.pick(ci=size, paper=max(size, 64))
n_train = exp.pick(ci=n_train, paper=max(n_train, 2000))
n_test = exp.pick(ci=n_test, paper=max(n_test, 500))
pretrain_steps = exp.pick(ci=pretrain_steps, paper=0)  # paper: train from scratch with Dice + alpha * BM
continue_steps = exp.pick(ci=continue_steps, paper=max(continue_steps, 5000))
continue_batch = exp.pick(ci=continue_batch, paper=max(continue_batch, 16))

# %% [markdown]
# ## First, the cost of one Betti matching
#
# The matching runs a union-find in Python over each of the three images (and twice more for the image
# barcodes), per image and per step. Its time decides how many loss evaluations the `ci` run can afford;
# the printed number depends on the machine and its load, and is not a claim.

# %%
probe = torch.rand(size, size, generator=exp.generator, dtype=torch.float64)
probe_target = (torch.rand(size, size, generator=exp.generator) > 0.5).double()
betti_matching(probe, probe_target)  # warm-up
start = time.perf_counter()
for _ in range(5):
    betti_matching(probe, probe_target)
print(f"one Betti matching of two {size}x{size} images: {(time.perf_counter() - start) / 5 * 1e3:.0f} ms")

# %% [markdown]
# ## Spatially mismatched holes: what each measure sees
#
# Two binary images with one ring each, the same Betti numbers $(\beta_0, \beta_1) = (1, 1)$, but the holes
# in different places. The Betti number error and the Wasserstein distance between the barcodes are 0;
# the Betti matching finds the two holes unmatched. A second prediction with its ring shifted by one
# pixel keeps its hole over the target's: nothing is unmatched.

# %%
side = 32
target_ring = ring_mask(side, (10.0, 10.0), 5.0, 2.0, torch.float64)
far_ring = ring_mask(side, (21.0, 21.0), 5.0, 2.0, torch.float64)
near_ring = ring_mask(side, (11.0, 10.0), 5.0, 2.0, torch.float64)
constructed = {}
for name, pred in (("hole elsewhere", far_ring), ("hole in place", near_ring)):
    constructed[name] = {
        "Betti number error": betti_number_error(pred, target_ring).item(),
        "Betti matching error": betti_matching_error(pred, target_ring, threshold=0.5).item(),
        "Wasserstein distance": barcode_wasserstein_distance(pred, target_ring).item(),
    }
    print(f"{name:15s}", {k: round(v, 3) for k, v in constructed[name].items()})

# %% [markdown]
# ## Data and training protocol
#
# Synthetic $24 \times 24$ images: one or two rings, or a network of crossing lines, with the contrast
# faded along the curves and Gaussian noise (`paperlab.data.curvilinear_images`). A `TinyUNet` (about
# 24k parameters) outputs foreground logits; the likelihood is their sigmoid.
#
# **This `ci` protocol deviates from the paper**, which trains from scratch with Dice + 0.5 BM. One
# Betti matching per image and step is too slow for a few-second CPU run, so the network is first trained
# with Dice alone (`pretrain_steps` steps of `pretrain_batch` images), then the same network and optimizer
# state continue for `continue_steps` steps of `continue_batch` images twice: once with Dice + 0.5 BM,
# once with Dice only (same batches). The `paper` profile trains from scratch with Dice + 0.5 BM.

# %%
train = curvilinear_images(n_train, size, noise=noise, fade=fade, generator=2 * exp.seed + 1)
test = curvilinear_images(n_test, size, noise=noise, fade=fade, generator=2 * exp.seed + 2)
train_x, train_y = train.images[:, None].to(exp.device), train.masks.to(exp.device)  # (N, 1, H, W), (N, H, W)
test_x, test_y = test.images[:, None].to(exp.device), test.masks.to(exp.device)


def train_steps(model, optimizer, steps, batch, weight, batches):
    model.train()
    for _ in tqdm(range(steps), desc=f"training, alpha={weight}", leave=False):
        rows = torch.randint(0, n_train, (batch,), generator=batches).to(exp.device)
        likelihood = torch.sigmoid(model(train_x[rows]))[:, 0]  # (batch, H, W)
        loss = soft_dice_loss(likelihood, train_y[rows])
        if weight:
            loss = loss + weight * betti_matching_loss(likelihood, train_y[rows])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return model


model = TinyUNet().to(exp.device)
optimizer = torch.optim.Adam(model.parameters(), lr=pretrain_lr)
train_steps(model, optimizer, pretrain_steps, pretrain_batch, 0.0, exp.generator)

runs = {}
for name, weight in (("Dice only", 0.0), ("Dice + 0.5 BM", alpha)):
    run_model = copy.deepcopy(model)
    run_optimizer = torch.optim.Adam(run_model.parameters(), lr=continue_lr)
    run_optimizer.load_state_dict(optimizer.state_dict())  # Adam's moments carry over
    for group in run_optimizer.param_groups:
        group["lr"] = continue_lr
    batches = torch.Generator().manual_seed(exp.seed + 1000)  # the same batches for both runs
    runs[name] = train_steps(run_model, run_optimizer, continue_steps, continue_batch, weight, batches)

# %% [markdown]
# ## Evaluation on the test images
#
# Predictions binarized at 0.5. Dice (in points), Betti number error and Betti matching error, both
# summed over dimensions 0 and 1 and averaged over the test images.

# %%
results, predictions, per_image_bm = {}, {}, {}
for name, run_model in runs.items():
    run_model.eval()
    with torch.no_grad():
        likelihood = torch.sigmoid(run_model(test_x))[:, 0].cpu()  # (n_test, H, W)
    binary = (likelihood >= 0.5).to(likelihood.dtype)
    predictions[name] = likelihood
    per_image_bm[name] = betti_matching_error(likelihood, test_y.cpu(), threshold=0.5)  # (n_test,)
    results[name] = {
        "Dice (points)": 100 * (1 - soft_dice_loss(binary, test_y.cpu(), reduction="none")).mean().item(),
        "Betti number error": betti_number_error(likelihood, test_y.cpu()).mean().item(),
        "Betti matching error": per_image_bm[name].mean().item(),
    }
for name, values in results.items():
    print(f"{name:14s}", {k: round(v, 3) for k, v in values.items()})

# %% [markdown]
# ## Figures
#
# Left: the constructed pair, target ring and prediction ring elsewhere. Then the test image on which the
# two continuations differ most in Betti matching error, its mask and both binarized predictions. Last,
# the persistence diagram of the Dice-only likelihoods of that image: each bar $(b, d)$ is a point, marked
# by whether the Betti matching pairs it with a bar of the target (all target bars sit at $(1, 0)$).

# %%
example = int(torch.argmax((per_image_bm["Dice only"] - per_image_bm["Dice + 0.5 BM"]).abs()))
fig, axes = plt.subplots(1, 6, figsize=(19, 3.4))
overlay = np.stack([far_ring.numpy(), np.zeros((side, side)), target_ring.numpy()], -1)
panels = [
    (overlay, "constructed pair\n(red: prediction, blue: target)"),
    (test.images[example].numpy(), f"test image {example}"),
    (test.masks[example].numpy(), "target mask"),
]
for name in runs:
    error = per_image_bm[name][example].item()
    panels.append(((predictions[name][example] >= 0.5).numpy(), f"{name}\n(BM error {error:.0f})"))
for ax, (picture, title) in zip(axes[:5], panels):
    ax.imshow(picture, cmap="gray")
    ax.grid(False)
    ax.set(title=title, xlabel="column", ylabel="row")
matching = betti_matching(predictions["Dice only"][example].double(), test_y.cpu()[example].double())
ax = axes[5]
ax.plot([0, 1], [0, 1], "k--", lw=1, label="diagonal (no feature)")
for dim, marker in ((0, "o"), (1, "s")):
    bars = matching.prediction[dim]
    matched = np.zeros(len(bars), dtype=bool)
    matched[matching.matches[dim][:, 0]] = True
    finite = ~bars.essential
    for mask, colour, status in ((matched, "tab:green", "matched"), (~matched, "tab:red", "unmatched")):
        keep = mask & finite
        ax.scatter(
            bars.birth[keep],
            bars.death[keep],
            c=colour,
            marker=marker,
            s=22,
            label=f"{'components' if dim == 0 else 'holes'}, {status}",
        )
ax.set(
    xlim=(-0.02, 1.05),
    ylim=(-0.02, 1.05),
    xlabel="birth level b",
    ylabel="death level d",
    title="Dice-only likelihoods: barcode",
)
ax.legend(fontsize=7, loc="upper left")
plt.tight_layout()
plt.show()

# %% [markdown]
# ## Claims
#
# 1. Betti matching is spatially correct and finer than the Betti number error: on the constructed pair
#    (equal Betti numbers, holes elsewhere) the Betti number error and the Wasserstein distance are 0 and
#    the Betti matching error is positive; with the hole in place it is 0.
# 2. As a loss it improves topology: after the Dice + 0.5 BM continuation the mean Betti matching error on
#    the test images is lower than after the Dice-only continuation (not required: see below).
# 3. ... while keeping volumetric performance: mean Dice within 2 points of the Dice-only continuation
#    (not required: see below).

# %%
elsewhere, in_place = constructed["hole elsewhere"], constructed["hole in place"]
exp.check(
    "mismatched_holes_betti_number_error_zero",
    elsewhere["Betti number error"] == 0,
    value=elsewhere["Betti number error"],
    expect="== 0",
)
exp.check(
    "mismatched_holes_wasserstein_zero",
    elsewhere["Wasserstein distance"] == 0,
    value=elsewhere["Wasserstein distance"],
    expect="== 0",
)
exp.check_above("mismatched_holes_betti_matching_error", elsewhere["Betti matching error"], 0)
exp.check(
    "holes_in_place_betti_matching_error_zero",
    in_place["Betti matching error"] == 0,
    value=in_place["Betti matching error"],
    expect="== 0",
)
bm_gain = results["Dice only"]["Betti matching error"] - results["Dice + 0.5 BM"]["Betti matching error"]
exp.check_above("bm_error_reduction_by_bm_loss", bm_gain, 0, required=False)
dice_gap = results["Dice only"]["Dice (points)"] - results["Dice + 0.5 BM"]["Dice (points)"]
exp.check_below("dice_drop_points", dice_gap, 2, required=False)

# %%
# NBVAL_CHECK_OUTPUT
exp.report()

# %% [markdown]
# ## What this small run shows, and what it does not
#
# - **Spatial correctness holds exactly.** On the constructed pair the Betti number error and the
#   Wasserstein distance between the barcodes are 0, the Betti matching error is 2 (the prediction's hole
#   and the target's hole are both unmatched), and 0 once the holes overlap. This is the paper's argument
#   for the metric, and it does not depend on scale.
# - **The loss claim is not reproduced at this scale** (both loss checks are recorded with
#   `required=False`, reported as NOT REPRODUCED where they fail). After a 40-step continuation the
#   Dice + 0.5 BM network has a lower mean Betti matching error than the Dice-only one for seed 0 (by about
#   0.1 error per image, losing about 2 Dice points) but a higher one for seed 1 (by about 0.15, losing
#   about 5 Dice points). The Betti number error fell in both seeds; that was noticed after the run and is
#   not a check. Differences of a few tenths of an error per image over 32 test images, from one run per
#   arm, are within run-to-run noise. Likely reasons: the loss moves only the two pixels at the ends of
#   each bar, with gradients much larger than Dice's, and 40 steps from a Dice-pretrained network leave
#   no time to settle; the paper trains from scratch, much longer, with the topology term from the start
#   (the `paper` profile does that).
# - **Deviations from the paper.** The `ci` protocol (Dice pretraining, then a short continuation with
#   and without the BM term) is not the paper's training from scratch with Dice + 0.5 BM; images are
#   24x24 synthetic rings and networks, not real data, and the net is a 24k-parameter U-Net. The
#   continuation learning rate (1e-3, pretraining 3e-3) was set after a first try with the pretraining
#   rate of 3e-3 in a draft of this experiment, in which the BM continuation lost up to 10 Dice points;
#   nothing else was changed after looking at results. Ties between equal pixel values (all of them, in the binary masks) are broken by
#   pixel index, as any cell order would; the essential component is always matched and is left out of
#   the loss.
