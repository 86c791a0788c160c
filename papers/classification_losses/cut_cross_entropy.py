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
# # Cut Your Losses in Large-Vocabulary Language Models
# *2024* · topic `classification_losses` · verdict **reproduce**
#
# ## The idea
#
# A language model ends with a classifier over a vocabulary of $V$ tokens: embeddings
# $E \in \mathbb{R}^{N \times D}$ of the $N$ tokens of a batch and classifier weights
# $C \in \mathbb{R}^{V \times D}$ give logits $Z = E C^\top$, and the loss of token $i$ with target $t_i$ is
#
# $$\ell_i = -\log \mathrm{softmax}(z_i)_{t_i} = \log \sum_{v=1}^{V} e^{z_{iv}} - z_{i t_i}.$$
#
# With $V$ in the hundreds of thousands, the $N \times V$ logit matrix (and its gradient) takes more
# memory than the rest of the model. Cut Cross-Entropy never builds it. The target logit
# $z_{i t_i} = e_i^\top c_{t_i}$ is a dot product, and the log-sum-exp is accumulated over vocabulary
# chunks $\mathcal{V}_k$ with a running maximum, as in FlashAttention:
#
# $$\mathrm{LSE}_i \leftarrow \log\!\Big(e^{\mathrm{LSE}_i} + \sum_{v \in \mathcal{V}_k} e^{z_{iv}}\Big).$$
#
# Backward recomputes each chunk of logits, turns it into probabilities $p_{iv} = e^{z_{iv} - \mathrm{LSE}_i}$
# and folds $\partial \ell_i / \partial z_{iv} = p_{iv} - [v = t_i]$ straight into
# $\nabla_E = (P - Y) C$ and $\nabla_C = (P - Y)^\top E$, chunk by chunk. Memory for the loss falls from
# $O(NV)$ to $O(N \cdot \text{chunk})$, at the price of computing the logits twice. **Gradient
# filtering** skips the entries with $p_{iv}$ below the working precision ($2^{-12}$ for bfloat16),
# which after a little training are almost all of them.
#
# `paperlab.losses.linear_cross_entropy(e, c, targets, bias, ignore_index, reduction, label_smoothing,
# chunk_size, filter_eps)` is a CPU/GPU PyTorch version of this (chunked over the vocabulary, without
# the paper's fused GPU kernels); it equals `F.cross_entropy(e @ c.T + bias, targets, ...)`.

# %% tags=["parameters"]
profile = "ci"
seed = 0
device = "auto"
n_tokens = 2048  # tokens in the exactness / memory comparison
embed_dim = 64
vocab_size = 16384
chunk_size = 512  # vocabulary columns per chunk in the comparison
memory_vocab_sizes = [1024, 4096]  # smaller vocabularies for the memory-versus-V curve (vocab_size is added)
lm_vocab = 8192  # vocabulary of the tiny language model
lm_dim = 32  # its state size
lm_steps = 100
lm_batch = 4  # sequences per step
lm_length = 32  # tokens per sequence
filter_eps = 2.0**-12  # gradient filtering threshold (bfloat16 precision, as in the paper)

# %%
import copy

import matplotlib.pyplot as plt
import pandas as pd
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from paperlab.experiment import require, setup
from paperlab.losses import linear_cross_entropy
from paperlab.losses.linear_cross_entropy import FILTER_TILE
from paperlab.metrics import peak_tensor_memory
from paperlab.models import TinyCausalLM

exp = setup(seed=seed, device=device, profile=profile)
for name, value in [
    ("n_tokens", n_tokens),
    ("embed_dim", embed_dim),
    ("vocab_size", vocab_size),
    ("chunk_size", chunk_size),
    ("lm_vocab", lm_vocab),
    ("lm_dim", lm_dim),
    ("lm_steps", lm_steps),
    ("lm_batch", lm_batch),
    ("lm_length", lm_length),
]:
    require(isinstance(value, int) and value >= 1, f"{name} must be a positive integer, got {value!r}")
require(
    lm_vocab >= 16 and lm_length >= 4 and lm_dim % 4 == 0,
    f"lm_vocab must be >= 16, lm_length >= 4, lm_dim a multiple of 4 (heads), got {lm_vocab}, {lm_length}, {lm_dim}",
)
require(
    all(isinstance(v, int) and v >= 2 for v in memory_vocab_sizes),
    f"memory_vocab_sizes must be integers >= 2, got {memory_vocab_sizes!r}",
)
require(
    isinstance(filter_eps, float) and 0 < filter_eps < 1, f"filter_eps must be in (0, 1), got {filter_eps!r}"
)
n_tokens = exp.pick(ci=n_tokens, paper=max(n_tokens, 8192))
embed_dim = exp.pick(ci=embed_dim, paper=max(embed_dim, 1024))
vocab_size = exp.pick(ci=vocab_size, paper=max(vocab_size, 131072))
memory_vocab_sizes = exp.pick(ci=memory_vocab_sizes, paper=sorted(set(memory_vocab_sizes) | {8192, 32768}))
lm_steps = exp.pick(ci=lm_steps, paper=max(lm_steps, 2000))
lm_batch = exp.pick(ci=lm_batch, paper=max(lm_batch, 64))
dtype = torch.float32

# %% [markdown]
# ## Same loss, same gradients
#
# Random embeddings and classifier weights, $N$ = `n_tokens`, $D$ = `embed_dim`, $V$ = `vocab_size`,
# with a bias and a few ignored tokens. Both losses run forward and backward under a probe that tracks
# every tensor torch creates (`paperlab.metrics.peak_tensor_memory`) and reports the most bytes alive
# at once: the memory the loss computation itself needs, gradients included.


# %%
def random_problem(n, d, v):
    e = torch.randn(n, d, generator=exp.generator, dtype=dtype).to(exp.device).requires_grad_()
    c = (torch.randn(v, d, generator=exp.generator, dtype=dtype) / d**0.5).to(exp.device).requires_grad_()
    bias = (0.1 * torch.randn(v, generator=exp.generator, dtype=dtype)).to(exp.device).requires_grad_()
    targets = torch.randint(0, v, (n,), generator=exp.generator)
    targets[torch.rand(n, generator=exp.generator) < 0.05] = -100  # a few ignored tokens
    return e, c, bias, targets.to(exp.device)


def dense_loss(e, c, targets, bias):
    return F.cross_entropy(e @ c.T + bias, targets)  # the N x V logits exist here


def chunked_loss(e, c, targets, bias, chunk=None):
    return linear_cross_entropy(e, c, targets, bias, chunk_size=chunk)


def loss_and_grads(loss_fn, e, c, bias, targets):
    """Forward and backward under the memory probe: (loss, (grad_e, grad_c, grad_bias)), peak bytes."""

    def step():
        loss = loss_fn(e, c, targets, bias)
        return loss.detach(), torch.autograd.grad(loss, (e, c, bias))

    measured = peak_tensor_memory(step)
    return measured.result, measured.peak_bytes


e, c, bias, targets = random_problem(n_tokens, embed_dim, vocab_size)
(dense_value, dense_grads), dense_peak = loss_and_grads(dense_loss, e, c, bias, targets)
(cce_value, cce_grads), cce_peak = loss_and_grads(
    lambda *args: chunked_loss(*args, chunk=chunk_size), e, c, bias, targets
)


def relative_error(ours, reference):
    """max |ours - reference| / max |reference|: the error relative to the tensor's scale."""
    return ((ours - reference).abs().max() / reference.abs().max()).item()


errors = {"loss": relative_error(cce_value, dense_value)}
errors.update(
    {f"grad {name}": relative_error(a, b) for name, a, b in zip(["e", "c", "bias"], cce_grads, dense_grads)}
)
print(f"loss: dense {dense_value.item():.6f}, chunked {cce_value.item():.6f}")
print("relative errors:", {k: f"{v:.1e}" for k, v in errors.items()})
print(
    f"peak memory: dense {dense_peak / 2**20:.1f} MiB, chunked {cce_peak / 2**20:.1f} MiB, ratio {cce_peak / dense_peak:.3f}"
)

# %% [markdown]
# ## Memory as the vocabulary grows
#
# The dense loss needs a few $N \times V$ matrices; the chunked one needs the gradient of $C$
# ($V \times D$, which any method must return) and one $N \times$ chunk block at a time.

# %%
memory_rows = [
    dict(vocab=vocab_size, method="dense F.cross_entropy", peak_mib=dense_peak / 2**20),
    dict(vocab=vocab_size, method="chunked (ours)", peak_mib=cce_peak / 2**20),
]
for v in tqdm([v for v in memory_vocab_sizes if v != vocab_size], desc="vocabulary sizes"):
    e_v, c_v, bias_v, targets_v = random_problem(n_tokens, embed_dim, v)
    for name, fn in [
        ("dense F.cross_entropy", dense_loss),
        ("chunked (ours)", lambda *a: chunked_loss(*a, chunk=chunk_size)),
    ]:
        _, peak = loss_and_grads(fn, e_v, c_v, bias_v, targets_v)
        memory_rows.append(dict(vocab=v, method=name, peak_mib=peak / 2**20))
memory = pd.DataFrame(memory_rows).sort_values("vocab")

fig, ax = plt.subplots(figsize=(6.4, 3.8))
for name, part in memory.groupby("method"):
    ax.plot(part.vocab, part.peak_mib, "o-", label=name)
vocabularies = sorted(memory.vocab.unique())
ax.plot(
    vocabularies,
    [v * embed_dim * c.element_size() / 2**20 for v in vocabularies],
    "k:",
    label="size of grad C alone",
)
ax.set(
    xscale="log",
    yscale="log",
    xlabel="vocabulary size V",
    ylabel="peak tensor memory (MiB)",
    title=f"Loss forward + backward, N = {n_tokens}, D = {embed_dim}",
)
ax.legend()
plt.show()

# %% [markdown]
# ## Training a tiny language model both ways
#
# A synthetic language: a first-order Markov chain over `lm_vocab` tokens in which every token has 8
# likely successors (weighted 1, 1/2, ..., 1/8), drawn like the first token from a Zipf law over the
# vocabulary, with 10% of tokens replaced by Zipf noise. As in real text, a few tokens are frequent and
# most are rare, so the model's softmax soon puts little mass on most of the vocabulary. The model is the
# package's `TinyCausalLM`, a one-layer causal transformer of width $D$ whose linear head maps its states
# to the vocabulary; the chunked loss takes the states and the head's weight, never the logits. The last
# positions of some sequences are padding, marked with `ignore_index`. Three copies start from the same
# weights and see the same batches: one trained with the dense loss, one with the chunked loss, one with
# the chunked loss and gradient filtering.

# %%
zipf = 1.0 / torch.arange(1, lm_vocab + 1, dtype=torch.float64)  # token frequencies, rank r -> 1/r
successors = torch.multinomial(zipf, 8 * lm_vocab, replacement=True, generator=exp.generator).view(
    lm_vocab, 8
)
successor_weights = 1.0 / torch.arange(1, 9, dtype=torch.float64)


def sample_batch(n_sequences, length):
    """Token sequences of the Markov chain: inputs (n, length) and next-token targets (n, length)."""
    tokens = torch.empty(n_sequences, length + 1, dtype=torch.long)
    tokens[:, 0] = torch.multinomial(zipf, n_sequences, replacement=True, generator=exp.generator)
    for position in range(1, length + 1):
        choice = torch.multinomial(successor_weights, n_sequences, replacement=True, generator=exp.generator)
        noise = torch.rand(n_sequences, generator=exp.generator) < 0.1  # 10% Zipf noise tokens
        random_tokens = torch.multinomial(zipf, n_sequences, replacement=True, generator=exp.generator)
        tokens[:, position] = torch.where(noise, random_tokens, successors[tokens[:, position - 1], choice])
    inputs, targets = tokens[:, :-1], tokens[:, 1:].clone()  # (n, length) each
    lengths = torch.randint(length // 2, length + 1, (n_sequences,), generator=exp.generator)
    targets[torch.arange(length)[None, :] >= lengths[:, None]] = -100  # padding
    return inputs.to(exp.device), targets.to(exp.device)


def train_curve(model, loss_kind, batches):
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    curve = []
    for inputs, targets in batches:
        states = model.hidden_states(inputs)  # (n, length, D)
        if loss_kind == "dense":
            loss = F.cross_entropy(model.head(states).flatten(0, 1), targets.flatten())
        else:
            eps = filter_eps if loss_kind == "chunked + filter" else None
            loss = linear_cross_entropy(states, model.head.weight, targets, model.head.bias, filter_eps=eps)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        curve.append(loss.item())
    return curve


torch.manual_seed(exp.seed)
initial = TinyCausalLM(lm_vocab, max_len=lm_length, d_model=lm_dim, n_layers=1, d_ff=4 * lm_dim).to(
    exp.device
)
batches = [sample_batch(lm_batch, lm_length) for _ in range(lm_steps)]
models = {kind: copy.deepcopy(initial) for kind in ["dense", "chunked", "chunked + filter"]}
curves = pd.DataFrame(
    {kind: train_curve(model, kind, tqdm(batches, desc=kind, leave=False)) for kind, model in models.items()}
)

with torch.no_grad():  # how much of the softmax lies below the threshold at the end of training
    trained = models["chunked"]
    inputs, targets = batches[-1]
    probs = torch.softmax(trained(inputs), dim=-1)[targets != -100]  # (n_valid, V)
    small_entries = (probs < filter_eps).float().mean().item()
    tile_max = F.max_pool2d(probs[None, None], FILTER_TILE, ceil_mode=True)[0, 0]  # (row tiles, column tiles)
    dropped_tiles = (tile_max < filter_eps).float().mean().item()
print("final loss: " + ", ".join(f"{k} {v:.5f}" for k, v in curves.iloc[-1].items()))
print(
    f"last batch: {small_entries:.1%} of the softmax entries are below filter_eps, "
    f"but only {dropped_tiles:.1%} of the {FILTER_TILE} x {FILTER_TILE} tiles lie wholly below it"
)

# %%
fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
for kind in curves:
    axes[0].plot(curves[kind], label=kind, linestyle="--" if kind != "dense" else "-")
axes[0].set(xlabel="step", ylabel="training loss", title="Tiny LM, same initialization and batches")
axes[0].legend()
for kind in ["chunked", "chunked + filter"]:
    axes[1].semilogy((curves[kind] - curves["dense"]).abs() + 1e-12, label=kind)
axes[1].set(xlabel="step", ylabel="|loss - dense loss|", title="Distance from the dense curve")
axes[1].legend()
plt.show()

# %% [markdown]
# ## Claims
#
# 1. Loss and gradients match the dense computation (relative error < $10^{-5}$ in float32).
# 2. Peak memory of the loss computation is below a tenth of the dense one at $V$ = `vocab_size`.
# 3. Training with the chunked loss follows the dense curve within $10^{-4}$ at every step.
# 4. Gradient filtering is numerically harmless: with it, the loss at every step stays within 1% of
#    the dense curve (a criterion we chose). Measured, but not required: see the note below. The check
#    is not empty: the filtered curve differs from the unfiltered chunked one by far more than the
#    rounding noise (~1e-6) that separates the chunked and the dense curves.

# %%
worst_error = max(errors.values())
# Rounding-level errors (printed above) differ between BLAS builds, so they stay out of the checked table.
exp.check("loss and grads match dense (max rel err)", worst_error < 1e-5, expect="< 1e-5")
memory_ratio = cce_peak / dense_peak
exp.check("peak memory chunked / dense", memory_ratio < 0.1, value=memory_ratio, expect="< 0.1")
curve_gap = (curves["chunked"] - curves["dense"]).abs().max()
print(f"max relative error {worst_error:.1e}; max |chunked - dense| over the training curve {curve_gap:.1e}")
exp.check("training curves equal (max |diff|)", curve_gap < 1e-4, expect="< 1e-4")
filter_gap = ((curves["chunked + filter"] - curves["dense"]).abs() / curves["dense"]).max()
exp.check(
    "filtering harmless (max rel diff of curve)",
    filter_gap < 0.01,
    value=filter_gap,
    expect="< 0.01",
    required=False,
)
filter_effect = (curves["chunked + filter"] - curves["chunked"]).abs().max()
exp.check(
    "filter active: |filtered - unfiltered| curve", filter_effect > 1e-5, value=filter_effect, expect="> 1e-5"
)

# %%
# NBVAL_CHECK_OUTPUT
exp.report()

# %% [markdown]
# ## What this small run shows, and what it does not
#
# - **Exactness.** The chunked loss is the same function as `F.cross_entropy(e @ c.T + bias)`, with
#   ignore_index; the remaining differences are float32 rounding from summing in another order.
# - **Memory.** The probe counts tensors created during the loss; the dense loss needs several $N \times V$
#   matrices, the chunked one little more than the gradient of $C$. The gap grows with $V$ and $N$. The
#   paper measures the same effect on a GPU, with fused kernels that also keep the chunk in on-chip memory.
# - **Speed is not checked here.** On a CPU the chunked loss computes the logits twice (4 matrix products
#   against 3) but avoids writing and reading the large matrices; `benchmarks/linear_cross_entropy.py`
#   measures time and peak resident memory at $N$ = 4096, $D$ = 512, $V$ = 131072.
# - **Gradient filtering: harmless here, but not robustly so.** As in the paper, a tile of 128 tokens x
#   128 vocabulary entries is dropped only when *every* probability in it is below `filter_eps`; a tile
#   with one large entry keeps its small ones. We use the paper's bfloat16 threshold $2^{-12}$ on a float32
#   model (the reference code derives the threshold from the dtype; for float32 it is so small that nothing
#   would be dropped). In this run the filtered curve stays within 1% of the dense one. The outcome depends
#   on the setting, which is why the claim is marked "not required": in earlier versions of this notebook,
#   with $V$ = 2048 no tile was ever dropped (an empty check); with $V$ = 16384 and 4 sequences per batch
#   the filtered curve moved up to 1.4% and 1.7% away (seeds 0 and 1) before ending within 0.3%; and
#   zeroing each small entry on its own instead of whole tiles moved it by up to 4%. The paper's curves
#   come from bfloat16 training at scale. On a CPU dropped tiles are zeroed rather than skipped, so we
#   check the numerical side only, not the paper's speed-up.
# - **Not reproduced:** the paper's large models (Gemma, Llama, Mistral, Phi) and its GPU timings.
