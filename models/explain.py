"""What a lesson step shows about one input, computed from one traced forward pass.

``explain`` (a GPT or an encoder), ``explain_encdec`` and ``explain_lstm`` run the model once with
``trace=True`` (either twin) and return plain NumPy arrays: the numbers behind every figure, ready
to be sent as JSON. Probabilities come from the same softmax the model uses; nothing here is
approximated.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from models.architectures import architecture_for
from models.beam import log_softmax
from models.sampling import softmax
from models.trace import to_numpy


@dataclass
class Explanation:
    """One transformer stack (a GPT, an encoder, or either half of an encoder-decoder) on one input."""

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
    lens_ids: np.ndarray | None  # (L, T, k) logit lens: each block's top-k tokens (None: no head)
    lens_probs: np.ndarray | None  # (L, T, k) and their probabilities
    next_logits: np.ndarray | None  # (V,) the last position's logits: the sampler's input


@dataclass
class CrossExplanation:
    """The decoder's cross-attention in an encoder-decoder: T target queries read S source positions."""

    mask: np.ndarray  # (T, S) True where target query t may read source position s
    q: np.ndarray  # (T, hs) the chosen layer and head: queries from the target
    k: np.ndarray  # (S, hs) keys from the encoder's output
    v: np.ndarray  # (S, hs) values from the encoder's output
    scores: np.ndarray  # (T, S) q·k/√hs, -inf where the source is padding
    attention: np.ndarray  # (L, nh, T, S) every layer and head


@dataclass
class LSTMExplanation:
    """An LSTM on one input: one layer's gates and states step by step, every layer's state sizes."""

    tok_emb: np.ndarray  # (T, E) rows of the embedding table
    layer: int
    gates: dict[str, np.ndarray]  # input_gate, forget_gate, cell_input, output_gate, cell, hidden: (T, H)
    hidden_norm: np.ndarray  # (L, T) ‖h_t‖ of every layer
    cell_norm: np.ndarray  # (L, T) ‖c_t‖ of every layer
    next_logits: np.ndarray  # (V,)


LSTM_FIELDS = ("input_gate", "forget_gate", "cell_input", "output_gate", "cell", "hidden")


def top_k(probs: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The k largest along the last axis, largest first → (ids, probs)."""
    k = min(k, probs.shape[-1])
    ids = np.argsort(-probs, axis=-1, kind="stable")[..., :k]
    return ids, np.take_along_axis(probs, ids, axis=-1)


def layer_head_problems(config: Any, layer: int | None = None, head: int | None = None) -> list[str]:
    """What is wrong with picking ``layer`` and ``head`` (None: not picked) in a model of ``config``,
    one message per field, each starting with the field's name; [] when both exist.

    An encoder-decoder's layer picks the same layer of its encoder and its decoder; a model without
    attention (an LSTM) has no heads, and its head must be left at 0.
    """
    arch = architecture_for(config)
    if arch.explanation == "encoder-decoder":
        n_layer = min(config.n_enc_layer, config.n_dec_layer)
        where = f" (encoder {config.n_enc_layer}, decoder {config.n_dec_layer}: the layer picks both)"
    else:
        n_layer, where = config.n_layer, ""
    problems = []
    if layer is not None and not 0 <= layer < n_layer:
        problems.append(f"layer: the model has layers 0..{n_layer - 1}{where}")
    if head is not None and not arch.attention:
        if head != 0:
            problems.append(f"head: an {arch.name.upper()} has no attention heads; leave head at 0")
    elif head is not None and not 0 <= head < config.n_head:
        problems.append(f"head: the model has heads 0..{config.n_head - 1}")
    return problems


def _check(config: Any, layer: int, head: int) -> None:
    problems = layer_head_problems(config, layer, head)
    if problems:
        raise ValueError("; ".join(problems))


def stack_explanation(t: dict[str, np.ndarray], layer: int, head: int, k: int) -> Explanation:
    """Pick what the lessons show from one stack's trace fields (``Trace``'s names, batch of one)."""
    lens = t.get("logit_lens")
    lens_ids, lens_probs = top_k(softmax(lens[:, 0]), k) if lens is not None else (None, None)
    mlp = t["mlp_act"][:, 0]  # (L, T, 4C)
    logits = t.get("logits")
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
        next_logits=None if logits is None else logits[0, -1],
    )


def explain(model: Any, ids: list[int], layer: int = 0, head: int = 0, k: int = 5) -> Explanation:
    """Trace ``ids`` (one sequence) through a GPT or an encoder and gather what the lessons show.

    For an encoder (the masked LM) the "logit lens" is what each block would fill in at every
    position, and ``next_logits`` its head's logits at the last position.
    """
    _check(model.config, layer, head)
    if not ids:
        raise ValueError("the text must hold at least one token")
    with model.inference_context():
        _, tr = model.forward(np.asarray([ids]), trace=True)
    return stack_explanation(tr.to_numpy(), layer, head, k)


def explain_encdec(
    model: Any, src: list[int], tgt_in: list[int], layer: int = 0, head: int = 0, k: int = 5
) -> tuple[Explanation, Explanation, CrossExplanation]:
    """Teacher-forced encoder-decoder pass: (encoder, decoder, cross-attention). ``tgt_in`` is what
    the decoder reads (start token first); row t of the decoder predicts the token after tgt_in[t]."""
    _check(model.config, layer, head)
    if not src or not tgt_in:
        raise ValueError("the source and the target must hold at least one token each")
    with model.inference_context():
        _, tr = model.forward(np.asarray([src]), np.asarray([tgt_in]), trace=True)
    t = tr.to_numpy()
    enc = {n[len("encoder.") :]: a for n, a in t.items() if n.startswith("encoder.")}
    dec = {n[len("decoder.") :]: a for n, a in t.items() if n.startswith("decoder.")}
    cross = CrossExplanation(
        mask=dec["cross_mask"][0],
        q=dec["cross_q"][layer, 0, head],
        k=dec["cross_k"][layer, 0, head],
        v=dec["cross_v"][layer, 0, head],
        scores=dec["cross_scores"][layer, 0, head],
        attention=dec["cross_probs"][:, 0],
    )
    return stack_explanation(enc, layer, head, k), stack_explanation(dec, layer, head, k), cross


def explain_lstm(model: Any, ids: list[int], layer: int = 0) -> LSTMExplanation:
    """Trace ``ids`` through an LSTM: the chosen layer's gates and states, every layer's norms."""
    _check(model.config, layer, 0)
    if not ids:
        raise ValueError("the text must hold at least one token")
    with model.inference_context():
        _, tr = model.forward(np.asarray([ids]), trace=True)
    t = tr.to_numpy()
    return LSTMExplanation(
        tok_emb=t["tok_emb"][0],
        layer=layer,
        gates={name: t[name][layer, 0] for name in LSTM_FIELDS},
        hidden_norm=np.linalg.norm(t["hidden"][:, 0], axis=-1),
        cell_norm=np.linalg.norm(t["cell"][:, 0], axis=-1),
        next_logits=t["logits"][0, -1],
    )


@dataclass
class MaskFill:
    """A masked LM's guesses for the masked positions of one input."""

    positions: list[int]  # the masked positions, in order
    probs: np.ndarray  # (M, V) the head's distribution at each
    top_ids: np.ndarray  # (M, k) the most likely tokens, most likely first
    top_probs: np.ndarray  # (M, k)
    filled: list[int]  # the input with every mask replaced by its most likely token
    attention: np.ndarray  # (L, nh, T, T) every layer and head over the masked input


def fill_masks(model: Any, ids: list[int], mask_id: int, k: int = 5) -> MaskFill:
    """Trace ``ids`` through a masked LM and rank the candidates at every ``mask_id`` position."""
    positions = [t for t, i in enumerate(ids) if i == mask_id]
    if not positions:
        raise ValueError("nothing is masked")
    with model.inference_context():
        _, tr = model.forward(np.asarray([ids]), trace=True)
    t = tr.to_numpy()
    probs = softmax(t["logits"][0, positions])  # (M, V)
    top_ids, top_probs = top_k(probs, k)
    filled = list(ids)
    for pos, best in zip(positions, top_ids[:, 0], strict=True):
        filled[pos] = int(best)
    return MaskFill(positions, probs, top_ids, top_probs, filled, t["att_probs"][:, 0])


def next_tokens(logits: np.ndarray, k: int = 20) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` most likely next tokens after (V,) logits → (ids, probs), most likely first."""
    return top_k(softmax(np.asarray(logits, dtype=np.float64)), k)


def last_logits(model: Any, ids: list[int]) -> np.ndarray:
    """(V,) float64 logits at the last position of ``ids``: the next-token distribution's input."""
    with model.inference_context():
        logits = model.forward(np.asarray([ids]))
    return to_numpy(logits[0, -1]).astype(np.float64)


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
