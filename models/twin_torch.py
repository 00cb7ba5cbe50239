"""What every PyTorch twin shares, whatever its architecture: the twin of ``models/twin_numpy.py``.

``TwinModel`` is the base of each whole model (GPT, MaskedLM, EncoderDecoder, LSTM): ``load``
fills its parameters from the weight file's arrays, ``loss`` is the cross-entropy of
``forward``'s logits, ``reorder_past`` selects batch rows of a cache, ``num_parameters`` and
``state_arrays`` read its parameters back. ``LanguageModel`` adds what a model that reads tokens
one step at a time after a cache (``forward_cached``) shares: ``forward`` on top of it, and several
one-row caches merged into one batch and split again. ``stack_layers`` turns what each layer
recorded into a trace. This twin also trains: dropout applies in ``train()`` mode only.

A cache (``past``) is, per layer, a tuple of (B, …) tensors: keys and values (B, nh, Tk, hs) with
a time axis (``past_time_axis = 2``), or an LSTM's state (h, c), each (B, H), without one.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Literal, TypeVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

Trace = TypeVar("Trace")
Past = list[tuple[torch.Tensor, ...]]  # per layer: the tensors of its cache, each (B, …)


def cross_entropy(logits: torch.Tensor, targets: torch.Tensor, ignore_index: int = -1) -> torch.Tensor:
    """Mean of -log softmax(logits)[target] over targets that are not ignore_index (nats)."""
    logits = logits.reshape(-1, logits.shape[-1])  # (N, V)
    targets = torch.as_tensor(targets, device=logits.device).reshape(-1)  # (N,)
    keep = targets != ignore_index
    logits, targets = logits[keep], targets[keep]
    logsumexp = torch.logsumexp(logits, dim=-1)  # (N,)
    return torch.mean(logsumexp - logits[torch.arange(len(targets), device=logits.device), targets])


def stack_layers(trace_cls: type[Trace], records: Sequence[dict[str, Any]], **given: Any) -> Trace:
    """A trace dataclass: the ``given`` fields as they are, every other field the layers' records
    under its name, stacked along a leading L axis."""
    names = [f.name for f in dataclasses.fields(trace_cls) if f.name not in given]
    return trace_cls(**given, **{n: torch.stack([r[n] for r in records]) for n in names})


class TwinModel(nn.Module):
    """The whole model of any architecture; its NumPy twin's base is ``numpy_nn.Module``."""

    inference_context = staticmethod(torch.inference_mode)  # no autograd bookkeeping at inference

    def __init__(self, config: Any):
        super().__init__()
        self.config = config

    def load(self, params: Mapping[str, np.ndarray], dtype: str) -> None:
        """Fill the parameters from ``params``, cast them to ``dtype`` and switch dropout off."""
        self.load_params(params)
        self.to(getattr(torch, dtype))
        self.eval()

    def load_params(self, params: Mapping[str, np.ndarray]) -> None:
        """Copy arrays named as in the safetensors file into the parameters (a tied or shared one
        once); a missing name or a wrong shape is a ValueError that names it."""
        own = dict(self.named_parameters())  # a tied or shared matrix appears once
        missing = sorted(set(own) - set(params))
        if missing:
            raise ValueError(f"weights are missing: {', '.join(missing)}")
        with torch.no_grad():
            for name, p in own.items():
                value = np.asarray(params[name])
                if tuple(value.shape) != tuple(p.shape):
                    raise ValueError(f"{name}: expected shape {tuple(p.shape)}, got {tuple(value.shape)}")
                p.copy_(torch.as_tensor(value))

    def loss(
        self, ids: torch.Tensor, targets: torch.Tensor, padding_mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Mean cross-entropy (nats per token) of ``targets`` (-1 = ignore) under ``forward(ids)``."""
        logits = self.forward(ids, padding_mask)
        return cross_entropy(logits, targets)

    @staticmethod
    def reorder_past(past: Past, index: np.ndarray) -> Past:
        """Select / repeat batch rows of a cache, every tensor of every layer (beam search)."""
        device = past[0][0].device if past and past[0] else None  # where the cache lives
        index = torch.as_tensor(np.asarray(index, dtype=np.int64), device=device)
        return [tuple(t[index] for t in layer) for layer in past]

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())  # a tied or shared matrix counted once

    def state_arrays(self) -> dict[str, np.ndarray]:
        """Parameters as NumPy arrays under their file names, a tied or shared matrix stored once."""
        return {name: p.detach().cpu().numpy().copy() for name, p in self.named_parameters()}


class LanguageModel(TwinModel):
    """A model that reads T new tokens after a cache of the tokens before them."""

    past_time_axis: ClassVar[int | None] = None  # the axis along which a cache grows, if any

    def forward_cached(
        self,
        ids: torch.Tensor,
        past: Any = None,
        padding_mask: torch.Tensor | None = None,
        trace: Any = False,
    ) -> tuple[torch.Tensor, Any, Any]:
        """(logits (B, T, V), the new cache, trace or None): each architecture's own."""
        raise NotImplementedError

    def forward(
        self,
        ids: torch.Tensor,
        padding_mask: torch.Tensor | None = None,
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
    def merge_past(cls, pasts: Sequence[Past]) -> tuple[Past, torch.Tensor | None, list[int]]:
        """Several one-row caches as one batch → (cache, padding mask, pads).

        Along the time axis row b is left-padded with ``pads[b]`` zeros up to the longest; the
        padding mask (B, longest + 1) marks its real keys and the one new token each row feeds
        next. A state without a time axis has no length: its rows just stack (no mask, pads of 0).
        """
        lengths = [cls.past_length(p) for p in pasts]
        longest = max(lengths)
        pads = [longest - n for n in lengths]
        merged: Past = [
            tuple(cls._stack_rows(rows, pads) for rows in zip(*layer, strict=True))  # per tensor: every row's
            for layer in zip(*pasts, strict=True)  # one layer of every row
        ]
        if cls.past_time_axis is None:
            return merged, None, pads
        device = merged[0][0].device  # where the caches live
        arange = torch.arange(longest + 1, device=device)[None, :]
        padding_mask = arange >= torch.tensor(pads, device=device)[:, None]  # (B, longest + 1)
        return merged, padding_mask, pads

    @classmethod
    def split_past(cls, past: Past, pads: Sequence[int]) -> list[Past]:
        """The inverse of ``merge_past`` after a step: each row's own cache, its padding cut off."""
        return [
            [tuple(cls._cut(t[b : b + 1], pad) for t in layer) for layer in past]
            for b, pad in enumerate(pads)
        ]

    @classmethod
    def _stack_rows(cls, rows: Sequence[torch.Tensor], pads: Sequence[int]) -> torch.Tensor:
        """One-row tensors as one (B, …) tensor, row b after ``pads[b]`` zeros along the time axis."""
        padded = []
        for t, pad in zip(rows, pads, strict=True):
            if pad:
                t = F.pad(t, [0, 0] * (t.ndim - 1 - cls.past_time_axis) + [pad, 0])  # last axis first
            padded.append(t)
        return torch.cat(padded)

    @classmethod
    def _cut(cls, t: torch.Tensor, start: int) -> torch.Tensor:
        """``t`` from ``start`` on along the time axis."""
        if not start:
            return t
        return t[(slice(None),) * cls.past_time_axis + (slice(start, None),)]
