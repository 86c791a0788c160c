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
# # Efficient Nearest Neighbor Search for Cross-Encoder Models using Matrix Factorization
# *year not given in the catalog* · topic `low_rank` · verdict **reproduce**
#
# ## The idea
#
# A cross-encoder scores a (query, item) pair jointly, $s = f(q, x)$, which is accurate but gives no
# vectors to index: finding a query's top-$k$ items means calling $f$ on all $n$ items. ANNCUR treats
# the score matrix as approximately low-rank. Offline, $f$ scores $k_q$ **anchor queries** against all
# items, $R \in \mathbb{R}^{k_q \times n}$. A test query is scored exactly on $k_i$ **anchor items**
# only, $c_q = f(q, I_{anc}) \in \mathbb{R}^{k_i}$, and its scores on all items follow from the CUR rule
# with the pseudo-inverse of the intersection block,
#
# $$\hat s_q = c_q \, (R_{:, I_{anc}})^{+} R = c_q E, \qquad E = (R_{:, I_{anc}})^{+} R \in \mathbb{R}^{k_i \times n},$$
#
# so $E$ acts as item embeddings and $c_q$ as a query embedding. With a budget of $B$ calls of $f$ per
# query, the $B - k_i$ items with the highest $\hat s_q$ are scored exactly and the best $k$ of all
# exactly scored items are returned. The approximation is exact when the score matrix has rank at most
# $k_i$ (tested in `tests/solvers/test_anncur.py`). The baseline is retrieve-then-rerank: a dual
# encoder $g(q)^\top h(x)$ distilled on the same anchor scores picks $B$ items, which $f$ re-ranks.
#
# The paper's pretrained cross-encoder is replaced by `paperlab.models.SyntheticCrossEncoder`, a fixed
# random MLP $s(q, x) = w^\top \tanh(A q + B x + \gamma C (q \odot x) + b)$ on 64-dimensional
# embeddings. The product term matters: without it the item-only term $Bx$ dominates and every query
# gets nearly the same top-$k$, which would make the comparison trivial, so we check that top-20 sets
# differ between queries.

# %% tags=["parameters"]
profile = "ci"
seed = 0
device = "auto"
dim = 64  # width of query and item embeddings
interaction = 1.0  # gamma, weight of the q * x term of the cross-encoder
n_anchor_queries = 100  # k_q
n_anchor_items = 25  # k_i, items every test query is scored on first
budgets = [100, 200]  # B, cross-encoder calls per test query
k = 20  # top-k to retrieve
n_rounds_adaptive = 4  # rounds of the adaptive variant
dual_hidden = 128  # hidden width of each dual-encoder tower
dual_dim = 64  # dual-encoder embedding width
dual_steps = 250  # full-batch Adam steps of the dual encoder

# %%
import matplotlib.pyplot as plt
import torch
from tqdm.auto import tqdm

from paperlab.experiment import require, setup
from paperlab.models import EmbeddingMLP, SyntheticCrossEncoder
from paperlab.solvers import anncur_search, topk_recall

exp = setup(seed=seed, device=device, profile=profile)
n_items = exp.pick(ci=1000, paper=2000)
n_test_queries = exp.pick(ci=50, paper=500)
for name, value in (
    ("dim", dim),
    ("n_anchor_queries", n_anchor_queries),
    ("n_anchor_items", n_anchor_items),
    ("k", k),
    ("n_rounds_adaptive", n_rounds_adaptive),
    ("dual_hidden", dual_hidden),
    ("dual_dim", dual_dim),
    ("dual_steps", dual_steps),
):
    require(isinstance(value, int) and value >= 1, f"{name} must be a positive integer, got {value!r}")
require(
    isinstance(interaction, (int, float)) and interaction >= 0,
    f"interaction must be >= 0, got {interaction!r}",
)
require(
    all(isinstance(b, int) and max(n_anchor_items, k) < b <= n_items for b in budgets),
    f"budgets must be integers in ({max(n_anchor_items, k)}, {n_items}], got {budgets!r}",
)

# %% [markdown]
# ## The cross-encoder and its score matrices
#
# Queries and items are standard Gaussian vectors; $R$ holds the anchor-query scores (the offline
# cost, $k_q n$ calls) and $S$ the exact scores of the test queries, used only as ground truth.

# %%
cross_encoder = SyntheticCrossEncoder(dim, interaction=interaction, seed=exp.generator).to(exp.device)
items, anchor_queries, test_queries = (
    torch.randn(n, dim, generator=exp.generator).to(exp.device)
    for n in (n_items, n_anchor_queries, n_test_queries)
)
R = cross_encoder.score_all(anchor_queries, items)  # (k_q, n)
S = cross_encoder.score_all(test_queries, items)  # (n_test, n), ground truth only
global_top = S.mean(0).topk(k).indices
query_top = S.topk(k, dim=1).indices
overlap = float((query_top.unsqueeze(2) == global_top).any(2).float().mean())
singular = torch.linalg.svdvals(torch.cat([R, S]))
print(f"mean overlap of a query's top-{k} with the global top-{k}: {overlap:.3f}")
print(
    f"singular values sigma_j / sigma_1 at j = 10, 25, 50: "
    f"{[round(float(singular[j] / singular[0]), 3) for j in (10, 25, 50)]}"
)

# %% [markdown]
# ## The dual-encoder baseline, distilled on the anchor scores
#
# Two towers, each `EmbeddingMLP(64 -> 128 -> 64)` (about 17 k parameters apiece), score
# $g(q)^\top h(x)$ and are fitted by full-batch Adam with a cosine schedule to the standardized anchor
# scores $R$ (all $k_q n$ pairs, the same supervision ANNCUR gets). We record the training loss to
# check that it has converged, and the loss on the test queries to see how well it generalizes.

# %%
query_tower = EmbeddingMLP(dim, dual_dim, hidden=(dual_hidden,)).to(exp.device)
item_tower = EmbeddingMLP(dim, dual_dim, hidden=(dual_hidden,)).to(exp.device)
parameters = [*query_tower.parameters(), *item_tower.parameters()]
optimizer = torch.optim.Adam(parameters, lr=3e-3)
schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, dual_steps)
center, scale = R.mean(), R.std()
losses = []
for _ in tqdm(range(dual_steps), desc="dual encoder"):
    loss = ((query_tower(anchor_queries) @ item_tower(items).T - (R - center) / scale) ** 2).mean()
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    schedule.step()
    losses.append(loss.item())
with torch.no_grad():
    dual_scores = query_tower(test_queries) @ item_tower(items).T  # (n_test, n)
test_loss = float(((dual_scores - (S - center) / scale) ** 2).mean())
tail = len(losses) // 10
plateau_change = abs(losses[-tail] - losses[-1]) / losses[-1]  # relative change over the last 10% of steps
print(
    f"train loss {losses[-1]:.3f} (changed {plateau_change:.1%} over the last {tail} steps), test loss {test_loss:.3f}"
)

# %% [markdown]
# ## Retrieval at equal cost
#
# For each budget $B$: ANNCUR spends $k_i$ calls on the anchor items and $B - k_i$ on its best
# approximate items; the adaptive variant spends the $B - k_i$ calls over several rounds, re-fitting
# the approximation with every item scored so far; retrieve-then-rerank spends all $B$ calls
# re-ranking the dual encoder's top $B$. Recall@$k$ is measured against the exhaustive top-$k$
# ($n$ calls per query).

# %%
anchor_items = torch.randperm(n_items, generator=exp.generator)[:n_anchor_items].to(exp.device)
score_fn = cross_encoder.scorer(test_queries, items)
recalls = {"ANNCUR": [], f"ANNCUR, {n_rounds_adaptive} rounds": [], "dual encoder + rerank": []}
for budget in budgets:
    for name, rounds in (("ANNCUR", 1), (f"ANNCUR, {n_rounds_adaptive} rounds", n_rounds_adaptive)):
        result = anncur_search(score_fn, R, anchor_items, S[:, anchor_items], budget, k, n_rounds=rounds)
        recalls[name].append(float(topk_recall(result.indices, S, k).mean()))
    shortlist = dual_scores.topk(budget, dim=1).indices  # (n_test, B)
    reranked = shortlist.gather(1, score_fn(shortlist).topk(k, dim=1).indices)  # (n_test, k)
    recalls["dual encoder + rerank"].append(float(topk_recall(reranked, S, k).mean()))
for name, values in recalls.items():
    print(f"{name:>24}: " + ", ".join(f"B={b}: {r:.3f}" for b, r in zip(budgets, values)))

# %%
fig, (ax_recall, ax_loss) = plt.subplots(1, 2, figsize=(10, 4), dpi=100)
for (name, values), marker in zip(recalls.items(), "os^"):
    ax_recall.plot(budgets, values, marker=marker, label=name)
ax_recall.plot(budgets, [b / n_items for b in budgets], "k:", label="random B items")
ax_recall.set(
    xlabel="cross-encoder calls per query (B)",
    ylabel=f"recall@{k}",
    title=f"Recall vs cost ({n_items} items, exhaustive = {n_items} calls)",
)
ax_recall.legend()
ax_loss.semilogy(losses, label="train (anchor queries)")
ax_loss.axhline(test_loss, color="C1", linestyle="--", label="test queries, final")
ax_loss.set(xlabel="Adam step", ylabel="MSE on standardized scores", title="Dual-encoder distillation")
ax_loss.legend()
plt.tight_layout()
plt.show()

# %% [markdown]
# ## Claims
#
# Sanity of the setup (required): test queries' top-20 sets are not the global top-20 (mean overlap
# below 0.5). The dual encoder's loss flattening at the end of training is printed above but not
# checked: its learning rate decays to zero, so the loss would flatten anyway. What ANNCUR must do
# (required): recall@20 at the largest budget at least three times that of picking B random items,
# with B well under the exhaustive n calls. The paper's comparison
# claims, recall@20 of ANNCUR above that of the distilled dual encoder + rerank at B = 100 and 200, and
# the adaptive rounds improving on plain ANNCUR, are recorded as not required (see below).

# %%
exp.check_below("top20_overlap_with_global", overlap, 0.5)
exp.check_above("anncur_recall_vs_random_ratio", recalls["ANNCUR"][-1] / (budgets[-1] / n_items), 3.0)
for budget, ours, dual in zip(budgets, recalls["ANNCUR"], recalls["dual encoder + rerank"]):
    exp.check(
        f"anncur_beats_dual_encoder_B{budget}", ours > dual, value=ours - dual, expect="> 0", required=False
    )
adaptive_gain = recalls[f"ANNCUR, {n_rounds_adaptive} rounds"][-1] - recalls["ANNCUR"][-1]
exp.check("adaptive_rounds_improve", adaptive_gain > 0, value=adaptive_gain, expect="> 0", required=False)

# %%
# NBVAL_CHECK_OUTPUT
exp.report()

# %% [markdown]
# ## What this small run shows, and what it does not
#
# ANNCUR works as a retrieval method here: with a few percent of the exhaustive calls it recovers a
# large share of each query's true top-20, from nothing but the cross-encoder's own scores, on a
# scorer whose top-20 sets are strongly query-dependent and whose score matrix is far from low rank.
#
# The paper's headline comparison is not reproduced at this scale: the distilled dual encoder with
# re-ranking is on par or ahead. The synthetic setting favours the dual encoder. Queries and items
# are raw 64-dimensional features from which the cross-encoder is a smooth function, so towers
# trained on $k_q n$ score pairs generalize to new queries; in the paper the dual encoder must
# generalize from text, and ANNCUR's edge comes from the cross-encoder's better-ranked scores. The
# adaptive variant, with every scored item added to the anchors, is not consistently better here:
# when the scored set grows past $k_q$ the pseudo-inverse solves an underdetermined system, and the
# added items are all high-scoring, which makes the fit poorly conditioned. Neither conclusion
# transfers to pretrained cross-encoders; the `paper` profile only enlarges the item and query sets.
