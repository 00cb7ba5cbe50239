"""What every NumPy twin shares, whatever its architecture: the twin of ``models/twin_torch.py``.

``TwinModel`` is the base of each whole model (GPT, MaskedLM, EncoderDecoder, LSTM): calling it
runs ``forward``, ``loss`` is the cross-entropy of ``forward``'s logits, ``reorder_past`` selects
batch rows of a cache, ``num_parameters`` counts the arrays of its tree. ``LanguageModel`` adds
what a model that reads tokens one step at a time after a cache (``forward_cached``) shares:
``forward`` on top of it, and several one-row caches merged into one batch and split again.
``stack_layers`` turns what each layer recorded into a trace. Inference only: no dropout.

A cache (``past``) is, per layer, a tuple of (B, …) arrays: keys and values (B, nh, Tk, hs) with
a time axis (``past_time_axis = 2``), or an LSTM's state (h, c), each (B, H), without one.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Sequence
from typing import Any, ClassVar, Literal, TypeVar

import numpy as np

from models.numpy_nn import Module

Trace = TypeVar("Trace")
Past = list[tuple[np.ndarray, ...]]  # per layer: the arrays of its cache, each (B, …)


def cross_entropy(logits: np.ndarray, targets: np.ndarray, ignore_index: int = -1) -> float:
    """Mean of -log softmax(logits)[target] over targets that are not ignore_index (nats)."""
    logits = logits.reshape(-1, logits.shape[-1])  # (N, V)
    targets = np.asarray(targets).reshape(-1)  # (N,)
    keep = targets != ignore_index
    logits, targets = logits[keep], targets[keep]
    m = np.max(logits, axis=-1, keepdims=True)
    logsumexp = (m + np.log(np.sum(np.exp(logits - m), axis=-1, keepdims=True)))[:, 0]  # (N,)
    return float(np.mean(logsumexp - logits[np.arange(len(targets)), targets]))


def stack_layers(trace_cls: type[Trace], records: Sequence[dict[str, Any]], **given: Any) -> Trace:
    """A trace dataclass: the ``given`` fields as they are, every other field the layers' records
    under its name, stacked along a leading L axis."""
    names = [f.name for f in dataclasses.fields(trace_cls) if f.name not in given]
    return trace_cls(**given, **{n: np.stack([r[n] for r in records]) for n in names})


class TwinModel(Module):
    """The whole model of any architecture; its PyTorch twin's base is ``nn.Module``."""

    inference_context = staticmethod(contextlib.nullcontext)  # nothing to switch off in NumPy

    def __init__(self, config: Any):
        self.config = config

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.forward(*args, **kwargs)

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError

    def loss(self, ids: np.ndarray, targets: np.ndarray, padding_mask: np.ndarray | None = None) -> float:
        """Mean cross-entropy (nats per token) of ``targets`` (-1 = ignore) under ``forward(ids)``."""
        logits = self.forward(ids, padding_mask)
        return cross_entropy(logits, targets)

    @staticmethod
    def reorder_past(past: Past, index: np.ndarray) -> Past:
        """Select / repeat batch rows of a cache, every array of every layer (beam search)."""
        index = np.asarray(index, dtype=np.int64)
        return [tuple(t[index] for t in layer) for layer in past]

    def num_parameters(self) -> int:
        return sum(p.size for _, p in self.named_parameters())  # a tied or shared matrix counted once


class LanguageModel(TwinModel):
    """A model that reads T new tokens after a cache of the tokens before them."""

    past_time_axis: ClassVar[int | None] = None  # the axis along which a cache grows, if any

    def forward_cached(
        self, ids: np.ndarray, past: Any = None, padding_mask: np.ndarray | None = None, trace: Any = False
    ) -> tuple[np.ndarray, Any, Any]:
        """(logits (B, T, V), the new cache, trace or None): each architecture's own."""
        raise NotImplementedError

    def forward(
        self,
        ids: np.ndarray,
        padding_mask: np.ndarray | None = None,
        trace: bool | Literal["attention"] = False,
    ) -> Any:
        """Logits (B, T, V) for a whole sequence, from an empty cache; with trace=True, (logits, trace)."""
        logits, _, tr = self.forward_cached(ids, None, padding_mask, trace)
        return (logits, tr) if trace else logits

    @classmethod
    def past_length(cls, past: Past) -> int:
        """How many tokens a cache holds along its time axis (a state without one: 0)."""
        return 0 if cls.past_time_axis is None or not past else past[0][0].shape[cls.past_time_axis]

    @classmethod
    def merge_past(cls, pasts: Sequence[Past]) -> tuple[Past, np.ndarray | None, list[int]]:
        """Several one-row caches as one batch → (cache, padding mask, pads).

        Along the time axis row b is left-padded with ``pads[b]`` zeros up to the longest; the
        padding mask (B, longest + 1) marks its real keys and the one new token each row feeds
        next. A state without a time axis has no length: its rows just stack (no mask, pads of 0).
        """
        lengths = [cls.past_length(p) for p in pasts]
        longest = max(lengths)
        pads = [longest - n for n in lengths]
        merged: Past = [
            tuple(cls._stack_rows(rows, pads) for rows in zip(*layer, strict=True))  # per array: every row's
            for layer in zip(*pasts, strict=True)  # one layer of every row
        ]
        if cls.past_time_axis is None:
            return merged, None, pads
        padding_mask = np.arange(longest + 1)[None, :] >= np.asarray(pads)[:, None]  # (B, longest + 1)
        return merged, padding_mask, pads

    @classmethod
    def split_past(cls, past: Past, pads: Sequence[int]) -> list[Past]:
        """The inverse of ``merge_past`` after a step: each row's own cache, its padding cut off."""
        return [
            [tuple(cls._cut(t[b : b + 1], pad) for t in layer) for layer in past]
            for b, pad in enumerate(pads)
        ]

    @classmethod
    def _stack_rows(cls, rows: Sequence[np.ndarray], pads: Sequence[int]) -> np.ndarray:
        """One-row arrays as one (B, …) array, row b after ``pads[b]`` zeros along the time axis."""
        padded = []
        for t, pad in zip(rows, pads, strict=True):
            if pad:
                t = np.pad(t, [(pad, 0) if a == cls.past_time_axis else (0, 0) for a in range(t.ndim)])
            padded.append(t)
        return np.concatenate(padded)

    @classmethod
    def _cut(cls, t: np.ndarray, start: int) -> np.ndarray:
        """``t`` from ``start`` on along the time axis."""
        if not start:
            return t
        return t[(slice(None),) * cls.past_time_axis + (slice(start, None),)]
