"""The vectorised sampler gives every row exactly what the readable ``sample_next`` gives it alone."""

import numpy as np
import pytest

from models.sampling import STAGES, SamplingParams, sample_next
from models.sampling_batch import sample_batch

SETTINGS = [
    SamplingParams(),
    SamplingParams(temperature=0.8),
    SamplingParams(temperature=0.0),
    SamplingParams(temperature=0.0, repetition_penalty=1.3),
    SamplingParams(temperature=1.2, top_k=5),
    SamplingParams(temperature=0.7, top_p=0.9),
    SamplingParams(temperature=0.9, top_k=8, top_p=0.8, repetition_penalty=1.5),
    SamplingParams(temperature=1e-4, top_k=3),  # a tiny T sends all but the top logit to -inf
]


def same_step(a, b):
    assert a.token == b.token
    assert a.prob == b.prob and a.model_prob == b.model_prob and a.kept == b.kept
    assert list(a.stages) == list(b.stages) == list(STAGES)
    for name in STAGES:
        assert [(c.id, c.prob) for c in a.stages[name]] == [(c.id, c.prob) for c in b.stages[name]], name
    shared_a = [a.stages[x] is a.stages[y] for x in STAGES for y in STAGES]
    shared_b = [b.stages[x] is b.stages[y] for x in STAGES for y in STAGES]
    assert shared_a == shared_b  # a stage that changed nothing shares its list, in both


@pytest.mark.parametrize("vocab", [5, 65, 300])
def test_each_row_is_what_sample_next_gives_it_alone(vocab):
    """Mixed settings, histories and candidate counts in one batch, several steps in a row (each
    row's random stream advances once per step), ties included (rounded logits)."""
    gen = np.random.default_rng(vocab)
    B = 3 * len(SETTINGS)
    params = [SETTINGS[b % len(SETTINGS)] for b in range(B)]
    n_candidates = [(10, 3, vocab + 5)[b % 3] for b in range(B)]
    seeds = [1000 + b for b in range(B)]
    histories = [list(gen.integers(0, vocab, size=b % 7)) for b in range(B)]
    rngs_batch = [np.random.default_rng(s) for s in seeds]
    rngs_alone = [np.random.default_rng(s) for s in seeds]
    for _ in range(4):
        logits = np.round(gen.normal(0, 3, size=(B, vocab)), 1).astype(np.float32)
        batch = sample_batch(logits, params, rngs_batch, histories, n_candidates)
        for b in range(B):
            alone = sample_next(logits[b], params[b], rngs_alone[b], histories[b], n_candidates[b])
            same_step(batch[b], alone)
        for b in range(B):
            histories[b].append(batch[b].token)


def test_draws_follow_each_rows_own_stream():
    """The same row with the same seed draws the same tokens whatever else shares the batch."""
    logits = np.zeros((1, 20))
    alone = [sample_batch(logits, [SamplingParams()], [np.random.default_rng(5)], [[]], [10])[0].token]
    crowd = sample_batch(
        np.zeros((3, 20)),
        [SamplingParams()] * 3,
        [np.random.default_rng(s) for s in (1, 5, 9)],
        [[]] * 3,
        [10] * 3,
    )
    assert crowd[1].token == alone[0]
    assert len({s.token for s in crowd}) > 1  # different streams, different draws (seeds 1, 5, 9)
