"""``sample_next`` for a whole batch at once: the same stages, vectorised across rows.

The server advances many streams in one forward (``models.generate.DecodeBatch``) and then needs
one draw per row. ``sample_batch`` gives each row exactly what ``sample_next`` gives it alone, the
same token and the same numbers at every stage (``tests/test_sampling_batch.py``), with each row's
own settings and its own random stream, but does the arithmetic for all rows together: rows with
the same ``SamplingParams`` share each softmax, each temperature and each top-candidate sort.
Stages that depend on one row's history or ranking (repetition penalty, top-k, top-p) run row by
row through the readable functions of ``models.sampling``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from models.sampling import (
    STAGES,
    Candidate,
    SampleStep,
    SamplingParams,
    apply_repetition_penalty,
    softmax,
    top_candidate_ids,
    top_k_mask,
    top_p_mask,
)

WHOLE_SORT_MAX = 4096  # vocabularies up to this size are sorted whole to rank candidates


def _rows(fn, arrays: np.ndarray, *args) -> np.ndarray:
    return np.stack([fn(a, *args) for a in arrays])


def filtered_distributions(
    logits: np.ndarray, params: SamplingParams, histories: Sequence[Sequence[int]]
) -> dict[str, np.ndarray]:
    """``filtered_distribution`` for (G, V) logits sharing ``params``: each stage as a (G, V) array,
    a stage that changes nothing passing the previous array on, as there."""
    logits = np.asarray(logits, dtype=np.float64)
    out = {"model": softmax(logits)}
    if params.repetition_penalty == 1.0:
        penalised = logits
        out["penalty"] = out["model"]
    else:
        penalised = np.stack(
            [
                apply_repetition_penalty(row, h, params.repetition_penalty)
                for row, h in zip(logits, histories, strict=True)
            ]
        )
        out["penalty"] = softmax(penalised)
    if params.greedy:
        scaled = np.full_like(penalised, -np.inf)
        scaled[np.arange(len(scaled)), np.argmax(penalised, axis=-1)] = 0.0
        out["temperature"] = np.exp(scaled)
    elif params.temperature == 1.0:
        scaled = penalised
        out["temperature"] = out["penalty"]
    else:
        with np.errstate(over="ignore"):
            scaled = (penalised - np.max(penalised, axis=-1, keepdims=True)) / params.temperature
        out["temperature"] = softmax(scaled)
    out["top_k"] = out["temperature"]
    if 0 < params.top_k < scaled.shape[-1] and not params.greedy:
        scaled = np.where(_rows(top_k_mask, scaled, params.top_k), scaled, -np.inf)
        out["top_k"] = softmax(scaled)
    out["top_p"] = out["top_k"]
    if params.top_p < 1.0 and not params.greedy:
        scaled = np.where(_rows(top_p_mask, out["top_k"], params.top_p), scaled, -np.inf)
        out["top_p"] = softmax(scaled)
    return out


def top_candidate_rows(probs: np.ndarray, n: int) -> list[list[Candidate]]:
    """``top_candidates`` of every row of (G, V) ``probs``: the n most likely, by probability then id.
    A vocabulary up to ``WHOLE_SORT_MAX`` is sorted whole in one call (a stable sort keeps equal
    probabilities in id order); a larger one row by row through ``top_candidate_ids``."""
    G, V = probs.shape
    n = min(n, V)
    if V <= WHOLE_SORT_MAX:
        idx = np.argsort(-probs, axis=-1, kind="stable")[:, :n]
    else:
        idx = np.stack([top_candidate_ids(row, n) for row in probs])
    top = probs[np.arange(G)[:, None], idx].tolist()
    return [list(map(Candidate, ri, rp)) for ri, rp in zip(idx.tolist(), top, strict=True)]


def sample_batch(
    logits: np.ndarray,
    params: Sequence[SamplingParams],
    rngs: Sequence[np.random.Generator],
    histories: Sequence[Sequence[int]],
    n_candidates: Sequence[int],
) -> list[SampleStep]:
    """``sample_next`` for every row of (B, V) ``logits``, row b with ``params[b]``, ``rngs[b]``,
    ``histories[b]`` and ``n_candidates[b]``; one uniform draw from each row's own stream."""
    logits = np.asarray(logits, dtype=np.float64)
    steps: list[SampleStep | None] = [None] * len(logits)
    groups: dict[tuple[SamplingParams, int], list[int]] = {}
    for b, (p, n) in enumerate(zip(params, n_candidates, strict=True)):
        groups.setdefault((p, n), []).append(b)
    for (p, n), rows in groups.items():
        dists = filtered_distributions(logits[rows], p, [histories[b] for b in rows])
        probs = dists["top_p"]
        u = np.array([rngs[b].random() for b in rows])  # drawn even when greedy, as sample_next does
        cdf = np.cumsum(probs, axis=-1)
        # searchsorted(cdf, u · total, side="right") row by row: how many cdf entries are ≤ it
        tokens = np.minimum(np.add.reduce(cdf <= (u * cdf[:, -1])[:, None], axis=-1), probs.shape[-1] - 1)
        at = np.arange(len(rows))
        prob, model_prob = probs[at, tokens].tolist(), dists["model"][at, tokens].tolist()
        kept = np.add.reduce(probs != 0, axis=-1).tolist()
        shared: dict[int, list[list[Candidate]]] = {}
        for name in STAGES:
            if id(dists[name]) not in shared:
                shared[id(dists[name])] = top_candidate_rows(dists[name], n)
        for g, b in enumerate(rows):
            steps[b] = SampleStep(
                token=int(tokens[g]),
                prob=prob[g],
                model_prob=model_prob[g],
                kept=kept[g],
                stages={name: shared[id(dists[name])][g] for name in STAGES},
            )
    return steps  # type: ignore[return-value]
