"""Streaming generation and beam search for decoder-only models, on either twin.

Both twins expose the same ``forward_cached(ids, past, padding_mask, trace)`` and
``reorder_past(past, index)``, so this code never asks which backend it drives: logits are
turned into float64 NumPy arrays and handed to the one sampler in ``models.sampling``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from models.sampling import SampleStep, SamplingParams, sample_next
from models.trace import to_numpy

StopReason = Literal["max_tokens", "context", "stop_token"]


@dataclass
class TokenEvent:
    index: int  # 0 for the first generated token
    id: int
    text: str | None  # the text this token adds (None without a tokenizer)
    step: SampleStep  # probability and candidates after every filter
    attention: np.ndarray | None  # (L, nh, Tk) the new token's attention rows, when asked for
    ms: float  # wall time of this step: forward + sampling


@dataclass
class DoneEvent:
    reason: StopReason
    tokens: list[int]  # the generated ids
    n_tokens: int
    seconds: float
    tokens_per_s: float
    ttft_ms: float  # time to the first token: prompt forward + first draw


class TextStream:
    """The text each new token adds. Byte-level BPE tokens may split a UTF-8 character, so the
    whole sequence is decoded each time and a trailing half character (decoded as �) is held
    back until the token that completes it arrives."""

    def __init__(self, tokenizer: Any, prompt: Sequence[int]):
        self.tokenizer, self.ids = tokenizer, list(prompt)
        self.shown = tokenizer.decode(self.ids).rstrip("\ufffd")

    def add(self, token: int) -> str:
        self.ids.append(token)
        full = self.tokenizer.decode(self.ids)
        if full.endswith("\ufffd"):
            return ""
        new, self.shown = full[len(self.shown) :], full
        return new


def _run(model: Any, ids: np.ndarray, past: Any, trace: bool) -> tuple[np.ndarray, Any, Any]:
    with model.inference_context():
        logits, past, tr = model.forward_cached(ids, past, None, trace)
    return to_numpy(logits[:, -1, :]), past, tr


def generate(
    model: Any,
    prompt_ids: Sequence[int],
    max_new_tokens: int,
    params: SamplingParams | None = None,
    seed: int | np.random.Generator | None = 0,
    *,
    tokenizer: Any = None,
    include_attention: bool = False,
    stop_ids: Sequence[int] = (),
    n_candidates: int = 10,
) -> Iterator[TokenEvent | DoneEvent]:
    """Yield one ``TokenEvent`` per new token (KV cache), then a ``DoneEvent`` with the reason.

    Stops after ``max_new_tokens``, at a stop token, or when the sequence fills the context. A
    ``Generator`` as ``seed`` is drawn from as it is, so several calls can share one stream.
    """
    params = params or SamplingParams()
    prompt = [int(i) for i in prompt_ids]
    block = model.config.block_size
    if not prompt:
        raise ValueError("the prompt must hold at least one token")
    if len(prompt) > block:
        raise ValueError(f"the prompt has {len(prompt)} tokens; the model's context is {block}")
    if max_new_tokens < 1:
        raise ValueError(f"max_new_tokens must be ≥ 1, got {max_new_tokens}")
    rng = np.random.default_rng(seed)
    seq, out = list(prompt), []
    stream = TextStream(tokenizer, prompt) if tokenizer is not None else None
    busy = 0.0  # seconds spent computing, not waiting for the consumer of this iterator
    step_start = time.perf_counter()
    logits, past, tr = _run(model, np.asarray([prompt]), None, include_attention)
    ttft_ms = 0.0
    reason: StopReason = "max_tokens"
    while True:
        step = sample_next(logits[0], params, rng, seq, n_candidates)
        seq.append(step.token)
        out.append(step.token)
        attention = to_numpy(tr.att_probs[:, 0, :, -1, :]) if tr is not None else None  # (L, nh, Tk)
        ms = (time.perf_counter() - step_start) * 1000
        busy += ms / 1000
        ttft_ms = ttft_ms or ms
        text = stream.add(step.token) if stream is not None else None
        yield TokenEvent(len(out) - 1, step.token, text, step, attention, ms)
        if step.token in stop_ids:
            reason = "stop_token"
            break
        if len(out) >= max_new_tokens:
            break
        if len(seq) > block:  # the newest token would need position `block`: no room to feed it
            reason = "context"
            break
        step_start = time.perf_counter()
        logits, past, tr = _run(model, np.asarray([[step.token]]), past, include_attention)
    yield DoneEvent(reason, out, len(out), busy, len(out) / busy if busy > 0 else 0.0, ttft_ms)


# -- beam search ------------------------------------------------------------------------------


@dataclass
class Beam:
    ids: list[int]  # generated ids (the prompt excluded)
    logprob: float  # Σ log p of those ids
    finished: bool = False  # ended with a stop token
    length_penalty: float = 1.0

    @property
    def score(self) -> float:
        """logprob / length^α: α > 0 favours longer outputs, α < 0 shorter ones, α = 0 plain sum."""
        return self.logprob / max(len(self.ids), 1) ** self.length_penalty


@dataclass
class BeamStep:
    step: int
    beams: list[Beam]  # live beams after this step, best first
    finished: list[Beam]  # hypotheses completed so far, best first


@dataclass
class BeamResult:
    best: Beam
    hypotheses: list[Beam]  # up to num_beams, best score first
    steps: list[BeamStep] = field(default_factory=list)


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """x - logsumexp(x) along the last axis, in float64."""
    logits = np.asarray(logits, dtype=np.float64)
    m = np.max(logits, axis=-1, keepdims=True)
    return logits - m - np.log(np.sum(np.exp(logits - m), axis=-1, keepdims=True))


def beam_search(
    model: Any,
    prompt_ids: Sequence[int],
    num_beams: int,
    max_new_tokens: int,
    length_penalty: float = 1.0,
    stop_ids: Sequence[int] = (),
) -> BeamResult:
    """Keep the ``num_beams`` most probable continuations, step by step (KV cache, one batch row per beam).

    Each step extends every live beam by every token and keeps the best 2 × num_beams candidates
    by total log-probability: those ending in a stop token become hypotheses, the rest (up to
    num_beams) live on. Search ends at ``max_new_tokens``, at the context limit, or once
    ``num_beams`` hypotheses are finished and the best live beam scores no better than the worst
    of them. With one beam this is greedy.
    """
    prompt = [int(i) for i in prompt_ids]
    block = model.config.block_size
    if not prompt:
        raise ValueError("the prompt must hold at least one token")
    if num_beams < 1:
        raise ValueError(f"num_beams must be ≥ 1, got {num_beams}")
    if max_new_tokens < 1:
        raise ValueError(f"max_new_tokens must be ≥ 1, got {max_new_tokens}")
    if len(prompt) > block:
        raise ValueError(f"the prompt has {len(prompt)} tokens; the model's context is {block}")
    stop = set(int(s) for s in stop_ids)
    logits, past, _ = _run(model, np.asarray([prompt]), None, False)  # (1, V)
    live = [Beam([], 0.0, length_penalty=length_penalty)]
    finished: list[Beam] = []
    steps: list[BeamStep] = []
    for step in range(max_new_tokens):
        logp = log_softmax(logits)  # (beams, V)
        total = np.array([b.logprob for b in live])[:, None] + logp  # (beams, V)
        flat = np.argsort(-total.reshape(-1), kind="stable")[: 2 * num_beams]
        parents, new_live = [], []
        for f in flat:
            b, tok = divmod(int(f), logp.shape[1])
            beam = Beam([*live[b].ids, tok], float(total[b, tok]), tok in stop, length_penalty)
            if beam.finished:
                finished.append(beam)
            elif len(new_live) < num_beams:
                new_live.append(beam)
                parents.append(b)
        finished.sort(key=lambda h: h.score, reverse=True)
        finished = finished[:num_beams]
        steps.append(BeamStep(step, new_live, list(finished)))
        live = new_live
        at_limit = len(prompt) + step + 1 > block
        if not live or step + 1 == max_new_tokens or at_limit:
            break
        if len(finished) >= num_beams and live[0].score <= finished[-1].score:
            break
        past = model.reorder_past(past, np.asarray(parents))
        logits, past, _ = _run(model, np.asarray([[b.ids[-1]] for b in live]), past, False)
    hypotheses = sorted(finished + live, key=lambda h: h.score, reverse=True)[:num_beams]
    return BeamResult(hypotheses[0], hypotheses, steps)
