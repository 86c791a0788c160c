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
# # Representation Tradeoffs for Hyperbolic Embeddings
# *2018* · topic `dimensionality_reduction` · verdict **reproduce**
#
# ## The idea
#
# Hyperbolic space grows exponentially with the radius, like a tree grows with its depth, so trees fit
# in the hyperbolic plane almost without distortion, whereas any Euclidean embedding of a large tree in
# few dimensions must crush its branches together. The paper makes this constructive and
# optimization-free.
#
# **Combinatorial embedding (Sarkar's construction).** In the Poincaré disk, with
# $d(x, y) = \operatorname{arcosh}\big(1 + 2\|x - y\|^2 / ((1 - \|x\|^2)(1 - \|y\|^2))\big)$, put the
# root at the origin. For a node $u$ with parent $p$, the Möbius isometry $x \mapsto (-z_u) \oplus x$
# moves $u$ to 0; its $\deg(u) - 1$ children are placed on the circle of hyperbolic radius $\tau w$ at
# angles evenly spaced away from the parent, and mapped back. Every edge has length exactly $\tau w$, and
# a larger scale $\tau$ makes paths through the tree nearly geodesic, so that
# $d(z_a, z_b) / \tau \to d_T(a, b)$: the distortion falls like $1/\tau$. The price is precision: a node
# at tree depth $h$ sits at hyperbolic radius $\tau h$, where $1 - \|z\| \approx 2 e^{-\tau h}$, so
# float64 runs out of bits near radius 36.
#
# **h-MDS.** On the hyperboloid $x_0^2 - \|\bar x\|^2 = 1$ one has $\cosh d(x, y) = x_0 y_0 -
# \langle \bar x, \bar y \rangle$, hence $-\cosh(D) = \bar X \bar X^\top - x_0 x_0^\top$: a matrix with
# one negative and $k$ positive eigenvalues. The top $k$ eigenpairs give $\bar X$ up to an isometry, and
# $x = \bar x / (1 + \sqrt{1 + \|\bar x\|^2})$ returns to the Poincaré ball: exact recovery from exact
# distances, the hyperbolic twin of classical MDS.
#
# The quality measures are the average distortion $\binom{n}{2}^{-1}\sum_{a<b} |d(z_a, z_b) -
# d_T(a, b)| / d_T(a, b)$ and the MAP of graph reconstruction (is each node's nearest embedded point set
# its set of tree neighbours?). `paperlab.solvers.combinatorial_tree_embedding`, `h_mds`,
# `classical_mds`, `paperlab.distances.poincare_cdist` and `paperlab.metrics.{average_distortion,
# graph_reconstruction_map}` implement it.

# %% tags=["parameters"]
profile = "ci"
seed = 0
device = "auto"
branching = 3  # balanced tree: children per node
depth = 6  # depth of both trees; depth x max(taus) must stay below ~36 for float64
taus = [1.0, 2.0, 4.0]  # scales of the combinatorial embedding
mean_offspring = 3.0  # Galton-Watson tree: Poisson offspring mean
min_nodes = 200  # Galton-Watson trees smaller than this are redrawn
max_nodes = 1000  # and so are trees larger than this
n_points = 100  # h-MDS: points sampled in the hyperbolic plane
point_radius = 3.0  # ... within this hyperbolic radius
noise = 0.01  # h-MDS: relative noise on the distances for the noisy run

# %%
import matplotlib.pyplot as plt
import networkx as nx
import torch
from matplotlib.collections import LineCollection
from scipy.sparse.csgraph import shortest_path

from paperlab.distances import poincare_cdist
from paperlab.experiment import require, setup
from paperlab.metrics import average_distortion, graph_reconstruction_map
from paperlab.solvers import classical_mds, combinatorial_tree_embedding, h_mds

exp = setup(seed=seed, device=device, profile=profile)
for name, value in [("branching", branching), ("depth", depth), ("n_points", n_points)]:
    require(isinstance(value, int) and value >= 2, f"{name} must be an integer >= 2, got {value!r}")
require(len(taus) >= 2 and all(t > 0 for t in taus), f"taus must be >= 2 positive scales, got {taus!r}")
require(mean_offspring > 1, f"mean_offspring must be > 1 (else the tree dies out), got {mean_offspring}")
require(0 < min_nodes < max_nodes, f"need 0 < min_nodes < max_nodes, got {min_nodes}, {max_nodes}")
require(0 < point_radius <= 10, f"point_radius must be in (0, 10], got {point_radius}")
require(noise >= 0, f"noise must be >= 0, got {noise}")
depth = exp.pick(ci=depth, paper=max(depth, 8))
max_nodes = exp.pick(ci=max_nodes, paper=max(max_nodes, 10_000))
require(depth * max(taus) <= 34, f"depth x max(taus) must be <= 34 for float64, got {depth * max(taus)}")

# %% [markdown]
# ## Data: two trees rooted at their centre
#
# A balanced tree (`branching`-ary, `depth` levels) and a Galton-Watson tree with Poisson offspring cut
# at the same depth (redrawn until its size is in range), whose degrees vary from node to node. Tree
# distances come from SciPy's breadth-first shortest paths, independently of the embedding.


# %%
def galton_watson_tree(rng):
    """Edges of a Poisson Galton-Watson tree cut at ``depth``, redrawn until its size is in range."""
    while True:
        edges, frontier, n = [], [0], 1
        for _ in range(depth):
            next_frontier = []
            for parent in frontier:
                for _ in range(rng.poisson(mean_offspring)):
                    edges.append((parent, n))
                    next_frontier.append(n)
                    n += 1
            frontier = next_frontier
        if min_nodes <= n <= max_nodes:
            return nx.Graph(edges)


trees = {
    "balanced": nx.balanced_tree(branching, depth),
    "Galton-Watson": galton_watson_tree(exp.rng),
}
data = {}
for name, graph in trees.items():
    adjacency = nx.to_scipy_sparse_array(graph, nodelist=range(graph.number_of_nodes()))
    data[name] = {
        "edges": torch.tensor(list(graph.edges()), device=exp.device),
        "adjacency": torch.from_numpy(adjacency.toarray() > 0).to(exp.device),
        "distances": torch.from_numpy(shortest_path(adjacency, unweighted=True)).to(exp.device),
    }
    degrees = [d for _, d in graph.degree()]
    print(f"{name}: {graph.number_of_nodes()} nodes, max degree {max(degrees)}")

# %% [markdown]
# ## Combinatorial embedding in 2-D versus 2-D Euclidean MDS
#
# For each tree and each $\tau$, embed, divide the hyperbolic distances by $\tau$ and compare with the tree
# distances. The baseline is classical (Torgerson) MDS of the same tree distances in the Euclidean plane.

# %%
results = {}
for name, d in data.items():
    true = d["distances"]
    for tau in taus:
        embedding = combinatorial_tree_embedding(d["edges"], tau=tau, root=0)
        embedded = poincare_cdist(embedding.points) / tau
        results[name, f"tau={tau:g}"] = {
            "distortion": average_distortion(embedded, true).item(),
            "map": graph_reconstruction_map(embedded, d["adjacency"]).item(),
            "max_norm": torch.linalg.vector_norm(embedding.points, dim=1).max().item(),
            "max_radius": embedding.max_radius,
            "points": embedding.points,
        }
    euclidean = classical_mds(true, n_components=2).points
    embedded = torch.cdist(euclidean, euclidean, compute_mode="donot_use_mm_for_euclid_dist")
    results[name, "Euclidean MDS"] = {
        "distortion": average_distortion(embedded, true).item(),
        "map": graph_reconstruction_map(embedded, d["adjacency"]).item(),
        "points": euclidean,
    }
for (name, method), r in results.items():
    radius = f"  max radius {r['max_radius']:.1f}  1-|x| {1 - r['max_norm']:.1e}" if "max_norm" in r else ""
    print(f"{name:14s} {method:14s} distortion {r['distortion']:.3f}  MAP {r['map']:.3f}{radius}")

# %%
fig, axes = plt.subplots(1, 3, figsize=(15, 5))
edges = data["balanced"]["edges"].cpu().numpy()
for ax, method in zip(axes[:2], [f"tau={taus[0]:g}", "Euclidean MDS"], strict=True):
    points = results["balanced", method]["points"].cpu().numpy()
    ax.add_collection(LineCollection(points[edges], linewidths=0.4, colors="grey", label="tree edges"))
    ax.scatter(points[:, 0], points[:, 1], s=3, c="tab:blue", label="nodes")
    if method.startswith("tau"):
        ax.add_patch(plt.Circle((0, 0), 1, fill=False, color="black", label="boundary of the disk"))
    ax.set_aspect("equal")
    ax.autoscale()
    ax.set_xlabel("coordinate 1")
    ax.set_ylabel("coordinate 2")
    ax.set_title(f"balanced tree: {'Poincaré disk, ' + method if method.startswith('tau') else method}")
    ax.legend(loc="upper right", fontsize=8)
for name, marker in zip(data, ["o", "s"], strict=True):
    axes[2].plot(taus, [results[name, f"tau={t:g}"]["distortion"] for t in taus], marker=marker, label=name)
    axes[2].axhline(
        results[name, "Euclidean MDS"]["distortion"], ls="--", lw=1, label=f"{name}: Euclidean MDS"
    )
axes[2].set_xlabel("scale tau")
axes[2].set_ylabel("average distortion")
axes[2].set_title("Distortion of the 2-D combinatorial embedding")
axes[2].legend(fontsize=8)
plt.tight_layout()
plt.show()

# %% [markdown]
# (Edges are drawn as straight segments, not as hyperbolic geodesics.)
#
# ## h-MDS: recovering points from their hyperbolic distances
#
# `n_points` points of the hyperbolic plane, uniform in angle and in hyperbolic radius up to
# `point_radius`; h-MDS receives only their distance matrix, once exact and once with symmetric relative
# noise of size `noise`.

# %%
angle = 2 * torch.pi * torch.rand(n_points, generator=exp.generator, dtype=torch.float64)
radius = point_radius * torch.rand(n_points, generator=exp.generator, dtype=torch.float64)
points = (torch.tanh(radius / 2)[:, None] * torch.stack([angle.cos(), angle.sin()], dim=1)).to(exp.device)
exact = poincare_cdist(points)
recovered = h_mds(exact, n_components=2)
hmds_error = (poincare_cdist(recovered.points) - exact).abs().max().item()
perturbation = noise * torch.randn(n_points, n_points, generator=exp.generator, dtype=torch.float64)
perturbation = torch.triu(perturbation, diagonal=1)
noisy = exact * (1 + perturbation + perturbation.T).to(exp.device)
noisy_recovered = h_mds(noisy, n_components=2)
noisy_error = average_distortion(poincare_cdist(noisy_recovered.points), exact).item()
input_error = average_distortion(noisy, exact).item()
print(f"exact input: max |d_rec - d| = {hmds_error:.2e}, negative eigenvalues: {recovered.n_negative}")
print(f"noisy input: input distortion {input_error:.4f}, recovered-vs-true distortion {noisy_error:.4f}")

# %% [markdown]
# ## Claims

# %%
best = {name: max(results[name, f"tau={t:g}"]["map"] for t in taus) for name in data}
max_norm = max(r["max_norm"] for r in results.values() if "max_norm" in r)
exp.check("no_point_reaches_boundary", max_norm < 1, value=1 - max_norm, expect="1 - max |x| > 0")
exp.check_above("balanced_best_tau_map", best["balanced"], 0.95)
exp.check_above(
    "balanced_map_gain_over_euclidean_mds",
    best["balanced"] - results["balanced", "Euclidean MDS"]["map"],
    0.15,
)
exp.check_above("galton_watson_best_tau_map", best["Galton-Watson"], 0.95, required=False)
exp.check_above(
    "galton_watson_map_gain_over_euclidean_mds",
    best["Galton-Watson"] - results["Galton-Watson", "Euclidean MDS"]["map"],
    0.15,
)
for name in data:
    distortions = [results[name, f"tau={t:g}"]["distortion"] for t in taus]
    exp.check(
        f"{name.lower().replace('-', '_')}_distortion_falls_with_tau",
        all(a > b for a, b in zip(distortions, distortions[1:])),
        value=distortions[-1],
        expect="strictly decreasing over taus",
    )
exp.check_below("hmds_exact_recovery_max_error", hmds_error, 1e-6)

# %%
# NBVAL_CHECK_OUTPUT
exp.report()

# %% [markdown]
# ## What this small run shows, and what it does not
#
# The combinatorial construction embeds trees of a thousand nodes in the hyperbolic *plane*, with no
# optimization, so that graph neighbourhoods are recovered almost perfectly (MAP near 1), while the best
# Euclidean plane embedding of the same distances (classical MDS) mixes the branches up; the average
# distortion falls steadily as $\tau$ grows, and every point stays inside the disk in float64 because
# depth $\times\ \tau \le 24$. h-MDS returns the exact configuration (up to an isometry) from exact
# distances, and with noisy distances its output stays close to the truth.
#
# What it does not show: the paper's deep trees (height ~50) need $\tau h$ far beyond 36 and hence
# multi-precision arithmetic, which is not implemented here; the paper profile only goes to depth 8. The
# 2-D construction is Sarkar's; the paper's higher-dimensional variant (spreading children with
# coding-theoretic directions) and its precision-distortion bound are not reproduced. The MAP > 0.95 bar
# was set for the balanced tree; on Galton-Watson trees, whose degrees vary, it is recorded without being
# required.
