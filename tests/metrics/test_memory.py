"""peak_tensor_memory: exact counts on known allocations, freed tensors, and quadratic vs tiled."""

from __future__ import annotations

import pytest
import torch

from paperlab.losses import supcon_loss
from paperlab.metrics.memory import peak_tensor_memory


def test_counts_live_tensors_and_forgets_freed_ones():
    def one_at_a_time():
        a = torch.ones(1000)  # 4000 bytes
        del a
        b = torch.ones(1000)
        return b.sum()

    def two_at_once():
        a, b = torch.ones(1000), torch.ones(1000)
        return (a + b).sum()  # a, b and a + b alive together

    assert peak_tensor_memory(one_at_a_time).peak_bytes == 4000 + 4
    assert peak_tensor_memory(two_at_once).peak_bytes == 3 * 4000 + 4
    assert peak_tensor_memory(lambda: torch.zeros(10, dtype=torch.float64)).result.shape == (10,)


def test_sees_the_backward_pass_and_separates_full_from_tiled_supcon():
    n = 512
    x = torch.randn(n, 16, requires_grad=True)
    y = torch.randint(0, 20, (n,))
    full = peak_tensor_memory(lambda: supcon_loss(x, y).backward()).peak_bytes
    tiled = peak_tensor_memory(lambda: supcon_loss(x, y, chunk_size=64).backward()).peak_bytes
    assert full >= 2 * n * n * 4  # logits and their softmax at least
    assert tiled < n * n * 4


def test_rejects_non_callables():
    with pytest.raises(TypeError, match="fn"):
        peak_tensor_memory(3)
