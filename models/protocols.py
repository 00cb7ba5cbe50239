"""What generation needs from a model, written down as protocols (``models.generate``, ``models.beam``).

``CachedLM`` reads new tokens after a cache of the ones before (beam search, one sequence);
``CausalLM`` also merges one-row caches of different lengths into one batch and splits them again
(the server's batch). Both twins of every decoder-only model are a ``CausalLM``.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any, Literal, Protocol, runtime_checkable

import numpy as np

Past = Any  # a model's cache (KV cache or LSTM state), handed back to the model as it is


class LMConfig(Protocol):
    """What generation reads of a model's config."""

    @property
    def block_size(self) -> int: ...  # the context: the most tokens one sequence may hold

    @property
    def vocab_size(self) -> int: ...


@runtime_checkable
class CachedLM(Protocol):
    """A model that reads new tokens after a cache of the ones before (beam search, one sequence)."""

    @property
    def config(self) -> LMConfig: ...

    def inference_context(self) -> AbstractContextManager[Any]: ...

    def forward_cached(
        self,
        ids: Any,
        past: Past = None,
        padding_mask: Any = None,
        trace: bool | Literal["attention"] = False,
    ) -> tuple[Any, Past, Any]:
        """ids (B, T) after ``past`` → (logits (B, T, V), the new cache, trace or None)."""
        ...

    def reorder_past(self, past: Past, index: np.ndarray) -> Past:
        """The cache's batch rows selected / repeated by ``index``."""
        ...


@runtime_checkable
class CausalLM(CachedLM, Protocol):
    """A ``CachedLM`` whose one-row caches of different lengths merge into one batch and split again."""

    past_time_axis: int | None  # the axis along which a cache grows; None: a state without one (no window)

    def past_length(self, past: Past) -> int:
        """How many keys a cache holds (0 for a state without a time axis)."""
        ...

    def merge_past(self, pasts: Sequence[Past]) -> tuple[Past, Any, list[int]]:
        """One-row caches → (one batch, its padding mask or None, each row's left padding)."""
        ...

    def split_past(self, past: Past, pads: Sequence[int]) -> list[Past]:
        """The inverse of ``merge_past``: each row's own cache."""
        ...
