"""Batches of unequal prompts: left padding and the padding mask the twins take."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def pad_batch(sequences: Sequence[Sequence[int]], pad_id: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Left-pad to the longest → (ids (B, T), padding_mask (B, T) with 1 for real tokens, 0 for padding).

    Left padding keeps every prompt's last token in the last column, where generation continues.
    """
    if not sequences or any(len(s) == 0 for s in sequences):
        raise ValueError("a batch needs at least one sequence, and no sequence may be empty")
    T = max(len(s) for s in sequences)
    ids = np.full((len(sequences), T), pad_id, dtype=np.int64)
    mask = np.zeros((len(sequences), T), dtype=np.int64)
    for b, s in enumerate(sequences):
        ids[b, T - len(s) :] = s
        mask[b, T - len(s) :] = 1
    return ids, mask
