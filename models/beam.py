"""Beam search for decoder-only models (and encoder-decoders bound to one source), on either twin.

Keeps the ``num_beams`` most probable continuations step by step, one batch row per beam in the
model's KV cache (``CachedLM.reorder_past`` follows each kept beam's parent), with a length penalty.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from models.generate import checked_prompt, forward_last
from models.protocols import CachedLM


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
    model: CachedLM,
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
    if num_beams < 1:
        raise ValueError(f"num_beams must be ≥ 1, got {num_beams}")
    prompt, block = checked_prompt(model, prompt_ids, max_new_tokens)
    stop = set(int(s) for s in stop_ids)
    logits, past, _ = forward_last(model, np.asarray([prompt]), None, False)  # (1, V)
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
        logits, past, _ = forward_last(model, np.asarray([[b.ids[-1]] for b in live]), past, False)
    hypotheses = sorted(finished + live, key=lambda h: h.score, reverse=True)[:num_beams]
    return BeamResult(hypotheses[0], hypotheses, steps)
