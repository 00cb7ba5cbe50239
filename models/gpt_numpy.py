"""GPT (decoder-only transformer) in plain NumPy: the twin of ``models/gpt_torch.py``.

Every class and function here has a namesake in the PyTorch twin, in the same order, with the
same shape comments, and reads the same parameters (GPT-2 / Hugging Face names). Arrays are
float32 or float64, chosen at load time. Inference only: dropout is not applied.

Unless a full trace is asked for (or ``fast_path`` is off), ``forward_cached`` takes the fast path
at the end of this file: the same maths with fewer temporaries (results written in place, one
matmul for all heads, the cache grown in place by ``models/kv_cache.py``), keeping the attention
weights when ``trace="attention"``; ``tests/test_fast_path.py`` proves it equal to the readable path.

Shape letters: B batch, T new tokens, Tk keys (past + new), C channels, nh heads, hs head size,
V vocabulary, L layers.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any, Literal

import numpy as np

from models import kv_cache
from models.config import GPTConfig
from models.fast_weights import FastLayer, Norm, fast_weights
from models.numpy_nn import Embedding, Linear, Module, Params
from models.trace import AttentionTrace, Trace
from models.twin_numpy import LanguageModel, stack_layers
from models.twin_numpy import cross_entropy as cross_entropy

Past = list[tuple[np.ndarray, np.ndarray]]  # per layer: (k, v), each (B, nh, Tk, hs)


# -- the maths of one layer, as plain functions ----------------------------------------------


def gelu(x: np.ndarray) -> np.ndarray:
    """GELU, tanh approximation (GPT-2's)."""
    return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3)))


def relu(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, 0)


def softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """exp(x - max) / sum; a row that is entirely -inf (nothing to attend to) becomes zeros."""
    m = np.maximum(np.max(x, axis=axis, keepdims=True), np.finfo(x.dtype).min)  # finite, even if all -inf
    e = np.exp(x - m)
    return e / np.maximum(np.sum(e, axis=axis, keepdims=True), np.finfo(x.dtype).tiny)  # 0 / tiny = 0


def layer_norm(x: np.ndarray, weight: np.ndarray | None, bias: np.ndarray | None, eps: float) -> np.ndarray:
    """(x - mean) / sqrt(var + eps) * weight + bias, biased variance over the last axis."""
    mean = np.mean(x, axis=-1, keepdims=True)
    var = np.var(x, axis=-1, keepdims=True)  # biased: divides by C
    y = (x - mean) / np.sqrt(var + eps)
    if weight is not None:
        y = y * weight
    if bias is not None:
        y = y + bias
    return y


def sinusoidal_positions(positions: np.ndarray, n_embd: int) -> np.ndarray:
    """PE[p, 2i] = sin(p / 10000^(2i/C)), PE[p, 2i+1] = cos(p / 10000^(2i/C)); float64, (..., C)."""
    i = np.arange(0, n_embd, 2, dtype=np.float64)  # (C/2,)
    angle = np.asarray(positions, dtype=np.float64)[..., None] / 10000.0 ** (i / n_embd)  # (..., C/2)
    pe = np.zeros((*angle.shape[:-1], n_embd), dtype=np.float64)
    pe[..., 0::2] = np.sin(angle)
    pe[..., 1::2] = np.cos(angle[..., : n_embd // 2])
    return pe


def embed_tokens(
    wte: Embedding,
    wpe: Embedding | None,
    ids: np.ndarray,
    positions: np.ndarray,
    pos: str = "learned",
) -> tuple[np.ndarray, np.ndarray]:
    """Token embeddings and the position vectors added to them, each (B, T, C): rows of ``wte``,
    and rows of a learned ``wpe``, fixed sinusoids, or (``pos`` "none") zeros: no position at all."""
    tok_emb = wte(ids)  # (B, T, C): an embedding is a row lookup
    if pos == "none":
        pos_emb = np.zeros_like(tok_emb)  # (B, T, C): attention alone cannot tell where a token sits
    elif wpe is not None:
        pos_emb = wpe(positions)  # (B, T, C)
    else:
        pos_emb = sinusoidal_positions(positions, tok_emb.shape[-1]).astype(tok_emb.dtype)  # (B, T, C)
    return tok_emb, pos_emb


def attention_mask(
    causal: np.ndarray, padding_mask: np.ndarray | None, B: int, T: int, past_len: int
) -> np.ndarray:
    """(B, T, Tk) booleans: query i (absolute position past_len + i) may see key j.

    Causal: row p of the lower-triangular ``causal`` matrix allows keys 0..p. Padding: key j and
    the query itself must be real tokens (padding_mask 1); a padded query sees nothing, so its
    attention row is all zeros.
    """
    Tk = past_len + T
    mask = np.broadcast_to(causal[past_len:Tk, :Tk], (B, T, Tk))  # (B, T, Tk)
    if padding_mask is not None:
        real = np.asarray(padding_mask).astype(bool)  # (B, Tk)
        mask = mask & real[:, None, :] & real[:, past_len:, None]
    return mask


def position_ids(mask: np.ndarray) -> np.ndarray:
    """(B, T) position of each new token: how many real tokens it sees (itself included), minus one."""
    return np.maximum(np.sum(mask, axis=-1) - 1, 0)


# -- modules: parameters plus a forward, named as in the PyTorch twin -----------------------


class LayerNorm(Module):
    def __init__(self, n_embd: int, bias: bool, eps: float, params: Params):
        self.weight = params.array("weight", (n_embd,))
        self.bias = params.array("bias", (n_embd,)) if bias else None
        self.eps = eps

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return layer_norm(x, self.weight, self.bias, self.eps)


class Conv1D(Module):
    """A linear layer stored (in, out) as GPT-2 stores it: y = x @ weight + bias."""

    def __init__(self, n_in: int, n_out: int, bias: bool, params: Params):
        self.weight = params.array("weight", (n_in, n_out))
        self.bias = params.array("bias", (n_out,)) if bias else None

    def __call__(self, x: np.ndarray) -> np.ndarray:
        y = x @ self.weight
        return y if self.bias is None else y + self.bias


class CausalSelfAttention(Module):
    def __init__(self, config: GPTConfig, params: Params):
        self.n_head, self.n_embd = config.n_head, config.n_embd
        self.c_attn = Conv1D(config.n_embd, 3 * config.n_embd, config.bias, params.scope("c_attn"))
        self.c_proj = Conv1D(config.n_embd, config.n_embd, config.bias, params.scope("c_proj"))

    def __call__(
        self, x: np.ndarray, mask: np.ndarray, layer_past: tuple[np.ndarray, np.ndarray] | None = None
    ) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray], dict[str, np.ndarray]]:
        B, T, C = x.shape
        nh, hs = self.n_head, C // self.n_head
        q, k, v = np.split(self.c_attn(x), 3, axis=-1)  # 3 × (B, T, C)
        q = q.reshape(B, T, nh, hs).transpose(0, 2, 1, 3)  # (B, nh, T, hs)
        k = k.reshape(B, T, nh, hs).transpose(0, 2, 1, 3)  # (B, nh, T, hs)
        v = v.reshape(B, T, nh, hs).transpose(0, 2, 1, 3)  # (B, nh, T, hs)
        if layer_past is not None:
            k = np.concatenate([layer_past[0], k], axis=2)  # (B, nh, Tk, hs)
            v = np.concatenate([layer_past[1], v], axis=2)  # (B, nh, Tk, hs)
        scores = (q @ k.transpose(0, 1, 3, 2)) / math.sqrt(hs)  # (B, nh, T, Tk)
        scores = np.where(mask[:, None, :, :], scores, -np.inf)  # masked keys get -inf
        probs = softmax(scores, axis=-1)  # (B, nh, T, Tk)
        y = probs @ v  # (B, nh, T, hs)
        y = y.transpose(0, 2, 1, 3).reshape(B, T, C)  # (B, T, C): heads side by side
        record = {"q": q, "k": k, "v": v, "att_scores": scores, "att_probs": probs}
        return self.c_proj(y), (k, v), record


class MLP(Module):
    def __init__(self, config: GPTConfig, params: Params):
        self.c_fc = Conv1D(config.n_embd, 4 * config.n_embd, config.bias, params.scope("c_fc"))
        self.c_proj = Conv1D(4 * config.n_embd, config.n_embd, config.bias, params.scope("c_proj"))
        self.act = gelu if config.activation == "gelu" else relu

    def __call__(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        h = self.act(self.c_fc(x))  # (B, T, 4C)
        return self.c_proj(h), h  # (B, T, C), (B, T, 4C)


class Block(Module):
    def __init__(self, config: GPTConfig, params: Params):
        self.norm = config.norm
        self.ln_1 = LayerNorm(config.n_embd, config.bias, config.layer_norm_eps, params.scope("ln_1"))
        self.attn = CausalSelfAttention(config, params.scope("attn"))
        self.ln_2 = LayerNorm(config.n_embd, config.bias, config.layer_norm_eps, params.scope("ln_2"))
        self.mlp = MLP(config, params.scope("mlp"))

    def __call__(
        self, x: np.ndarray, mask: np.ndarray, layer_past: tuple[np.ndarray, np.ndarray] | None = None
    ) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray], dict[str, np.ndarray]]:
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

    def __init__(self, config: GPTConfig, params: Mapping[str, np.ndarray], dtype: str = "float32"):
        """Parameters from ``params`` (named as in the file), as arrays of ``dtype``."""
        super().__init__(config)
        params = Params(params, dtype)
        self.causal = np.tril(np.ones((config.block_size, config.block_size), dtype=bool))  # (block, block)
        transformer = params.scope("transformer")
        self.transformer = {
            "wte": Embedding(config.vocab_size, config.n_embd, transformer.scope("wte")),
            "h": [Block(config, transformer.scope(f"h.{i}")) for i in range(config.n_layer)],
        }
        if config.pos == "learned":
            self.transformer["wpe"] = Embedding(config.block_size, config.n_embd, transformer.scope("wpe"))
        if config.final_norm:
            ln_f = transformer.scope("ln_f")
            self.transformer["ln_f"] = LayerNorm(config.n_embd, config.bias, config.layer_norm_eps, ln_f)
        lm_head = "transformer.wte" if config.tie_weights else "lm_head"  # tied: one matrix, two uses
        self.lm_head = Linear(config.n_embd, config.vocab_size, params.scope(lm_head), bias=False)

    def head(self, x: np.ndarray) -> np.ndarray:
        """Residual stream → logits: (ln_f) then x @ lm_headᵀ; (B, T, C) → (B, T, V)."""
        if "ln_f" in self.transformer:
            x = self.transformer["ln_f"](x)
        return self.lm_head(x)

    def embed(self, ids: np.ndarray, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        wpe = self.transformer["wpe"] if "wpe" in self.transformer else None
        return embed_tokens(self.transformer["wte"], wpe, ids, positions, self.config.pos)

    def forward_cached(
        self,
        ids: np.ndarray,
        past: Past | None = None,
        padding_mask: np.ndarray | None = None,
        trace: bool | Literal["attention"] = False,
    ) -> tuple[np.ndarray, Past, Trace | AttentionTrace | None]:
        """Run T new tokens after a KV cache; return (logits (B, T, V), the new cache, trace or None).

        ``padding_mask`` (B, past + T) marks real tokens with 1 and padding with 0. ``trace="attention"``
        keeps only the attention weights (an ``AttentionTrace``).
        """
        ids = np.asarray(ids, dtype=np.int64)
        B, T = ids.shape
        past_len = self.past_length(past)
        if past_len + T > self.config.block_size:
            raise ValueError(f"{past_len + T} tokens exceed the model's context of {self.config.block_size}")
        # without a full trace: the layers with fewer temporaries, proven equal
        fast = self.fast_path and trace in (False, "attention")
        if fast and T == 1 and padding_mask is None:  # one new token sees every key: no mask; at past_len
            tok_emb, pos_emb = self.embed(ids, np.full((B, 1), past_len))
            return fast_layers(self, tok_emb + pos_emb, None, past, keep_probs=trace == "attention")
        mask = attention_mask(self.causal, padding_mask, B, T, past_len)  # (B, T, Tk)
        positions = position_ids(mask)  # (B, T)
        tok_emb, pos_emb = self.embed(ids, positions)
        if fast:
            return fast_layers(self, tok_emb + pos_emb, mask, past, keep_probs=trace == "attention")
        x = tok_emb + pos_emb  # (B, T, C)
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
                residual=np.stack(residual),
                logit_lens=np.stack([self.head(r) for r in residual[1:]]),
                logits=logits,
            ),
        )


# -- the fast path: the same maths as above with fewer temporaries --------------------------


def fast_linear(wb: tuple[np.ndarray, np.ndarray | None], x: np.ndarray) -> np.ndarray:
    """``Conv1D.__call__`` on rows x (N, n_in), the bias added in place."""
    weight, bias = wb
    y = x @ weight
    if bias is not None:
        y += bias
    return y


def fast_layer_norm(norm: Norm, x: np.ndarray) -> np.ndarray:
    """``layer_norm`` into one new array: centred, scaled, weighted and shifted in place."""
    weight, bias, eps = norm
    C = x.shape[-1]
    y = x - np.add.reduce(x, axis=-1, keepdims=True) / C
    var = np.add.reduce(y * y, axis=-1, keepdims=True)
    var *= 1.0 / C  # biased: divides by C
    var += eps
    y /= np.sqrt(var, out=var)
    if weight is not None:
        y *= weight
    if bias is not None:
        y += bias
    return y


def fast_gelu(x: np.ndarray) -> np.ndarray:
    """``gelu`` computed in place in ``x`` (which the caller owns)."""
    inner = x * x
    inner *= 0.044715
    inner += 1.0
    inner *= x
    inner *= math.sqrt(2.0 / math.pi)
    np.tanh(inner, out=inner)
    inner += 1.0
    x *= 0.5
    x *= inner
    return x


def fast_attention(
    layer: FastLayer,
    x: np.ndarray,
    B: int,
    mask: np.ndarray | None,
    layer_past: tuple[np.ndarray, np.ndarray] | None,
    limit: int,
    keep_probs: bool = False,
) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray], np.ndarray | None]:
    """``CausalSelfAttention.__call__`` on rows x (B·T, C), the cache grown in place (``kv_cache``,
    up to ``limit`` positions) and the softmax in place; ``mask`` None: every key visible (one new
    token, no padding: no row can be all -inf, so the guards against one are skipped). The weights
    are returned with ``keep_probs`` (the torch twin computes them only then)."""
    N, C = x.shape
    T, nh = N // B, layer.n_head
    hs = C // nh
    qkv = fast_linear(layer.c_attn, x).reshape(B, T, 3, nh, hs).transpose(2, 0, 3, 1, 4)  # 3 × (B, nh, T, hs)
    present = kv_cache.append(layer_past, qkv[1], qkv[2], limit, lambda shape: np.empty(shape, x.dtype))
    k, v = present  # (B, nh, Tk, hs) each
    scores = qkv[0] @ k.transpose(0, 1, 3, 2)  # (B, nh, T, Tk)
    scores *= 1.0 / math.sqrt(hs)
    if mask is not None:
        scores = np.where(mask[:, None, :, :], scores, -np.inf)  # masked keys get -inf
        scores -= np.maximum(np.maximum.reduce(scores, axis=-1, keepdims=True), np.finfo(scores.dtype).min)
        np.exp(scores, out=scores)
        scores /= np.maximum(np.add.reduce(scores, axis=-1, keepdims=True), np.finfo(scores.dtype).tiny)
    else:
        scores -= np.maximum.reduce(scores, axis=-1, keepdims=True)
        np.exp(scores, out=scores)
        scores /= np.add.reduce(scores, axis=-1, keepdims=True)
    y = (scores @ v).transpose(0, 2, 1, 3).reshape(N, C)  # (B·T, C): heads side by side
    return fast_linear(layer.attn_proj, y), present, scores if keep_probs else None


def fast_mlp(layer: FastLayer, x: np.ndarray) -> np.ndarray:
    h = fast_linear(layer.c_fc, x)
    h = fast_gelu(h) if layer.gelu else np.maximum(h, 0, out=h)
    return fast_linear(layer.mlp_proj, h)


def fast_block(
    layer: FastLayer,
    x: np.ndarray,
    B: int,
    mask: np.ndarray | None,
    layer_past: tuple[np.ndarray, np.ndarray] | None,
    limit: int,
    keep_probs: bool,
    attention: Callable[..., tuple[np.ndarray, Any, np.ndarray | None]] = fast_attention,
) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray], np.ndarray | None]:
    """``Block.__call__`` on rows x (B·T, C); ``attention`` is ``fast_attention`` unless the caller
    brings its own, called alike (as the PyTorch twin's decode step on a cache of fixed shape does)."""
    if layer.pre_norm:
        h = fast_layer_norm(layer.ln_1, x)
        a, present, probs = attention(layer, h, B, mask, layer_past, limit, keep_probs)
        a += x
        a += fast_mlp(layer, fast_layer_norm(layer.ln_2, a))
        return a, present, probs
    a, present, probs = attention(layer, x, B, mask, layer_past, limit, keep_probs)
    a += x
    x = fast_layer_norm(layer.ln_1, a)
    m = fast_mlp(layer, x)
    m += x
    return fast_layer_norm(layer.ln_2, m), present, probs


def fast_layers(
    model: GPT, x: np.ndarray, mask: np.ndarray | None, past: Past | None, keep_probs: bool = False
) -> tuple[np.ndarray, Past, AttentionTrace | None]:
    """``GPT.forward_cached``'s blocks and head from the embeddings x (B, T, C), with no trace or
    (``keep_probs``) the attention weights alone: the same logits, cache and weights, fewer
    temporaries, on the rows of x as one (B·T, C) matrix; ``mask`` None: every key visible."""
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
    logits = (x @ model.lm_head.weight.T).reshape(B, T, -1)  # (B, T, V)
    trace = AttentionTrace(att_probs=np.stack(kept)) if keep_probs else None  # (L, B, nh, T, Tk)
    return logits, present, trace
