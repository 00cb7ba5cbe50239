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

from collections.abc import Mapping

import numpy as np

from models.config import LSTMConfig
from models.numpy_nn import Embedding, Linear, LSTMWeights, Params
from models.trace import LSTMTrace
from models.twin_numpy import LanguageModel, stack_layers

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
        """x (B, T, in) → hidden states (B, T, H), the last (h, c), and every gate per step, named as
        in an ``LSTMTrace``.

        ``keep`` (B, T) is 0 on padding: there the state passes through unchanged.
        """
        h, c = state  # (B, H) each
        T = x.shape[1]
        xz = x @ self.w_ih.T + self.b_ih  # (B, T, 4H): the input's share of every step at once
        names = ("input_gate", "forget_gate", "cell_input", "output_gate", "cell", "hidden")
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
        return stacked["hidden"], (h, c), stacked


class LSTM(LanguageModel):
    """The whole model: embedding → L LSTM layers → linear head."""

    past_time_axis = None  # a state (h, c) has no length

    def __init__(self, config: LSTMConfig, params: Mapping[str, np.ndarray], dtype: str = "float32"):
        """Parameters from ``params`` (named as in the file), as arrays of ``dtype``."""
        super().__init__(config)
        params = Params(params, dtype)
        self.wte = Embedding(config.vocab_size, config.n_embd, params.scope("wte"))
        self.lstm = LSTMWeights(
            config.n_embd, config.n_hidden, params.scope("lstm"), num_layers=config.n_layer
        )
        self.head = Linear(config.n_hidden, config.vocab_size, params.scope("head"))

    def layer(self, k: int) -> LSTMLayer:
        """Layer k's parameters (``nn.LSTM``'s names) as the step-by-step equations."""
        return LSTMLayer(
            *(getattr(self.lstm, f"{n}_l{k}") for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))
        )

    def initial_state(self, B: int) -> State:
        zeros = np.zeros((B, self.config.n_hidden), dtype=self.head.weight.dtype)
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
        tok_emb = self.wte(ids)  # (B, T, E): an embedding is a row lookup
        x = tok_emb
        state = past if past else self.initial_state(B)
        keep = None if padding_mask is None else np.asarray(padding_mask)[:, -T:]
        present: State = []
        records = []
        for k in range(self.config.n_layer):
            x, layer_state, record = self.layer(k)(x, state[k], keep)
            present.append(layer_state)
            records.append(record)
        logits = self.head(x)  # (B, T, V)
        if not trace:
            return logits, present, None
        return logits, present, stack_layers(LSTMTrace, records, tok_emb=tok_emb, logits=logits)
