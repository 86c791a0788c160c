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
# # Maestro: Uncovering Low-Rank Structures via Trainable Decomposition
# *year not listed in the catalog* · topic `low_rank` · verdict **reproduce**
#
# ## The idea
#
# Maestro trains a layer directly in factorized form, as an ordered sum of rank-1 components,
#
# $$W = U V = \sum_{i=1}^{r} u_i v_i^\top, \qquad W_b = U_{:, :b} V_{:b, :} = \sum_{i \le b} u_i v_i^\top ,$$
#
# and replaces the full layer by $W_b$ with a random rank $b \sim \mathcal D$ at every step
# (**ordered dropout** over rank components). Component $i$ is used whenever any $b \ge i$ is drawn,
# so the first components carry the most useful directions. For a linear map with uniform
# $\mathcal D$ the objective $\mathbb E_b \|W_b - M\|_F^2$ is minimized by the truncated SVD of $M$
# **in order**: $\mathrm{span}(u_1, \dots, u_k)$ is the top-$k$ left singular subspace for every $k$.
# For a linear autoencoder on centered data $x$, $\mathbb E_b\, \mathbb E_x \|x - W_b x\|^2$ has the
# ordered PCA directions as its optimum. A plain factorized layer ($b = r$ always) only finds the top-$r$
# subspace, in an arbitrary basis. After training, the model is a nest of sub-models: truncate to any
# prefix $b$. The paper also adds a hierarchical group lasso $\sum_b \|U_{:, b:}\|_F + \|V_{b:, :}\|_F$
# and removes tail components whose norm $\|u_i\|\|v_i\|$ falls below a threshold (progressive
# shrinking); `paperlab.models.OrderedLowRankLinear` implements the layer, the sampler, truncation,
# the penalty and the shrinking step.
#
# We check the theorem on sklearn's 8x8 digits: the angle between the span of the first $k$ learned
# components and the top-$k$ PCA subspace (`paperlab.metrics.principal_angles`), and then the
# accuracy of a ReLU network cut to ranks 2 to 32.

# %% tags=["parameters"]
profile = "ci"
seed = 0
device = "auto"
code_rank = 16  # r of the linear autoencoder 64 -> r -> 64
checked_ranks = [1, 2, 4, 8]  # prefixes k compared with the top-k PCA subspace
angle_bound = 10.0  # degrees: "recovered" means max principal angle below this
mlp_rank = 32  # r of the hidden layer of the ReLU network
mlp_eval_ranks = [2, 4, 8, 16, 32]
lr = 1e-2

# %%
import matplotlib.pyplot as plt
import torch
from sklearn.datasets import load_digits
from torch import nn
from tqdm.auto import tqdm

from paperlab.experiment import require, setup
from paperlab.metrics import principal_angles
from paperlab.models import OrderedLowRankLinear

exp = setup(seed=seed, device=device, profile=profile)
require(
    isinstance(code_rank, int) and 1 <= code_rank <= 64,
    f"code_rank must be an int in [1, 64], got {code_rank!r}",
)
require(
    isinstance(checked_ranks, list) and all(isinstance(k, int) and 1 <= k < code_rank for k in checked_ranks),
    f"checked_ranks must be ints in [1, code_rank), got {checked_ranks!r}",
)
require(
    isinstance(angle_bound, (int, float)) and 0 < angle_bound < 90,
    f"angle_bound must be in (0, 90), got {angle_bound!r}",
)
require(
    isinstance(mlp_rank, int) and 1 <= mlp_rank <= 64, f"mlp_rank must be an int in [1, 64], got {mlp_rank!r}"
)
require(
    isinstance(mlp_eval_ranks, list)
    and all(isinstance(b, int) and 1 <= b <= mlp_rank for b in mlp_eval_ranks),
    f"mlp_eval_ranks must be ints in [1, mlp_rank], got {mlp_eval_ranks!r}",
)
require(isinstance(lr, float) and lr > 0, f"lr must be a positive float, got {lr!r}")
ae_steps = exp.pick(ci=2000, paper=20_000)
mlp_steps = exp.pick(ci=400, paper=6000)

images, labels = load_digits(return_X_y=True)
x = torch.tensor(images, dtype=torch.float32, device=exp.device) / 16.0
x = x - x.mean(dim=0)  # centered, so PCA directions are the right singular vectors of x
y = torch.tensor(labels, device=exp.device)
pca_directions = torch.linalg.svd(x, full_matrices=False)[2].T  # (64, 64), columns by decreasing variance

# %% [markdown]
# ## Linear autoencoder $64 \to 16 \to 64$
#
# The encoder is $V$ and the decoder $U$ of one `OrderedLowRankLinear(64, 64, rank=16)`. The full-batch
# loss $\frac1n\|X - X W_b^\top\|_F^2$ only depends on $X^\top X$, so we evaluate it exactly on the
# $64 \times 64$ factor $R / \sqrt n$ of $X = QR$ instead of the 1797 images. Three trainings from the
# same initialization:
#
# * **sampled OD**: the paper's sampler, one rank $b \sim \mathrm{Uniform}\{1..16\}$ per step;
# * **expected OD**: the same objective averaged over all 16 ranks at once (`prefix_outputs`);
# * **plain**: always the full rank 16.

# %%
square_root = torch.linalg.qr(x, mode="r")[1] / x.shape[0] ** 0.5  # (64, 64), R^T R / n = X^T X / n


def train_autoencoder(mode):
    layer = OrderedLowRankLinear(
        64, 64, code_rank, bias=False, ordered_dropout=mode != "plain", generator=seed
    )
    layer.to(exp.device)
    optimizer = torch.optim.Adam(layer.parameters(), lr=lr)
    for _ in range(ae_steps):
        optimizer.zero_grad()
        if mode == "expected OD":
            errors = layer.prefix_outputs(square_root) - square_root.unsqueeze(1)  # (64, r, 64)
            loss = errors.square().sum(dim=-1).mean(dim=1).sum()
        else:
            loss = (layer(square_root) - square_root).square().sum()
        loss.backward()
        optimizer.step()
    return layer


all_prefixes = list(range(1, code_rank + 1))
angles = {}
for mode in tqdm(["sampled OD", "expected OD", "plain"], desc="autoencoders"):
    decoder = train_autoencoder(mode).weight_u.detach()  # (64, r)
    angles[mode] = [
        float(principal_angles(decoder[:, :k], pca_directions[:, :k], degrees=True).max())
        for k in all_prefixes
    ]
    print(
        f"{mode:12s} max angle (deg) at k = 1, 2, 4, 8, 16:",
        [round(angles[mode][k - 1], 2) for k in [1, 2, 4, 8, 16]],
    )

# %%
fig, ax = plt.subplots(figsize=(6.4, 4.0))
for mode, values in angles.items():
    ax.plot(all_prefixes, values, marker="o", label=mode)
ax.axhline(angle_bound, color="gray", linestyle="--", label=f"{angle_bound:g} degrees")
ax.set_xlabel("prefix k (first k learned components)")
ax.set_ylabel("max principal angle to top-k PCA (degrees)")
ax.set_title("Ordered dropout recovers PCA in order")
ax.legend()
plt.show()

# %% [markdown]
# ## A ReLU network cut to ranks 2 to 32
#
# $64 \to$ `OrderedLowRankLinear(64, 64, rank=32)` $\to$ ReLU $\to 10$, trained with and without
# ordered dropout on 1200 digits, tested on the other 597 at several ranks. For the plain network we
# also give it the best chance: re-decompose its trained hidden weight by SVD (`from_linear`) before
# cutting, as post-training low-rank compression would.

# %%
order = torch.randperm(len(x), generator=exp.generator).to(exp.device)
train_idx, test_idx = order[:1200], order[1200:]


def train_network(ordered_dropout):
    torch.manual_seed(seed)
    hidden = OrderedLowRankLinear(64, 64, mlp_rank, ordered_dropout=ordered_dropout, generator=seed).to(
        exp.device
    )
    head = nn.Linear(64, 10).to(exp.device)
    optimizer = torch.optim.Adam([*hidden.parameters(), *head.parameters()], lr=3e-3)
    for _ in range(mlp_steps):
        batch = train_idx[torch.randint(0, len(train_idx), (128,), generator=exp.generator).to(exp.device)]
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(head(torch.relu(hidden(x[batch]))), y[batch])
        loss.backward()
        optimizer.step()
    return hidden.eval(), head.eval()


@torch.no_grad()
def accuracy(hidden, head, rank):
    predictions = head(torch.relu(hidden(x[test_idx], rank=rank))).argmax(dim=1)
    return float((predictions == y[test_idx]).float().mean())


od_hidden, od_head = train_network(True)
plain_hidden, plain_head = train_network(False)
dense = nn.Linear(64, 64).to(exp.device)
with torch.no_grad():
    dense.weight.copy_(plain_hidden.weight())
    dense.bias.copy_(plain_hidden.bias)
svd_hidden = OrderedLowRankLinear.from_linear(dense).eval()
curves = {
    "ordered dropout": [accuracy(od_hidden, od_head, b) for b in mlp_eval_ranks],
    "plain, prefix": [accuracy(plain_hidden, plain_head, b) for b in mlp_eval_ranks],
    "plain, SVD then prefix": [accuracy(svd_hidden, plain_head, b) for b in mlp_eval_ranks],
}
for name, values in curves.items():
    print(f"{name:24s}", [round(v, 3) for v in values])

# %%
fig, ax = plt.subplots(figsize=(6.4, 4.0))
for name, values in curves.items():
    ax.plot(mlp_eval_ranks, values, marker="o", label=name)
ax.set_xscale("log", base=2)
ax.set_xlabel("rank b of the hidden layer")
ax.set_ylabel("test accuracy")
ax.set_title("Nested low-rank models from one training run")
ax.legend()
plt.show()

# %% [markdown]
# ## Claims

# %%
checked = [k - 1 for k in checked_ranks]
exp.check_below(
    "expected_od_max_angle_k1248_deg", max(angles["expected OD"][i] for i in checked), angle_bound
)
exp.check_below("sampled_od_max_angle_k1248_deg", max(angles["sampled OD"][i] for i in checked), angle_bound)
exp.check_above("plain_min_angle_k1248_deg", min(angles["plain"][i] for i in checked), angle_bound)
exp.check_below("plain_angle_at_full_rank_deg", angles["plain"][-1], angle_bound)
low = mlp_eval_ranks.index(4)
exp.check_above(
    "od_minus_plain_svd_accuracy_rank4",
    curves["ordered dropout"][low] - curves["plain, SVD then prefix"][low],
    0.0,
)
exp.check_above(
    "od_accuracy_rank8_over_full_rank",
    curves["ordered dropout"][mlp_eval_ranks.index(8)] / curves["ordered dropout"][-1],
    0.95,
    required=False,
)

# %%
# NBVAL_CHECK_OUTPUT
exp.report()

# %% [markdown]
# ## What this small run shows, and what it does not
#
# * The theorem holds: ordered dropout turns a factorized linear autoencoder into PCA **in order**;
#   every prefix $k \le 8$ spans the top-$k$ PCA subspace to within a degree or so, while the plain
#   factorization finds only the top-16 subspace as a whole and its first components point anywhere.
# * The paper's sampler (one rank per step) is noisy: the last components get a gradient only when a
#   large rank is drawn, so at this budget the full 16-dimensional span is still far from PCA
#   (tens of degrees), while the early prefixes are recovered. Averaging the loss over all ranks
#   (`prefix_outputs`), which is the expectation of the same objective, converges to a fraction of a
#   degree for every $k$.
# * For the ReLU network the ordered-dropout model degrades gracefully with rank and beats a plain
#   network compressed after training by SVD at rank 4; at rank 8 it keeps most of its full-rank
#   accuracy (recorded as a non-required claim, since the 0.95 ratio is a choice of ours, not the
#   paper's). From rank 8 up, though, the SVD-compressed plain network is as accurate or slightly
#   better here: on this easy task the ordered model pays a little at high rank for its nested
#   structure. This is one small MLP on digits, not the paper's ResNets and transformers, and we do not
#   exercise the group lasso and progressive shrinking here (they are unit-tested in the package).
