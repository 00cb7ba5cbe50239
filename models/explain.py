"""What a lesson step shows about one input, computed from one traced forward pass.

``explain(model, ids, layer, head, top_k)`` runs the model once with ``trace=True`` (either
twin) and returns plain NumPy arrays: the numbers behind every figure, ready to be sent as
JSON. Probabilities come from the same softmax the model uses; nothing here is approximated.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from models.generate import log_softmax
from models.sampling import softmax
from models.trace import to_numpy


@dataclass
class Explanation:
    positions: np.ndarray  # (T,)
    tok_emb: np.ndarray  # (T, C) rows of wte
    pos_emb: np.ndarray  # (T, C) position vectors added to them
    layer: int
    head: int
    q: np.ndarray  # (T, hs) the chosen layer and head
    k: np.ndarray  # (T, hs)
    v: np.ndarray  # (T, hs)
    scores: np.ndarray  # (T, T) q·k/√hs, -inf where masked
    mask: np.ndarray  # (T, T) True where a query may see a key
    attention: np.ndarray  # (L, nh, T, T) every layer and head
    mlp_mean: np.ndarray  # (L, T) mean MLP activation per token
    mlp_active: np.ndarray  # (L, T) fraction of MLP units > 0
    residual_norm: np.ndarray  # (L+1, T) ‖x‖ of the residual stream: embeddings, then after each block
    lens_ids: np.ndarray  # (L, T, k) logit lens: each block's top-k next tokens
    lens_probs: np.ndarray  # (L, T, k) and their probabilities
    next_logits: np.ndarray  # (V,) the last position's logits: the sampler's input


def top_k(probs: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The k largest along the last axis, largest first → (ids, probs)."""
    k = min(k, probs.shape[-1])
    ids = np.argsort(-probs, axis=-1, kind="stable")[..., :k]
    return ids, np.take_along_axis(probs, ids, axis=-1)


def explain(model: Any, ids: list[int], layer: int = 0, head: int = 0, k: int = 5) -> Explanation:
    """Trace ``ids`` (one sequence) through ``model`` and gather what the lessons show."""
    cfg = model.config
    if not 0 <= layer < cfg.n_layer:
        raise ValueError(f"layer must be in 0..{cfg.n_layer - 1}, got {layer}")
    if not 0 <= head < cfg.n_head:
        raise ValueError(f"head must be in 0..{cfg.n_head - 1}, got {head}")
    if not ids:
        raise ValueError("the text must hold at least one token")
    with model.inference_context():
        _, tr = model.forward(np.asarray([ids]), trace=True)
    t = tr.to_numpy()
    lens_ids, lens_probs = top_k(softmax(t["logit_lens"][:, 0]), k)  # (L, T, k)
    mlp = t["mlp_act"][:, 0]  # (L, T, 4C)
    return Explanation(
        positions=t["positions"][0],
        tok_emb=t["tok_emb"][0],
        pos_emb=t["pos_emb"][0],
        layer=layer,
        head=head,
        q=t["q"][layer, 0, head],
        k=t["k"][layer, 0, head],
        v=t["v"][layer, 0, head],
        scores=t["att_scores"][layer, 0, head],
        mask=t["mask"][0],
        attention=t["att_probs"][:, 0],
        mlp_mean=mlp.mean(-1),
        mlp_active=(mlp > 0).mean(-1),
        residual_norm=np.linalg.norm(t["residual"][:, 0], axis=-1),
        lens_ids=lens_ids,
        lens_probs=lens_probs,
        next_logits=to_numpy(t["logits"][0, -1]),
    )


def token_losses(model: Any, ids: list[int]) -> np.ndarray:
    """-log p(ids[t+1] | ids[..t]) for every position but the last: (T-1,) nats."""
    if len(ids) < 2:
        raise ValueError("the text must hold at least two tokens to score a prediction")
    with model.inference_context():
        logits = to_numpy(model.forward(np.asarray([ids])))[0, :-1]  # (T-1, V)
    return -log_softmax(logits)[np.arange(len(ids) - 1), ids[1:]]


def cosine_similarity(vectors: np.ndarray) -> np.ndarray:
    """(P, C) → (P, P): how alike every pair of position vectors points."""
    unit = vectors / np.maximum(np.linalg.norm(vectors, axis=-1, keepdims=True), 1e-12)
    return unit @ unit.T


def compare_traces(a: Any, b: Any) -> dict[str, float]:
    """Largest |a - b| of every trace field (equal infinities, the masked scores, count as equal)."""
    ta, tb = a.to_numpy(), b.to_numpy()
    out = {}
    for name in ta:
        x, y = ta[name].astype(np.float64), tb[name].astype(np.float64)
        same = (x == y) | (np.isinf(x) & np.isinf(y) & (np.sign(x) == np.sign(y)))
        with np.errstate(invalid="ignore"):
            out[name] = float(np.max(np.where(same, 0.0, np.abs(x - y)), initial=0.0))
    return out
