"""Encoder-only (BERT-style) masked language model in plain NumPy: the twin of ``models/encoder_torch.py``.

The blocks are GPT's (``models/gpt_numpy.py``: LayerNorm, Conv1D, the attention, MLP, pre-LN
Block), imported, not copied. What is new is the mask: an encoder reads the whole input at once,
so a token attends to the tokens before *and* after it; only padding is hidden. The masked-LM
head is BERT's: dense → GELU → LayerNorm, then the token embedding transposed (tied) plus a bias,
which scores every vocabulary entry at every position. A ``[MASK]`` token is the data's business
(``models/mlm.py``); the model only reads ids and scores the positions whose target is not -1.

Parameters (see ``models/weights.py``): ``encoder.wte.weight``, ``encoder.wpe.weight`` (learned
positions), ``encoder.h.{i}.*`` named as GPT-2's blocks, ``encoder.ln_f.*``, ``mlm_head.dense.*``,
``mlm_head.ln.*``, ``mlm_head.bias``.

Shape letters: B batch, T tokens, C channels, nh heads, hs head size, V vocabulary, L layers.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from models.config import EncoderConfig
from models.gpt_numpy import (
    MLP,
    Block,
    CausalSelfAttention,
    Conv1D,
    LayerNorm,
    cross_entropy,
    gelu,
    sinusoidal_positions,
)
from models.trace import EncoderTrace
from models.weights import encoder_num_params

# -- what is new: a mask without a triangle, positions that skip padding -----------------------


def encoder_mask(padding_mask: np.ndarray | None, B: int, T: int) -> np.ndarray:
    """(B, T, T) booleans: query i may see key j. No triangle: a real token sees every real token,
    before and after it. A padded key is hidden from every query; a padded query sees nothing (its
    attention row is all zeros, as in GPT's mask)."""
    if padding_mask is None:
        return np.ones((B, T, T), dtype=bool)
    real = np.asarray(padding_mask).astype(bool)  # (B, T)
    return real[:, None, :] & real[:, :, None]  # (B, T, T)


def encoder_positions(padding_mask: np.ndarray | None, B: int, T: int) -> np.ndarray:
    """(B, T) position of each token counting real tokens only, so left or right padding changes
    nothing; padding itself gets position 0."""
    if padding_mask is None:
        return np.broadcast_to(np.arange(T, dtype=np.int64), (B, T))
    real = np.asarray(padding_mask).astype(bool)  # (B, T)
    return np.where(real, np.cumsum(real, axis=1) - 1, 0)  # (B, T)


# -- modules, named as in the PyTorch twin ---------------------------------------------------


class SelfAttention(CausalSelfAttention):
    """Bidirectional self-attention: GPT's attention, unchanged. Its maths never looked at the
    order of tokens; what made it causal was the mask, and this one receives ``encoder_mask``."""


class EncoderBlock(Block):
    """GPT's pre-LN block around a ``SelfAttention``: x + attn(LN(x)), then x + MLP(LN(x))."""


class MLMHead:
    """BERT's masked-LM head: dense → GELU → LayerNorm, then wteᵀ (tied) + bias; (B, T, C) → (B, T, V)."""

    def __init__(self, config: EncoderConfig, dense: Conv1D, ln: LayerNorm, bias: np.ndarray):
        self.dense, self.ln, self.bias = dense, ln, bias

    def __call__(self, x: np.ndarray, wte: np.ndarray) -> np.ndarray:
        h = self.ln(gelu(self.dense(x)))  # (B, T, C)
        return h @ wte.T + self.bias  # (B, T, V)


class Encoder:
    """Embeddings → L bidirectional blocks → ln_f: the stack of the masked LM and of the
    encoder-decoder (parameters under ``prefix``)."""

    def __init__(
        self,
        config: EncoderConfig,
        params: Mapping[str, np.ndarray],
        prefix: str = "encoder.",
        dtype: str = "float32",
    ):
        self.config = config
        self.dtype = np.dtype(dtype)

        def p(name: str) -> np.ndarray:
            return np.ascontiguousarray(params[prefix + name], dtype=self.dtype)

        eps = config.layer_norm_eps
        self.wte = p("wte.weight")  # (V, C)
        self.wpe = p("wpe.weight") if config.pos == "learned" else None  # (block_size, C)
        self.h = [
            EncoderBlock(
                config,
                LayerNorm(p(f"h.{i}.ln_1.weight"), p(f"h.{i}.ln_1.bias"), eps),
                SelfAttention(
                    config,
                    Conv1D(p(f"h.{i}.attn.c_attn.weight"), p(f"h.{i}.attn.c_attn.bias")),
                    Conv1D(p(f"h.{i}.attn.c_proj.weight"), p(f"h.{i}.attn.c_proj.bias")),
                ),
                LayerNorm(p(f"h.{i}.ln_2.weight"), p(f"h.{i}.ln_2.bias"), eps),
                MLP(
                    config,
                    Conv1D(p(f"h.{i}.mlp.c_fc.weight"), p(f"h.{i}.mlp.c_fc.bias")),
                    Conv1D(p(f"h.{i}.mlp.c_proj.weight"), p(f"h.{i}.mlp.c_proj.bias")),
                ),
            )
            for i in range(config.n_layer)
        ]
        self.ln_f = LayerNorm(p("ln_f.weight"), p("ln_f.bias"), eps)

    def embed(self, ids: np.ndarray, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        tok_emb = self.wte[ids]  # (B, T, C): an embedding is a row lookup
        if self.wpe is not None:
            pos_emb = self.wpe[positions]  # (B, T, C)
        else:
            pos_emb = sinusoidal_positions(positions, self.config.n_embd).astype(self.dtype)  # (B, T, C)
        return tok_emb, pos_emb

    def __call__(
        self, ids: np.ndarray, padding_mask: np.ndarray | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """ids (B, T) → (output = ln_f of the last residual (B, T, C), what every layer saw)."""
        ids = np.asarray(ids, dtype=np.int64)
        B, T = ids.shape
        if T > self.config.block_size:
            raise ValueError(f"{T} tokens exceed the model's context of {self.config.block_size}")
        mask = encoder_mask(padding_mask, B, T)  # (B, T, T)
        positions = encoder_positions(padding_mask, B, T)  # (B, T)
        tok_emb, pos_emb = self.embed(ids, positions)
        x = tok_emb + pos_emb  # (B, T, C)
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
        output: np.ndarray,
        head: Callable[[np.ndarray], np.ndarray] | None = None,
        logits: np.ndarray | None = None,
    ) -> EncoderTrace:
        """An ``EncoderTrace`` from what ``__call__`` saw; with a head, the logit lens through it."""

        def stack(key: str) -> np.ndarray:
            return np.stack([r[key] for r in seen["records"]])

        lens = None if head is None else np.stack([head(self.ln_f(r)) for r in seen["residual"][1:]])
        return EncoderTrace(
            tok_emb=seen["tok_emb"],
            pos_emb=seen["pos_emb"],
            positions=seen["positions"],
            mask=seen["mask"],
            q=stack("q"),
            k=stack("k"),
            v=stack("v"),
            att_scores=stack("att_scores"),
            att_probs=stack("att_probs"),
            resid_mid=stack("resid_mid"),
            mlp_act=stack("mlp_act"),
            residual=np.stack(seen["residual"]),
            output=output,
            logit_lens=lens,
            logits=logits,
        )


class MaskedLM:
    """The whole model: Encoder → MLM head (its decoder matrix is the token embedding)."""

    inference_context = staticmethod(contextlib.nullcontext)  # nothing to switch off in NumPy

    def __init__(self, config: EncoderConfig, params: Mapping[str, np.ndarray], dtype: str = "float32"):
        self.config = config
        self.dtype = np.dtype(dtype)
        if self.dtype not in (np.float32, np.float64):
            raise ValueError(f"dtype must be float32 or float64, got {dtype!r}")

        def p(name: str) -> np.ndarray:
            return np.ascontiguousarray(params[name], dtype=self.dtype)

        self.encoder = Encoder(config, params, "encoder.", dtype)
        self.mlm_head = MLMHead(
            config,
            Conv1D(p("mlm_head.dense.weight"), p("mlm_head.dense.bias")),
            LayerNorm(p("mlm_head.ln.weight"), p("mlm_head.ln.bias"), config.layer_norm_eps),
            p("mlm_head.bias"),
        )

    def head(self, x: np.ndarray) -> np.ndarray:
        """Encoder output (after ln_f) → logits: (B, T, C) → (B, T, V)."""
        return self.mlm_head(x, self.encoder.wte)

    def forward(
        self, ids: np.ndarray, padding_mask: np.ndarray | None = None, trace: bool = False
    ) -> np.ndarray | tuple[np.ndarray, EncoderTrace]:
        """Logits (B, T, V) at every position; with trace=True, (logits, EncoderTrace).

        ``padding_mask`` (B, T) marks real tokens with 1 and padding with 0 (either side).
        """
        output, seen = self.encoder(ids, padding_mask)
        logits = self.head(output)  # (B, T, V)
        if not trace:
            return logits
        return logits, self.encoder.make_trace(seen, output, self.head, logits)

    __call__ = forward

    def loss(self, ids: np.ndarray, targets: np.ndarray, padding_mask: np.ndarray | None = None) -> float:
        """Mean cross-entropy (nats per token) at the positions whose target is not -1 (the masked ones)."""
        logits = self.forward(ids, padding_mask)
        return cross_entropy(logits, targets)

    def num_parameters(self) -> int:
        return encoder_num_params(self.config)  # the tied decoder matrix is counted once
