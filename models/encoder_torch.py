"""Encoder-only (BERT-style) masked language model in PyTorch: the twin of ``models/encoder_numpy.py``.

The blocks are GPT's (``models/gpt_torch.py``: LayerNorm, Conv1D, the attention, MLP, pre-LN
Block), imported, not copied. What is new is the mask: an encoder reads the whole input at once,
so a token attends to the tokens before *and* after it; only padding is hidden. The masked-LM
head is BERT's: dense → GELU → LayerNorm, then the token embedding transposed (tied) plus a bias,
which scores every vocabulary entry at every position. A ``[MASK]`` token is the data's business
(``models/mlm.py``); the model only reads ids and scores the positions whose target is not -1.
This twin also trains: dropout applies in ``train()`` mode only.

Parameters (see ``models/weights.py``): ``encoder.wte.weight``, ``encoder.wpe.weight`` (learned
positions), ``encoder.h.{i}.*`` named as GPT-2's blocks, ``encoder.ln_f.*``, ``mlm_head.dense.*``,
``mlm_head.ln.*``, ``mlm_head.bias``.

Shape letters: B batch, T tokens, C channels, nh heads, hs head size, V vocabulary, L layers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import torch
from torch import nn

from models.config import EncoderConfig
from models.gpt_torch import (
    Block,
    CausalSelfAttention,
    Conv1D,
    LayerNorm,
    embed_tokens,
    gelu,
)
from models.trace import EncoderTrace
from models.twin_torch import TwinModel, stack_layers
from models.weights import init_encoder_params

# -- what is new: a mask without a triangle, positions that skip padding -----------------------


def encoder_mask(padding_mask: torch.Tensor | None, B: int, T: int) -> torch.Tensor:
    """(B, T, T) booleans: query i may see key j. No triangle: a real token sees every real token,
    before and after it. A padded key is hidden from every query; a padded query sees nothing (its
    attention row is all zeros, as in GPT's mask)."""
    if padding_mask is None:
        return torch.ones((B, T, T), dtype=torch.bool)
    real = torch.as_tensor(padding_mask).bool()  # (B, T)
    return real[:, None, :] & real[:, :, None]  # (B, T, T)


def encoder_positions(padding_mask: torch.Tensor | None, B: int, T: int) -> torch.Tensor:
    """(B, T) position of each token counting real tokens only, so left or right padding changes
    nothing; padding itself gets position 0."""
    if padding_mask is None:
        return torch.arange(T, dtype=torch.long).expand(B, T)
    real = torch.as_tensor(padding_mask).bool()  # (B, T)
    return torch.where(real, torch.cumsum(real.long(), dim=1) - 1, 0)  # (B, T)


# -- modules, named as in the NumPy twin -----------------------------------------------------


class SelfAttention(CausalSelfAttention):
    """Bidirectional self-attention: GPT's attention, unchanged. Its maths never looked at the
    order of tokens; what made it causal was the mask, and this one receives ``encoder_mask``."""


class EncoderBlock(Block):
    """GPT's pre-LN block around a ``SelfAttention``: x + attn(LN(x)), then x + MLP(LN(x))."""

    def __init__(self, config: EncoderConfig):
        super().__init__(config)
        self.attn = SelfAttention(config)


class MLMHead(nn.Module):
    """BERT's masked-LM head: dense → GELU → LayerNorm, then wteᵀ (tied) + bias; (B, T, C) → (B, T, V)."""

    def __init__(self, config: EncoderConfig):
        super().__init__()
        self.dense = Conv1D(config.n_embd, config.n_embd, True)
        self.ln = LayerNorm(config.n_embd, True, config.layer_norm_eps)
        self.bias = nn.Parameter(torch.zeros(config.vocab_size))

    def forward(self, x: torch.Tensor, wte: torch.Tensor) -> torch.Tensor:
        h = self.ln(gelu(self.dense(x)))  # (B, T, C)
        return h @ wte.T + self.bias  # (B, T, V)


class Encoder(nn.Module):
    """Embeddings → L bidirectional blocks → ln_f: the stack of the masked LM and of the
    encoder-decoder (its parameters sit under the attribute that holds it, e.g. ``encoder.``)."""

    def __init__(self, config: EncoderConfig):
        super().__init__()
        self.config = config
        self.wte = nn.Embedding(config.vocab_size, config.n_embd)
        self.wpe = nn.Embedding(config.block_size, config.n_embd) if config.pos == "learned" else None
        self.drop = nn.Dropout(config.dropout)
        self.h = nn.ModuleList(EncoderBlock(config) for _ in range(config.n_layer))
        self.ln_f = LayerNorm(config.n_embd, True, config.layer_norm_eps)

    def embed(self, ids: torch.Tensor, positions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return embed_tokens(self.wte, self.wpe, ids, positions, self.config.pos)

    def forward(
        self, ids: torch.Tensor, padding_mask: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, dict[str, Any]]:
        """ids (B, T) → (output = ln_f of the last residual (B, T, C), what every layer saw)."""
        ids = torch.as_tensor(ids, dtype=torch.long, device=self.wte.weight.device)  # the parameters' device
        B, T = ids.shape
        if padding_mask is None:  # every token real: the masks are made on the ids' device
            padding_mask = torch.ones_like(ids, dtype=torch.bool)
        else:
            padding_mask = torch.as_tensor(padding_mask, device=ids.device)
        if T > self.config.block_size:
            raise ValueError(f"{T} tokens exceed the model's context of {self.config.block_size}")
        mask = encoder_mask(padding_mask, B, T)  # (B, T, T)
        positions = encoder_positions(padding_mask, B, T)  # (B, T)
        tok_emb, pos_emb = self.embed(ids, positions)
        x = self.drop(tok_emb + pos_emb)  # (B, T, C)
        records, residual = [], [x]
        for block in self.h:
            x, _, record = block(x, mask)
            records.append(record)
            residual.append(x)
        output = self.ln_f(x)  # (B, T, C)
        seen = {"tok_emb": tok_emb, "pos_emb": pos_emb, "positions": positions, "mask": mask}
        return output, {**seen, "records": records, "residual": residual}

    def make_trace(
        self,
        seen: dict[str, Any],
        output: torch.Tensor,
        head: Callable[[torch.Tensor], torch.Tensor] | None = None,
        logits: torch.Tensor | None = None,
    ) -> EncoderTrace:
        """An ``EncoderTrace`` from what ``forward`` saw; with a head, the logit lens through it."""
        seen = dict(seen)
        records, residual = seen.pop("records"), seen.pop("residual")
        lens = None if head is None else torch.stack([head(self.ln_f(r)) for r in residual[1:]])
        return stack_layers(
            EncoderTrace,
            records,
            **seen,
            residual=torch.stack(residual),
            output=output,
            logit_lens=lens,
            logits=logits,
        )


class MaskedLM(TwinModel):
    """The whole model: Encoder → MLM head (its decoder matrix is the token embedding)."""

    def __init__(
        self, config: EncoderConfig, params: Mapping[str, np.ndarray] | None = None, dtype: str = "float32"
    ):
        """Parameters from ``params`` (named as in the file) or, without them, GPT-2's random init."""
        super().__init__(config)
        self.encoder = Encoder(config)
        self.mlm_head = MLMHead(config)
        self.load(params if params is not None else init_encoder_params(config, seed=0), dtype)

    def head(self, x: torch.Tensor) -> torch.Tensor:
        """Encoder output (after ln_f) → logits: (B, T, C) → (B, T, V)."""
        return self.mlm_head(x, self.encoder.wte.weight)

    def forward(
        self, ids: torch.Tensor, padding_mask: torch.Tensor | None = None, trace: bool = False
    ) -> torch.Tensor | tuple[torch.Tensor, EncoderTrace]:
        """Logits (B, T, V) at every position; with trace=True, (logits, EncoderTrace).

        ``padding_mask`` (B, T) marks real tokens with 1 and padding with 0 (either side).
        """
        output, seen = self.encoder(ids, padding_mask)
        logits = self.head(output)  # (B, T, V)
        if not trace:
            return logits
        return logits, self.encoder.make_trace(seen, output, self.head, logits)
