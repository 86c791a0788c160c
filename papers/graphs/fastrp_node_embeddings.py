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
# # Fast and Accurate Network Embeddings via Very Sparse Random Projection
# *2019* · topic `graphs` · verdict **reproduce**
#
# ## The idea
#
# Many node-embedding methods (DeepWalk, node2vec, LINE, NetMF) do two things: they build a node
# similarity matrix that captures multi-hop neighbourhoods, then reduce its dimension (skip-gram, SVD).
# The paper argues that the quality comes from the first step, and that the second can be the cheapest
# dimension reduction there is: a **very sparse random projection**, which by the Johnson-Lindenstrauss
# lemma keeps the rows' inner products.
#
# FastRP's similarity is a weighted sum of powers of the random-walk transition matrix
# $\hat A = D^{-1} A$, with a degree normalization $L = \operatorname{diag}(d_j^{\beta})$ ($\beta < 0$
# damps the influence of hubs):
#
# $$S = \sum_{k=1}^{q} \alpha_k\, \hat A^k L .$$
#
# It is never formed. With a random $R \in \mathbb{R}^{n \times d}$ whose entries are
# $\pm 1/\sqrt{s d}$ with probability $s/2$ each and 0 otherwise ($s = 1/\sqrt n$),
#
# $$N_1 = \hat A\, L R, \qquad N_k = \hat A\, N_{k-1}, \qquad N = \sum_{k} \alpha_k N_k = S R,$$
#
# a handful of sparse-times-dense products, O(q · nnz(A) · d) in all.
#
# `paperlab.solvers.fastrp` implements it (checked against the formula with a dense naive oracle);
# `fastrp_similarity` forms S for the baseline that replaces the random projection by an SVD of the same
# matrix, and `random_walk_embedding` is a DeepWalk-like baseline (uniform walks, window co-occurrences,
# positive PMI, truncated SVD: the matrix that skip-gram factorizes implicitly).

# %% tags=["parameters"]
profile = "ci"
seed = 0
device = "auto"
n_nodes = 1000  # ci graph size; the paper profile uses 10 000 nodes at the same mean degree
n_blocks = 5
p_in = 0.04  # within-block edge probability at 1000 nodes (mean degree about 13)
p_out = 0.006  # between-block edge probability at 1000 nodes
n_components = 128  # embedding dimension d, the paper's
weights = [0.0, 0.0, 1.0, 1.0]  # alpha_1 .. alpha_4, one per power of the transition matrix
normalization_strength = -0.5  # beta, in the paper's range [-1, 0]; chosen before running, not tuned
n_graphs = 3  # SBM graphs per run; claims use the mean accuracy
n_walks = 10  # random-walk baseline: walks per node
walk_length = 40
window = 5

# %%
import time

import matplotlib.pyplot as plt
import pandas as pd
import scipy.sparse
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.manifold import SpectralEmbedding
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from tqdm.auto import tqdm

from paperlab.data import stochastic_block_model
from paperlab.experiment import require, setup
from paperlab.solvers import fastrp, fastrp_similarity, random_walk_embedding, randomized_svd

exp = setup(seed=seed, device=device, profile=profile)
for name, value in [
    ("n_nodes", n_nodes),
    ("n_blocks", n_blocks),
    ("n_components", n_components),
    ("n_graphs", n_graphs),
    ("n_walks", n_walks),
    ("walk_length", walk_length),
    ("window", window),
]:
    require(isinstance(value, int) and value >= 1, f"{name} must be a positive integer, got {value!r}")
require(n_nodes % n_blocks == 0, f"n_nodes must be a multiple of n_blocks, got {n_nodes} and {n_blocks}")
require(0 <= p_out <= p_in <= 1, f"need 0 <= p_out <= p_in <= 1, got p_in={p_in!r}, p_out={p_out!r}")
require(len(weights) >= 1, f"weights must be a non-empty list, got {weights!r}")
require(
    -2 <= normalization_strength <= 1,
    f"normalization_strength must be in [-2, 1], got {normalization_strength}",
)
n_nodes = exp.pick(ci=n_nodes, paper=max(n_nodes, 10_000))
n_graphs = exp.pick(ci=n_graphs, paper=max(n_graphs, 5))
require(n_components < n_nodes, f"n_components must be < n_nodes, got {n_components} >= {n_nodes}")
degree_scale = 1000 / n_nodes  # keep the mean degree of the 1000-node setting
dtype = torch.float64 if exp.device.type == "cpu" else torch.float32

# %% [markdown]
# ## Data: a stochastic block model that is not too easy
#
# `n_blocks` equal blocks; two nodes are joined with probability `p_in` inside a block and `p_out` across
# (scaled so that the mean degree stays about 13 at any size). With about 8.5 neighbours inside the own
# block and 4.8 outside, a node's block is far from obvious from its neighbours alone: a sparser, easier
# graph would put every method at 100% accuracy and make the comparison vacuous.

# %%
graphs = [
    stochastic_block_model(
        [n_nodes // n_blocks] * n_blocks,
        p_in * degree_scale,
        p_out * degree_scale,
        seed=exp.seed + g,
        dtype=dtype,
    )
    for g in range(n_graphs)
]
first = graphs[0]
degree = torch.sparse.sum(first.adjacency, dim=1).to_dense()
print(
    f"{n_graphs} graphs of {n_nodes} nodes; first graph: {first.adjacency._nnz() // 2} edges, "
    f"mean degree {degree.mean():.1f} (min {degree.min():.0f}, max {degree.max():.0f})"
)

# %% [markdown]
# ## Four embeddings of every graph, then a linear classifier
#
# - **FastRP**: the iterated sparse projection above.
# - **SVD of the same similarity**: S formed densely, embedded by its top-d singular directions $U_d \Sigma_d$
#   (the rows' inner products that the random projection approximates, made optimal). Same matrix,
#   different reduction: this isolates the paper's "it is the similarity, not the reduction" argument.
# - **Spectral embedding of raw A** (scikit-learn's Laplacian eigenmaps): a classic embedding that does
#   not use FastRP's multi-hop, degree-normalized similarity.
# - **Random walks + PPMI + SVD**: a DeepWalk-like baseline (`n_walks` walks of `walk_length` per node,
#   window `window`).
#
# Each embedding is standardized and fed to a logistic regression trained on a stratified half of the
# nodes and tested on the other half. Wall times are measured around each embedding only.


# %%
def timed(fn):
    if exp.device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    out = fn()
    if exp.device.type == "cuda":
        torch.cuda.synchronize()
    return out, time.perf_counter() - start


def svd_of_similarity(adjacency, graph_seed):
    similarity = fastrp_similarity(adjacency, weights, normalization_strength)
    factors = randomized_svd(similarity, n_components, seed=graph_seed)
    return factors.U * factors.S  # (n, d)


def spectral(adjacency, graph_seed):
    coo = adjacency.cpu().coalesce()
    if n_nodes <= 2000:  # small graphs: a dense matrix, the faster path in scikit-learn
        matrix, solver = coo.to_dense().numpy(), "arpack"
    else:  # large graphs: sparse, with LOBPCG (ARPACK's shift-invert LU fills in on a random graph)
        rows, cols = coo.indices().numpy()
        matrix = scipy.sparse.csr_matrix((coo.values().numpy(), (rows, cols)), shape=coo.shape)
        solver = "lobpcg"
    embedding = SpectralEmbedding(
        n_components, affinity="precomputed", eigen_solver=solver, random_state=graph_seed
    )
    return embedding.fit_transform(matrix)


def accuracy(embedding, labels, graph_seed):
    features = embedding.cpu().numpy() if isinstance(embedding, torch.Tensor) else embedding
    split = train_test_split(features, labels, test_size=0.5, random_state=graph_seed, stratify=labels)
    train_x, test_x, train_y, test_y = split
    classifier = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    return classifier.fit(train_x, train_y).score(test_x, test_y)


methods = {
    "FastRP": lambda A, s: fastrp(A, n_components, weights, normalization_strength, seed=s),
    "SVD of same similarity": svd_of_similarity,
    "spectral embedding of A": spectral,
    "random walks + PPMI + SVD": lambda A, s: random_walk_embedding(
        A, n_components, n_walks=n_walks, walk_length=walk_length, window=window, seed=s
    ),
}
rows = []
for g, graph in enumerate(tqdm(graphs, desc="graphs")):
    adjacency, labels, graph_seed = graph.adjacency.to(exp.device), graph.labels.numpy(), exp.seed + g
    for name, embed in methods.items():
        embedding, seconds = timed(lambda: embed(adjacency, graph_seed))  # noqa: B023 (called at once)
        rows.append(
            {
                "graph": g,
                "method": name,
                "accuracy": accuracy(embedding, labels, graph_seed),
                "time_s": seconds,
            }
        )
table = pd.DataFrame(rows)
summary = table.groupby("method", sort=False).agg(
    accuracy=("accuracy", "mean"), accuracy_std=("accuracy", "std"), time_s=("time_s", "median")
)
summary["time / FastRP"] = summary["time_s"] / summary.loc["FastRP", "time_s"]
summary.round(3)

# %% [markdown]
# ## Accuracy and wall time
#
# Left: mean test accuracy over the graphs (bars) and each graph's accuracy (dots). Right: median wall
# time of each embedding on this machine (log scale); times vary from run to run, the accuracies do not.

# %%
fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
names = list(methods)
colors = plt.rcParams["axes.prop_cycle"].by_key()["color"][: len(names)]
left.bar(range(len(names)), summary["accuracy"], color=colors, alpha=0.7, label="mean over graphs")
for i, name in enumerate(names):
    left.plot(
        [i] * n_graphs,
        table.loc[table.method == name, "accuracy"],
        "k.",
        ms=6,
        label="one graph" if i == 0 else None,
    )
low = table["accuracy"].min()
left.set(
    ylim=(max(0.0, low - 0.05), 1.0),
    xticks=range(len(names)),
    ylabel="test accuracy (50% labels)",
    title="Node classification on the SBM",
)
left.set_xticklabels([n.replace(" + ", "\n+ ").replace(" of ", "\nof ") for n in names], fontsize=8)
left.legend(fontsize=8, loc="lower right")
right.bar(range(len(names)), summary["time_s"], color=colors, alpha=0.7, label="median over graphs")
right.set(yscale="log", xticks=range(len(names)), ylabel="wall time (s)", title="Time to embed one graph")
right.set_xticklabels([n.replace(" + ", "\n+ ").replace(" of ", "\nof ") for n in names], fontsize=8)
right.legend(fontsize=8)
plt.show()

# %% [markdown]
# ## Claims
#
# The plan turns the paper's claims into bars on the mean accuracy over the graphs:
#
# - FastRP is within 2 points of the SVD of the *same* similarity matrix (the reduction matters little);
# - FastRP is within 2 points of the DeepWalk-like baseline, and faster than it;
# - FastRP is at least as accurate as a spectral embedding of raw A (the similarity matters). At this
#   scale all four methods land within about one point of each other and FastRP and the spectral
#   embedding tie to within a fraction of a point; in exploratory runs with other splits the spectral
#   embedding was up to a point ahead. This claim is measured and reported (NOT REPRODUCED when it
#   fails) but does not fail the notebook, since a tie can fall either way;
# - the best accuracy stays below 0.98, else the graph would be too easy for the comparison to mean anything.
#
# The speed claim is checked on the median times, but its ratio is printed above rather than in the
# report, because wall times differ between runs.
#
# In the `paper` profile (10 000 nodes, same mean degree, same d = 128) the first two claims do **not**
# hold: FastRP's accuracy falls far below both baselines' (see the notes at the end). There they are
# measured and reported as NOT REPRODUCED rather than required.

# %%
acc = summary["accuracy"]
fast = acc["FastRP"]
holds_at_this_scale = exp.profile == "ci"  # measured to fail at 10 000 nodes with d = 128
exp.check(
    "fastrp_minus_svd_same_similarity",
    fast >= acc["SVD of same similarity"] - 0.02,
    value=fast - acc["SVD of same similarity"],
    expect=">= -0.02",
    required=holds_at_this_scale,
)
exp.check(
    "fastrp_minus_random_walk",
    fast >= acc["random walks + PPMI + SVD"] - 0.02,
    value=fast - acc["random walks + PPMI + SVD"],
    expect=">= -0.02",
    required=holds_at_this_scale,
)
exp.check(
    "fastrp_minus_spectral_of_A",
    fast >= acc["spectral embedding of A"],
    value=fast - acc["spectral embedding of A"],
    expect=">= 0",
    required=False,
)
exp.check("best_accuracy", acc.max() < 0.98, value=acc.max(), expect="< 0.98")
exp.check(
    "fastrp_faster_than_random_walk",
    summary.loc["FastRP", "time_s"] < summary.loc["random walks + PPMI + SVD", "time_s"],
    expect="time ratio > 1 (printed above)",
)

# %%
# NBVAL_CHECK_OUTPUT
exp.report()

# %% [markdown]
# ## What this small run shows, and what it does not
#
# - On a 1000-node SBM of mean degree about 13, FastRP's 128-D embedding classifies nodes as well as an
#   exact SVD of the same similarity matrix and as a DeepWalk-like random-walk embedding (all within about a
#   point), while taking a few hundredths of a second: tens of times less than either baseline here. The
#   paper's "over 4,000 times faster" is against skip-gram training on large graphs; our random-walk
#   baseline replaces skip-gram by an explicit PPMI + SVD, which is already much cheaper, so the ratio here
#   is far smaller and says nothing about that number.
# - The paper's thesis that quality comes from the similarity matrix is only half visible: the SVD and the
#   random projection of the same S agree (the reduction does not matter), but a plain spectral embedding of
#   raw A is just as good on this graph: FastRP does not beat it by any margin. An SBM's blocks are exactly what the leading
#   Laplacian eigenvectors capture, so this graph does not reward multi-hop, degree-normalized similarities
#   the way the paper's real networks (BlogCatalog, Flickr, YouTube) do. The plan's pre-check found the
#   comparison regime-sensitive (the SVD of S beat FastRP by 2-10 points on harder graphs,
#   p_in = 0.035 or 0.03): we report the planned setting and did not re-tune it.
# - $\beta = -0.5$ was fixed before running; exploratory runs with $\beta = 0$ and $\beta = -1$ on the same
#   graphs moved FastRP's accuracy by under a point (this SBM has nearly uniform degrees, so L does little).
# - The DeepWalk-like baseline is a stand-in (no skip-gram training, no negative sampling); node2vec and the
#   paper's multi-label benchmarks are not reproduced.
# - **FastRP does not scale in n at a fixed d on this graph family.** The `paper` profile (10 000-node
#   graphs at the same mean degree, five graphs, d = 128; about 4 minutes on 2 CPU cores, float64) gave
#   mean accuracies of 0.697 for FastRP against 0.944 for the SVD of the same similarity, 0.943 for the
#   spectral embedding and 0.936 for the random-walk baseline (seed 0). Exploratory single runs of FastRP
#   alone (first graph, seed 0): 0.93 / 0.82 / 0.68 at 1 000 / 3 000 / 10 000 nodes with d = 128, and
#   0.95 / 0.95 / 0.85 with d = 512 (0.90 at 10 000 with `normalize_powers=True`, the authors' code
#   option). The random projection approximates the inner products of the rows of S with an error of
#   order $\|s_i\| \|s_j\| / \sqrt d$; as the graph grows, the 4-hop rows spread over more nodes, the
#   block signal in those inner products shrinks relative to that error, and the SVD, which keeps the
#   top directions instead of random ones, does not suffer. So "as good as the SVD of the same
#   similarity at a fraction of the cost" holds here only for small graphs or a dimension that grows with
#   the graph; in the paper profile the first two claims are reported as NOT REPRODUCED. Its dense
#   similarity and co-occurrence matrices need about 1 GB each.
