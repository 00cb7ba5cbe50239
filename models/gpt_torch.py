"""GPT (decoder-only transformer) in PyTorch: the twin of ``models/gpt_numpy.py``.

Every class and function here has a namesake in the NumPy twin, in the same order, with the
same shape comments, and reads the same parameters (GPT-2 / Hugging Face names). Attention is
written out by hand (no fused kernel) so that its probabilities exist to be traced. This twin
also trains: dropout applies in ``train()`` mode only.

Unless a full trace is asked for (or ``fast_path`` is off, or dropout is on in training),
``forward_cached`` takes the fast path at the end of this file instead: the same maths through fused
kernels (``F.layer_norm``, ``addmm``, ``F.scaled_dot_product_attention``), the cache grown in place
by ``models/kv_cache.py``, keeping the attention weights when ``trace="attention"``;
``tests/test_fast_path.py`` proves it equal to the readable path.
Every tensor it makes lives on the parameters' device.

Shape letters: B batch, T new tokens, Tk keys (past + new), C channels, nh heads, hs head size,
V vocabulary, L layers.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any, Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from models import kv_cache
from models.config import GPTConfig
from models.fast_weights import FastLayer, Norm, fast_weights
from models.trace import AttentionTrace, Trace
from models.twin_torch import LanguageModel, stack_layers
from models.twin_torch import cross_entropy as cross_entropy
from models.weights import init_gpt_params

Past = list[tuple[torch.Tensor, torch.Tensor]]  # per layer: (k, v), each (B, nh, Tk, hs)


# -- the maths of one layer, as plain functions ----------------------------------------------


def gelu(x: torch.Tensor) -> torch.Tensor:
    """GELU, tanh approximation (GPT-2's)."""
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3)))


def relu(x: torch.Tensor) -> torch.Tensor:
    return torch.clamp_min(x, 0)


def softmax(x: torch.Tensor, axis: int = -1) -> torch.Tensor:
    """exp(x - max) / sum; a row that is entirely -inf (nothing to attend to) becomes zeros."""
    m = torch.amax(x, dim=axis, keepdim=True).clamp_min(torch.finfo(x.dtype).min)  # finite, even if all -inf
    e = torch.exp(x - m)
    return e / torch.sum(e, dim=axis, keepdim=True).clamp_min(torch.finfo(x.dtype).tiny)  # 0 / tiny = 0


def layer_norm(
    x: torch.Tensor, weight: torch.Tensor | None, bias: torch.Tensor | None, eps: float
) -> torch.Tensor:
    """(x - mean) / sqrt(var + eps) * weight + bias, biased variance over the last axis."""
    var, mean = torch.var_mean(x, dim=-1, keepdim=True, correction=0)  # biased: divides by C
    y = (x - mean) / torch.sqrt(var + eps)
    if weight is not None:
        y = y * weight
    if bias is not None:
        y = y + bias
    return y


def sinusoidal_positions(positions: torch.Tensor, n_embd: int) -> torch.Tensor:
    """PE[p, 2i] = sin(p / 10000^(2i/C)), PE[p, 2i+1] = cos(p / 10000^(2i/C)); float64, (..., C)."""
    i = torch.arange(0, n_embd, 2, dtype=torch.float64, device=positions.device)  # (C/2,)
    angle = positions.to(torch.float64)[..., None] / 10000.0 ** (i / n_embd)  # (..., C/2)
    pe = torch.zeros((*angle.shape[:-1], n_embd), dtype=torch.float64, device=positions.device)
    pe[..., 0::2] = torch.sin(angle)
    pe[..., 1::2] = torch.cos(angle[..., : n_embd // 2])
    return pe


def embed_tokens(
    wte: nn.Embedding,
    wpe: nn.Embedding | None,
    ids: torch.Tensor,
    positions: torch.Tensor,
    pos: str = "learned",
) -> tuple[torch.Tensor, torch.Tensor]:
    """Token embeddings and the position vectors added to them, each (B, T, C): rows of ``wte``,
    and rows of a learned ``wpe``, fixed sinusoids, or (``pos`` "none") zeros: no position at all."""
    tok_emb = wte(ids)  # (B, T, C): an embedding is a row lookup
    if pos == "none":
        pos_emb = torch.zeros_like(tok_emb)  # (B, T, C): attention alone cannot tell where a token sits
    elif wpe is not None:
        pos_emb = wpe(positions)  # (B, T, C)
    else:
        pos_emb = sinusoidal_positions(positions, tok_emb.shape[-1]).to(tok_emb.dtype)  # (B, T, C)
    return tok_emb, pos_emb


def attention_mask(
    causal: torch.Tensor, padding_mask: torch.Tensor | None, B: int, T: int, past_len: int
) -> torch.Tensor:
    """(B, T, Tk) booleans: query i (absolute position past_len + i) may see key j.

    Causal: row p of the lower-triangular ``causal`` matrix allows keys 0..p. Padding: key j and
    the query itself must be real tokens (padding_mask 1); a padded query sees nothing, so its
    attention row is all zeros.
    """
    Tk = past_len + T
    mask = causal[past_len:Tk, :Tk].expand(B, T, Tk)  # (B, T, Tk)
    if padding_mask is not None:
        real = torch.as_tensor(padding_mask, device=causal.device).bool()  # (B, Tk)
        mask = mask & real[:, None, :] & real[:, past_len:, None]
    return mask


def position_ids(mask: torch.Tensor) -> torch.Tensor:
    """(B, T) position of each new token: how many real tokens it sees (itself included), minus one."""
    return torch.clamp_min(torch.sum(mask, dim=-1) - 1, 0)


# -- modules: parameters plus a forward, named as in the NumPy twin -------------------------


class LayerNorm(nn.Module):
    def __init__(self, n_embd: int, bias: bool, eps: float):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(n_embd))
        self.bias = nn.Parameter(torch.zeros(n_embd)) if bias else None
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return layer_norm(x, self.weight, self.bias, self.eps)


class Conv1D(nn.Module):
    """A linear layer stored (in, out) as GPT-2 stores it: y = x @ weight + bias."""

    def __init__(self, n_in: int, n_out: int, bias: bool):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(n_in, n_out))
        self.bias = nn.Parameter(torch.zeros(n_out)) if bias else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x @ self.weight
        return y if self.bias is None else y + self.bias


class CausalSelfAttention(nn.Module):
    def __init__(self, config: GPTConfig):
        super().__init__()
        self.n_head, self.n_embd = config.n_head, config.n_embd
        self.c_attn = Conv1D(config.n_embd, 3 * config.n_embd, config.bias)
        self.c_proj = Conv1D(config.n_embd, config.n_embd, config.bias)
        self.attn_dropout = nn.Dropout(config.dropout)
        self.resid_dropout = nn.Dropout(config.dropout)

    def forward(
        self, x: torch.Tensor, mask: torch.Tensor, layer_past: tuple[torch.Tensor, torch.Tensor] | None = None
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor], dict[str, torch.Tensor]]:
        B, T, C = x.shape
        nh, hs = self.n_head, C // self.n_head
        q, k, v = self.c_attn(x).split(C, dim=-1)  # 3 × (B, T, C)
        q = q.reshape(B, T, nh, hs).transpose(1, 2)  # (B, nh, T, hs)
        k = k.reshape(B, T, nh, hs).transpose(1, 2)  # (B, nh, T, hs)
        v = v.reshape(B, T, nh, hs).transpose(1, 2)  # (B, nh, T, hs)
        if layer_past is not None:
            k = torch.cat([layer_past[0], k], dim=2)  # (B, nh, Tk, hs)
            v = torch.cat([layer_past[1], v], dim=2)  # (B, nh, Tk, hs)
        scores = (q @ k.transpose(-2, -1)) / math.sqrt(hs)  # (B, nh, T, Tk)
        scores = torch.where(mask[:, None, :, :], scores, -torch.inf)  # masked keys get -inf
        probs = softmax(scores, axis=-1)  # (B, nh, T, Tk)
        y = self.attn_dropout(probs) @ v  # (B, nh, T, hs)
        y = y.transpose(1, 2).reshape(B, T, C)  # (B, T, C): heads side by side
        record = {"q": q, "k": k, "v": v, "att_scores": scores, "att_probs": probs}
        return self.resid_dropout(self.c_proj(y)), (k, v), record


class MLP(nn.Module):
    def __init__(self, config: GPTConfig):
        super().__init__()
        self.c_fc = Conv1D(config.n_embd, 4 * config.n_embd, config.bias)
        self.c_proj = Conv1D(4 * config.n_embd, config.n_embd, config.bias)
        self.act = gelu if config.activation == "gelu" else relu
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.act(self.c_fc(x))  # (B, T, 4C)
        return self.dropout(self.c_proj(h)), h  # (B, T, C), (B, T, 4C)


class Block(nn.Module):
    def __init__(self, config: GPTConfig):
        super().__init__()
        self.norm = config.norm
        self.ln_1 = LayerNorm(config.n_embd, config.bias, config.layer_norm_eps)
        self.attn = CausalSelfAttention(config)
        self.ln_2 = LayerNorm(config.n_embd, config.bias, config.layer_norm_eps)
        self.mlp = MLP(config)

    def forward(
        self, x: torch.Tensor, mask: torch.Tensor, layer_past: tuple[torch.Tensor, torch.Tensor] | None = None
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor], dict[str, torch.Tensor]]:
        if self.norm == "pre":  # x + f(LN(x))
            a, present, record = self.attn(self.ln_1(x), mask, layer_past)
            x = x + a
            record["resid_mid"] = x
            m, record["mlp_act"] = self.mlp(self.ln_2(x))
            x = x + m
        else:  # post-LN: LN(x + f(x))
            a, present, record = self.attn(x, mask, layer_past)
            x = self.ln_1(x + a)
            record["resid_mid"] = x
            m, record["mlp_act"] = self.mlp(x)
            x = self.ln_2(x + m)
        return x, present, record


class GPT(LanguageModel):
    """The whole model: embeddings → L blocks → (ln_f) → lm_head."""

    past_time_axis = 2  # keys and values (B, nh, Tk, hs) grow along Tk
    fast_path = True  # without a full trace, run the fast path below (False: always the readable code)
    use_cuda_graphs = True  # on CUDA, ``generate`` replays its decode step as a graph (``graph_step``)

    def __init__(
        self, config: GPTConfig, params: Mapping[str, np.ndarray] | None = None, dtype: str = "float32"
    ):
        """Parameters from ``params`` (named as in the file) or, without them, GPT-2's random init."""
        super().__init__(config)
        causal = torch.tril(torch.ones(config.block_size, config.block_size, dtype=torch.bool))
        self.register_buffer("causal", causal, persistent=False)  # (block, block)
        self.transformer = nn.ModuleDict(
            {
                "wte": nn.Embedding(config.vocab_size, config.n_embd),
                "drop": nn.Dropout(config.dropout),
                "h": nn.ModuleList(Block(config) for _ in range(config.n_layer)),
            }
        )
        if config.pos == "learned":
            self.transformer["wpe"] = nn.Embedding(config.block_size, config.n_embd)
        if config.final_norm:
            self.transformer["ln_f"] = LayerNorm(config.n_embd, config.bias, config.layer_norm_eps)
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        if config.tie_weights:
            self.lm_head.weight = self.transformer["wte"].weight  # one matrix, two uses
        self.load(params if params is not None else init_gpt_params(config, seed=0), dtype)

    def head(self, x: torch.Tensor) -> torch.Tensor:
        """Residual stream → logits: (ln_f) then x @ lm_headᵀ; (B, T, C) → (B, T, V)."""
        if "ln_f" in self.transformer:
            x = self.transformer["ln_f"](x)
        return self.lm_head(x)

    def embed(self, ids: torch.Tensor, positions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        wpe = self.transformer["wpe"] if "wpe" in self.transformer else None
        return embed_tokens(self.transformer["wte"], wpe, ids, positions, self.config.pos)

    def forward_cached(
        self,
        ids: torch.Tensor,
        past: Past | None = None,
        padding_mask: torch.Tensor | None = None,
        trace: bool | Literal["attention"] = False,
    ) -> tuple[torch.Tensor, Past, Trace | AttentionTrace | None]:
        """Run T new tokens after a KV cache; return (logits (B, T, V), the new cache, trace or None).

        ``padding_mask`` (B, past + T) marks real tokens with 1 and padding with 0. ``trace="attention"``
        keeps only the attention weights (an ``AttentionTrace``).
        """
        ids = torch.as_tensor(ids, dtype=torch.long, device=self.causal.device)  # on the parameters' device
        B, T = ids.shape
        past_len = self.past_length(past)
        if past_len + T > self.config.block_size:
            raise ValueError(f"{past_len + T} tokens exceed the model's context of {self.config.block_size}")
        # without a full trace (nor dropout in training): the fused layers, proven equal
        fast = (
            self.fast_path and trace in (False, "attention") and not (self.training and self.config.dropout)
        )
        if fast and T == 1 and padding_mask is None:  # one new token sees every key: no mask; at past_len
            tok_emb, pos_emb = self.embed(ids, torch.full((B, 1), past_len, device=ids.device))
            return fast_layers(self, tok_emb + pos_emb, None, past, keep_probs=trace == "attention")
        mask = attention_mask(self.causal, padding_mask, B, T, past_len)  # (B, T, Tk)
        positions = position_ids(mask)  # (B, T)
        tok_emb, pos_emb = self.embed(ids, positions)
        if fast:
            return fast_layers(self, tok_emb + pos_emb, mask, past, keep_probs=trace == "attention")
        x = self.transformer["drop"](tok_emb + pos_emb)  # (B, T, C)
        present: Past = []
        records, residual = [], [x]
        for i, block in enumerate(self.transformer["h"]):
            x, layer_present, record = block(x, mask, past[i] if past else None)
            present.append(layer_present)
            records.append(record)
            residual.append(x)
        logits = self.head(x)  # (B, T, V)
        if not trace:
            return logits, present, None
        if trace == "attention":
            return logits, present, stack_layers(AttentionTrace, records)
        return (
            logits,
            present,
            stack_layers(
                Trace,
                records,  # q, k, v, att_scores, att_probs, resid_mid, mlp_act: (L, …)
                tok_emb=tok_emb,
                pos_emb=pos_emb,
                positions=positions,
                mask=mask,
                residual=torch.stack(residual),
                logit_lens=torch.stack([self.head(r) for r in residual[1:]]),
                logits=logits,
            ),
        )


# -- the fast path: the same maths as above through fused kernels ----------------------------


def fast_linear(wb: tuple[torch.Tensor, torch.Tensor | None], x: torch.Tensor) -> torch.Tensor:
    """``Conv1D.forward`` on rows x (N, n_in) as one ``addmm`` (bias + x @ weight)."""
    weight, bias = wb
    return x @ weight if bias is None else torch.addmm(bias, x, weight)


def fast_layer_norm(norm: Norm, x: torch.Tensor) -> torch.Tensor:
    weight, bias, eps = norm
    return F.layer_norm(x, (x.shape[-1],), weight, bias, eps)


def fast_gelu(x: torch.Tensor) -> torch.Tensor:
    """``gelu`` as one fused kernel (the same tanh approximation)."""
    return F.gelu(x, approximate="tanh")


def fast_attention(
    layer: FastLayer,
    x: torch.Tensor,
    B: int,
    mask: torch.Tensor | None,
    layer_past: tuple[torch.Tensor, torch.Tensor] | None,
    limit: int,
    keep_probs: bool = False,
) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor], torch.Tensor | None]:
    """``CausalSelfAttention.forward`` on rows x (B·T, C), the cache grown in place (``kv_cache``,
    up to ``limit`` positions); ``mask`` None: every key visible (one new token, no padding).
    Without ``keep_probs`` one fused ``scaled_dot_product_attention``; with it the weights are
    computed (and returned) as the readable path computes them, with fewer temporaries."""
    N, C = x.shape
    T, nh = N // B, layer.n_head
    q, k, v = fast_linear(layer.c_attn, x).view(B, T, 3, nh, C // nh).permute(2, 0, 3, 1, 4)  # (B, nh, T, hs)
    if torch.is_grad_enabled():  # training: a plain concatenation autograd follows
        if layer_past is not None:
            k = torch.cat([layer_past[0], k], dim=2)  # (B, nh, Tk, hs)
            v = torch.cat([layer_past[1], v], dim=2)
        present: tuple[torch.Tensor, torch.Tensor] = (k, v)
    else:
        present = kv_cache.append(layer_past, k, v, limit, k.new_empty)  # (B, nh, Tk, hs) each
        k, v = present
    if not keep_probs:
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=None if mask is None else mask[:, None])
        probs = None
    else:
        scores = (q @ k.transpose(-2, -1)).mul_(1.0 / math.sqrt(q.shape[-1]))  # (B, nh, T, Tk)
        if mask is not None:
            scores.masked_fill_(~mask[:, None], -torch.inf)  # masked keys get -inf
        probs = torch.softmax(scores, dim=-1)
        if mask is not None:
            probs.nan_to_num_(0.0)  # a row with nothing to attend to: zeros, as the readable softmax gives
        y = probs @ v  # (B, nh, T, hs)
    y = y.transpose(1, 2).reshape(N, C)  # (B·T, C): heads side by side
    return fast_linear(layer.attn_proj, y), present, probs


def fast_mlp(layer: FastLayer, x: torch.Tensor) -> torch.Tensor:
    h = fast_linear(layer.c_fc, x)
    h = fast_gelu(h) if layer.gelu else F.relu(h)
    return fast_linear(layer.mlp_proj, h)


def fast_block(
    layer: FastLayer,
    x: torch.Tensor,
    B: int,
    mask: torch.Tensor | None,
    layer_past: tuple[torch.Tensor, torch.Tensor] | None,
    limit: int,
    keep_probs: bool,
    attention: Callable[..., tuple[torch.Tensor, Any, torch.Tensor | None]] = fast_attention,
) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor], torch.Tensor | None]:
    """``Block.forward`` on rows x (B·T, C); ``attention`` is ``fast_attention`` or, for a cache of
    fixed shape, ``models.graph_step.static_attention`` (called alike)."""
    if layer.pre_norm:
        h = fast_layer_norm(layer.ln_1, x)
        a, present, probs = attention(layer, h, B, mask, layer_past, limit, keep_probs)
        x = a.add_(x)
        return fast_mlp(layer, fast_layer_norm(layer.ln_2, x)).add_(x), present, probs
    a, present, probs = attention(layer, x, B, mask, layer_past, limit, keep_probs)
    x = fast_layer_norm(layer.ln_1, a.add_(x))
    return fast_layer_norm(layer.ln_2, fast_mlp(layer, x).add_(x)), present, probs


def fast_layers(
    model: GPT, x: torch.Tensor, mask: torch.Tensor | None, past: Past | None, keep_probs: bool = False
) -> tuple[torch.Tensor, Past, AttentionTrace | None]:
    """``GPT.forward_cached``'s blocks and head from the embeddings x (B, T, C), with no trace or
    (``keep_probs``) the attention weights alone: the same logits, cache and weights, fewer, fused
    operations on the rows of x as one (B·T, C) matrix; ``mask`` None: every key visible."""
    B, T, C = x.shape
    layers, ln_f = fast_weights(model, gelu)
    limit = model.config.block_size
    x = x.reshape(B * T, C)
    present: Past = []
    kept = []
    for i, layer in enumerate(layers):
        x, layer_present, probs = fast_block(layer, x, B, mask, past[i] if past else None, limit, keep_probs)
        present.append(layer_present)
        kept.append(probs)
    if ln_f is not None:
        x = fast_layer_norm(ln_f, x)
    logits = F.linear(x, model.lm_head.weight).view(B, T, -1)  # (B, T, V)
    trace = AttentionTrace(att_probs=torch.stack(kept)) if keep_probs else None  # (L, B, nh, T, Tk)
    return logits, present, trace
