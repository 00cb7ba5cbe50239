"""An LSTM language model in PyTorch: the twin of ``models/lstm_numpy.py``.

The parameters live in one ``nn.LSTM`` (names ``lstm.weight_ih_l{k}`` …, gate order i, f, g, o),
which also runs the fast path (training, generation). When a trace is asked for, or a batch has
padding, the same parameters run through ``LSTMLayer``: the gate equations written out step by
step, as in the NumPy twin, so every gate exists to be shown and compared.

Shape letters: B batch, T steps, E embedding width, H hidden width, V vocabulary, L layers.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch
from torch import nn

from models.config import LSTMConfig
from models.trace import LSTMTrace
from models.twin_torch import LanguageModel, stack_layers
from models.weights import init_lstm_params

State = list[tuple[torch.Tensor, torch.Tensor]]  # per layer: (h, c), each (B, H)


def sigmoid(x: torch.Tensor) -> torch.Tensor:
    """1 / (1 + e^-x), written as (1 + tanh(x/2)) / 2 so that no exponential overflows."""
    return 0.5 * (1.0 + torch.tanh(0.5 * x))


class LSTMLayer:
    """One layer over T steps: the gate equations in a loop over time."""

    def __init__(self, w_ih: torch.Tensor, w_hh: torch.Tensor, b_ih: torch.Tensor, b_hh: torch.Tensor):
        self.w_ih, self.w_hh, self.b_ih, self.b_hh = w_ih, w_hh, b_ih, b_hh  # (4H, in), (4H, H), (4H,), (4H,)

    def __call__(
        self, x: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor], keep: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor], dict[str, torch.Tensor]]:
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
            zi, zf, zg, zo = torch.chunk(z, 4, dim=-1)  # (B, H) each
            i, f, g, o = sigmoid(zi), sigmoid(zf), torch.tanh(zg), sigmoid(zo)
            c_new = f * c + i * g  # (B, H): forget some of the old cell, write some of the new
            h_new = o * torch.tanh(c_new)  # (B, H): what the layer shows of its cell
            if keep is not None:
                k = keep[:, t, None].bool()  # (B, 1)
                c_new, h_new = torch.where(k, c_new, c), torch.where(k, h_new, h)
            c, h = c_new, h_new
            for n, value in zip(names, (i, f, g, o, c, h), strict=True):
                record[n].append(value)
        stacked = {n: torch.stack(v, dim=1) for n, v in record.items()}  # (B, T, H) each
        return stacked["hidden"], (h, c), stacked


class LSTM(LanguageModel):
    """The whole model: embedding → L LSTM layers → linear head."""

    past_time_axis = None  # a state (h, c) has no length

    def __init__(
        self, config: LSTMConfig, params: Mapping[str, np.ndarray] | None = None, dtype: str = "float32"
    ):
        """Parameters from ``params`` (named as in the file) or, without them, the seeded init."""
        super().__init__(config)
        self.wte = nn.Embedding(config.vocab_size, config.n_embd)
        self.drop = nn.Dropout(config.dropout)
        self.lstm = nn.LSTM(
            config.n_embd,
            config.n_hidden,
            num_layers=config.n_layer,
            batch_first=True,
            dropout=config.dropout if config.n_layer > 1 else 0.0,
        )
        self.head = nn.Linear(config.n_hidden, config.vocab_size)
        self.load(params if params is not None else init_lstm_params(config, seed=0), dtype)

    def load_params(self, params: Mapping[str, np.ndarray]) -> None:
        """Copy arrays named as in the safetensors file into the parameters, then let ``nn.LSTM``
        lay them out for its fused kernel again."""
        super().load_params(params)
        self.lstm.flatten_parameters()

    def layer(self, k: int) -> LSTMLayer:
        """Layer k's parameters (shared with ``nn.LSTM``) as the step-by-step equations."""
        return LSTMLayer(
            *(getattr(self.lstm, f"{n}_l{k}") for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))
        )

    def initial_state(self, B: int) -> State:
        weight = self.head.weight  # the state lives where the parameters do
        zeros = torch.zeros(B, self.config.n_hidden, dtype=weight.dtype, device=weight.device)
        return [(zeros, zeros) for _ in range(self.config.n_layer)]

    def forward_cached(
        self,
        ids: torch.Tensor,
        past: State | None = None,
        padding_mask: torch.Tensor | None = None,
        trace: bool = False,
    ) -> tuple[torch.Tensor, State, LSTMTrace | None]:
        """Run T new tokens from a state; return (logits (B, T, V), the new state, trace or None).

        ``padding_mask`` (B, T) marks real tokens with 1 and padding with 0 (left padding: the
        state stays at zero until the text starts). The "cache" of an LSTM is its state.
        """
        ids = torch.as_tensor(ids, dtype=torch.long, device=self.head.weight.device)  # the parameters' device
        B, T = ids.shape
        tok_emb = self.wte(ids)  # (B, T, E): an embedding is a row lookup
        x = self.drop(tok_emb)
        state = past if past else self.initial_state(B)
        if not trace and padding_mask is None:  # the fast path: one fused nn.LSTM call
            h0 = torch.stack([h for h, _ in state])  # (L, B, H)
            c0 = torch.stack([c for _, c in state])
            x, (hn, cn) = self.lstm(x, (h0, c0))  # (B, T, H)
            logits = self.head(self.drop(x))  # (B, T, V)
            return logits, [(hn[k], cn[k]) for k in range(self.config.n_layer)], None
        keep = None if padding_mask is None else torch.as_tensor(padding_mask, device=ids.device)[:, -T:]
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
