"""Encoder-decoder transformer in plain NumPy: the twin of ``models/encdec_torch.py``.

The encoder is ``models/encoder_numpy.py``'s (bidirectional, padding mask only). Each decoder
block is GPT's pre-LN block with one more sub-block between self-attention and MLP:

    x = x + attn(ln_1(x))                        masked self-attention (causal ∧ target padding)
    x = x + crossattention(ln_cross_attn(x), m)  queries from x, keys and values from the encoder
    x = x + mlp(ln_2(x))                         output m; a padded source position gets 0 weight

The decoder's KV cache holds, per layer, its self-attention keys and values (growing by one
token per step) and the cross-attention keys and values, computed once per source. The LM head
is the target embedding transposed (tied). Parameter names: ``models/weights.py``.

Shape letters: B batch, S source tokens, T new target tokens, Tk target keys (past + new),
C channels, nh heads, hs head size, V target vocabulary, L layers.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Mapping

import numpy as np

from models.config import EncDecConfig
from models.encoder_numpy import Encoder
from models.gpt_numpy import (
    MLP,
    Block,
    CausalSelfAttention,
    Conv1D,
    LayerNorm,
    attention_mask,
    cross_entropy,
    position_ids,
    sinusoidal_positions,
    softmax,
)
from models.trace import DecoderTrace, EncDecTrace, EncoderTrace
from models.weights import encdec_num_params

# per decoder layer: self-attention (k, v), each (B, nh, Tk, hs),
# then cross-attention (k, v), each (B, nh, S, hs), computed once per source
Past = list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]


def cross_attention_mask(
    src_padding_mask: np.ndarray | None,
    tgt_padding_mask: np.ndarray | None,
    B: int,
    T: int,
    S: int,
    past_len: int = 0,
) -> np.ndarray:
    """(B, T, S) booleans: target query i may read source position s. A padded source position is
    hidden from every query; a padded target query (``tgt_padding_mask`` (B, past + T)) sees nothing."""
    mask = np.ones((B, T, S), dtype=bool)
    if src_padding_mask is not None:
        mask = mask & np.asarray(src_padding_mask).astype(bool)[:, None, :]
    if tgt_padding_mask is not None:
        mask = mask & np.asarray(tgt_padding_mask).astype(bool)[:, past_len:, None]
    return mask


class CrossAttention:
    """Queries from the decoder, keys and values from the encoder's output (GPT-2's layout:
    ``q_attn`` C → C for queries, ``c_attn`` C → 2C for keys and values, ``c_proj`` C → C)."""

    def __init__(self, config: EncDecConfig, q_attn: Conv1D, c_attn: Conv1D, c_proj: Conv1D):
        self.n_head, self.n_embd = config.n_head, config.n_embd
        self.q_attn, self.c_attn, self.c_proj = q_attn, c_attn, c_proj

    def kv(self, memory: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The encoder output (B, S, C) → keys and values, each (B, nh, S, hs): once per source."""
        B, S, C = memory.shape
        nh, hs = self.n_head, C // self.n_head
        k, v = np.split(self.c_attn(memory), 2, axis=-1)  # 2 × (B, S, C)
        k = k.reshape(B, S, nh, hs).transpose(0, 2, 1, 3)  # (B, nh, S, hs)
        v = v.reshape(B, S, nh, hs).transpose(0, 2, 1, 3)  # (B, nh, S, hs)
        return k, v

    def __call__(
        self, x: np.ndarray, mask: np.ndarray, kv: tuple[np.ndarray, np.ndarray]
    ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        B, T, C = x.shape
        nh, hs = self.n_head, C // self.n_head
        q = self.q_attn(x).reshape(B, T, nh, hs).transpose(0, 2, 1, 3)  # (B, nh, T, hs)
        k, v = kv  # (B, nh, S, hs) each
        scores = (q @ k.transpose(0, 1, 3, 2)) / math.sqrt(hs)  # (B, nh, T, S)
        scores = np.where(mask[:, None, :, :], scores, -np.inf)  # padded source positions get -inf
        probs = softmax(scores, axis=-1)  # (B, nh, T, S)
        y = probs @ v  # (B, nh, T, hs)
        y = y.transpose(0, 2, 1, 3).reshape(B, T, C)  # (B, T, C): heads side by side
        record = {"cross_q": q, "cross_k": k, "cross_v": v, "cross_scores": scores, "cross_probs": probs}
        return self.c_proj(y), record


class DecoderBlock(Block):
    """GPT's pre-LN block with cross-attention between its self-attention and its MLP."""

    def __init__(
        self,
        config: EncDecConfig,
        ln_1: LayerNorm,
        attn: CausalSelfAttention,
        ln_2: LayerNorm,
        mlp: MLP,
        ln_cross_attn: LayerNorm,
        crossattention: CrossAttention,
    ):
        super().__init__(config, ln_1, attn, ln_2, mlp)
        self.ln_cross_attn, self.crossattention = ln_cross_attn, crossattention

    def __call__(
        self,
        x: np.ndarray,
        mask: np.ndarray,
        cross_kv: tuple[np.ndarray, np.ndarray],
        cross_mask: np.ndarray,
        layer_past: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray], dict[str, np.ndarray]]:
        a, present, record = self.attn(self.ln_1(x), mask, layer_past)
        x = x + a
        record["resid_mid"] = x
        c, cross_record = self.crossattention(self.ln_cross_attn(x), cross_mask, cross_kv)
        x = x + c
        record.update(cross_record, resid_cross=x)
        m, record["mlp_act"] = self.mlp(self.ln_2(x))
        x = x + m
        return x, present, record


class Decoder:
    """Target embeddings → L decoder blocks → ln_f → LM head (the target embedding, tied)."""

    def __init__(
        self,
        config: EncDecConfig,
        params: Mapping[str, np.ndarray],
        wte: np.ndarray | None = None,
        dtype: str = "float32",
    ):
        """``wte``: a shared embedding table (share_embeddings), else ``decoder.wte.weight`` is read."""
        self.config = config
        self.dtype = np.dtype(dtype)

        def p(name: str) -> np.ndarray:
            return np.ascontiguousarray(params["decoder." + name], dtype=self.dtype)

        def conv(name: str) -> Conv1D:
            return Conv1D(p(name + ".weight"), p(name + ".bias"))

        def ln(name: str) -> LayerNorm:
            return LayerNorm(p(name + ".weight"), p(name + ".bias"), config.layer_norm_eps)

        n = config.tgt_block_size
        self.causal = np.tril(np.ones((n, n), dtype=bool))  # (block, block)
        self.wte = wte if wte is not None else p("wte.weight")  # (V, C)
        self.wpe = p("wpe.weight") if config.pos == "learned" else None  # (block_size, C)
        self.h = [
            DecoderBlock(
                config,
                ln(f"h.{i}.ln_1"),
                CausalSelfAttention(config, conv(f"h.{i}.attn.c_attn"), conv(f"h.{i}.attn.c_proj")),
                ln(f"h.{i}.ln_2"),
                MLP(config, conv(f"h.{i}.mlp.c_fc"), conv(f"h.{i}.mlp.c_proj")),
                ln(f"h.{i}.ln_cross_attn"),
                CrossAttention(
                    config,
                    conv(f"h.{i}.crossattention.q_attn"),
                    conv(f"h.{i}.crossattention.c_attn"),
                    conv(f"h.{i}.crossattention.c_proj"),
                ),
            )
            for i in range(config.n_dec_layer)
        ]
        self.ln_f = ln("ln_f")

    def head(self, x: np.ndarray) -> np.ndarray:
        """Residual stream → logits: ln_f then x @ wteᵀ; (B, T, C) → (B, T, V)."""
        return self.ln_f(x) @ self.wte.T

    def embed(self, ids: np.ndarray, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        tok_emb = self.wte[ids]  # (B, T, C)
        if self.wpe is not None:
            pos_emb = self.wpe[positions]  # (B, T, C)
        else:
            pos_emb = sinusoidal_positions(positions, self.config.n_embd).astype(self.dtype)  # (B, T, C)
        return tok_emb, pos_emb

    def __call__(
        self,
        ids: np.ndarray,
        memory: np.ndarray | None,
        src_padding_mask: np.ndarray | None = None,
        past: Past | None = None,
        tgt_padding_mask: np.ndarray | None = None,
        trace: bool = False,
    ) -> tuple[np.ndarray, Past, DecoderTrace | None]:
        """T new target tokens after a cache → (logits (B, T, V), the new cache, trace or None).

        Without ``past`` the cross-attention keys and values are computed from ``memory`` (B, S, C);
        with it they are read from the cache and ``memory`` may be None.
        """
        ids = np.asarray(ids, dtype=np.int64)
        B, T = ids.shape
        past_len = 0 if not past else past[0][0].shape[2]
        if past_len + T > self.config.tgt_block_size:
            raise ValueError(
                f"{past_len + T} tokens exceed the model's context of {self.config.tgt_block_size}"
            )
        if not past and memory is None:
            raise ValueError("the first decoding step needs the encoder's output (memory)")
        cross_kvs = [layer[2:] for layer in past] if past else [b.crossattention.kv(memory) for b in self.h]
        S = cross_kvs[0][0].shape[2]
        mask = attention_mask(self.causal, tgt_padding_mask, B, T, past_len)  # (B, T, Tk)
        cross_mask = cross_attention_mask(src_padding_mask, tgt_padding_mask, B, T, S, past_len)  # (B, T, S)
        positions = position_ids(mask)  # (B, T)
        tok_emb, pos_emb = self.embed(ids, positions)
        x = tok_emb + pos_emb  # (B, T, C)
        present: Past = []
        records, residual = [], [x]
        for i, block in enumerate(self.h):
            x, (k, v), record = block(x, mask, cross_kvs[i], cross_mask, past[i][:2] if past else None)
            present.append((k, v, *cross_kvs[i]))
            records.append(record)
            residual.append(x)
        logits = self.head(x)  # (B, T, V)
        if not trace:
            return logits, present, None

        def stack(key: str) -> np.ndarray:
            return np.stack([r[key] for r in records])

        tr = DecoderTrace(
            tok_emb=tok_emb,
            pos_emb=pos_emb,
            positions=positions,
            mask=mask,
            q=stack("q"),
            k=stack("k"),
            v=stack("v"),
            att_scores=stack("att_scores"),
            att_probs=stack("att_probs"),
            cross_mask=cross_mask,
            cross_q=stack("cross_q"),
            cross_k=stack("cross_k"),
            cross_v=stack("cross_v"),
            cross_scores=stack("cross_scores"),
            cross_probs=stack("cross_probs"),
            resid_mid=stack("resid_mid"),
            resid_cross=stack("resid_cross"),
            mlp_act=stack("mlp_act"),
            residual=np.stack(residual),
            logit_lens=np.stack([self.head(r) for r in residual[1:]]),
            logits=logits,
        )
        return logits, present, tr


class EncoderDecoder:
    """The whole model: Encoder reads the source once; Decoder writes the target token by token."""

    inference_context = staticmethod(contextlib.nullcontext)  # nothing to switch off in NumPy

    def __init__(self, config: EncDecConfig, params: Mapping[str, np.ndarray], dtype: str = "float32"):
        self.config = config
        self.dtype = np.dtype(dtype)
        if self.dtype not in (np.float32, np.float64):
            raise ValueError(f"dtype must be float32 or float64, got {dtype!r}")
        self.encoder = Encoder(config.encoder_config(), params, "encoder.", dtype)
        shared = self.encoder.wte if config.share_embeddings else None
        self.decoder = Decoder(config, params, shared, dtype)

    def encode(
        self, src_ids: np.ndarray, src_padding_mask: np.ndarray | None = None, trace: bool = False
    ) -> np.ndarray | tuple[np.ndarray, EncoderTrace]:
        """Source ids (B, S) → memory (B, S, C), the encoder output; trace=True adds an EncoderTrace."""
        memory, seen = self.encoder(src_ids, src_padding_mask)
        return (memory, self.encoder.make_trace(seen, memory)) if trace else memory

    def decode_cached(
        self,
        tgt_ids: np.ndarray,
        memory: np.ndarray | None,
        src_padding_mask: np.ndarray | None = None,
        past: Past | None = None,
        trace: bool = False,
        tgt_padding_mask: np.ndarray | None = None,
    ) -> tuple[np.ndarray, Past, DecoderTrace | None]:
        """Run T new target tokens after a KV cache → (logits (B, T, V), the new cache, trace or None).

        ``src_padding_mask`` (B, S) and ``tgt_padding_mask`` (B, past + T) mark real tokens with 1.
        """
        return self.decoder(tgt_ids, memory, src_padding_mask, past, tgt_padding_mask, trace)

    def forward(
        self,
        src_ids: np.ndarray,
        tgt_ids: np.ndarray,
        src_padding_mask: np.ndarray | None = None,
        tgt_padding_mask: np.ndarray | None = None,
        trace: bool = False,
    ) -> np.ndarray | tuple[np.ndarray, EncDecTrace]:
        """Teacher forcing: logits (B, T, V) at every target position; trace=True adds an EncDecTrace."""
        memory, seen = self.encoder(src_ids, src_padding_mask)
        logits, _, dtr = self.decode_cached(tgt_ids, memory, src_padding_mask, None, trace, tgt_padding_mask)
        if not trace:
            return logits
        return logits, EncDecTrace(self.encoder.make_trace(seen, memory), dtr)

    __call__ = forward

    def loss(
        self,
        src_ids: np.ndarray,
        tgt_in: np.ndarray,
        tgt_out: np.ndarray,
        src_padding_mask: np.ndarray | None = None,
        tgt_padding_mask: np.ndarray | None = None,
    ) -> float:
        """Mean cross-entropy (nats per token) of ``tgt_out`` (-1 = ignore) given source and ``tgt_in``."""
        logits = self.forward(src_ids, tgt_in, src_padding_mask, tgt_padding_mask)
        return cross_entropy(logits, tgt_out)

    @staticmethod
    def reorder_past(past: Past, index: np.ndarray) -> Past:
        """Select / repeat batch rows of the decoder's cache, cross-attention included (beam search)."""
        index = np.asarray(index, dtype=np.int64)
        return [tuple(t[index] for t in layer) for layer in past]

    def num_parameters(self) -> int:
        return encdec_num_params(self.config)  # shared and tied matrices counted once
