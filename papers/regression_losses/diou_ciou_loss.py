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
# # Distance-IoU Loss: Faster and Better Learning for Bounding Box Regression
# *2019* · topic `regression_losses` · verdict **reproduce**
#
# ## The idea
#
# A detector regresses a predicted box $B = (x, y, w, h)$ towards a target box $B^{gt}$. The IoU loss
# $\mathcal{L}_{IoU} = 1 - \mathrm{IoU}(B, B^{gt})$ measures exactly what detection is scored on, but its
# gradient is zero as long as the boxes do not overlap. GIoU repairs this with a penalty on the empty part
# of the smallest enclosing box $C$,
#
# $$\mathcal{L}_{GIoU} = 1 - \mathrm{IoU} + \frac{|C \setminus (B \cup B^{gt})|}{|C|},$$
#
# which the paper argues first *enlarges* the predicted box until it overlaps the target and then has the
# IoU term shrink it again, and which degenerates to the IoU loss whenever one box contains the other.
# The paper proposes to penalize the distance of the centres $b, b^{gt}$ directly, normalized by the
# diagonal $c$ of $C$ so that the loss stays scale invariant:
#
# $$\mathcal{L}_{DIoU} = 1 - \mathrm{IoU} + \frac{\rho^2(b, b^{gt})}{c^2}.$$
#
# **CIoU** adds the third geometric factor, the aspect ratio:
#
# $$\mathcal{L}_{CIoU} = \mathcal{L}_{DIoU} + \alpha v, \quad
#   v = \frac{4}{\pi^2}\Big(\arctan\frac{w^{gt}}{h^{gt}} - \arctan\frac{w}{h}\Big)^2, \quad
#   \alpha = \frac{v}{(1 - \mathrm{IoU}) + v},$$
#
# where the trade-off $\alpha$ is held constant in the backward pass (as in the authors' code), so that the
# aspect ratio matters more once the boxes overlap well.
#
# The paper's **simulation experiment** regresses many anchor boxes onto seven target boxes by plain
# gradient descent and compares how fast and how far each loss gets. This notebook reruns it with
# `paperlab.losses.{iou_loss, giou_loss, diou_loss, ciou_loss}` (tested against per-box formulas and
# closed-form cases) and autograd gradients.

# %% tags=["parameters"]
profile = "ci"
seed = 0
device = "auto"
n_points = 24  # anchor centres, uniform in a disc of radius 3 around the targets' centre; paper: 5000
iterations = 200  # gradient steps per loss, as in the paper
step_schedule = ((160, 0.1), (20, 0.01), (20, 0.001))  # (iterations, step size), the paper's schedule
early_iteration = 40  # where "converges faster" is read off the curves

# %%
import math

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from paperlab.experiment import require, setup
from paperlab.losses import box_iou, ciou_loss, diou_loss, giou_loss, iou_loss

exp = setup(seed=seed, device=device, profile=profile)
require(isinstance(n_points, int) and n_points >= 1, f"n_points must be a positive integer, got {n_points!r}")
require(
    isinstance(step_schedule, (tuple, list))
    and len(step_schedule) >= 1
    and all(
        isinstance(phase, (tuple, list))
        and len(phase) == 2
        and isinstance(phase[0], int)
        and phase[0] >= 1
        and isinstance(phase[1], float)
        and phase[1] > 0
        for phase in step_schedule
    ),
    f"step_schedule must be (iterations, step size) pairs of a positive int and a positive float, got {step_schedule!r}",
)
require(
    isinstance(iterations, int) and iterations == sum(n for n, _ in step_schedule),
    f"iterations must equal the iterations of step_schedule, got {iterations!r}",
)
require(
    isinstance(early_iteration, int) and 1 <= early_iteration <= iterations,
    f"early_iteration must be an int in [1, iterations], got {early_iteration!r}",
)
n_points = exp.pick(ci=n_points, paper=max(n_points, 5000))
dtype = torch.float32

# %% [markdown]
# ## The simulation
#
# As in the paper: seven targets of area 1 centred at $(10, 10)$ with aspect ratios $w:h$ from $1:4$ to
# $4:1$; anchor centres drawn uniformly in the disc of radius 3 around $(10, 10)$; at every centre and for
# every target, anchors of 7 areas ($0.5$ to $2$ times the target's) and the same 7 aspect ratios. That is
# $343$ anchors per centre and target; most of them do not overlap their target at all.
#
# Each anchor is a free parameter $(x, y, w, h)$ updated by the paper's rule
# $B_t = B_{t-1} - \eta\,(2 - \mathrm{IoU}_{t-1})\,\nabla_B \mathcal{L}(B_{t-1}, B^{gt})$: the factor
# $2 - \mathrm{IoU}$ speeds up boxes that are still far off, and $\eta$ is $0.1$ for 160 steps, then $0.01$
# and $0.001$ for 20 steps each. All anchors move at once (one batched loss per step).

# %%
ratios = torch.tensor([1 / 4, 1 / 3, 1 / 2, 1, 2, 3, 4], dtype=dtype)  # w / h
areas = torch.tensor([0.5, 0.67, 0.75, 1.0, 1.33, 1.5, 2.0], dtype=dtype)  # anchor area / target area
radius = 3 * torch.rand(n_points, generator=exp.generator, dtype=dtype).sqrt()
angle = 2 * math.pi * torch.rand(n_points, generator=exp.generator, dtype=dtype)
centres = torch.stack([10 + radius * torch.cos(angle), 10 + radius * torch.sin(angle)], dim=1)  # (P, 2)

point, shape, area, ratio = (
    index.flatten()
    for index in torch.meshgrid(*(torch.arange(n) for n in (n_points, 7, 7, 7)), indexing="ij")
)
anchors = torch.stack(
    [*centres[point].T, (areas[area] * ratios[ratio]).sqrt(), (areas[area] / ratios[ratio]).sqrt()], dim=1
)  # (P * 343, 4) as (x, y, w, h)
targets = torch.stack(
    [torch.full_like(anchors[:, 0], 10.0), torch.full_like(anchors[:, 0], 10.0)]
    + [ratios[shape].sqrt(), 1 / ratios[shape].sqrt()],
    dim=1,
)  # (P * 343, 4): target "shape" has area 1 and aspect ratio ratios[shape]
anchors, targets = anchors.to(exp.device), targets.to(exp.device)


def corners(xywh):
    """(x, y, w, h) -> (x1, y1, x2, y2), shape (N, 4)."""
    return torch.cat([xywh[:, :2] - xywh[:, 2:] / 2, xywh[:, :2] + xywh[:, 2:] / 2], dim=1)


target_boxes = corners(targets)
initial_overlap = box_iou(corners(anchors), target_boxes) > 0
print(
    f"{len(anchors)} regression cases; {initial_overlap.float().mean().item():.0%} overlap their target at start"
)


# %%
def regress(loss_fn):
    """Gradient descent with the paper's (2 - IoU) step scaling; returns final boxes and the mean 1 - IoU curve."""
    boxes, curve = anchors.clone(), []
    for n_steps, step in step_schedule:
        for _ in range(n_steps):
            boxes.requires_grad_(True)
            predicted = corners(boxes)
            (grad,) = torch.autograd.grad(loss_fn(predicted, target_boxes, reduction="sum"), boxes)
            with torch.no_grad():
                iou = box_iou(predicted, target_boxes)
                boxes = boxes - step * (2 - iou)[:, None] * grad
                boxes[:, 2:] = boxes[:, 2:].clamp_min(0)  # a box cannot get a negative size
                curve.append(1 - box_iou(corners(boxes), target_boxes).mean().item())
    return boxes.detach(), np.array(curve)


losses = {"IoU": iou_loss, "GIoU": giou_loss, "DIoU": diou_loss, "CIoU": ciou_loss}
final_boxes, curves = {}, {}
for name in tqdm(losses, desc="losses"):
    final_boxes[name], curves[name] = regress(losses[name])

first_phase = step_schedule[0][0]  # the last step before the first step-size decay
final_error = {name: 1 - box_iou(corners(b), target_boxes) for name, b in final_boxes.items()}
summary = pd.DataFrame(
    {
        f"mean 1 - IoU after {early_iteration}": {n: c[early_iteration - 1] for n, c in curves.items()},
        f"mean 1 - IoU after {first_phase}": {n: c[first_phase - 1] for n, c in curves.items()},
        f"mean 1 - IoU after {iterations}": {n: c[-1] for n, c in curves.items()},
        "mean l1 error (x, y, w, h)": {
            n: (b - targets).abs().sum(1).mean().item() for n, b in final_boxes.items()
        },
        "share with 1 - IoU > 0.1": {n: (e > 0.1).float().mean().item() for n, e in final_error.items()},
    }
)
summary.round(4)

# %% [markdown]
# ## Regression error over the iterations
#
# Mean $1 - \mathrm{IoU}$ over all regression cases after each step. The drops at steps 160 and 180 are
# the step-size decays: with $\eta = 0.1$ the boxes oscillate around the target, since the IoU has a kink
# where the boxes align.

# %%
fig, ax = plt.subplots()
for name, curve in curves.items():
    ax.plot(np.arange(1, iterations + 1), curve, label=name)
ax.set(yscale="log", xlabel="iteration", ylabel="mean 1 - IoU over all anchors")
ax.set_title("Simulated box regression: error per iteration")
ax.legend()
plt.show()

# %% [markdown]
# ## Where the error remains
#
# Each dot is one anchor centre, coloured by the mean final $1 - \mathrm{IoU}$ of its 343 anchors and 7
# targets (the paper shows the same map as a heat map). The IoU loss only moves anchors that overlap at
# the start, which happens near the centre.

# %%
fig, axes = plt.subplots(1, 4, figsize=(12, 3.4), sharex=True, sharey=True, layout="constrained")
xy = centres.numpy()
for ax, (name, error) in zip(axes, final_error.items()):
    per_point = error.reshape(n_points, -1).mean(1).cpu().numpy()  # (P,)
    dots = ax.scatter(xy[:, 0], xy[:, 1], c=per_point, s=28, cmap="viridis", norm="log", vmin=1e-4, vmax=1)
    ax.plot([10], [10], "r+", ms=10, label="target centre")
    ax.set(title=name, xlabel="anchor centre x", aspect="equal")
axes[0].set_ylabel("anchor centre y")
axes[0].legend(loc="lower left", fontsize=8)
fig.colorbar(dots, ax=axes, label="mean final 1 - IoU", shrink=0.8)
fig.suptitle("Final regression error by anchor position")
plt.show()

# %% [markdown]
# ## Claims
#
# - The paper: DIoU converges faster and lower than GIoU. Measured as mean $1 - \mathrm{IoU}$ after
#   `early_iteration` steps (faster) and after all steps (lower). With exact gradients neither holds at this
#   scale (see the notes below): both are recorded with `required=False`, reported as NOT REPRODUCED.
# - CIoU ends lower than GIoU, and (the plan's check lacked this comparison) lower than DIoU: the paper's
#   "CIoU further improves".
# - The IoU loss cannot move an anchor that does not overlap its target: its gradient there is exactly zero.
#   This is true by construction, a demonstration rather than an empirical finding; next to it, the anchors
#   that do overlap improve under the IoU loss.
# - The plan also asked that the losses match `torchvision.ops` to 1e-6. torchvision is not a dependency of
#   this collection, so that check was dropped; the package tests compare against per-box formulas and
#   closed-form cases instead.

# %%
final = {name: c[-1] for name, c in curves.items()}
early = {name: c[early_iteration - 1] for name, c in curves.items()}
exp.check(
    "diou_minus_giou_final_error",
    final["DIoU"] < final["GIoU"],
    value=final["DIoU"] - final["GIoU"],
    expect="< 0",
    required=False,
)
exp.check(
    "diou_minus_giou_early_error",
    early["DIoU"] < early["GIoU"],
    value=early["DIoU"] - early["GIoU"],
    expect="< 0",
    required=False,
)
exp.check(
    "ciou_minus_giou_final_error",
    final["CIoU"] < final["GIoU"],
    value=final["CIoU"] - final["GIoU"],
    expect="< 0",
)
exp.check(
    "ciou_minus_diou_final_error",
    final["CIoU"] < final["DIoU"],
    value=final["CIoU"] - final["DIoU"],
    expect="< 0",
)
shift = (final_boxes["IoU"] - anchors).abs().amax(1)  # (N,) largest coordinate change per anchor
exp.check(
    "iou_loss_max_shift_of_disjoint_anchors",
    shift[~initial_overlap].max().item() == 0,
    value=shift[~initial_overlap].max(),
    expect="== 0",
)
start_error = 1 - box_iou(corners(anchors), target_boxes)
overlap_gain = final_error["IoU"][initial_overlap].mean() - start_error[initial_overlap].mean()
exp.check("iou_loss_error_change_on_overlapping", overlap_gain < 0, value=overlap_gain, expect="< 0")

# %%
# NBVAL_CHECK_OUTPUT
exp.report()

# %% [markdown]
# ## What this small run shows, and what it does not
#
# - **CIoU** reaches the lowest error of the four losses, clearly below DIoU and GIoU: once the boxes
#   overlap, the aspect-ratio term pulls $w/h$ to the target's, which the IoU, GIoU and DIoU terms do only
#   indirectly. This is the paper's "CIoU further improves" at the scale of this simulation.
# - **DIoU vs GIoU is not reproduced.** With the paper's update rule and schedule but exact (autograd)
#   gradients, GIoU is ahead of DIoU early on and still slightly ahead after the last step, on both
#   $1 - \mathrm{IoU}$ and the paper's $\ell_1$ error. DIoU is lower only at the end of the first phase
#   (step 160 in the table), before the first step-size decay, where both oscillate. The authors' simulation (MATLAB) does not use the exact gradient:
#   in its hand-written derivatives of the distance penalty, the derivative of the enclosing box's width
#   with respect to $w$ has its sign flipped when the anchor spans the target, the enclosing height is
#   differentiated with respect to $x$ like the width, and the $w, h$ steps are twice the gradient. These
#   choices are not in the paper's text, and the package's losses do not copy them: they compute the
#   formulas exactly. In an exploratory run (not part of this notebook), doubling the $w, h$ step alone
#   brought DIoU level with GIoU.
# - The IoU loss leaves the non-overlapping anchors exactly where they were (most of them, for centres up
#   to 3 away from boxes of area 1); that is what its zero gradient means, not a measured effect.
# - Scale: the `ci` profile uses 24 anchor centres (8 232 regression cases) in float32; the paper uses
#   5000 centres (1 715 000 cases), which is the `paper` profile. Claims are the mean over all cases, read
#   at one iteration; the paper reports the sum of $\ell_1$ errors, whose mean is in the table.
#   An exploratory run with 500 centres (171 500 cases, same code and seed 0) gave the same picture: mean
#   final $1 - \mathrm{IoU}$ 0.0113 (GIoU), 0.0168 (DIoU), 0.0049 (CIoU), and GIoU ahead after 40 steps.
