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
# # Sparse Spectral Training and Inference on Euclidean and Hyperbolic Neural Networks
# *2024* · topic `low_rank` · verdict **reproduce**
#
# ## The idea
#
# Low-rank adapters make training cheap but, trained from scratch, they cannot leave the rank-$r$
# neighbourhood of their random initialisation: LoRA learns $W = W_0 + BA$ with $W_0$ frozen. ReLoRA
# merges $BA$ into $W_0$ every few hundred steps and starts a new adapter, so the sum of updates can
# reach full rank, but each restart begins from a random direction.
#
# **Sparse spectral training (SST)** keeps every layer in SVD form,
#
# $$W = U \operatorname{diag}(s)\, V^\top = \sum_{i=1}^{m} s_i\, u_i v_i^\top ,$$
#
# and at every step trains **all** singular values $s$ but only $r$ singular-vector pairs, drawn without
# replacement with probability $p_i \propto |s_i|$ at the start of each round. The vectors get the
# *enhanced gradient* $\partial L / \partial u_i = G v_i$ and $\partial L / \partial v_i = G^\top u_i$
# (with $G = \partial L / \partial W$), i.e. the true gradient without the factor $s_i$, so directions
# with small singular values are not starved. A periodic re-SVD of $W$ restores orthonormal factors.
# Each step updates as many vector entries as a rank-$r$ adapter, yet over rounds every direction of a
# full-rank weight is trained.
#
# We train a student MLP $64 \to 256 \to 256 \to 10$ from scratch to match the softmax of a fixed random
# teacher of the same shape on a stream of fresh Gaussian inputs (KL divergence), with the two hidden
# weights full rank, LoRA, ReLoRA or SST at rank $r = 8$. With unlimited fresh data the gap to full-rank
# training measures what the restricted update costs, not overfitting.

# %% tags=["parameters"]
profile = "ci"
seed = 0
device = "auto"
rank = 8  # r of LoRA, ReLoRA and the SST sample, on both hidden layers
lr = 3e-3  # Adam learning rate, the same for every method
round_length = 50  # steps between ReLoRA restarts and between SST resampling and re-SVD
batch_size = 128
teacher_gain = 2.0  # std of the teacher weights times sqrt(fan-in); larger means sharper targets

# %%
import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from paperlab.experiment import require, setup
from paperlab.models import LoRALinear, SSTLinear, relora_restart_, reset_optimizer_state_

exp = setup(seed=seed, device=device, profile=profile)
require(isinstance(rank, int) and 1 <= rank <= 64, f"rank must be an int in [1, 64], got {rank!r}")
require(isinstance(lr, float) and lr > 0, f"lr must be a positive float, got {lr!r}")
require(
    isinstance(round_length, int) and round_length >= 1,
    f"round_length must be an int >= 1, got {round_length!r}",
)
require(
    isinstance(batch_size, int) and batch_size >= 1, f"batch_size must be an int >= 1, got {batch_size!r}"
)
require(
    isinstance(teacher_gain, float) and teacher_gain > 0,
    f"teacher_gain must be a positive float, got {teacher_gain!r}",
)
steps = exp.pick(ci=400, paper=5000)
n_eval = exp.pick(ci=5000, paper=50_000)
widths = exp.pick(ci=[64, 256, 256, 10], paper=[128, 1024, 1024, 10])
METHODS = ["full rank", "LoRA", "ReLoRA", "SST"]

# %% [markdown]
# ## Teacher, data stream and students
#
# The teacher is a ReLU MLP with Gaussian weights of standard deviation `teacher_gain` $/\sqrt{\text{fan-in}}$,
# so its hidden weights are full rank and its logits are confident enough for the task to be
# rank-limited. Students share the same initial seed; only their hidden layers differ. LoRA and ReLoRA
# sit on a frozen random `nn.Linear` (its bias is trained as in the other students); SST starts from the
# SVD of an `nn.Linear`-scaled random weight. The output layer is a plain trained `nn.Linear` everywhere.


# %%
def make_teacher():
    layers = []
    for i, (fan_in, fan_out) in enumerate(zip(widths[:-1], widths[1:])):
        linear = nn.Linear(fan_in, fan_out, bias=False)
        with torch.no_grad():
            linear.weight.copy_(
                torch.randn(fan_out, fan_in, generator=exp.generator) * teacher_gain / fan_in**0.5
            )
        layers.append(linear)
        if i < len(widths) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers).to(exp.device).requires_grad_(False)


def hidden_layer(method, fan_in, fan_out, generator):
    if method == "SST":
        return SSTLinear(fan_in, fan_out, rank, generator=generator)
    linear = nn.Linear(fan_in, fan_out)
    if method == "full rank":
        return linear
    layer = LoRALinear(linear, rank, generator=generator)
    layer.base.bias.requires_grad_(True)
    return layer


def make_student(method):
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed + 1)
    layers = []
    for fan_in, fan_out in zip(widths[:-2], widths[1:-1]):
        layers += [hidden_layer(method, fan_in, fan_out, generator), nn.ReLU()]
    layers.append(nn.Linear(widths[-2], widths[-1]))
    return nn.Sequential(*layers).to(exp.device)


teacher = make_teacher()
x_eval = torch.randn(n_eval, widths[0], generator=exp.generator).to(exp.device)
log_p_eval = F.log_softmax(teacher(x_eval), dim=-1)


def kl_to_teacher(student, x, log_p):
    return F.kl_div(F.log_softmax(student(x), dim=-1), log_p, log_target=True, reduction="batchmean")


# %% [markdown]
# ## Training
#
# Every method sees the same stream of fresh batches. At the start of each round of `round_length`
# steps ReLoRA merges and restarts its adapters (`relora_restart_`), and SST re-SVDs its layers,
# resamples the trained pairs and forgets the Adam moments of $U, s, V$ (otherwise momentum would keep
# moving vectors that left the sample).


# %%
def start_round(method, student, optimizer, generator):
    for layer in student:
        if method == "ReLoRA" and isinstance(layer, LoRALinear):
            relora_restart_(layer, optimizer, generator=generator)
        if method == "SST" and isinstance(layer, SSTLinear):
            layer.resvd_()
            layer.resample_(generator)
            reset_optimizer_state_(optimizer, [layer.U, layer.S, layer.V])


def train(method):
    student = make_student(method)
    trainable = [p for p in student.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(trainable, lr=lr)
    data = torch.Generator().manual_seed(seed + 2)
    restarts = torch.Generator().manual_seed(seed + 3)
    curve = []
    for step in range(steps):
        if step > 0 and step % round_length == 0:
            start_round(method, student, optimizer, restarts)
        x = torch.randn(batch_size, widths[0], generator=data).to(exp.device)
        loss = kl_to_teacher(student, x, F.log_softmax(teacher(x), dim=-1))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        curve.append(loss.item())  # a fresh batch, so this is already a held-out estimate
    with torch.no_grad():
        final_kl = float(kl_to_teacher(student, x_eval, log_p_eval))
    return curve, final_kl


def entries_updated_per_step(method):
    hidden = sum(fan_in * fan_out for fan_in, fan_out in zip(widths[:-2], widths[1:-1]))
    adapter = sum(rank * (fan_in + fan_out) for fan_in, fan_out in zip(widths[:-2], widths[1:-1]))
    spectrum = sum(min(fan_in, fan_out) for fan_in, fan_out in zip(widths[:-2], widths[1:-1]))
    return {"full rank": hidden, "LoRA": adapter, "ReLoRA": adapter, "SST": adapter + spectrum}[method]


curves, final = {}, {}
for method in tqdm(METHODS, desc="methods"):
    curves[method], final[method] = train(method)
gap = {method: final[method] - final["full rank"] for method in METHODS}
for method in METHODS:
    print(
        f"{method:10s} held-out KL {final[method]:.4f}  gap {gap[method]:+.4f}  "
        f"hidden-weight entries updated per step {entries_updated_per_step(method)}"
    )

# %%
fig, ax = plt.subplots(figsize=(6.4, 4.0))
window = 25
for method in METHODS:
    smoothed = torch.tensor(curves[method]).unfold(0, window, 1).mean(dim=1)  # (steps - window + 1,)
    ax.plot(range(window, steps + 1), smoothed, label=method)
ax.set_yscale("log")
ax.set_xlabel("training step")
ax.set_ylabel(f"KL to the teacher on fresh batches ({window}-step mean)")
ax.set_title(f"Training from scratch, hidden layers at rank {rank}")
ax.legend()
plt.show()

# %% [markdown]
# ## Claims
#
# The paper's claim: at the same rank SST shrinks the gap to full-rank training more than LoRA and
# ReLoRA (it closes 67.6% of LoRA's perplexity gap on OPT-125M). The first check is a sanity check that
# the setting is rank-limited at all.

# %%
gap_closed = 1 - gap["SST"] / gap["LoRA"]
exp.check_above("lora_gap_to_full_rank", gap["LoRA"], 0.0)
exp.check_below("sst_minus_lora_gap", gap["SST"] - gap["LoRA"], 0.0)
exp.check_below("sst_minus_relora_gap", gap["SST"] - gap["ReLoRA"], 0.0)
exp.check_above("fraction_of_lora_gap_closed_by_sst", gap_closed, 0.5, required=False)

# %%
# NBVAL_CHECK_OUTPUT
exp.report()

# %% [markdown]
# ## What this small run shows, and what it does not
#
# * The ordering of the paper holds here, for seed 0 and seed 1: at rank 8 all three restricted methods
#   stay clearly behind full-rank training after 400 steps (the sanity check), and SST ends closer to
#   full rank than LoRA and ReLoRA, while updating about as many hidden-weight entries per step.
# * The size of the effect does not reproduce: SST closes roughly 15-20% of LoRA's gap, not the 67.6%
#   the paper reports on OPT-125M, and its lead over ReLoRA is small (under 0.02 nats, and about a
#   third of that for seed 1). In exploratory runs with a learning rate of 5e-3 instead of 3e-3, ReLoRA
#   beat SST for one seed, so the ranking of the two restart-based methods is not robust at this scale.
# * This is a 400-step MLP student on synthetic data, not transformer pre-training: the gaps reflect how
#   fast each method can fit a full-rank teacher in a short budget. We do not reproduce the hyperbolic
#   networks, the memory savings or the paper's sparse inference.
# * The `paper` profile trains a wider student (1024 hidden units) for 5000 steps on the same stream.
