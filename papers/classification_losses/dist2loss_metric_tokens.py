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
# # Teaching Metric Distance to Autoregressive Multimodal Foundational Models
# *2025* · topic `classification_losses` · verdict **reproduce**
#
# ## The idea
#
# Autoregressive models emit discrete tokens, and many tokens carry a metric: numbers, coordinates of a
# grid, entries of a codebook. One-hot cross-entropy ignores it: for a true answer 49, predicting 48 costs
# as much as predicting 3. DIST2Loss builds the target from the distances instead. With a distance
# $d(t, y)$ between tokens and a bandwidth $\tau$,
#
# $$q(t \mid y) = \frac{\exp(-d(t, y)/\tau)}{\sum_{t'} \exp(-d(t', y)/\tau)}, \qquad
#   L_{\mathrm{DIST2}} = \mathrm{KL}\bigl(q(\cdot \mid y) \,\|\, p_\theta(\cdot \mid x)\bigr),$$
#
# which is cross-entropy against a soft target (up to the constant entropy of $q$). Tokens without a
# metric sit at infinite distance and get $q = 0$; $\tau \to 0$ gives back cross-entropy. The paper's
# claim: distance-aware targets teach the model the metric relations among output tokens, with the
# largest gains when training data is limited.
#
# Here: a tiny transformer (`paperlab.models.TinyCausalLM`) reads `<bos> a + b =` with $a, b \in 0..49$ and
# emits the sum as **one** number token among 0..98 (`paperlab.data.number_prompts`). The distance is
# $d(t, y) = |t - y|$ (`paperlab.losses.metric_token_distances`; for tokens of a 2-D grid it would be the
# grid distance, never the distance of flattened indices). Cross-entropy against DIST2Loss
# (`paperlab.losses.dist2_loss`), $\tau = 1$ fixed in advance, with 200 and 2,000 training examples.

# %% tags=["parameters"]
profile = "ci"
seed = 0
device = "auto"
max_operand = 49  # operands in 0..max_operand; answers in 0..2 max_operand
train_sizes = [200, 2000]  # numbers of training prompts
tau = 1.0  # DIST2 bandwidth, fixed before any run
n_steps = 100  # AdamW steps per run
batch_size = 64
learning_rate = 1e-2  # peak, after a linear warm-up over the first 10% of the steps
d_model = 32  # transformer width
n_runs = 3  # seeds per (loss, size); the claims compare means over them
n_test = 1000  # held-out prompts

# %%
import time

import matplotlib.pyplot as plt
import pandas as pd
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from paperlab.data import number_prompts
from paperlab.experiment import require, setup
from paperlab.losses import dist2_loss, distance_soft_targets, metric_token_distances
from paperlab.models import TinyCausalLM

exp = setup(seed=seed, device=device, profile=profile)
for name, value in [
    ("max_operand", max_operand),
    ("n_steps", n_steps),
    ("batch_size", batch_size),
    ("n_test", n_test),
]:
    require(isinstance(value, int) and value >= 1, f"{name} must be a positive integer, got {value!r}")
require(
    isinstance(train_sizes, (list, tuple)) and len(train_sizes) == 2 and 1 <= train_sizes[0] < train_sizes[1],
    f"train_sizes must be two increasing positive sizes [small, large], got {train_sizes!r}",
)
require(isinstance(tau, (int, float)) and tau > 0, f"tau must be > 0, got {tau!r}")
require(0 < learning_rate < 1, f"learning_rate must be in (0, 1), got {learning_rate!r}")
require(isinstance(d_model, int) and d_model % 4 == 0, f"d_model must be a multiple of 4, got {d_model!r}")
require(isinstance(n_runs, int) and n_runs >= 2, f"n_runs must be an integer >= 2, got {n_runs!r}")
n_steps = exp.pick(ci=n_steps, paper=max(n_steps, 2_000))
n_runs = exp.pick(ci=n_runs, paper=max(n_runs, 10))
d_model = exp.pick(ci=d_model, paper=max(d_model, 64))

# %% [markdown]
# ## The soft targets
#
# The target distributions for $y = 20$ and $y = 49$ at a few bandwidths: a discrete Laplace kernel around
# the true token, cut at the ends of the number range; the symbols (`+`, `=`, ...) get no mass.

# %%
test_set, vocab = number_prompts(n_test, max_operand, generator=10_000 + exp.seed)
distances = metric_token_distances(vocab.token_values(dtype=torch.float32, device=exp.device))  # (V, V)
numbers = vocab.number_ids.to(exp.device)
fig, ax = plt.subplots(figsize=(6.4, 3.4))
for y, style in [(20, "-"), (49, "--")]:
    for bandwidth, color in [(0.5, "C0"), (tau, "C1"), (3.0, "C2")]:
        q = distance_soft_targets(torch.tensor([y], device=exp.device), distances, bandwidth)[0, numbers]
        ax.plot(numbers.cpu(), q.cpu(), style, color=color, label=f"y = {y}, τ = {bandwidth:g}")
ax.set(
    xlabel="answer token t", ylabel="q(t | y)", xlim=(5, 65), title="DIST2 soft targets, d(t, y) = |t - y|"
)
ax.legend(fontsize=8)
plt.show()

# %% [markdown]
# ## Training
#
# Each run samples its training prompts, then trains on mini-batches drawn from them with AdamW (linear
# warm-up over 10% of the steps, then linear decay). Only the last position, which predicts the answer, is
# scored. On held-out prompts the answer is the arg-max among the number tokens; we measure the mean
# token distance $|\hat y - y|$ and the exact-match rate.


# %%
def train_and_evaluate(loss_name: str, n_train: int, run_seed: int) -> dict:
    torch.manual_seed(run_seed)
    data_generator = torch.Generator().manual_seed(run_seed)
    train_set, _ = number_prompts(n_train, max_operand, generator=data_generator)
    prompts, answers = train_set.prompts.to(exp.device), train_set.results.to(exp.device)
    model = TinyCausalLM(len(vocab), max_len=6, d_model=d_model, d_ff=4 * d_model).to(exp.device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=learning_rate)
    warmup = max(1, n_steps // 10)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: (s + 1) / warmup if s < warmup else (n_steps - s) / max(1, n_steps - warmup)
    )
    for _ in range(n_steps):
        rows = torch.randint(0, n_train, (batch_size,), generator=data_generator).to(exp.device)
        logits = model(prompts[rows])[:, -1]  # (B, V): the answer position
        if loss_name == "CE":
            loss = F.cross_entropy(logits, answers[rows])
        else:
            loss = dist2_loss(logits, answers[rows], distances, tau)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
    with torch.no_grad():
        scores = model(test_set.prompts.to(exp.device))[:, -1, numbers]  # (n_test, number tokens)
    predicted = numbers[scores.argmax(dim=1)].cpu()
    error = (predicted - test_set.results).abs().float()
    return {
        "loss": loss_name,
        "n_train": n_train,
        "seed": run_seed,
        "MAE": error.mean().item(),
        "exact match": (error == 0).float().mean().item(),
        "error histogram": torch.bincount(error.long().clamp_max(20), minlength=21),
    }


losses = ["CE", "DIST2"]
grid = [(name, size, run) for size in train_sizes for name in losses for run in range(n_runs)]
start = time.perf_counter()
results = [
    train_and_evaluate(name, size, 100 * exp.seed + run) for name, size, run in tqdm(grid, desc="runs")
]
print(f"{len(results)} runs of {n_steps} steps in {time.perf_counter() - start:.1f} s")
table = pd.DataFrame(results)
summary = table.drop(columns=["seed", "error histogram"]).groupby(["n_train", "loss"], sort=False).mean()
summary.round(3)

# %%
fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
for i, name in enumerate(losses):
    runs = table[table["loss"] == name]
    means = runs.groupby("n_train")["MAE"].mean()
    axes[0].plot(means.index, means.values, "o-", color=f"C{i}", label=f"{name}, mean of {n_runs} seeds")
    axes[0].plot(runs["n_train"], runs["MAE"], ".", color=f"C{i}", alpha=0.5)
    for size, style in zip(train_sizes, ["-", "--"]):
        histogram = torch.stack(list(runs[runs["n_train"] == size]["error histogram"])).sum(0).float()
        axes[1].plot(histogram / histogram.sum(), style, color=f"C{i}", label=f"{name}, {size} examples")
axes[0].set(
    xscale="log", xlabel="training examples", ylabel="test mean |ŷ - y|", title="Token distance of answers"
)
axes[0].set_xticks(train_sizes, [str(size) for size in train_sizes])
axes[0].minorticks_off()
axes[1].set(xlabel="|ŷ - y| (20 = 20 or more)", ylabel="share of test answers", title="Error distribution")
axes[0].legend(fontsize=8)
axes[1].legend(fontsize=8)
plt.tight_layout()
plt.show()

# %% [markdown]
# ## Claims
#
# - DIST2Loss answers closer to the truth than cross-entropy, mean token distance over seeds, at both
#   training sizes.
# - "Largest gains when data is limited": the relative gap $(\mathrm{MAE_{CE}} - \mathrm{MAE_{DIST2}}) /
#   \mathrm{MAE_{CE}}$ is larger with 200 examples than with 2,000.

# %%
mae = summary["MAE"]
small, large = train_sizes
gap = {size: (mae[(size, "CE")] - mae[(size, "DIST2")]) / mae[(size, "CE")] for size in train_sizes}
exp.check_below(f"mae_dist2_minus_ce_n{small}", mae[(small, "DIST2")] - mae[(small, "CE")], 0)
exp.check_below(f"mae_dist2_minus_ce_n{large}", mae[(large, "DIST2")] - mae[(large, "CE")], 0)
exp.check_above(f"relative_gap_n{small}_minus_n{large}", gap[small] - gap[large], 0, required=False)

# %%
# NBVAL_CHECK_OUTPUT
exp.report()

# %% [markdown]
# ## What this small run shows, and what it does not
#
# - With the bandwidth fixed in advance ($\tau = 1$), DIST2Loss gives answers much closer to the truth
#   than cross-entropy with 200 and with 2,000 training prompts (mean over 3 seeds): the soft targets
#   tell the model that 48 is a better answer to "24 + 25" than 3, which one-hot targets never say.
# - The second half of the claim, that the gain is largest when data is limited, is **not reproduced** in
#   relative terms: relative to cross-entropy's error the gap is larger with 2,000 examples than with 200
#   (and the absolute gap is larger with 200 examples for some seeds, smaller for others). The same held in
#   exploratory runs with 150 and 300 steps. It is reported as NOT REPRODUCED and does not fail the notebook. With only 100
#   steps, the 200-example runs see each prompt about 30 times and the 2,000-example runs about 3 times,
#   so "limited data" here is confounded with "more epochs"; the paper's low-data regime (fine-tuning a
#   pretrained multimodal model) is different.
# - Deviations from the plan, for the ci time budget on one CPU core: 100 steps instead of ~300, and a
#   transformer of width 32 (the plan allows 32-64). The learning rate was raised from 3e-3 to 1e-2 (with
#   warm-up) after a first run at 3e-3 left both losses nearly untrained in 100 steps (mean error about 16
#   with 2,000 examples); $\tau$ was not changed. The `paper` profile (2,000 steps, width 64, 10 seeds) is
#   the scale-up for a GPU; its result is not asserted here.
# - Only number tokens here; for grid tokens `metric_token_distances` takes their 2-D coordinates and
#   the same loss applies.
