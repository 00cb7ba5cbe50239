"""Turning a cross-entropy (or a distribution) into the numbers people compare models by."""

from __future__ import annotations

import math

import numpy as np


def perplexity(loss_nats: float) -> float:
    """exp(mean cross-entropy): the number of equally likely choices the model is as unsure as."""
    return math.exp(loss_nats)


def bits_per_char(loss_nats_per_token: float, n_tokens: int, n_chars: int) -> float:
    """Total information in bits divided by the characters it covers: comparable across tokenizers.

    A character model has n_tokens == n_chars, so this is loss / ln 2; a BPE model spreads each
    token's loss over the several characters the token stands for.
    """
    if n_chars <= 0:
        raise ValueError("n_chars must be positive")
    return loss_nats_per_token * n_tokens / (n_chars * math.log(2))


def entropy_bits(probs: np.ndarray) -> float:
    """-Σ p log2 p of a distribution (zero-probability tokens count nothing): how many yes/no
    questions it takes, on average, to name the drawn token."""
    p = np.asarray(probs, dtype=np.float64)
    nz = p[p > 0]
    return float(-(nz * np.log2(nz)).sum())
