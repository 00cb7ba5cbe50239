"""An LSTM language model in plain NumPy: the twin of ``models/lstm_torch.py``.

Written from the gate equations, one time step at a time, with PyTorch ``nn.LSTM``'s parameter
layout (``weight_ih_l{k}`` (4H, in), ``weight_hh_l{k}`` (4H, H), two biases; gate order
i, f, g, o), so one safetensors file runs in both twins:

    z = x_t W_ihᵀ + b_ih + h_{t-1} W_hhᵀ + b_hh          (B, 4H)
    i = σ(z_i)   f = σ(z_f)   g = tanh(z_g)   o = σ(z_o)
    c_t = f ⊙ c_{t-1} + i ⊙ g
    h_t = o ⊙ tanh(c_t)

Shape letters: B batch, T steps, E embedding width, H hidden width, V vocabulary, L layers.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence

import numpy as np

from models.config import LSTMConfig
from models.gpt_numpy import cross_entropy
from models.trace import LSTMTrace
from models.weights import lstm_num_params

State = list[tuple[np.ndarray, np.ndarray]]  # per layer: (h, c), each (B, H)


def sigmoid(x: np.ndarray) -> np.ndarray:
    """1 / (1 + e^-x), written as (1 + tanh(x/2)) / 2 so that no exponential overflows."""
    return 0.5 * (1.0 + np.tanh(0.5 * x))


class LSTMLayer:
    """One layer over T steps: the gate equations in a loop over time."""

    def __init__(self, w_ih: np.ndarray, w_hh: np.ndarray, b_ih: np.ndarray, b_hh: np.ndarray):
        self.w_ih, self.w_hh, self.b_ih, self.b_hh = w_ih, w_hh, b_ih, b_hh  # (4H, in), (4H, H), (4H,), (4H,)

    def __call__(
        self, x: np.ndarray, state: tuple[np.ndarray, np.ndarray], keep: np.ndarray | None = None
    ) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray], dict[str, np.ndarray]]:
        """x (B, T, in) → hidden states (B, T, H), the last (h, c), and every gate per step.

        ``keep`` (B, T) is 0 on padding: there the state passes through unchanged.
        """
        h, c = state  # (B, H) each
        T = x.shape[1]
        xz = x @ self.w_ih.T + self.b_ih  # (B, T, 4H): the input's share of every step at once
        names = ("i", "f", "g", "o", "c", "h")
        record = {n: [] for n in names}
        for t in range(T):
            z = xz[:, t] + h @ self.w_hh.T + self.b_hh  # (B, 4H)
            zi, zf, zg, zo = np.split(z, 4, axis=-1)  # (B, H) each
            i, f, g, o = sigmoid(zi), sigmoid(zf), np.tanh(zg), sigmoid(zo)
            c_new = f * c + i * g  # (B, H): forget some of the old cell, write some of the new
            h_new = o * np.tanh(c_new)  # (B, H): what the layer shows of its cell
            if keep is not None:
                k = keep[:, t, None].astype(bool)  # (B, 1)
                c_new, h_new = np.where(k, c_new, c), np.where(k, h_new, h)
            c, h = c_new, h_new
            for n, value in zip(names, (i, f, g, o, c, h), strict=True):
                record[n].append(value)
        stacked = {n: np.stack(v, axis=1) for n, v in record.items()}  # (B, T, H) each
        return stacked["h"], (h, c), stacked


class LSTM:
    """The whole model: embedding → L LSTM layers → linear head."""

    inference_context = staticmethod(contextlib.nullcontext)  # nothing to switch off in NumPy

    def __init__(self, config: LSTMConfig, params: Mapping[str, np.ndarray], dtype: str = "float32"):
        self.config = config
        self.dtype = np.dtype(dtype)
        if self.dtype not in (np.float32, np.float64):
            raise ValueError(f"dtype must be float32 or float64, got {dtype!r}")

        def p(name: str) -> np.ndarray:
            return np.ascontiguousarray(params[name], dtype=self.dtype)

        self.wte = p("wte.weight")  # (V, E)
        self.layers = [
            LSTMLayer(
                p(f"lstm.weight_ih_l{k}"),
                p(f"lstm.weight_hh_l{k}"),
                p(f"lstm.bias_ih_l{k}"),
                p(f"lstm.bias_hh_l{k}"),
            )
            for k in range(config.n_layer)
        ]
        self.head_w = p("head.weight")  # (V, H)
        self.head_b = p("head.bias")  # (V,)

    def initial_state(self, B: int) -> State:
        zeros = np.zeros((B, self.config.n_hidden), dtype=self.dtype)
        return [(zeros, zeros) for _ in range(self.config.n_layer)]

    def forward_cached(
        self,
        ids: np.ndarray,
        past: State | None = None,
        padding_mask: np.ndarray | None = None,
        trace: bool = False,
    ) -> tuple[np.ndarray, State, LSTMTrace | None]:
        """Run T new tokens from a state; return (logits (B, T, V), the new state, trace or None).

        ``padding_mask`` (B, T) marks real tokens with 1 and padding with 0 (left padding: the
        state stays at zero until the text starts). The "cache" of an LSTM is its state.
        """
        ids = np.asarray(ids, dtype=np.int64)
        B, T = ids.shape
        keep = None if padding_mask is None else np.asarray(padding_mask)[:, -T:]
        x = self.wte[ids]  # (B, T, E): an embedding is a row lookup
        tok_emb = x
        state = past if past else self.initial_state(B)
        present: State = []
        records = []
        for k, layer in enumerate(self.layers):
            x, layer_state, record = layer(x, state[k], keep)
            present.append(layer_state)
            records.append(record)
        logits = x @ self.head_w.T + self.head_b  # (B, T, V)
        if not trace:
            return logits, present, None

        def stack(key: str) -> np.ndarray:
            return np.stack([r[key] for r in records])  # (L, B, T, H)

        tr = LSTMTrace(
            tok_emb=tok_emb,
            input_gate=stack("i"),
            forget_gate=stack("f"),
            cell_input=stack("g"),
            output_gate=stack("o"),
            cell=stack("c"),
            hidden=stack("h"),
            logits=logits,
        )
        return logits, present, tr

    def forward(
        self, ids: np.ndarray, padding_mask: np.ndarray | None = None, trace: bool = False
    ) -> np.ndarray | tuple[np.ndarray, LSTMTrace]:
        """Logits (B, T, V) for a whole sequence from the zero state; with trace=True, (logits, LSTMTrace)."""
        logits, _, tr = self.forward_cached(ids, None, padding_mask, trace)
        return (logits, tr) if trace else logits

    __call__ = forward

    def loss(self, ids: np.ndarray, targets: np.ndarray, padding_mask: np.ndarray | None = None) -> float:
        """Mean cross-entropy (nats per token) of predicting ``targets`` (-1 = ignore) from ``ids``."""
        logits = self.forward(ids, padding_mask)
        return cross_entropy(logits, targets)

    @staticmethod
    def reorder_past(past: State, index: np.ndarray) -> State:
        """Select / repeat batch rows of the state (beam search)."""
        index = np.asarray(index, dtype=np.int64)
        return [(h[index], c[index]) for h, c in past]

    @staticmethod
    def merge_past(pasts: Sequence[State]) -> tuple[State, None, list[int]]:
        """Several one-row states as one batch → (state, no padding mask, pads of 0): a state has
        no length, so rows just stack."""
        merged = [
            (np.concatenate([h for h, _ in layer]), np.concatenate([c for _, c in layer]))
            for layer in zip(*pasts, strict=True)
        ]
        return merged, None, [0] * len(pasts)

    @staticmethod
    def split_past(past: State, pads: Sequence[int]) -> list[State]:
        """The inverse of ``merge_past``: each row's own state."""
        return [[(h[b : b + 1], c[b : b + 1]) for h, c in past] for b in range(len(pads))]

    def num_parameters(self) -> int:
        return lstm_num_params(self.config)
