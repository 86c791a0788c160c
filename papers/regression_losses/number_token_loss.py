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
# # Regress, Don't Guess -- A Regression-like Loss on Number Tokens for Language Models
# *2025* · topic `regression_losses` · verdict **reproduce**
#
# ## The idea
#
# A language model writes numbers with number tokens (here the digits `0`..`9`). Cross-entropy is a
# nominal loss: when the true digit is 4, putting the mass on 3 or on 9 costs the same. The Number Token
# Loss (NTL) adds a regression-like term computed on the same token head. At each position whose target
# is a number token with value $y$, take the model's distribution over the number tokens only,
# renormalized there, $\hat p_k = e^{z_k} / \sum_{j \in \mathcal N} e^{z_j}$, and compare it with $y$ on
# the number line:
#
# $$\text{NTL-}L_p = \Bigl|\, y - \sum_{k} \hat p_k v_k \Bigr|^p, \qquad
#   \text{NTL-WAS} = W_1(\hat p, \delta_y) = \sum_k \bigl|\hat F_k - F_k\bigr|\,(v_{k+1} - v_k)
#   = \sum_k \hat p_k\, |v_k - y| ,$$
#
# with $\hat F$, $F$ the cumulative distributions of the prediction and of the one-hot target. The model
# trains on $L = L_{\mathrm{CE}} + \lambda\, L_{\mathrm{NTL}}$. NTL-$L_2$ (the paper's NTL-MSE) is blind to
# a bimodal guess whose mean is right (half on 3, half on 5 for a true 4); NTL-WAS is not. The paper's
# claim: adding NTL to cross-entropy makes the numbers a model generates numerically more accurate.
#
# Here: a 2-layer transformer (`paperlab.models.TinyCausalLM`, d = 64, about 100k parameters) learns
# 2-digit addition written digit by digit, `<bos> 4 7 + 3 8 = 0 8 5 <eos>`
# (`paperlab.data.digit_equations`), with cross-entropy alone, CE + NTL-$L_2$ and CE + NTL-WAS
# (`paperlab.losses.number_token_loss_lp`, `number_token_loss_w1`), on the answer tokens only.

# %% tags=["parameters"]
profile = "ci"
seed = 0
device = "auto"
n_digits = 2  # digits per operand
n_steps = 100  # AdamW steps per run
batch_size = 32  # fresh equations per step
learning_rate = 1e-2  # peak learning rate, after a linear warm-up
warmup_fraction = 0.1  # share of the steps spent warming up (then linear decay to 0)
ntl_weight = 0.3  # lambda in CE + lambda NTL (the weight the authors' package recommends)
n_runs = 3  # seeds per loss; the claims compare means over them
n_test = 500  # held-out equations, decoded greedily

# %%
import time

import matplotlib.pyplot as plt
import pandas as pd
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from paperlab.data import digit_equations, digits_to_numbers
from paperlab.experiment import require, setup
from paperlab.losses import number_token_loss_lp, number_token_loss_w1
from paperlab.models import TinyCausalLM

exp = setup(seed=seed, device=device, profile=profile)
for name, value in [
    ("n_digits", n_digits),
    ("n_steps", n_steps),
    ("batch_size", batch_size),
    ("n_test", n_test),
]:
    require(isinstance(value, int) and value >= 1, f"{name} must be a positive integer, got {value!r}")
require(n_digits <= 4, f"n_digits must be <= 4 for this small model, got {n_digits!r}")
require(isinstance(n_runs, int) and n_runs >= 2, f"n_runs must be an integer >= 2, got {n_runs!r}")
require(0 < learning_rate < 1, f"learning_rate must be in (0, 1), got {learning_rate!r}")
require(0 <= warmup_fraction < 1, f"warmup_fraction must be in [0, 1), got {warmup_fraction!r}")
require(ntl_weight > 0, f"ntl_weight must be > 0, got {ntl_weight!r}")
n_steps = exp.pick(ci=n_steps, paper=max(n_steps, 3_000))
n_runs = exp.pick(ci=n_runs, paper=max(n_runs, 10))
n_test = exp.pick(ci=n_test, paper=max(n_test, 5_000))
batch_size = exp.pick(ci=batch_size, paper=max(batch_size, 128))

# %% [markdown]
# ## The three losses on one position
#
# True digit 4; the model puts all its number-token mass on one digit $k$ (left), or splits it evenly
# between $4 - j$ and $4 + j$ (right). Cross-entropy is the same for every wrong digit; NTL grows with the
# distance. Only NTL-WAS sees the symmetric split.

# %%
test_set, vocab = digit_equations(n_test, n_digits, generator=10_000 + exp.seed)
token_values = vocab.token_values(dtype=torch.float32, device=exp.device)
digits = torch.arange(10, device=exp.device)
confident = F.one_hot(digits, len(vocab)).float() * 8.0  # (10, V): logits peaked on digit k
four = torch.full((10,), 4, device=exp.device)
split = torch.full((4, len(vocab)), -8.0, device=exp.device)  # mass split between 4 - j and 4 + j
for j in range(4):
    split[j, [4 - j, 4 + j]] = 8.0
fig, axes = plt.subplots(1, 2, figsize=(9.5, 3.4))
curves = {
    "cross-entropy": lambda z, t: F.cross_entropy(z, t, reduction="none"),
    "NTL-$L_2$": lambda z, t: number_token_loss_lp(z, t, token_values, reduction="none"),
    "NTL-WAS": lambda z, t: number_token_loss_w1(z, t, token_values, reduction="none"),
}
for label, loss in curves.items():
    axes[0].plot(digits.cpu(), loss(confident, four).cpu(), "o-", label=label)
    axes[1].plot(range(4), loss(split, four[:4]).cpu(), "o-", label=label)
axes[0].set(
    xlabel="predicted digit k (true digit 4)", ylabel="loss", yscale="symlog", title="Confident guesses"
)
axes[1].set(xlabel="j: half the mass on 4 - j, half on 4 + j", ylabel="loss", title="Symmetric splits")
axes[1].set_xticks(range(4))
axes[0].legend(fontsize=8)
plt.tight_layout()
plt.show()

# %% [markdown]
# ## Training
#
# Every step draws `batch_size` fresh equations; the loss sees only the answer digits (the operands are
# random). AdamW with a linear warm-up to `learning_rate` and a linear decay to zero. After training the
# model completes each held-out prompt `<bos> a + b =` greedily, choosing only among the digits, and the
# answer is read as a number: we measure its mean absolute error and the exact-match rate.


# %%
def train_and_evaluate(loss_name: str, run_seed: int) -> dict:
    torch.manual_seed(run_seed)
    data_generator = torch.Generator().manual_seed(run_seed)
    model = TinyCausalLM(len(vocab), max_len=test_set.tokens.shape[1]).to(exp.device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=learning_rate, weight_decay=0.0)
    warmup = max(1, round(warmup_fraction * n_steps))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: (s + 1) / warmup if s < warmup else (n_steps - s) / max(1, n_steps - warmup)
    )
    for _ in range(n_steps):
        batch, _ = digit_equations(batch_size, n_digits, generator=data_generator)
        inputs, targets = (x.to(exp.device) for x in batch.next_token_pairs())
        logits = model(inputs).transpose(1, 2)  # (B, V, T), class scores on dim 1
        loss = F.cross_entropy(logits, targets)
        if loss_name == "CE + NTL-L2":
            loss = loss + ntl_weight * number_token_loss_lp(logits, targets, token_values)
        elif loss_name == "CE + NTL-WAS":
            loss = loss + ntl_weight * number_token_loss_w1(logits, targets, token_values)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
    model.eval()
    completed = model.generate_greedy(
        test_set.prompts.to(exp.device), test_set.answer_length, allowed=vocab.number_ids
    )
    predicted = digits_to_numbers(completed[:, test_set.answer_start :].cpu())
    error = (predicted - test_set.results).abs().float()
    return {
        "loss": loss_name,
        "seed": run_seed,
        "MAE": error.mean().item(),
        "exact match": (error == 0).float().mean().item(),
    }


losses = ["CE", "CE + NTL-L2", "CE + NTL-WAS"]
start = time.perf_counter()
results = [
    train_and_evaluate(name, 100 * exp.seed + run)
    for name, run in tqdm([(name, run) for name in losses for run in range(n_runs)], desc="runs")
]
print(f"{len(results)} runs of {n_steps} steps in {time.perf_counter() - start:.1f} s")
table = pd.DataFrame(results)
summary = table.drop(columns="seed").groupby("loss", sort=False).mean()
summary.round(3)

# %%
fig, axes = plt.subplots(1, 2, figsize=(9.5, 3.4))
for i, name in enumerate(losses):
    runs = table[table["loss"] == name]
    for ax, metric in zip(axes, ["MAE", "exact match"]):
        ax.bar(i, runs[metric].mean(), color=f"C{i}", alpha=0.6, label=f"{name}, mean of {n_runs} seeds")
        ax.plot([i] * len(runs), runs[metric], "k.", label="one seed" if i == 0 else None)
for ax, metric in zip(axes, ["mean |decoded - true|", "exact-match rate"]):
    ax.set(xticks=range(len(losses)), xticklabels=losses, xlabel="training loss", ylabel=metric)
axes[0].set_title(f"Numeric error of decoded sums ({n_steps} steps)")
axes[1].set_title("Exact match")
axes[1].axhline(1 / (2 * 10**n_digits - 1), color="gray", ls="--", label="uniform guess among the sums")
axes[1].legend(fontsize=7)
plt.tight_layout()
plt.show()

# %% [markdown]
# ## Claims
#
# - Sanity first: cross-entropy alone must have learned something, its exact-match rate above a uniform
#   guess among the $2 \cdot 10^d - 1$ possible sums; otherwise the comparison would be between untrained
#   models.
# - The paper's claim, each variant against the same baseline (mean over seeds): mean absolute error of the
#   decoded answers below cross-entropy's, for NTL-WAS and for NTL-$L_2$ separately. NTL-$L_2$'s does not
#   hold reliably at this scale (see below): it is reported, not required.
# - And NTL does not buy that by losing exact answers: each variant's exact-match rate is not more than
#   2 points below cross-entropy's (the plan's tolerance).

# %%
ce, l2, was = (summary.loc[name] for name in losses)
exp.check_above("ce_exact_match_minus_chance", ce["exact match"] - 1 / (2 * 10**n_digits - 1), 0)
exp.check_below("mae_ntl_was_minus_ce", was["MAE"] - ce["MAE"], 0)
exp.check_below("mae_ntl_l2_minus_ce", l2["MAE"] - ce["MAE"], 0, required=False)
exp.check_above("exact_match_ntl_was_minus_ce", was["exact match"] - ce["exact match"], -0.02)
exp.check_above("exact_match_ntl_l2_minus_ce", l2["exact match"] - ce["exact match"], -0.02)

# %%
# NBVAL_CHECK_OUTPUT
exp.report()

# %% [markdown]
# ## What this small run shows, and what it does not
#
# - **NTL-WAS** reproduces the paper's claim at this scale: lower numeric error of the decoded sums than
#   cross-entropy alone, without fewer exact answers (seeds 0 and 1 of this notebook, and every other
#   configuration tried while setting it up).
# - **NTL-$L_2$ (NTL-MSE) does not**: its mean error is sometimes below and sometimes above
#   cross-entropy's, depending on the seeds and the batch size (with batch 64 it was ahead for one set of
#   seeds and behind for another; with batch 32 it is behind for seeds 0 and 1). The check is kept and
#   reported as NOT REPRODUCED, and does not fail the notebook. A plausible reason is the one the paper
#   gives for preferring NTL-WAS: $L_2$ on the mean is zero for any distribution with the right mean, so
#   it does not push the mass onto the true digit, and early in training it can even favour a spread-out
#   guess between two digits.
# - In 100 steps the model learns only part of 2-digit addition (a few percent exact answers, far above
#   a uniform guess but far from solved); the comparison is between partly trained models, where the
#   numeric error is dominated by how well the leading digits are placed.
# - Deviations from the plan, for the ci time budget on one CPU core: batch 32 instead of 64 (9 runs of
#   100 steps must fit in about 10 s), and a larger learning rate (1e-2 with a 10% warm-up instead of
#   3e-3: at 3e-3 cross-entropy reached only about 2.6% exact answers, too close to chance to compare).
#   The loss weight $\lambda = 0.3$ (the authors' recommendation) was fixed before comparing the losses.
# - NTL acts per digit, not on the whole number: it pulls each digit towards its true value, and a miss
#   by one in the hundreds digit still costs 100 in the decoded answer. The paper's gains are on a T5
#   model trained on a mathematics dataset for far longer; the `paper` profile (3,000 steps, batch 128,
#   10 seeds, 5,000 test equations) is the scale-up to run on a GPU, and its result is not asserted here.
# - NTL-WAS uses the true $W_1$ on the number line, which for the digits equals the authors' unit-step
#   CDF form; the number-token probabilities are renormalized over the number tokens, as in their code.
