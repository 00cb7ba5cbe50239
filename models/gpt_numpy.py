"""GPT (decoder-only transformer) in plain NumPy: the twin of ``models/gpt_torch.py``.

Every class and function here has a namesake in the PyTorch twin, in the same order, with the
same shape comments, and reads the same parameters (GPT-2 / Hugging Face names). Arrays are
float32 or float64, chosen at load time. Inference only: dropout is not applied.

Shape letters: B batch, T new tokens, Tk keys (past + new), C channels, nh heads, hs head size,
V vocabulary, L layers.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Mapping, Sequence
from typing import Literal

import numpy as np

from models.config import GPTConfig
from models.trace import AttentionTrace, Trace
from models.weights import gpt_num_params

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


def cross_entropy(logits: np.ndarray, targets: np.ndarray, ignore_index: int = -1) -> float:
    """Mean of -log softmax(logits)[target] over targets that are not ignore_index (nats)."""
    logits = logits.reshape(-1, logits.shape[-1])  # (N, V)
    targets = np.asarray(targets).reshape(-1)  # (N,)
    keep = targets != ignore_index
    logits, targets = logits[keep], targets[keep]
    m = np.max(logits, axis=-1, keepdims=True)
    logsumexp = (m + np.log(np.sum(np.exp(logits - m), axis=-1, keepdims=True)))[:, 0]  # (N,)
    return float(np.mean(logsumexp - logits[np.arange(len(targets)), targets]))


# -- modules: parameters plus a forward, named as in the PyTorch twin -----------------------


class LayerNorm:
    def __init__(self, weight: np.ndarray | None, bias: np.ndarray | None, eps: float):
        self.weight, self.bias, self.eps = weight, bias, eps

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return layer_norm(x, self.weight, self.bias, self.eps)


class Conv1D:
    """A linear layer stored (in, out) as GPT-2 stores it: y = x @ weight + bias."""

    def __init__(self, weight: np.ndarray, bias: np.ndarray | None):
        self.weight, self.bias = weight, bias

    def __call__(self, x: np.ndarray) -> np.ndarray:
        y = x @ self.weight
        return y if self.bias is None else y + self.bias


class CausalSelfAttention:
    def __init__(self, config: GPTConfig, c_attn: Conv1D, c_proj: Conv1D):
        self.n_head, self.n_embd = config.n_head, config.n_embd
        self.c_attn, self.c_proj = c_attn, c_proj

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


class MLP:
    def __init__(self, config: GPTConfig, c_fc: Conv1D, c_proj: Conv1D):
        self.c_fc, self.c_proj = c_fc, c_proj
        self.act = gelu if config.activation == "gelu" else relu

    def __call__(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        h = self.act(self.c_fc(x))  # (B, T, 4C)
        return self.c_proj(h), h  # (B, T, C), (B, T, 4C)


class Block:
    def __init__(
        self, config: GPTConfig, ln_1: LayerNorm, attn: CausalSelfAttention, ln_2: LayerNorm, mlp: MLP
    ):
        self.norm = config.norm
        self.ln_1, self.attn, self.ln_2, self.mlp = ln_1, attn, ln_2, mlp

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


class GPT:
    """The whole model: embeddings → L blocks → (ln_f) → lm_head."""

    inference_context = staticmethod(contextlib.nullcontext)  # nothing to switch off in NumPy

    def __init__(self, config: GPTConfig, params: Mapping[str, np.ndarray], dtype: str = "float32"):
        self.config = config
        self.dtype = np.dtype(dtype)
        if self.dtype not in (np.float32, np.float64):
            raise ValueError(f"dtype must be float32 or float64, got {dtype!r}")

        def p(name: str) -> np.ndarray:
            return np.ascontiguousarray(params[name], dtype=self.dtype)

        def opt(name: str) -> np.ndarray | None:
            return p(name) if config.bias else None

        self.causal = np.tril(np.ones((config.block_size, config.block_size), dtype=bool))  # (block, block)
        self.wte = p("transformer.wte.weight")  # (V, C)
        self.wpe = p("transformer.wpe.weight") if config.pos == "learned" else None  # (block_size, C)
        self.h = []
        for i in range(config.n_layer):
            pre = f"transformer.h.{i}."
            self.h.append(
                Block(
                    config,
                    LayerNorm(p(pre + "ln_1.weight"), opt(pre + "ln_1.bias"), config.layer_norm_eps),
                    CausalSelfAttention(
                        config,
                        Conv1D(p(pre + "attn.c_attn.weight"), opt(pre + "attn.c_attn.bias")),
                        Conv1D(p(pre + "attn.c_proj.weight"), opt(pre + "attn.c_proj.bias")),
                    ),
                    LayerNorm(p(pre + "ln_2.weight"), opt(pre + "ln_2.bias"), config.layer_norm_eps),
                    MLP(
                        config,
                        Conv1D(p(pre + "mlp.c_fc.weight"), opt(pre + "mlp.c_fc.bias")),
                        Conv1D(p(pre + "mlp.c_proj.weight"), opt(pre + "mlp.c_proj.bias")),
                    ),
                )
            )
        self.ln_f = (
            LayerNorm(p("transformer.ln_f.weight"), opt("transformer.ln_f.bias"), config.layer_norm_eps)
            if config.final_norm
            else None
        )
        self.lm_head = self.wte if config.tie_weights else p("lm_head.weight")  # (V, C)

    def head(self, x: np.ndarray) -> np.ndarray:
        """Residual stream → logits: (ln_f) then x @ lm_headᵀ; (B, T, C) → (B, T, V)."""
        if self.ln_f is not None:
            x = self.ln_f(x)
        return x @ self.lm_head.T

    def embed(self, ids: np.ndarray, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        tok_emb = self.wte[ids]  # (B, T, C): an embedding is a row lookup
        if self.wpe is not None:
            pos_emb = self.wpe[positions]  # (B, T, C)
        else:
            pos_emb = sinusoidal_positions(positions, self.config.n_embd).astype(self.dtype)  # (B, T, C)
        return tok_emb, pos_emb

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
        past_len = 0 if not past else past[0][0].shape[2]
        if past_len + T > self.config.block_size:
            raise ValueError(f"{past_len + T} tokens exceed the model's context of {self.config.block_size}")
        mask = attention_mask(self.causal, padding_mask, B, T, past_len)  # (B, T, Tk)
        positions = position_ids(mask)  # (B, T)
        tok_emb, pos_emb = self.embed(ids, positions)
        x = tok_emb + pos_emb  # (B, T, C)
        present: Past = []
        records, residual = [], [x]
        for i, block in enumerate(self.h):
            x, layer_present, record = block(x, mask, past[i] if past else None)
            present.append(layer_present)
            records.append(record)
            residual.append(x)
        logits = self.head(x)  # (B, T, V)
        if not trace:
            return logits, present, None

        def stack(key: str) -> np.ndarray:
            return np.stack([r[key] for r in records])

        if trace == "attention":
            return logits, present, AttentionTrace(att_probs=stack("att_probs"))

        tr = Trace(
            tok_emb=tok_emb,
            pos_emb=pos_emb,
            positions=positions,
            mask=mask,
            q=stack("q"),
            k=stack("k"),
            v=stack("v"),
            att_scores=stack("att_scores"),
            att_probs=stack("att_probs"),
            resid_mid=stack("resid_mid"),
            mlp_act=stack("mlp_act"),
            residual=np.stack(residual),
            logit_lens=np.stack([self.head(r) for r in residual[1:]]),
            logits=logits,
        )
        return logits, present, tr

    def forward(
        self, ids: np.ndarray, padding_mask: np.ndarray | None = None, trace: bool = False
    ) -> np.ndarray | tuple[np.ndarray, Trace]:
        """Logits (B, T, V) for a whole sequence; with trace=True, (logits, Trace)."""
        logits, _, tr = self.forward_cached(ids, None, padding_mask, trace)
        return (logits, tr) if trace else logits

    __call__ = forward

    def loss(self, ids: np.ndarray, targets: np.ndarray, padding_mask: np.ndarray | None = None) -> float:
        """Mean cross-entropy (nats per token) of predicting ``targets`` (-1 = ignore) from ``ids``."""
        logits = self.forward(ids, padding_mask)
        return cross_entropy(logits, targets)

    @staticmethod
    def reorder_past(past: Past, index: np.ndarray) -> Past:
        """Select / repeat batch rows of a KV cache (beam search)."""
        index = np.asarray(index, dtype=np.int64)
        return [(k[index], v[index]) for k, v in past]

    @staticmethod
    def merge_past(pasts: Sequence[Past]) -> tuple[Past, np.ndarray, list[int]]:
        """Several one-row KV caches of different lengths as one batch → (cache, padding mask, pads).

        Row b is left-padded with ``pads[b]`` zero keys and values; the padding mask (B, longest + 1)
        marks its real keys and the one new token each row feeds next.
        """
        lengths = [p[0][0].shape[2] for p in pasts]
        longest = max(lengths)
        pads = [longest - n for n in lengths]
        padding_mask = np.arange(longest + 1)[None, :] >= np.asarray(pads)[:, None]  # (B, longest + 1)
        merged: Past = []
        for layer in zip(*pasts, strict=True):  # one layer's (k, v) of every row
            k0 = layer[0][0]
            k = np.zeros((len(pasts), k0.shape[1], longest, k0.shape[3]), dtype=k0.dtype)  # (B, nh, Tk, hs)
            v = np.zeros_like(k)
            for b, (kb, vb) in enumerate(layer):
                k[b, :, pads[b] :], v[b, :, pads[b] :] = kb[0], vb[0]
            merged.append((k, v))
        return merged, padding_mask, pads

    @staticmethod
    def split_past(past: Past, pads: Sequence[int]) -> list[Past]:
        """The inverse of ``merge_past`` after a step: each row's own cache, its padding cut off."""
        return [
            [(k[b : b + 1, :, pad:], v[b : b + 1, :, pad:]) for k, v in past] for b, pad in enumerate(pads)
        ]

    def num_parameters(self) -> int:
        return gpt_num_params(self.config)  # a tied matrix is counted once
