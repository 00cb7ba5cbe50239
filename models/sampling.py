"""Choosing the next token, once, in NumPy, whatever backend computed the logits.

logits (float64) → repetition penalty → temperature → top-k → top-p → one draw from
``np.random.Generator``. The penalty and the temperature commute for T > 0 (both divide or
multiply each logit by a positive number), so applying the penalty first also defines greedy
decoding (T = 0) with a penalty. Every step reports the distribution after each stage, so the
front end can show what each filter did.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from models.metrics import entropy_bits

STAGES = ("model", "penalty", "temperature", "top_k", "top_p")


MIN_PENALTY = 0.05  # a smaller penalty divides a logit into overflow; 0.05 already multiplies it by 20


@dataclass(frozen=True)
class SamplingParams:
    temperature: float = 1.0  # 0 = greedy (argmax)
    top_k: int = 0  # keep the k most likely tokens; 0 = off
    top_p: float = 1.0  # keep the smallest set whose probability reaches p; 1 = off
    repetition_penalty: float = 1.0  # > 1 discourages tokens already in the text; 1 = off

    def __post_init__(self) -> None:
        if not (np.isfinite(self.temperature) and self.temperature >= 0):
            raise ValueError(f"temperature must be a finite number ≥ 0, got {self.temperature!r}")
        if isinstance(self.top_k, bool) or not isinstance(self.top_k, int | np.integer) or self.top_k < 0:
            raise ValueError(f"top_k must be an integer ≥ 0 (0 = off), got {self.top_k!r}")
        if not 0 < self.top_p <= 1:
            raise ValueError(f"top_p must be in (0, 1], got {self.top_p!r}")
        if not (np.isfinite(self.repetition_penalty) and self.repetition_penalty >= MIN_PENALTY):
            raise ValueError(
                f"repetition_penalty must be a finite number ≥ {MIN_PENALTY}, got {self.repetition_penalty!r}"
            )

    @property
    def greedy(self) -> bool:
        return self.temperature == 0


class Candidate(NamedTuple):
    """A token and its probability (a tuple: a step makes tens of them for every stream)."""

    id: int
    prob: float


@dataclass
class SampleStep:
    """One sampling decision and what led to it."""

    token: int  # the chosen id
    prob: float  # its probability in the distribution that was sampled (after every filter)
    model_prob: float  # its probability under the model alone (softmax of the raw logits)
    kept: int  # how many tokens survived the filters
    stages: dict[str, list[Candidate]] = field(default_factory=dict)  # top candidates after each stage


def softmax(logits: np.ndarray) -> np.ndarray:
    """exp(x - max) / Σ exp(x - max) along the last axis; -inf logits get probability 0."""
    e = np.exp(logits - np.max(logits, axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def apply_repetition_penalty(logits: np.ndarray, history: Iterable[int], penalty: float) -> np.ndarray:
    """CTRL's penalty: for tokens already seen, divide a positive logit by it, multiply a negative one."""
    if penalty == 1.0:
        return logits
    out = logits.copy()
    seen = np.unique(np.fromiter(history, dtype=np.int64))
    vals = out[seen]
    out[seen] = np.where(vals > 0, vals / penalty, vals * penalty)
    return out


def ranked(values: np.ndarray) -> np.ndarray:
    """Token ids from most to least likely; ties broken by the smaller id (stable)."""
    return np.argsort(-values, kind="stable")


def top_k_mask(logits: np.ndarray, k: int) -> np.ndarray:
    """Boolean mask of the k highest logits (all when k is 0 or ≥ V); ties go to the smaller ids."""
    keep = np.ones(logits.shape, dtype=bool)
    if 0 < k < logits.size:
        kth = np.partition(logits, logits.size - k)[logits.size - k]  # the k-th largest value
        keep = logits > kth
        ties = np.flatnonzero(logits == kth)
        keep[ties[: k - np.count_nonzero(keep)]] = True
    return keep


def top_p_mask(probs: np.ndarray, p: float) -> np.ndarray:
    """Boolean mask of the smallest most-likely set whose total probability reaches p (≥ 1 token)."""
    keep = np.ones(probs.shape, dtype=bool)
    if p >= 1.0:
        return keep
    alive = np.flatnonzero(probs)  # only tokens that earlier filters left need ranking
    order = alive[ranked(probs[alive])]
    before = np.cumsum(probs[order]) - probs[order]  # probability mass ranked above each token
    keep[:] = False
    keep[order[before < p]] = True
    keep[order[0]] = True
    return keep


def top_candidate_ids(probs: np.ndarray, n: int) -> np.ndarray:
    """The ids of the n most likely tokens, by probability, then id: among equal probabilities the
    lower id comes first, so the list never depends on how a sort happens to break ties."""
    n = min(n, probs.size)
    kth = np.partition(probs, probs.size - n)[probs.size - n]  # the n-th largest probability
    above = np.flatnonzero(probs > kth)  # every id more likely than that, in id order
    above = above[np.argsort(-probs[above], kind="stable")]  # by probability, then id
    ties = np.flatnonzero(probs == kth)[: n - above.size]  # then its equals, lowest ids first
    return np.concatenate([above, ties])


def top_candidates(probs: np.ndarray, n: int) -> list[Candidate]:
    return [Candidate(int(i), float(probs[i])) for i in top_candidate_ids(probs, n)]


def filtered_distribution(
    logits: np.ndarray, params: SamplingParams, history: Iterable[int] = ()
) -> dict[str, np.ndarray]:
    """The next-token distribution after each stage, keyed by ``STAGES``; the last one is sampled.

    A stage that changes nothing (penalty 1, temperature 1, top-k 0, top-p 1) passes the previous
    distribution on as the same array, so it costs nothing.
    """
    logits = np.asarray(logits, dtype=np.float64).reshape(-1)
    out = {"model": softmax(logits)}
    penalised = apply_repetition_penalty(logits, history, params.repetition_penalty)
    out["penalty"] = out["model"] if penalised is logits else softmax(penalised)
    if params.greedy:
        scaled = np.full_like(penalised, -np.inf)
        scaled[np.argmax(penalised)] = 0.0  # all the mass on the argmax (the smaller id on a tie)
        out["temperature"] = np.exp(scaled)  # one-hot: exp(0) = 1, exp(-inf) = 0
    elif params.temperature == 1.0:
        scaled = penalised
        out["temperature"] = out["penalty"]
    else:
        with np.errstate(over="ignore"):  # a tiny T sends all but the top logit to -inf, as it should
            scaled = (penalised - np.max(penalised)) / params.temperature  # shifted: never +inf
        out["temperature"] = softmax(scaled)
    out["top_k"] = out["temperature"]
    if 0 < params.top_k < scaled.size and not params.greedy:
        scaled = np.where(top_k_mask(scaled, params.top_k), scaled, -np.inf)
        out["top_k"] = softmax(scaled)
    out["top_p"] = out["top_k"]
    if params.top_p < 1.0 and not params.greedy:
        scaled = np.where(top_p_mask(out["top_k"], params.top_p), scaled, -np.inf)
        out["top_p"] = softmax(scaled)
    return out


def sample_next(
    logits: np.ndarray,
    params: SamplingParams,
    rng: np.random.Generator,
    history: Iterable[int] = (),
    n_candidates: int = 10,
) -> SampleStep:
    """Choose the next token from (V,) logits; one uniform draw per step, inverse CDF in id order."""
    dists = filtered_distribution(logits, params, history)
    probs = dists["top_p"]
    u = rng.random()  # drawn even when greedy, so a seed gives the same stream either way
    cdf = np.cumsum(probs)
    token = int(min(np.searchsorted(cdf, u * cdf[-1], side="right"), probs.size - 1))
    return SampleStep(
        token=token,
        prob=float(probs[token]),
        model_prob=float(dists["model"][token]),
        kept=int(np.count_nonzero(probs)),
        stages=stage_candidates(dists, n_candidates),
    )


def stage_candidates(dists: dict[str, np.ndarray], n: int) -> dict[str, list[Candidate]]:
    """Top-n candidates of every stage; a stage that passed its input on shares its list."""
    done: dict[int, list[Candidate]] = {}
    for name in STAGES:
        if id(dists[name]) not in done:
            done[id(dists[name])] = top_candidates(dists[name], n)
    return {name: done[id(dists[name])] for name in STAGES}


@dataclass
class StageView:
    """One stage of the sampler, seen through a fixed set of tokens."""

    name: str  # one of STAGES
    probs: np.ndarray  # (n,) probability of each shown token after this stage
    kept: int  # tokens with probability > 0 after this stage
    entropy_bits: float  # of the whole distribution after this stage


def sampler_stages(
    logits: np.ndarray, params: SamplingParams, history: Iterable[int] = (), n: int = 30
) -> tuple[np.ndarray, list[StageView]]:
    """The ``n`` tokens most likely under the model alone (their ids) and every stage of
    ``filtered_distribution`` for those same tokens, in the order the sampler applies them."""
    dists = filtered_distribution(logits, params, history)
    shown = np.argsort(-dists["model"], kind="stable")[:n]
    return shown, [
        StageView(name, dists[name][shown], int(np.count_nonzero(dists[name])), entropy_bits(dists[name]))
        for name in STAGES
    ]
