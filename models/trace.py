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


class TraceFields:
    """What every trace dataclass can do with its fields."""

    def to_numpy(self) -> dict[str, np.ndarray]:
        """Every field that was filled, as float64 (or integer/bool) NumPy."""
        values = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        return {name: to_numpy(value) for name, value in values.items() if value is not None}

    @classmethod
    def field_names(cls) -> list[str]:
        return [f.name for f in dataclasses.fields(cls)]


@dataclass
class Trace(TraceFields):
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


@dataclass
class AttentionTrace(TraceFields):
    """The attention weights alone: what ``forward_cached(..., trace="attention")`` keeps (a
    streamed token carries its attention row; stacking every other tensor would cost more than
    the forward itself)."""

    att_probs: Any  # (L, B, nh, T, Tk)


@dataclass
class LSTMTrace(TraceFields):
    """What an LSTM forward pass saw, step by step (every gate per layer, time step and unit)."""

    tok_emb: Any  # (B, T, E)       embedding rows, wte[ids]
    input_gate: Any  # (L, B, T, H)  i = σ(·): how much of the new candidate is written
    forget_gate: Any  # (L, B, T, H) f = σ(·): how much of the old cell is kept
    cell_input: Any  # (L, B, T, H)  g = tanh(·): the candidate written to the cell
    output_gate: Any  # (L, B, T, H) o = σ(·): how much of the cell is shown
    cell: Any  # (L, B, T, H)        c_t
    hidden: Any  # (L, B, T, H)      h_t, the layer's output
    logits: Any  # (B, T, V)


@dataclass
class EncoderTrace(TraceFields):
    """What a bidirectional encoder saw (the masked LM, or the encoder of an encoder-decoder).

    Field names and shapes are ``Trace``'s; the mask has no triangle, only padding. ``logit_lens``
    and ``logits`` are the masked LM head's (None in an encoder-decoder, whose encoder has no head).
    """

    tok_emb: Any  # (B, T, C)
    pos_emb: Any  # (B, T, C)
    positions: Any  # (B, T)    position of every token (padding does not count)
    mask: Any  # (B, T, T)      True where query i may attend to key j (both real tokens)
    q: Any  # (L, B, nh, T, hs)
    k: Any  # (L, B, nh, T, hs)
    v: Any  # (L, B, nh, T, hs)
    att_scores: Any  # (L, B, nh, T, T) with masked entries at -inf
    att_probs: Any  # (L, B, nh, T, T)  a padded key gets exactly 0
    resid_mid: Any  # (L, B, T, C)  residual stream after each attention sub-block
    mlp_act: Any  # (L, B, T, 4C)
    residual: Any  # (L+1, B, T, C)  embeddings, then after each block
    output: Any  # (B, T, C)  ln_f of the last residual: what the head (or the decoder) reads
    logit_lens: Any = None  # (L, B, T, V)  each block's output through ln_f and the MLM head
    logits: Any = None  # (B, T, V)


@dataclass
class DecoderTrace(TraceFields):
    """What the decoder of an encoder-decoder saw: masked self-attention, cross-attention to the
    source (S source positions), MLP, per layer. T new target tokens, Tk = past + T keys."""

    tok_emb: Any  # (B, T, C)
    pos_emb: Any  # (B, T, C)
    positions: Any  # (B, T)
    mask: Any  # (B, T, Tk)         causal ∧ target padding
    q: Any  # (L, B, nh, T, hs)     self-attention
    k: Any  # (L, B, nh, Tk, hs)
    v: Any  # (L, B, nh, Tk, hs)
    att_scores: Any  # (L, B, nh, T, Tk)
    att_probs: Any  # (L, B, nh, T, Tk)
    cross_mask: Any  # (B, T, S)    True where a target query may read source position s
    cross_q: Any  # (L, B, nh, T, hs)  queries from the target
    cross_k: Any  # (L, B, nh, S, hs)  keys from the encoder output
    cross_v: Any  # (L, B, nh, S, hs)  values from the encoder output
    cross_scores: Any  # (L, B, nh, T, S)
    cross_probs: Any  # (L, B, nh, T, S)  a padded source position gets exactly 0
    resid_mid: Any  # (L, B, T, C)    after self-attention
    resid_cross: Any  # (L, B, T, C)  after cross-attention
    mlp_act: Any  # (L, B, T, 4C)
    residual: Any  # (L+1, B, T, C)
    logit_lens: Any  # (L, B, T, V)
    logits: Any  # (B, T, V)


@dataclass
class EncDecTrace:
    """A teacher-forced encoder-decoder pass: the encoder's trace and the decoder's."""

    encoder: EncoderTrace
    decoder: DecoderTrace

    def to_numpy(self) -> dict[str, np.ndarray]:
        """Both halves in one dict, keys prefixed "encoder." / "decoder."."""
        out = {f"encoder.{k}": v for k, v in self.encoder.to_numpy().items()}
        out.update({f"decoder.{k}": v for k, v in self.decoder.to_numpy().items()})
        return out
