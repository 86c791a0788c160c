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
# # The Z-loss: a shift and scale invariant classification loss belonging to the Spherical Family
# *2016* · topic `classification_losses` · verdict **reproduce**
#
# ## The idea
#
# A network's last layer computes scores $o = W h \in \mathbb{R}^D$ for $D$ classes. The log-softmax
# needs every $o_k$, so a training step costs $O(Dd)$. A loss is *spherical* when it depends on $o$
# only through
#
# $$S_1 = \sum_k o_k = \bar w^\top h,\qquad S_2 = \sum_k o_k^2 = h^\top Q h,\qquad o_c,$$
#
# with $\bar w = W^\top 1$ and $Q = W^\top W$. Keeping $\bar w$ and $Q$ up to date and $W = VU$ factored,
# both the loss, the gradient with respect to $h$ and the exact SGD update of $W$ cost $O(d^2)$ per
# example, whatever $D$. The squared error $S_2 - 2o_c + 1$ and the Taylor-softmax loss
# $-\log\frac{1 + o_c + o_c^2/2}{D + S_1 + S_2/2}$ are spherical, but they train poorly with many classes.
#
# The Z-loss standardizes the scores over the classes and puts a softplus on the target's:
#
# $$\mu = \frac{S_1}{D},\quad \sigma = \sqrt{\frac{S_2}{D} - \mu^2},\quad z_c = \frac{o_c - \mu}{\sigma},
#   \qquad L_Z = \frac{1}{a}\log\bigl(1 + e^{a (b - z_c)}\bigr).$$
#
# It is spherical, and invariant to $o \to \alpha o + \beta$ for every $\alpha > 0$ (a negative $\alpha$ flips
# $z$): like a top-$k$ error, it only cares about where $o_c$ stands among the other scores. $b$ sets how
# many standard deviations above the mean the target must get before the loss stops pushing, $a$ how
# sharply it stops.
#
# Here: (a) the spherical trick (`paperlab.solvers.SphericalOutputLayer`) against a dense output layer
# with $D = 20\,000$ classes in float64, over a few factored updates; (b) a synthetic 500-class problem
# (noisy Gaussian prototypes in 64-D), an MLP 64-128-500 trained with the Z-loss, the squared error,
# the Taylor softmax and the log-softmax.

# %% tags=["parameters"]
profile = "ci"
seed = 0
device = "auto"
a = 0.1  # Z-loss sharpness (invariance and spherical-trick checks)
b = 10.0  # Z-loss location in standard deviations; sqrt(D - 1), about 22.3 for D of 500, is the most reachable
z_grid = [[0.1, 10.0], [0.1, 5.0], [1.0, 10.0], [1.0, 5.0]]  # (a, b) tried in (b), chosen on validation
n_classes = 500
noise = 1.5  # standard deviation of the points around their class prototype (prototypes are N(0, I))
n_steps = 100  # Adam steps per run
batch_size = 128
learning_rate = 1e-2
n_runs = 3  # independent initializations and batch orders per loss
trick_classes = 20_000  # D of the spherical-trick check
trick_hidden = 64  # d of the spherical-trick check
trick_updates = 3  # factored SGD steps compared with the dense layer

# %%
import time
from functools import partial

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits
from tqdm.auto import tqdm

from paperlab._random import as_generator
from paperlab.experiment import require, setup
from paperlab.losses import spherical_squared_error, taylor_softmax_cross_entropy, z_loss
from paperlab.models import EmbeddingMLP
from paperlab.solvers import SphericalOutputLayer, step_cost

exp = setup(seed=seed, device=device, profile=profile)
require(isinstance(a, (int, float)) and 0 < a < float("inf"), f"a must be a positive number, got {a!r}")
require(isinstance(b, (int, float)) and abs(b) < float("inf"), f"b must be a finite number, got {b!r}")
require(
    isinstance(z_grid, (list, tuple))
    and len(z_grid) > 0
    and all(len(pair) == 2 and float(pair[0]) > 0 and abs(float(pair[1])) < float("inf") for pair in z_grid),
    f"z_grid must be a non-empty list of (a > 0, finite b) pairs, got {z_grid!r}",
)
require(isinstance(noise, (int, float)) and noise > 0, f"noise must be > 0, got {noise!r}")
require(
    isinstance(learning_rate, (int, float)) and learning_rate > 0,
    f"learning_rate must be > 0, got {learning_rate!r}",
)
for name, value, low in [
    ("n_classes", n_classes, 10),
    ("n_steps", n_steps, 1),
    ("batch_size", batch_size, 1),
    ("n_runs", n_runs, 1),
    ("trick_classes", trick_classes, 2),
    ("trick_hidden", trick_hidden, 1),
    ("trick_updates", trick_updates, 1),
]:
    require(isinstance(value, int) and value >= low, f"{name} must be an integer >= {low}, got {value!r}")
n_steps = exp.pick(ci=n_steps, paper=max(n_steps, 5_000))
n_runs = exp.pick(ci=n_runs, paper=max(n_runs, 10))
n_train, n_test = exp.pick(ci=20_000, paper=200_000), 5_000
hidden_width = exp.pick(ci=128, paper=512)
run_digits = exp.profile == "paper"  # the 10-class sanity run is reported only, in the paper profile

# %% [markdown]
# ## Invariance of the Z-loss
#
# In float64, $L_Z(\alpha o + \beta) - L_Z(o)$ for random $\alpha \in [10^{-3}, 10^3]$ and shifts, and the
# same for $\alpha < 0$, which is not an invariance. The log-softmax is shown for contrast: it is
# shift but not scale invariant.

# %%
scores = 3 * torch.randn(256, n_classes, generator=exp.generator, dtype=torch.float64).to(exp.device)
labels = torch.randint(0, n_classes, (256,), generator=exp.generator).to(exp.device)
base = z_loss(scores, labels, a, b, reduction="none")
alphas = 10 ** (6 * torch.rand(20, generator=exp.generator, dtype=torch.float64) - 3)
betas = 100 * torch.randn(20, generator=exp.generator, dtype=torch.float64)
invariance_gap = max(
    (z_loss(alpha * scores + beta, labels, a, b, reduction="none") - base).abs().max().item()
    for alpha, beta in zip(alphas.tolist(), betas.tolist())
)
flip_gap = min(
    (z_loss(-alpha * scores + beta, labels, a, b, reduction="none") - base).abs().max().item()
    for alpha, beta in zip(alphas.tolist(), betas.tolist())
)
ce_scale_gap = (F.cross_entropy(2 * scores, labels) - F.cross_entropy(scores, labels)).abs().item()
print(f"max |L(alpha o + beta) - L(o)|, alpha > 0: {invariance_gap:.1e}")
print(f"min over draws of max |L(-alpha o + beta) - L(o)|: {flip_gap:.3f}")
print(f"|CE(2 o) - CE(o)|: {ce_scale_gap:.3f}")

# %% [markdown]
# ## (a) The spherical trick is exact
#
# A dense layer $W \in \mathbb{R}^{D \times d}$ and a `SphericalOutputLayer` start from the same
# weight and take the same SGD steps under the Z-loss, in float64. At each step we compare the loss,
# the gradient with respect to the hidden vectors, and (for the check only, at $O(Dd^2)$) the dense
# weight rebuilt from the factors.

# %%
trick_batch = 32
weight = torch.randn(trick_classes, trick_hidden, generator=exp.generator, dtype=torch.float64)
weight = (weight / trick_hidden**0.5).to(exp.device)
layer = SphericalOutputLayer(weight, "z_loss", a=a, b=b)
dense = weight.clone()
rel = lambda x, y: ((x - y).norm() / y.norm()).item()  # noqa: E731
trick_errors = {"loss": 0.0, "hidden gradient": 0.0, "weight": 0.0}
times = {"dense": 0.0, "spherical": 0.0}
for _ in range(trick_updates):
    hidden = torch.randn(trick_batch, trick_hidden, generator=exp.generator, dtype=torch.float64).to(
        exp.device
    )
    target = torch.randint(0, trick_classes, (trick_batch,), generator=exp.generator).to(exp.device)
    start = time.perf_counter()
    w, h = dense.clone().requires_grad_(), hidden.clone().requires_grad_()
    dense_loss = z_loss(h @ w.T, target, a, b)
    grad_w, grad_h = torch.autograd.grad(dense_loss, (w, h))
    dense = dense - 10.0 * grad_w
    times["dense"] += time.perf_counter() - start
    start = time.perf_counter()
    result = layer.step(hidden, target, lr=10.0)
    times["spherical"] += time.perf_counter() - start
    trick_errors["loss"] = max(trick_errors["loss"], rel(result.loss, dense_loss.detach()))
    trick_errors["hidden gradient"] = max(trick_errors["hidden gradient"], rel(result.hidden_grad, grad_h))
    trick_errors["weight"] = max(trick_errors["weight"], rel(layer.weight(), dense))
weight_moved = rel(dense, weight)
for name, error in trick_errors.items():
    print(f"max relative error of the {name} over {trick_updates} updates: {error:.1e}")
print(f"the weight moved by {weight_moved:.2e} (relative) over the updates")
print(
    f"wall time (not checked, the machine may be shared): dense {times['dense'] * 1e3:.1f} ms, "
    f"spherical {times['spherical'] * 1e3:.1f} ms"
)
costs = {n: step_cost(n, trick_hidden, trick_batch) for n in (2_000, 20_000, 200_000)}
for n, cost in costs.items():
    print(
        f"D = {n:>7d}: naive {cost.naive:.2e} multiply-adds, spherical {cost.spherical:.2e} ({cost.speedup:.0f}x)"
    )

# %% [markdown]
# ## (b) Many classes: Z-loss against the other spherical losses and the log-softmax
#
# 500 Gaussian prototypes in 64-D, points = prototype + `noise` × Gaussian noise; the same MLP,
# optimizer (Adam) and learning rate for every loss. As in the paper, the Z-loss's own $(a, b)$ are
# chosen on a validation set (top-1, one run per pair of `z_grid`); the other losses have no such knob.
# Then each loss is trained `n_runs` times (different initialization and batch order, same data), and
# accuracies are measured on a held-out test set.

# %%
in_dim = 64
prototypes = torch.randn(n_classes, in_dim, generator=exp.generator)
train_y = torch.randint(0, n_classes, (n_train,), generator=exp.generator)
test_y = torch.randint(0, n_classes, (n_test,), generator=exp.generator)
val_y = torch.randint(0, n_classes, (n_test,), generator=exp.generator)
train_x = prototypes[train_y] + noise * torch.randn(n_train, in_dim, generator=exp.generator)
test_x = prototypes[test_y] + noise * torch.randn(n_test, in_dim, generator=exp.generator)
val_x = prototypes[val_y] + noise * torch.randn(n_test, in_dim, generator=exp.generator)
train_x, train_y, test_x, test_y, val_x, val_y = (
    t.to(exp.device) for t in (train_x, train_y, test_x, test_y, val_x, val_y)
)


def top_k_accuracy(scores, target, k):
    return (scores.topk(k, dim=1).indices == target.unsqueeze(1)).any(dim=1).float().mean().item()


def train(loss_fn, x, y, n_out, run_seed, steps):
    """Adam on an MLP in_dim-hidden-n_out, minibatches drawn with ``run_seed``; returns the model."""
    torch.manual_seed(run_seed)
    model = EmbeddingMLP(x.shape[1], n_out, hidden=(hidden_width,)).to(exp.device)
    optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate)
    batches = as_generator(run_seed)
    for _ in range(steps):
        index = torch.randint(0, len(y), (batch_size,), generator=batches).to(exp.device)
        loss = loss_fn(model(x[index]), y[index])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return model.eval()


validation_top1 = {}
for a_z, b_z in tqdm(z_grid, desc="choosing (a, b)"):
    z_loss_ab = partial(z_loss, a=a_z, b=b_z)
    model = train(z_loss_ab, train_x, train_y, n_classes, 1000 * exp.seed + 999, n_steps)
    with torch.no_grad():
        validation_top1[a_z, b_z] = top_k_accuracy(model(val_x), val_y, 1)
    print(f"Z-loss a = {a_z:g}, b = {b_z:g}: validation top-1 {validation_top1[a_z, b_z]:.3f}")
a_z, b_z = max(validation_top1, key=validation_top1.get)
print(f"chosen: a = {a_z:g}, b = {b_z:g}")

LOSSES = {
    "Z-loss": partial(z_loss, a=a_z, b=b_z),
    "squared error": spherical_squared_error,
    "Taylor softmax": taylor_softmax_cross_entropy,
    "log-softmax": F.cross_entropy,
}
accuracy = {name: {1: [], 5: []} for name in LOSSES}
jobs = [(name, run) for run in range(n_runs) for name in LOSSES]
for name, run in tqdm(jobs, desc="training"):
    model = train(LOSSES[name], train_x, train_y, n_classes, 1000 * exp.seed + run, n_steps)
    with torch.no_grad():
        test_scores = model(test_x)
    for k in (1, 5):
        accuracy[name][k].append(top_k_accuracy(test_scores, test_y, k))
mean_accuracy = {name: {k: float(np.mean(v)) for k, v in acc.items()} for name, acc in accuracy.items()}
for name, acc in mean_accuracy.items():
    print(f"{name:15s} top-1 {acc[1]:.3f}  top-5 {acc[5]:.3f}  (mean of {n_runs} runs)")

# %%
if run_digits:  # 10-class sanity run, reported only
    digits = load_digits()
    digits_x = torch.tensor(digits.data / 16.0, dtype=torch.float32, device=exp.device)
    digits_y = torch.tensor(digits.target, dtype=torch.long, device=exp.device)
    order = torch.randperm(len(digits_y), generator=exp.generator).to(exp.device)
    fit, held = order[:1200], order[1200:]
    for name, loss_fn in LOSSES.items():
        model = train(loss_fn, digits_x[fit], digits_y[fit], 10, 1000 * exp.seed, 1_000)
        with torch.no_grad():
            print(f"digits, {name:15s} top-1 {top_k_accuracy(model(digits_x[held]), digits_y[held], 1):.3f}")

# %%
fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
names = list(LOSSES)
positions = np.arange(len(names))
for offset, k in ((-0.2, 1), (0.2, 5)):
    means = [mean_accuracy[n][k] for n in names]
    spread = [np.std(accuracy[n][k]) for n in names]
    axes[0].bar(positions + offset, means, width=0.4, yerr=spread, label=f"top-{k}")
axes[0].set_xticks(positions, names)
axes[0].set_ylabel("test accuracy")
axes[0].set_title(f"{n_classes}-class synthetic task, mean of {n_runs} runs")
axes[0].legend()
sizes = np.array(list(costs))
axes[1].loglog(sizes, [costs[n].naive for n in sizes], "o-", label="dense output layer")
axes[1].loglog(sizes, [costs[n].spherical for n in sizes], "s-", label="spherical trick")
axes[1].set_xlabel("number of classes D")
axes[1].set_ylabel(f"multiply-adds per SGD step (d={trick_hidden}, m={trick_batch})")
axes[1].set_title("Cost of an output-layer step")
axes[1].legend()
fig.tight_layout()
plt.show()

# %% [markdown]
# ## Claims

# %%
# errors at float64 rounding level differ between machines: the report shows them floored
exp.check(
    "Z-loss invariant to o -> alpha o + beta, alpha > 0 (max |diff|)",
    invariance_gap < 1e-9,
    value=max(invariance_gap, 1e-10),
    expect="< 1e-09",
)
exp.check_above("negative alpha changes the Z-loss (min over draws)", flip_gap, 1e-3)
for name, error in trick_errors.items():
    exp.check(
        f"spherical trick vs dense layer, {name} rel. error (D=20k)",
        error < 1e-8,
        value=max(error, 1e-12),
        expect="< 1e-08",
    )
exp.check(
    "trick cost at D=20k equals cost at D=2k",
    costs[20_000].spherical == costs[2_000].spherical,
    value=costs[20_000].spherical / costs[2_000].spherical,
    expect="= 1",
)
exp.check_above(
    "Z-loss top-1 - squared error top-1", mean_accuracy["Z-loss"][1] - mean_accuracy["squared error"][1], 0
)
exp.check_above(
    "Z-loss top-1 - Taylor softmax top-1", mean_accuracy["Z-loss"][1] - mean_accuracy["Taylor softmax"][1], 0
)
exp.check_above(
    "Z-loss top-5 - log-softmax top-5",
    mean_accuracy["Z-loss"][5] - mean_accuracy["log-softmax"][5],
    0,
    required=False,
)
exp.check_above(
    "Z-loss top-1 - log-softmax top-1",
    mean_accuracy["Z-loss"][1] - mean_accuracy["log-softmax"][1],
    0,
    required=False,
)

# %%
# NBVAL_CHECK_OUTPUT
exp.report()

# %% [markdown]
# ## What this small run shows, and what it does not
#
# - **Invariance** holds to rounding in float64 for every positive scale from $10^{-3}$ to $10^3$ and any
#   shift; a negative scale changes the loss, as it should (it turns $z_c$ into $-z_c$).
# - **Exactness of the spherical trick**: at $D = 20\,000$ the loss, the hidden gradient and the weight
#   after a few factored SGD steps agree with the dense layer to float64 rounding (printed above; the
#   report floors these errors at $10^{-12}$, and the invariance gap at $10^{-10}$, because values at
#   rounding level differ from machine to machine). The claim "cost independent of $D$" is shown by
#   counting multiply-adds (the same at $D = 2$k, 20k and 200k), not by a timed assertion, which would
#   be flaky on a shared CPU; the wall times above are printed only.
#   `benchmarks/spherical_losses.py` times the step (about 50x faster than the dense layer at
#   $D = 20$k, $d = 64$ on one CPU core).
# - **Z-loss vs the other spherical losses**: on 500 classes the Z-loss (with $(a, b)$ chosen on the
#   validation set) is clearly ahead of the Taylor softmax and far ahead of the squared error, which barely
#   learns: its one-hot target drives all 500 scores towards 0, and with the shared, untuned learning rate
#   it does not recover. The paper tuned every loss; we only tuned the Z-loss's own $(a, b)$ on a 4-point
#   grid, so the size of the gaps is not to be trusted, only their sign.
# - **Z-loss vs log-softmax: not reproduced at this scale.** The paper reports the Z-loss ahead of the
#   log-softmax on top-$k$ scores of a word-level language model. Here, after 100 Adam steps, the
#   log-softmax is a few points ahead on both top-1 and top-5, so both comparisons are reported as NOT
#   REPRODUCED. The validation grid shows how much $(a, b)$ matter (a sharp softplus with a low target
#   $b$ is best here, the defaults $a = 0.1, b = 10$ are well behind). The gap looks like one of training
#   length: executed with `n_steps=400` (four times the CI training), this notebook put the Z-loss ahead
#   of the log-softmax on both top-1 and top-5 for seeds 0 and 1, but that run does not fit the CI budget,
#   and the `paper` profile (5000 steps, 10 runs) was not executed here. The paper's own setting (a
#   language model with a $10^4$–$10^6$-word vocabulary) is out of reach of a CI run.
# - The digits sanity run (10 classes) is in the `paper` profile only, for time.
