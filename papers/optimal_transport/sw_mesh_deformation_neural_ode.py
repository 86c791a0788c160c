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
# # Diffeomorphic Mesh Deformation via Efficient Optimal Transport for Cortical Surface Reconstruction
# *2023* · topic `optimal_transport` · verdict **reproduce**
#
# ## The idea
#
# Cortical surface reconstruction deforms a template mesh (a sphere) onto a target surface. Two choices
# make or break it: **how the deformation is parametrized**, and **what loss compares two meshes**.
#
# *Deformation.* Each template vertex $x$ flows along a learned velocity field $v_\phi$ for unit time,
#
# $$\frac{dx}{dt} = v_\phi(x, t), \qquad x(0) = \text{template vertex}, \qquad \text{deformed vertex} = x(1).$$
#
# The flow of a smooth field is a diffeomorphism: the surface cannot tear, fold or pass through itself.
# We integrate it with a fixed number of RK4 steps and backpropagate through them (a neural ODE).
#
# *Loss.* The usual loss is the Chamfer distance between point samples,
# $\mathrm{CD}(X, Y) = \frac1n\sum_x \min_y \lVert x - y\rVert^2 + \frac1m\sum_y \min_x \lVert x - y\rVert^2$:
# quadratic cost, and not a metric (it ignores how densely points cover the surface). The paper instead
# encodes a mesh as a **probability measure** and compares measures with the sliced Wasserstein distance:
#
# $$SW_2^2(\mu, \nu) = \mathbb{E}_{\theta \sim \mathcal{U}(S^2)}\, W_2^2(\theta_\#\mu, \theta_\#\nu),$$
#
# a true metric on measures whose Monte Carlo estimate costs $O(L N \log N)$, linear up to the sort. A mesh
# becomes a measure in three ways: its vertices (empirical), area-weighted samples of its surface
# (continuous), or face centroids and normals weighted by face area (varifold). We train with the
# continuous measure, as the plan asks, and compare it to Chamfer training on the same samples.

# %% tags=["parameters"]
profile = "ci"
seed = 0
device = "auto"
template_subdivisions = 3  # icosphere level of the template, 642 vertices at 3
target_amplitude = 0.3  # largest radial bump of the star-shaped target
n_samples = 600  # surface samples per mesh and training step
n_projections = 50  # SW directions per step
n_steps = 100  # Adam steps per loss
lr = 0.03  # initial Adam learning rate, annealed to 0 on a cosine
rk4_steps = 4  # RK4 steps of the neural ODE
n_runs = 2  # targets and initializations (seeds) per loss
n_test_samples = 5000  # fresh samples of each surface for the held-out Hausdorff distance

# %%
import matplotlib.pyplot as plt
import pandas as pd
import torch
from tqdm.auto import tqdm

from paperlab.data import bumpy_sphere, face_normals, icosphere, sample_surface
from paperlab.distances import mesh_measure, mesh_sliced_wasserstein
from paperlab.experiment import require, setup
from paperlab.losses import chamfer_distance
from paperlab.metrics import hausdorff_distance, mesh_quality
from paperlab.models import NeuralODEDeformer

exp = setup(seed=seed, device=device, profile=profile)
for name, value in [
    ("template_subdivisions", template_subdivisions),
    ("n_samples", n_samples),
    ("n_projections", n_projections),
    ("n_steps", n_steps),
    ("rk4_steps", rk4_steps),
    ("n_runs", n_runs),
    ("n_test_samples", n_test_samples),
]:
    require(isinstance(value, int) and value >= 1, f"{name} must be a positive integer, got {value!r}")
require(template_subdivisions <= 6, f"template_subdivisions must be <= 6, got {template_subdivisions}")
require(0 < target_amplitude < 1, f"target_amplitude must be in (0, 1), got {target_amplitude!r}")
require(lr > 0, f"lr must be > 0, got {lr!r}")

template_subdivisions = exp.pick(
    ci=template_subdivisions, paper=max(template_subdivisions, 4)
)  # 2562 vertices
n_samples = exp.pick(ci=n_samples, paper=max(n_samples, 2000))
n_projections = exp.pick(ci=n_projections, paper=max(n_projections, 100))
n_steps = exp.pick(ci=n_steps, paper=max(n_steps, 300))
rk4_steps = exp.pick(ci=rk4_steps, paper=max(rk4_steps, 10))
n_runs = exp.pick(ci=n_runs, paper=max(n_runs, 3))
hidden = exp.pick(ci=(32, 32), paper=(64, 64, 64))
losses = exp.pick(ci=["SW (surface)", "Chamfer"], paper=["SW (surface)", "SW (varifold)", "Chamfer"])
dtype = torch.float32

# %% [markdown]
# ## Template and targets
#
# The template is an icosphere; each target is a finer icosphere pushed radially by a few signed Gaussian
# bumps, $r(u) = 1 + \sum_k s_k e^{w(c_k^\top u - 1)}$ rescaled to a largest deviation of
# `target_amplitude`: a star-shaped surface with folds that a sphere must bend into. One target per run.

# %%
template = icosphere(template_subdivisions, dtype=dtype, device=exp.device)
template_normals = face_normals(template.vertices, template.faces)
run_seeds = torch.randint(2**31, (n_runs,), generator=exp.generator).tolist()
targets = [bumpy_sphere(4, target_amplitude, seed=s, dtype=dtype, device=exp.device) for s in run_seeds]
test_target_samples = [
    sample_surface(t.vertices, t.faces, n_test_samples, seed=exp.generator).points for t in targets
]
print(f"template: {template.vertices.shape[0]} vertices, {template.faces.shape[0]} faces")

# %% [markdown]
# ## Training
#
# The same network, initialization and random stream for every loss: a velocity MLP on $[x, t]$ with tanh
# hidden layers, whose output layer starts at zero (the identity deformation), `rk4_steps` RK4 steps over
# $t \in [0, 1]$, and Adam with a cosine-annealed learning rate (both losses are estimated from random samples,
# and the annealing lets the fit settle below that noise). Each step draws `n_samples` fresh area-weighted
# samples from the deformed template and from the target; SW uses `n_projections` fresh directions.


# %%
def loss_between(vertices, target, kind: str, generator: torch.Generator) -> torch.Tensor:
    if kind == "SW (varifold)":
        source_measure = mesh_measure(vertices, template.faces, "varifold")
        target_measure = mesh_measure(target.vertices, target.faces, "varifold")
        return mesh_sliced_wasserstein(source_measure, target_measure, n_projections, seed=generator).pow(2)
    source_measure = mesh_measure(vertices, template.faces, "surface", n_samples, seed=generator)
    target_measure = mesh_measure(target.vertices, target.faces, "surface", n_samples, seed=generator)
    if kind == "SW (surface)":
        return mesh_sliced_wasserstein(source_measure, target_measure, n_projections, seed=generator).pow(2)
    return chamfer_distance(source_measure.support, target_measure.support)


def train(kind: str, run: int):
    torch.manual_seed(run_seeds[run])
    model = NeuralODEDeformer(3, hidden, rk4_steps).to(device=exp.device, dtype=dtype)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, n_steps)
    generator = torch.Generator().manual_seed(run_seeds[run])
    history = []
    for _ in range(n_steps):
        loss = loss_between(model(template.vertices), targets[run], kind, generator)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
        history.append(loss.item())
    with torch.no_grad():
        return model(template.vertices), history


jobs = [(kind, run) for kind in losses for run in range(n_runs)]
results = {job: train(*job) for job in tqdm(jobs, desc="training")}

# %% [markdown]
# ## Held-out accuracy and mesh quality
#
# Accuracy is the symmetric Hausdorff distance between `n_test_samples` fresh samples of the deformed template
# and of the target, both drawn independently of training: an approximation of the point-to-surface
# Hausdorff distance in both directions. Quality counts flipped faces (a normal turned against the template's
# outward normal: a fold), the mean cosine between adjacent normals, and the spread of edge lengths.


# %%
def evaluate(vertices, run: int) -> dict:
    points = sample_surface(vertices, template.faces, n_test_samples, seed=exp.generator).points
    quality = mesh_quality(vertices, template.faces, template_normals)
    return {
        "Hausdorff": hausdorff_distance(points, test_target_samples[run]).item(),
        "Chamfer (held out)": chamfer_distance(points, test_target_samples[run]).item(),
        "flipped faces": quality.flipped_faces,
        "normal consistency": quality.normal_consistency,
        "edge length CV": quality.edge_length_cv,
    }


rows = [{"loss": kind, "run": run, **evaluate(results[(kind, run)][0], run)} for kind, run in jobs]
rows += [
    {"loss": "template (no training)", "run": run, **evaluate(template.vertices, run)}
    for run in range(n_runs)
]
table = pd.DataFrame(rows)
summary = table.groupby("loss").mean(numeric_only=True).drop(columns="run")
summary

# %%
fig = plt.figure(figsize=(10, 3.4))
shown = [("target", targets[0].vertices, targets[0].faces)]
shown += [(kind, results[(kind, 0)][0], template.faces) for kind in losses]
for i, (title, vertices, faces) in enumerate(shown):
    ax = fig.add_subplot(1, len(shown) + 1, i + 1, projection="3d")
    ax.plot_trisurf(*vertices.cpu().T, triangles=faces.cpu(), color="tab:blue", linewidth=0, alpha=0.9)
    ax.set_title(title, fontsize=9)
    ax.set_axis_off()
    ax.set_box_aspect((1, 1, 1))
ax = fig.add_subplot(1, len(shown) + 1, len(shown) + 1)
for kind in losses:
    history = torch.tensor([results[(kind, run)][1] for run in range(n_runs)]).mean(0)
    ax.semilogy(history / history[0], label=kind)
ax.set(xlabel="Adam step", ylabel="training loss / initial loss", title="training, mean of runs")
ax.legend(fontsize=8)
plt.tight_layout()
plt.show()

# %% [markdown]
# ## Claims
#
# 1. The neural ODE trained with SW between continuous mesh measures fits the target: the held-out Hausdorff
#    distance falls to less than half of the template's (mean over runs).
# 2. The SW-trained mesh has no flipped face (the deformation stays a diffeomorphism on the mesh); the count for
#    Chamfer training is reported too, since it follows mostly from the ODE parametrization.
# 3. The paper: SW training is at least as accurate as Chamfer training (held-out Hausdorff, mean of runs).
#    At this scale it is **not reproduced** (see the notes below), so it is recorded, not required.

# %%
sw, chamfer, start = (
    summary.loc[k, "Hausdorff"] for k in ["SW (surface)", "Chamfer", "template (no training)"]
)
exp.check_below("Hausdorff SW / template", sw / start, 0.5)
exp.check(
    "flipped faces, SW (max over runs)",
    table[table["loss"] == "SW (surface)"]["flipped faces"].max() == 0,
    value=table[table["loss"] == "SW (surface)"]["flipped faces"].max(),
    expect="== 0",
)
exp.check(
    "flipped faces, Chamfer (max over runs)",
    table[table["loss"] == "Chamfer"]["flipped faces"].max() == 0,
    value=table[table["loss"] == "Chamfer"]["flipped faces"].max(),
    expect="== 0",
    required=False,
)
exp.check_below("Hausdorff SW / Chamfer", sw / chamfer, 1.0, required=False)

# %%
# NBVAL_CHECK_OUTPUT
exp.report()

# %% [markdown]
# ## What this small run shows, and what it does not
#
# - **Diffeomorphic deformation: reproduced.** A few RK4 steps of a smooth velocity field carry the icosphere
#   onto a bumpy target without a single flipped face, whichever loss drives it; the parametrization, not the
#   loss, is what keeps the mesh clean here.
# - **SW as a training loss: it works, but it is not more accurate than Chamfer here.** SW training cuts the
#   held-out Hausdorff distance by more than half, yet Chamfer training ends closer to the target: SW's distance
#   is 1.0 to 1.4 times Chamfer's (mean of 2 runs, seeds 0 and 1). No setting we tried reversed this (100 to 300
#   steps, learning rates 0.01 to 0.05 with and without annealing, 50 to 200 projections, up to 2,000 samples);
#   the varifold measure comes closer but does not overtake Chamfer. SW compares whole distributions through
#   1-D projections, so once the global shape is right, the small mismatch of a single bump moves the loss
#   little compared with the sampling noise of the measures, while Chamfer's nearest-neighbour term acts
#   locally, and the Hausdorff distance is decided by the worst bump. The paper reports its advantage on
#   cortical surfaces with far more vertices, projections and steps; we do not reach that regime in `ci`.
# - **Cost.** The per-step cost of SW grows like $N \log N$ and that of Chamfer like $N^2$;
#   `benchmarks/mesh_deformation.py` times both losses and their gradients across sample sizes. No timing is
#   asserted here.
# - **Scale.** `ci`: a 642-vertex template, 2 targets, 100 steps per loss. The `paper` profile uses a 2562-vertex
#   template, a 3x64 MLP, 10 RK4 steps, 2,000 samples, 100 projections, 300 steps, 3 runs and the varifold measure.
