"""Masked-language-model data: the ``[MASK]`` token and BERT's masking of a batch.

The masked LM (``models/encoder_*.py``) knows nothing of masking: it reads ids and is scored
where a target is not -1. The mask token is one more entry of the tokenizer's vocabulary; for a
character vocabulary it is the character ``MASK_CHAR`` (█), appended last so that every other id
keeps its meaning.
"""

from __future__ import annotations

import numpy as np

from models.tokenizer import CharTokenizer

MASK_CHAR = "\u2588"  # █: shows as a blank block where a character was hidden


def with_mask_token(tokenizer: CharTokenizer) -> tuple[CharTokenizer, int]:
    """The vocabulary with ``MASK_CHAR`` appended (if absent) → (tokenizer, mask id)."""
    if MASK_CHAR in tokenizer.stoi:
        return tokenizer, tokenizer.stoi[MASK_CHAR]
    extended = CharTokenizer([*tokenizer.chars, MASK_CHAR])
    return extended, extended.vocab_size - 1


def mask_tokens(
    ids: np.ndarray,
    mask_id: int,
    vocab_size: int,
    rng: np.random.Generator,
    p: float = 0.15,
    padding_mask: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """BERT's recipe → (inputs, targets), both (B, T).

    Each real token is chosen with probability ``p`` (at least one per row); targets hold the
    chosen tokens' ids and -1 elsewhere. A chosen token is replaced by ``mask_id`` 80 % of the
    time, by a random other token (never the mask) 10 %, and kept 10 %, so the model cannot
    trust that an unmasked token is right.
    """
    ids = np.asarray(ids, dtype=np.int64)
    if not 0.0 < p <= 1.0:
        raise ValueError(f"p must be in (0, 1], got {p}")
    real = np.ones(ids.shape, dtype=bool) if padding_mask is None else np.asarray(padding_mask).astype(bool)
    chosen = (rng.random(ids.shape) < p) & real
    for b in np.flatnonzero(~chosen.any(axis=1) & real.any(axis=1)):  # every row predicts something
        chosen[b, rng.choice(np.flatnonzero(real[b]))] = True
    targets = np.where(chosen, ids, -1)
    action = rng.random(ids.shape)
    random_ids = rng.integers(0, vocab_size - 1, ids.shape)
    random_ids = random_ids + (random_ids >= mask_id)  # skip the mask id
    inputs = np.where(chosen & (action < 0.8), mask_id, ids)
    inputs = np.where(chosen & (action >= 0.8) & (action < 0.9), random_ids, inputs)
    return inputs, targets
