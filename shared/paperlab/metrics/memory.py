"""Peak memory of the tensors a computation creates, measured by watching every torch operation.

CPU allocations are invisible to ``tracemalloc`` and torch keeps no CPU allocator statistics, so
this probe sits at the dispatcher: each operation's outputs are recorded with their storage size,
and a storage stops counting once it is freed. It sees forward and backward passes alike, on any
device; buffers private to a kernel (never returned as tensors) are not seen.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch.multiprocessing.reductions import StorageWeakRef
from torch.utils._python_dispatch import TorchDispatchMode


@dataclass
class PeakMemory:
    """What :func:`peak_tensor_memory` returns: the call's result and its peak tensor bytes."""

    result: Any
    peak_bytes: int


class _LiveStorageProbe(TorchDispatchMode):
    """Track the bytes of live storages created by operations, and their running maximum."""

    def __init__(self):
        super().__init__()
        self.live: dict[int, tuple[StorageWeakRef, int]] = {}
        self.current = 0
        self.peak = 0

    def _forget_freed(self) -> None:
        for key in [key for key, (ref, _) in self.live.items() if ref.expired()]:
            self.current -= self.live.pop(key)[1]

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        self._forget_freed()
        for tensor in out if isinstance(out, (tuple, list)) else (out,):
            if isinstance(tensor, torch.Tensor):
                storage = tensor.untyped_storage()
                if storage._cdata not in self.live:
                    self.live[storage._cdata] = (StorageWeakRef(storage), storage.nbytes())
                    self.current += storage.nbytes()
        self.peak = max(self.peak, self.current)
        return out


def peak_tensor_memory(fn, *args, **kwargs) -> PeakMemory:
    """Run ``fn(*args, **kwargs)`` and report the peak bytes of tensors alive at once during it.

    Counted: every tensor an operation returns inside the call (a view counts its whole storage
    once), until it is freed; tensors that existed before the call and are not touched are not.
    Deterministic, so it can back a checked claim.

    Args:
        fn: the computation, for example a closure running a loss forward and backward.

    Returns:
        :class:`PeakMemory` with ``result`` (what ``fn`` returned) and ``peak_bytes``.
    """
    if not callable(fn):
        raise TypeError(f"fn must be callable, got {type(fn).__name__}")
    with _LiveStorageProbe() as probe:
        result = fn(*args, **kwargs)
    return PeakMemory(result=result, peak_bytes=probe.peak)
