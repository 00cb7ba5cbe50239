"""How the API rounds what it sends: arrays to ``DECIMALS``, single numbers a reader compares (a
token's probability, a beam's log-probability, a mean) to ``SCALAR_DECIMALS``, wall times to
``MS_DECIMALS``; and a top-k list as ``LensEntry`` rows with their token strings."""

from __future__ import annotations

from typing import Any

import numpy as np

from server.schemas import LensEntry

DECIMALS = 4  # activations, weights, attention, logits
SCALAR_DECIMALS = 6  # a probability, a log-probability, a mean or a variance
MS_DECIMALS = 3  # wall times


def rounded(a: Any, decimals: int = DECIMALS) -> Any:
    """An array as nested lists (a scalar as a float) rounded to ``decimals``; -inf (a masked
    score) or nan becomes None, which JSON can carry."""
    a = np.round(np.asarray(a, dtype=np.float64), decimals)
    if np.isfinite(a).all():
        return a.tolist()
    return np.where(np.isfinite(a), a, None).tolist()


def maybe_rounded(a: Any, decimals: int = DECIMALS) -> Any:
    """``rounded``, passing None (an absent bias, a stack without a head) through."""
    return None if a is None else rounded(a, decimals)


class Vocab:
    """The token strings of one vocabulary, for top-k lists."""

    def __init__(self, tokenizer: Any, size: int):
        self.strings = tokenizer.token_strings(range(size))

    def entry(self, token_id: int, prob: float) -> LensEntry:
        return LensEntry(id=int(token_id), token=self.strings[token_id], prob=rounded(prob, SCALAR_DECIMALS))

    def entries(self, token_ids: Any, probs: Any) -> list[LensEntry]:
        """(k,) ids and their probabilities → one row each, in the order given."""
        return [self.entry(i, p) for i, p in zip(token_ids, probs, strict=True)]

    def lens(self, ids: Any, probs: Any) -> list[list[list[LensEntry]]] | None:
        """(L, T, k) ids and probabilities (a logit lens) → nested rows; None when there are none."""
        if ids is None:
            return None
        return [
            [self.entries(i, p) for i, p in zip(li, lp, strict=True)]
            for li, lp in zip(ids, probs, strict=True)
        ]
