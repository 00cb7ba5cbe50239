"""Encoder-decoder transformer in PyTorch: the twin of ``models/encdec_numpy.py``.

The encoder is ``models/encoder_torch.py``'s (bidirectional, padding mask only). Each decoder
block is GPT's pre-LN block with one more sub-block between self-attention and MLP:

    x = x + attn(ln_1(x))                        masked self-attention (causal ∧ target padding)
    x = x + crossattention(ln_cross_attn(x), m)  queries from x, keys and values from the encoder
    x = x + mlp(ln_2(x))                         output m; a padded source position gets 0 weight

The decoder's KV cache holds, per layer, its self-attention keys and values (growing by one
token per step) and the cross-attention keys and values, computed once per source. The LM head
is the target embedding transposed (tied). Parameter names: ``models/weights.py``. This twin also
trains: dropout applies in ``train()`` mode only.

Shape letters: B batch, S source tokens, T new target tokens, Tk target keys (past + new),
C channels, nh heads, hs head size, V target vocabulary, L layers.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import torch
from torch import nn

from models.config import EncDecConfig
from models.encoder_torch import Encoder
from models.gpt_torch import (
    Block,
    Conv1D,
    LayerNorm,
    attention_mask,
    embed_tokens,
    position_ids,
    softmax,
)
from models.trace import DecoderTrace, EncDecTrace, EncoderTrace
from models.twin_torch import TwinModel, cross_entropy, stack_layers
from models.weights import init_encdec_params

# per decoder layer: self-attention (k, v), each (B, nh, Tk, hs),
# then cross-attention (k, v), each (B, nh, S, hs), computed once per source
Past = list[tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]]


def cross_attention_mask(
    src_padding_mask: torch.Tensor | None,
    tgt_padding_mask: torch.Tensor | None,
    B: int,
    T: int,
    S: int,
    past_len: int = 0,
) -> torch.Tensor:
    """(B, T, S) booleans: target query i may read source position s. A padded source position is
    hidden from every query; a padded target query (``tgt_padding_mask`` (B, past + T)) sees nothing."""
    if tgt_padding_mask is None:
        mask = torch.ones((B, T, S), dtype=torch.bool)
    else:  # on the target mask's device
        mask = torch.as_tensor(tgt_padding_mask).bool()[:, past_len:, None].expand(B, T, S)
    if src_padding_mask is not None:
        mask = mask & torch.as_tensor(src_padding_mask, device=mask.device).bool()[:, None, :]
    return mask


class CrossAttention(nn.Module):
    """Queries from the decoder, keys and values from the encoder's output (GPT-2's layout:
    ``q_attn`` C → C for queries, ``c_attn`` C → 2C for keys and values, ``c_proj`` C → C)."""

    def __init__(self, config: EncDecConfig):
        super().__init__()
        self.n_head, self.n_embd = config.n_head, config.n_embd
        self.q_attn = Conv1D(config.n_embd, config.n_embd, config.bias)
        self.c_attn = Conv1D(config.n_embd, 2 * config.n_embd, config.bias)
        self.c_proj = Conv1D(config.n_embd, config.n_embd, config.bias)
        self.attn_dropout = nn.Dropout(config.dropout)
        self.resid_dropout = nn.Dropout(config.dropout)

    def kv(self, memory: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The encoder output (B, S, C) → keys and values, each (B, nh, S, hs): once per source."""
        B, S, C = memory.shape
        nh, hs = self.n_head, C // self.n_head
        k, v = self.c_attn(memory).split(C, dim=-1)  # 2 × (B, S, C)
        k = k.reshape(B, S, nh, hs).transpose(1, 2)  # (B, nh, S, hs)
        v = v.reshape(B, S, nh, hs).transpose(1, 2)  # (B, nh, S, hs)
        return k, v

    def forward(
        self, x: torch.Tensor, mask: torch.Tensor, kv: tuple[torch.Tensor, torch.Tensor]
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        B, T, C = x.shape
        nh, hs = self.n_head, C // self.n_head
        q = self.q_attn(x).reshape(B, T, nh, hs).transpose(1, 2)  # (B, nh, T, hs)
        k, v = kv  # (B, nh, S, hs) each
        scores = (q @ k.transpose(-2, -1)) / math.sqrt(hs)  # (B, nh, T, S)
        scores = torch.where(mask[:, None, :, :], scores, -torch.inf)  # padded source positions get -inf
        probs = softmax(scores, axis=-1)  # (B, nh, T, S)
        y = self.attn_dropout(probs) @ v  # (B, nh, T, hs)
        y = y.transpose(1, 2).reshape(B, T, C)  # (B, T, C): heads side by side
        record = {"cross_q": q, "cross_k": k, "cross_v": v, "cross_scores": scores, "cross_probs": probs}
        return self.resid_dropout(self.c_proj(y)), record


class DecoderBlock(Block):
    """GPT's pre-LN block with cross-attention between its self-attention and its MLP."""

    def __init__(self, config: EncDecConfig):
        super().__init__(config)
        self.ln_cross_attn = LayerNorm(config.n_embd, config.bias, config.layer_norm_eps)
        self.crossattention = CrossAttention(config)

    def forward(
        self,
        x: torch.Tensor,
        mask: torch.Tensor,
        cross_kv: tuple[torch.Tensor, torch.Tensor],
        cross_mask: torch.Tensor,
        layer_past: tuple[torch.Tensor, torch.Tensor] | None = None,
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor], dict[str, torch.Tensor]]:
        a, present, record = self.attn(self.ln_1(x), mask, layer_past)
        x = x + a
        record["resid_mid"] = x
        c, cross_record = self.crossattention(self.ln_cross_attn(x), cross_mask, cross_kv)
        x = x + c
        record.update(cross_record, resid_cross=x)
        m, record["mlp_act"] = self.mlp(self.ln_2(x))
        x = x + m
        return x, present, record


class Decoder(nn.Module):
    """Target embeddings → L decoder blocks → ln_f → LM head (the target embedding, tied)."""

    def __init__(self, config: EncDecConfig):
        """With share_embeddings the owner sets ``wte`` to the encoder's table."""
        super().__init__()
        self.config = config
        n = config.tgt_block_size
        self.register_buffer("causal", torch.tril(torch.ones(n, n, dtype=torch.bool)), persistent=False)
        shared = config.share_embeddings
        self.wte = None if shared else nn.Embedding(config.tgt_vocab_size, config.n_embd)
        self.wpe = nn.Embedding(config.tgt_block_size, config.n_embd) if config.pos == "learned" else None
        self.drop = nn.Dropout(config.dropout)
        self.h = nn.ModuleList(DecoderBlock(config) for _ in range(config.n_dec_layer))
        self.ln_f = LayerNorm(config.n_embd, config.bias, config.layer_norm_eps)

    def head(self, x: torch.Tensor) -> torch.Tensor:
        """Residual stream → logits: ln_f then x @ wteᵀ; (B, T, C) → (B, T, V)."""
        return self.ln_f(x) @ self.wte.weight.T

    def embed(self, ids: torch.Tensor, positions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return embed_tokens(self.wte, self.wpe, ids, positions, self.config.pos)

    def forward(
        self,
        ids: torch.Tensor,
        memory: torch.Tensor | None,
        src_padding_mask: torch.Tensor | None = None,
        past: Past | None = None,
        tgt_padding_mask: torch.Tensor | None = None,
        trace: bool = False,
    ) -> tuple[torch.Tensor, Past, DecoderTrace | None]:
        """T new target tokens after a cache → (logits (B, T, V), the new cache, trace or None).

        Without ``past`` the cross-attention keys and values are computed from ``memory`` (B, S, C);
        with it they are read from the cache and ``memory`` may be None.
        """
        ids = torch.as_tensor(ids, dtype=torch.long, device=self.causal.device)  # on the parameters' device
        B, T = ids.shape
        past_len = 0 if not past else past[0][0].shape[2]
        if tgt_padding_mask is None:  # every target token real: the masks are made on the ids' device
            tgt_padding_mask = torch.ones((B, past_len + T), dtype=torch.bool, device=ids.device)
        else:
            tgt_padding_mask = torch.as_tensor(tgt_padding_mask, device=ids.device)
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
        x = self.drop(tok_emb + pos_emb)  # (B, T, C)
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
        return (
            logits,
            present,
            stack_layers(
                DecoderTrace,
                records,  # self-attention, cross-attention, resid_mid, resid_cross, mlp_act: (L, …)
                tok_emb=tok_emb,
                pos_emb=pos_emb,
                positions=positions,
                mask=mask,
                cross_mask=cross_mask,
                residual=torch.stack(residual),
                logit_lens=torch.stack([self.head(r) for r in residual[1:]]),
                logits=logits,
            ),
        )


class EncoderDecoder(TwinModel):
    """The whole model: Encoder reads the source once; Decoder writes the target token by token."""

    def __init__(
        self, config: EncDecConfig, params: Mapping[str, np.ndarray] | None = None, dtype: str = "float32"
    ):
        """Parameters from ``params`` (named as in the file) or, without them, GPT-2's random init."""
        super().__init__(config)
        self.encoder = Encoder(config.encoder_config())
        self.decoder = Decoder(config)
        if config.share_embeddings:
            self.decoder.wte = self.encoder.wte  # one table, stored as encoder.wte.weight
        self.load(params if params is not None else init_encdec_params(config, seed=0), dtype)

    def encode(
        self, src_ids: torch.Tensor, src_padding_mask: torch.Tensor | None = None, trace: bool = False
    ) -> torch.Tensor | tuple[torch.Tensor, EncoderTrace]:
        """Source ids (B, S) → memory (B, S, C), the encoder output; trace=True adds an EncoderTrace."""
        memory, seen = self.encoder(src_ids, src_padding_mask)
        return (memory, self.encoder.make_trace(seen, memory)) if trace else memory

    def decode_cached(
        self,
        tgt_ids: torch.Tensor,
        memory: torch.Tensor | None,
        src_padding_mask: torch.Tensor | None = None,
        past: Past | None = None,
        trace: bool = False,
        tgt_padding_mask: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, Past, DecoderTrace | None]:
        """Run T new target tokens after a KV cache → (logits (B, T, V), the new cache, trace or None).

        ``src_padding_mask`` (B, S) and ``tgt_padding_mask`` (B, past + T) mark real tokens with 1.
        """
        return self.decoder(tgt_ids, memory, src_padding_mask, past, tgt_padding_mask, trace)

    def forward(
        self,
        src_ids: torch.Tensor,
        tgt_ids: torch.Tensor,
        src_padding_mask: torch.Tensor | None = None,
        tgt_padding_mask: torch.Tensor | None = None,
        trace: bool = False,
    ) -> torch.Tensor | tuple[torch.Tensor, EncDecTrace]:
        """Teacher forcing: logits (B, T, V) at every target position; trace=True adds an EncDecTrace."""
        memory, seen = self.encoder(src_ids, src_padding_mask)
        logits, _, dtr = self.decode_cached(tgt_ids, memory, src_padding_mask, None, trace, tgt_padding_mask)
        if not trace:
            return logits
        return logits, EncDecTrace(self.encoder.make_trace(seen, memory), dtr)

    def loss(
        self,
        src_ids: torch.Tensor,
        tgt_in: torch.Tensor,
        tgt_out: torch.Tensor,
        src_padding_mask: torch.Tensor | None = None,
        tgt_padding_mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Mean cross-entropy (nats per token) of ``tgt_out`` (-1 = ignore) given source and ``tgt_in``."""
        logits = self.forward(src_ids, tgt_in, src_padding_mask, tgt_padding_mask)
        return cross_entropy(logits, tgt_out)
