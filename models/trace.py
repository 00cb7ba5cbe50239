"""What a forward pass saw, layer by layer: the one source for every figure and parity test.

Both twins fill the same ``Trace``; the PyTorch twin with tensors, the NumPy twin with arrays.
``Trace.to_numpy()`` turns either into float64 NumPy arrays so the two can be compared field by
field. Per-layer fields are stacked along a leading ``L`` axis.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np


def to_numpy(x: Any) -> np.ndarray:
    """A float64 (or integer/bool) NumPy copy of a torch tensor or array."""
    if hasattr(x, "detach"):  # torch.Tensor, without importing torch here
        x = x.detach().cpu().numpy()
    x = np.asarray(x)
    return x.astype(np.float64) if np.issubdtype(x.dtype, np.floating) else x


@dataclass
class Trace:
    """Intermediate values of one forward pass (shapes for a batch B of T new tokens)."""

    tok_emb: Any  # (B, T, C)   token embedding rows, wte[ids]
    pos_emb: Any  # (B, T, C)   position vectors added to them (learned wpe rows or sinusoids)
    positions: Any  # (B, T)    the position index of every token
    mask: Any  # (B, T, Tk)     True where a query may attend to a key (causal ∧ padding)
    q: Any  # (L, B, nh, T, hs)  queries per layer and head
    k: Any  # (L, B, nh, Tk, hs) keys (past + new when a KV cache is used)
    v: Any  # (L, B, nh, Tk, hs) values
    att_scores: Any  # (L, B, nh, T, Tk) q·k/√hs with masked entries at -inf
    att_probs: Any  # (L, B, nh, T, Tk)  softmax of the scores: the attention weights
    resid_mid: Any  # (L, B, T, C)  residual stream after each attention sub-block
    mlp_act: Any  # (L, B, T, 4C)   MLP hidden activations after GELU/ReLU
    residual: Any  # (L+1, B, T, C) residual stream: embeddings, then after each block
    logit_lens: Any  # (L, B, T, V) what each block's output would predict through the head
    logits: Any  # (B, T, V)

    def to_numpy(self) -> dict[str, np.ndarray]:
        return {f.name: to_numpy(getattr(self, f.name)) for f in dataclasses.fields(self)}

    @staticmethod
    def field_names() -> list[str]:
        return [f.name for f in dataclasses.fields(Trace)]


@dataclass
class LSTMTrace:
    """What an LSTM forward pass saw, step by step (every gate per layer, time step and unit)."""

    tok_emb: Any  # (B, T, E)       embedding rows, wte[ids]
    input_gate: Any  # (L, B, T, H)  i = σ(·): how much of the new candidate is written
    forget_gate: Any  # (L, B, T, H) f = σ(·): how much of the old cell is kept
    cell_input: Any  # (L, B, T, H)  g = tanh(·): the candidate written to the cell
    output_gate: Any  # (L, B, T, H) o = σ(·): how much of the cell is shown
    cell: Any  # (L, B, T, H)        c_t
    hidden: Any  # (L, B, T, H)      h_t, the layer's output
    logits: Any  # (B, T, V)

    def to_numpy(self) -> dict[str, np.ndarray]:
        return {f.name: to_numpy(getattr(self, f.name)) for f in dataclasses.fields(self)}

    @staticmethod
    def field_names() -> list[str]:
        return [f.name for f in dataclasses.fields(LSTMTrace)]
