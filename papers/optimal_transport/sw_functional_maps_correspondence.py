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
# # Integrating Efficient Optimal Transport and Functional Maps For Unsupervised Shape Correspondence Learning
# *2024* · topic `optimal_transport` · verdict **reproduce**
#
# ## The idea
#
# Dense correspondence between two deformable shapes A and B is learned without labels through **functional
# maps**. With $\Phi_A, \Phi_B$ the first $k$ Laplace-Beltrami eigenfunctions ($L\phi = \lambda M \phi$, cotangent
# stiffness $L$, lumped mass $M$), a map is a $k \times k$ matrix $C_{AB}$ that carries function coefficients from
# A to B. A network turns intrinsic descriptors (here the wave kernel signature, WKS) into features $F_A, F_B$,
# and the map is the regularized least-squares fit of their spectral coefficients $\mathbf A = \Phi_A^\top M_A F_A$,
# $\mathbf B = \Phi_B^\top M_B F_B$:
#
# $$C_{AB} = \arg\min_C \lVert C\mathbf A - \mathbf B\rVert^2 + \lambda \lVert C\Lambda_A - \Lambda_B C\rVert^2 .$$
#
# Unsupervised training asks $C$ to look like the map of a near-isometry: orthogonal ($C^\top C = I$) and
# bijective ($C_{AB}C_{BA} = I$). The paper adds two optimal-transport ingredients:
#
# 1. a **sliced Wasserstein** loss $SW_2^2(F_A, F_B)$ between the two shapes' per-vertex feature distributions,
#    which asks the features of corresponding regions to match as measures, cheaply ($O(LV\log V)$);
# 2. an **adaptive refinement** at test time: for each pair, the network is adapted for a few steps with an
#    entropic OT (Sinkhorn) alignment of the two feature sets.
#
# Point-to-point maps are read off the functional map by nearest neighbours between $\Phi_A C_{AB}^\top$ and
# $\Phi_B$, and scored by the mean geodesic distance to the true match, divided by $\sqrt{\text{area}}$.

# %% tags=["parameters"]
profile = "ci"
seed = 0
device = "auto"
n_vertices = 600  # vertices per shape (each shape its own random sampling and triangulation)
n_train_shapes = 16  # shapes for training, random pairs each step
n_test_pairs = 5  # held-out pairs
k = 30  # Laplace-Beltrami eigenpairs
n_energies = 50  # WKS energies (input width of the network)
feature_dim = 32  # learned feature width
n_steps = 200  # training steps per model
lr = 0.001  # Adam learning rate
sw_weight = 1.0  # weight of the SW feature-alignment loss
n_projections = 64  # SW directions per step
refine_steps = 10  # test-time adaptation steps per pair
refine_lr = 0.001  # test-time adaptation learning rate
sinkhorn_reg = 0.05  # entropic regularization of the refinement
n_seeds = 2  # training seeds (data sets and initializations)

# %%
import copy
import warnings

import matplotlib.pyplot as plt
import pandas as pd
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from paperlab.data import correspondence_shapes, ground_truth_map
from paperlab.distances import sliced_wasserstein
from paperlab.experiment import require, setup
from paperlab.metrics import geodesic_error, mesh_area, mesh_geodesic_distances
from paperlab.models import EmbeddingMLP
from paperlab.solvers import (
    fmap_penalties,
    fmap_to_pointwise,
    functional_map,
    laplace_beltrami_eigenpairs,
    sinkhorn,
    spectral_coefficients,
    wave_kernel_signature,
)

exp = setup(seed=seed, device=device, profile=profile)
for name, value in [
    ("n_vertices", n_vertices),
    ("n_train_shapes", n_train_shapes),
    ("n_test_pairs", n_test_pairs),
    ("k", k),
    ("n_energies", n_energies),
    ("feature_dim", feature_dim),
    ("n_steps", n_steps),
    ("n_projections", n_projections),
    ("refine_steps", refine_steps),
    ("n_seeds", n_seeds),
]:
    require(isinstance(value, int) and value >= 1, f"{name} must be a positive integer, got {value!r}")
require(n_vertices >= 100, f"n_vertices must be >= 100, got {n_vertices}")
require(n_train_shapes >= 2, f"n_train_shapes must be >= 2, got {n_train_shapes}")
require(2 <= k < n_vertices, f"k must be in [2, n_vertices), got {k}")
for name, value in [("lr", lr), ("refine_lr", refine_lr), ("sinkhorn_reg", sinkhorn_reg)]:
    require(value > 0, f"{name} must be > 0, got {value!r}")
require(sw_weight > 0, f"sw_weight must be > 0, got {sw_weight!r}")

n_vertices = exp.pick(ci=n_vertices, paper=max(n_vertices, 3000))
n_train_shapes = exp.pick(ci=n_train_shapes, paper=max(n_train_shapes, 80))
n_test_pairs = exp.pick(ci=n_test_pairs, paper=max(n_test_pairs, 20))
k = exp.pick(ci=k, paper=max(k, 50))
n_steps = exp.pick(ci=n_steps, paper=max(n_steps, 2000))
n_seeds = exp.pick(ci=n_seeds, paper=max(n_seeds, 3))
hidden = exp.pick(ci=(64,), paper=(128, 128))
dtype = torch.float32

# %% [markdown]
# ## Shapes with known correspondence
#
# Every shape is an independent uniform sampling of the unit sphere, triangulated by its convex hull (so no two
# shapes share connectivity), mapped onto one common surface, an ellipsoid with six bumps, and then perturbed by
# four wide shape-specific bumps (a near-isometric deformation). The sphere point each vertex came from is the
# ground truth: a vertex's true match is the other shape's vertex with the nearest sphere point. Per shape we
# precompute $k$ eigenpairs, the WKS, and (held-out shapes) the edge-graph geodesic distances.


# %%
def prepare(run_seed: int):
    shapes = correspondence_shapes(n_train_shapes + 2 * n_test_pairs, n_vertices, seed=run_seed, dtype=dtype)
    prepared = []
    for index, shape in enumerate(shapes):
        mesh = shape.mesh
        eig = laplace_beltrami_eigenpairs(mesh.vertices, mesh.faces, k)
        wks = wave_kernel_signature(eig.eigenvalues, eig.eigenvectors, n_energies)
        item = {
            "shape": shape,
            "evals": eig.eigenvalues.to(exp.device),
            "evecs": eig.eigenvectors.to(exp.device),
            "mass": eig.mass.to(exp.device),
            "wks": F.normalize(wks, dim=1).to(exp.device),  # unit rows: scale-free descriptors
        }
        if index >= n_train_shapes:
            item["geodesics"] = mesh_geodesic_distances(mesh.vertices, mesh.faces).to(exp.device)
            item["area"] = mesh_area(mesh.vertices, mesh.faces)
        prepared.append(item)
    return prepared


run_seeds = torch.randint(2**31, (n_seeds,), generator=exp.generator).tolist()
data = {run: prepare(s) for run, s in enumerate(tqdm(run_seeds, desc="eigenpairs"))}
test_pairs = [(n_train_shapes + 2 * i, n_train_shapes + 2 * i + 1) for i in range(n_test_pairs)]

fig = plt.figure(figsize=(9, 2.8))
for i in range(3):
    mesh = data[0][i]["shape"].mesh
    ax = fig.add_subplot(1, 4, i + 1, projection="3d")
    ax.plot_trisurf(*mesh.vertices.T, triangles=mesh.faces, color="tab:blue", linewidth=0.1, alpha=0.9)
    ax.set_title(f"shape {i}", fontsize=9)
    ax.set_axis_off()
ax = fig.add_subplot(1, 4, 4)
ax.plot(data[0][0]["evals"].cpu(), marker=".", label="shape 0")
ax.plot(data[0][1]["evals"].cpu(), marker=".", label="shape 1")
ax.set(xlabel="index", ylabel="eigenvalue", title="Laplace-Beltrami spectrum")
ax.legend(fontsize=8)
plt.tight_layout()
plt.show()

# %% [markdown]
# ## Training: functional-map regularizers, with and without the SW loss
#
# A 2-layer MLP maps the WKS to `feature_dim` features. Each step takes a random pair of training shapes,
# computes both maps $C_{AB}, C_{BA}$ from the features, and descends the orthogonality plus bijectivity
# penalties (model **FM**), plus `sw_weight` $\cdot\, SW_2^2$ between the two shapes' unit-normalized features
# (model **FM+SW**). Same initialization and pairs for both.


# %%
def maps_between(net, a: dict, b: dict):
    Fa, Fb = net(a["wks"]), net(b["wks"])
    coef_a = spectral_coefficients(Fa, a["evecs"], a["mass"])
    coef_b = spectral_coefficients(Fb, b["evecs"], b["mass"])
    C_ab = functional_map(coef_a, coef_b, a["evals"], b["evals"])
    C_ba = functional_map(coef_b, coef_a, b["evals"], a["evals"])
    return Fa, Fb, C_ab, C_ba


def fm_loss(C_ab, C_ba, a, b):
    penalties = fmap_penalties(C_ab, C_ba, a["evals"], b["evals"])
    return penalties.orthogonality + penalties.bijectivity


def train(run: int, with_sw: bool):
    torch.manual_seed(run_seeds[run])
    net = EmbeddingMLP(n_energies, feature_dim, hidden=hidden).to(device=exp.device, dtype=dtype)
    optimizer = torch.optim.Adam(net.parameters(), lr=lr)
    generator = torch.Generator().manual_seed(run_seeds[run])
    shapes = data[run]
    for _ in range(n_steps):
        i, j = torch.randperm(n_train_shapes, generator=generator)[:2].tolist()
        Fa, Fb, C_ab, C_ba = maps_between(net, shapes[i], shapes[j])
        loss = fm_loss(C_ab, C_ba, shapes[i], shapes[j])
        if with_sw:
            sw = sliced_wasserstein(
                F.normalize(Fa, dim=1), F.normalize(Fb, dim=1), n_projections, seed=generator
            )
            loss = loss + sw_weight * sw.pow(2)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return net


models = {(run, sw): train(run, sw) for run in tqdm(range(n_seeds), desc="training") for sw in (False, True)}

# %% [markdown]
# ## Adaptive refinement at test time
#
# For each held-out pair, a copy of the FM+SW network is adapted for `refine_steps` Adam steps on the pair
# alone, with the functional-map penalties plus the entropic OT cost $\langle P, M\rangle$ between the two
# feature sets ($M_{ij} = \lVert f_i - g_j\rVert^2$ on unit features, log-domain Sinkhorn with
# $\varepsilon$ = `sinkhorn_reg`, envelope gradient). The point-to-point map is then read off the functional map
# of the adapted features, as for the other models. As a control, the same adaptation without the OT term
# (penalties only) shows how much of the gain the transport alignment itself brings.


# %%
def refine(net, a: dict, b: dict, with_transport: bool = True):
    net = copy.deepcopy(net)
    optimizer = torch.optim.Adam(net.parameters(), lr=refine_lr)
    for _ in range(refine_steps):
        Fa, Fb, C_ab, C_ba = maps_between(net, a, b)
        loss = fm_loss(C_ab, C_ba, a, b)
        if not with_transport:
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            continue
        cost = torch.cdist(F.normalize(Fb, dim=1), F.normalize(Fa, dim=1)).pow(2)  # (V_B, V_A)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a loose tolerance is enough for a gradient step
            transport = sinkhorn(None, None, cost, sinkhorn_reg, max_iter=100, tol=1e-4, grad="envelope")
        loss = loss + transport.value
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return net


def pair_error(net, a: dict, b: dict, mode: str = "fmap") -> float:
    truth = ground_truth_map(a["shape"].sphere_points, b["shape"].sphere_points).to(exp.device)
    with torch.no_grad():
        if mode == "nearest WKS":
            predicted = torch.cdist(b["wks"], a["wks"]).argmin(dim=1)
        else:
            features = (lambda x: x) if net is None else net
            coef_a = spectral_coefficients(features(a["wks"]), a["evecs"], a["mass"])
            coef_b = spectral_coefficients(features(b["wks"]), b["evecs"], b["mass"])
            C_ab = functional_map(coef_a, coef_b, a["evals"], b["evals"])
            predicted = fmap_to_pointwise(C_ab, a["evecs"], b["evecs"])
    return geodesic_error(predicted, truth, a["geodesics"], a["area"]).item()


rows = []
for run in tqdm(range(n_seeds), desc="evaluation"):
    shapes = data[run]
    for p, (ia, ib) in enumerate(test_pairs):
        a, b = shapes[ia], shapes[ib]
        rows += [
            {
                "method": "raw WKS, nearest neighbour",
                "seed": run,
                "pair": p,
                "error": pair_error(None, a, b, "nearest WKS"),
            },
            {"method": "raw WKS, functional map", "seed": run, "pair": p, "error": pair_error(None, a, b)},
            {"method": "FM", "seed": run, "pair": p, "error": pair_error(models[(run, False)], a, b)},
            {"method": "FM+SW", "seed": run, "pair": p, "error": pair_error(models[(run, True)], a, b)},
            {
                "method": "FM+SW+refinement",
                "seed": run,
                "pair": p,
                "error": pair_error(refine(models[(run, True)], a, b), a, b),
            },
        ]
        adapted_without_ot = refine(models[(run, True)], a, b, with_transport=False)
        rows.append(
            {
                "method": "FM+SW+adaptation without OT",
                "seed": run,
                "pair": p,
                "error": pair_error(adapted_without_ot, a, b),
            }
        )
results = pd.DataFrame(rows)
METHODS = [
    "raw WKS, nearest neighbour",
    "raw WKS, functional map",
    "FM",
    "FM+SW",
    "FM+SW+adaptation without OT",
    "FM+SW+refinement",
]
per_seed = results.groupby(["method", "seed"])["error"].mean().unstack().loc[METHODS]
per_seed["mean"] = per_seed.mean(axis=1)
per_seed

# %%
fig, ax = plt.subplots(figsize=(7, 3.2))
for run in range(n_seeds):
    ax.plot(METHODS, per_seed[run], marker="o", label=f"seed {run}")
ax.plot(METHODS, per_seed["mean"], marker="s", color="black", label="mean")
ax.set(
    ylabel="geodesic error / sqrt(area)",
    title=f"held-out correspondence error ({n_test_pairs} pairs per seed)",
)
ax.tick_params(axis="x", labelsize=7, rotation=15)
ax.legend(fontsize=8)
plt.tight_layout()
plt.show()

# %% [markdown]
# ## Claims
#
# 1. Learning works: the FM+SW model's error is below that of nearest-neighbour matching of the raw WKS (the
#    reference the plan names), mean over seeds.
# 2. The paper: adding the SW loss improves on the functional-map regularizers alone (FM+SW < FM). Recorded,
#    not required: at this scale it is **not reproduced** (see below).
# 3. The paper: the adaptive refinement improves further (FM+SW+refinement < FM+SW), mean over seeds. The
#    control without the OT term is reported next to it, not asserted.

# %%
mean = per_seed["mean"]
exp.check_below(
    "error FM+SW / raw-WKS nearest neighbour", mean["FM+SW"] / mean["raw WKS, nearest neighbour"], 1.0
)
exp.check_below("error FM+SW / FM", mean["FM+SW"] / mean["FM"], 1.0, required=False)
exp.check_below("error refined / FM+SW", mean["FM+SW+refinement"] / mean["FM+SW"], 1.0)
exp.check_below(
    "error refined / adapted without OT",
    mean["FM+SW+refinement"] / mean["FM+SW+adaptation without OT"],
    1.0,
    required=False,
)

# %%
# NBVAL_CHECK_OUTPUT
exp.report()

# %% [markdown]
# ## What this small run shows, and what it does not
#
# - **The functional-map pipeline works at this scale.** Cotangent Laplacian, WKS descriptors, the regularized
#   map and its nearest-neighbour conversion turn weak per-vertex descriptors (nearest-neighbour matching of
#   the raw WKS is close to chance on these near-spherical shapes) into far better maps, and unsupervised
#   training of the features with orthogonality and bijectivity penalties does not need a single label.
# - **The SW loss: not reproduced.** Adding $SW_2^2$ between the two shapes' feature distributions does not
#   lower the held-out error here; in our trials (weights 0.1 to 10, three seeds) it was level or slightly
#   worse. On our shapes every training pair is already a near-isometry of one common surface, so the feature
#   distributions of two shapes are nearly equal from the start and the SW term has little to correct; the
#   paper's gains are on human and animal scans with DiffusionNet features, 5k-vertex meshes and partial,
#   non-isometric pairs, where distribution alignment matters more.
# - **The refinement: the procedure helps, the OT term does not.** Ten steps of test-time adaptation lower the
#   held-out error of the FM+SW model in both seeds, as the paper reports. But the control row, the same
#   adaptation with the functional-map penalties only, does as well: at this scale the gain comes from
#   adapting the features to the pair, and the Sinkhorn alignment term adds nothing measurable (its cost, at
#   most 4 on unit features, is small next to the penalties, and we did not re-weight it). We read the
#   point-to-point map from the adapted functional map (not from the transport plan) and did not verify the
#   exact loss of the authors' refinement script, so this is our reading of the method.
# - **Scale.** `ci`: 600-vertex shapes, 16 training shapes, 200 steps, 5 held-out pairs, 2 seeds. The `paper`
#   profile uses 3,000 vertices, 80 training shapes, 50 eigenpairs, 2,000 steps and 20 pairs.
