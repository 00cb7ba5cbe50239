"""Numbers the lesson steps work through by hand, read from the NumPy GPT twin's own pieces.

Each function runs the model (or the very functions its forward pass calls) and returns plain
NumPy arrays in a dataclass, so a page can show a reader the arithmetic and the model's own result
side by side: one LayerNorm step by step, one head's slices of W_q, W_k and W_v, a padded batch
beside each prompt alone, the masks of a padded batch, and the position vectors.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from models.batch import pad_batch
from models.gpt_numpy import attention_mask, layer_norm, position_ids, sinusoidal_positions


@dataclass
class LayerNormWork:
    """Block ``layer``'s first LayerNorm (ln_1) on one token's vector, every intermediate number."""

    eps: float
    input: np.ndarray  # (C,) the vector ln_1 receives
    mean: float
    var: float  # biased: divides by C
    std: float  # sqrt(var + eps)
    normalised: np.ndarray  # (C,) (x - mean) / std
    normalised_mean: float
    normalised_var: float
    weight: np.ndarray | None  # (C,) gain γ
    bias: np.ndarray | None  # (C,) shift β
    output: np.ndarray  # (C,) γ · normalised + β: what the block uses


def layernorm_work_through(model: Any, ids: list[int], layer: int, position: int) -> LayerNormWork:
    """The input of block ``layer``'s ln_1 at ``position`` and every number LayerNorm makes of it.

    Pre-LN feeds ln_1 the residual stream entering the block; post-LN that stream plus the
    block's attention output.
    """
    with model.inference_context():
        _, tr = model.forward(np.asarray([ids]), trace=True)
    block = model.transformer["h"][layer]
    x = tr.residual[layer]  # (1, T, C) entering the block
    if block.norm == "post":  # post-LN normalises x + attention(x)
        x = x + block.attn(x, tr.mask)[0]
    x = x[0, position]  # (C,)
    ln = block.ln_1
    normalised = layer_norm(x, None, None, ln.eps)
    return LayerNormWork(
        eps=ln.eps,
        input=x,
        mean=float(np.mean(x)),
        var=float(np.var(x)),
        std=float(np.sqrt(np.var(x) + ln.eps)),
        normalised=normalised,
        normalised_mean=float(np.mean(normalised)),
        normalised_var=float(np.var(normalised)),
        weight=ln.weight,
        bias=ln.bias,
        output=ln(x),
    )


@dataclass
class QKVWork:
    """What one head's attention reads and the weights that turn it into q, k and v."""

    norm: str  # "pre" or "post"
    x: np.ndarray  # (T, C) LN(residual) in a pre-LN block, the residual in a post-LN one
    w_q: np.ndarray  # (C, hs) this head's columns of c_attn
    w_k: np.ndarray
    w_v: np.ndarray
    b_q: np.ndarray | None  # (hs,) or None without biases
    b_k: np.ndarray | None
    b_v: np.ndarray | None
    q: np.ndarray  # (T, hs) as the model computed them
    k: np.ndarray
    v: np.ndarray


def qkv_by_hand(model: Any, ids: list[int], layer: int, head: int) -> QKVWork:
    """Block ``layer``'s attention input and head ``head``'s slices of c_attn, so that
    q = x · W_q + b_q can be checked by hand against the q the forward pass made."""
    _, tr = model.forward(np.asarray([ids]), trace=True)
    block = model.transformer["h"][layer]
    residual = tr.residual[layer]  # (1, T, C) the block's input
    x = block.ln_1(residual) if block.norm == "pre" else residual  # what c_attn reads
    C = model.config.n_embd
    hs = C // model.config.n_head
    cols = [slice(part * C + head * hs, part * C + (head + 1) * hs) for part in range(3)]
    w, b = block.attn.c_attn.weight, block.attn.c_attn.bias  # (C, 3C), (3C,)
    b_q, b_k, b_v = (None, None, None) if b is None else (b[c] for c in cols)
    return QKVWork(
        norm=block.norm,
        x=x[0],
        w_q=w[:, cols[0]],
        w_k=w[:, cols[1]],
        w_v=w[:, cols[2]],
        b_q=b_q,
        b_k=b_k,
        b_v=b_v,
        q=tr.q[layer, 0, head],
        k=tr.k[layer, 0, head],
        v=tr.v[layer, 0, head],
    )


@dataclass
class PaddedAttention:
    """One head's attention over a left-padded batch, and over each prompt run alone."""

    ids: np.ndarray  # (B, T) left-padded
    padding: np.ndarray  # (B, T) 1 real, 0 padding
    positions: np.ndarray  # (B, T) as the model numbers them
    attention: np.ndarray  # (B, T, T) the chosen head, run as one padded batch
    alone: list[np.ndarray]  # per prompt (T_b, T_b): the same head, the prompt run by itself
    pad_weight: float  # total weight real queries give padded keys (exactly 0)
    max_change: float  # largest |batched - alone| over the real tokens' weights


def padded_attention(model: Any, seqs: list[list[int]], layer: int, head: int) -> PaddedAttention:
    """Run ``seqs`` as one left-padded batch and each on its own: padded keys get zero weight
    and padding changes nothing else."""
    ids, padding = pad_batch(seqs)
    _, tr = model.forward(ids, padding_mask=padding, trace=True)
    att = tr.att_probs[layer, :, head]  # (B, T, T)
    alone = [model.forward(np.asarray([s]), trace=True)[1].att_probs[layer, 0, head] for s in seqs]
    real = padding.astype(bool)  # (B, T)
    T = ids.shape[1]
    return PaddedAttention(
        ids=ids,
        padding=padding,
        positions=np.asarray(tr.positions),
        attention=att,
        alone=alone,
        pad_weight=float(np.sum(att * (real[:, :, None] & ~real[:, None, :]))),
        max_change=max(
            float(np.max(np.abs(att[b, T - len(s) :, T - len(s) :] - alone[b]))) for b, s in enumerate(seqs)
        ),
    )


@dataclass
class BatchMasks:
    """The masks of a left-padded batch, built by the functions the twins run."""

    ids: np.ndarray  # (B, T) left-padded
    padding: np.ndarray  # (B, T) 1 real, 0 padding
    positions: np.ndarray  # (B, T) as the model numbers them
    causal: np.ndarray  # (T, T)
    combined: np.ndarray  # (B, T, T) causal ∧ padding: what attention may use


def batch_masks(seqs: list[list[int]]) -> BatchMasks:
    """Padding, causal and combined masks of ``seqs`` padded on the left into one batch."""
    ids, padding = pad_batch(seqs)
    B, T = ids.shape
    causal = np.tril(np.ones((T, T), dtype=bool))
    combined = attention_mask(causal, padding, B, T, 0)  # (B, T, T)
    return BatchMasks(ids, padding, position_ids(combined), causal, combined)


def position_vectors(
    kind: Literal["sinusoidal", "learned"], positions: int, dims: int, model: Any = None
) -> np.ndarray:
    """(positions, dims) float64: fixed sinusoids of width ``dims``, or the first rows of
    ``model``'s learned table (wpe)."""
    if kind == "learned":
        return np.asarray(model.transformer["wpe"].weight[:positions], dtype=np.float64)
    if dims % 2:
        raise ValueError("sinusoids come in sin/cos pairs, use an even width")
    return sinusoidal_positions(np.arange(positions), dims)


@dataclass
class AttentionOutputWork:
    """Block ``layer``'s attention, from the weights to the residual stream, every head at once."""

    norm: str  # "pre" or "post"
    heads: np.ndarray  # (nh, T, hs) each head's output: its weights times its values, Σ_j w_ij v_j
    concat: np.ndarray  # (T, C) the heads side by side: what c_proj reads
    w_o: np.ndarray  # (C, C) c_proj's weight
    b_o: np.ndarray | None  # (C,) c_proj's bias, or None without biases
    proj: np.ndarray  # (T, C) concat · W_O + b_O: the attention's output
    residual_in: np.ndarray  # (T, C) the residual stream entering the block
    added: np.ndarray  # (T, C) residual_in + proj
    resid_mid: np.ndarray  # (T, C) the model's residual after attention (post-LN: ln_1 of added)


def attention_output_by_hand(model: Any, ids: list[int], layer: int) -> AttentionOutputWork:
    """Block ``layer``'s attention output rebuilt from the trace's weights and values and c_proj's
    weights: per head y = A · V, heads concatenated, projected, added to the residual stream.
    ``resid_mid`` is the forward pass's own, so the sum can be checked against it."""
    with model.inference_context():
        _, tr = model.forward(np.asarray([ids]), trace=True)
    block = model.transformer["h"][layer]
    probs = tr.att_probs[layer, 0]  # (nh, T, T)
    v = tr.v[layer, 0]  # (nh, T, hs)
    heads = probs @ v  # (nh, T, hs)
    nh, T, hs = heads.shape
    concat = heads.transpose(1, 0, 2).reshape(T, nh * hs)  # (T, C): head 0's hs numbers, then head 1's…
    c_proj = block.attn.c_proj
    proj = c_proj(concat)  # (T, C)
    residual_in = tr.residual[layer][0]  # (T, C)
    return AttentionOutputWork(
        norm=block.norm,
        heads=heads,
        concat=concat,
        w_o=c_proj.weight,
        b_o=c_proj.bias,
        proj=proj,
        residual_in=residual_in,
        added=residual_in + proj,
        resid_mid=tr.resid_mid[layer][0],
    )
