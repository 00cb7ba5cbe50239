"""Beam search: one beam is greedy, scores are Σ log p / length^α, exhaustive search agrees."""

import itertools

import numpy as np
import pytest

from models import beam_search, generate, load_model
from models.beam import log_softmax
from models.config import GPTConfig
from models.generate import TokenEvent
from models.sampling import SamplingParams

from helpers import model_dir

V = 12


@pytest.fixture(scope="module")
def models_(tmp_path_factory):
    cfg = GPTConfig(vocab_size=V, block_size=16, n_layer=2, n_head=2, n_embd=16)
    d = model_dir(tmp_path_factory.mktemp("beam"), cfg, jitter=0.4)
    return load_model(d, "numpy", "float64"), load_model(d, "torch", "float64")


def seq_logprob(model, prompt, ids):
    """Σ log p(ids | prompt) by one full forward, token by token."""
    seq = [*prompt, *ids]
    logp = log_softmax(np.asarray(model(np.array([seq])))[0])
    return sum(logp[len(prompt) - 1 + i, t] for i, t in enumerate(ids))


@pytest.mark.parametrize("backend", [0, 1])
def test_one_beam_is_greedy(models_, backend):
    model = models_[backend]
    result = beam_search(model, [1, 2], num_beams=1, max_new_tokens=10)
    greedy = [
        e.id for e in generate(model, [1, 2], 10, SamplingParams(temperature=0)) if isinstance(e, TokenEvent)
    ]
    assert result.best.ids == greedy
    assert len(result.steps) == 10 and all(len(s.beams) == 1 for s in result.steps)


@pytest.mark.parametrize("alpha", [0.0, 1.0, 2.0])
def test_scores_match_a_hand_computation(models_, alpha):
    model = models_[0]
    result = beam_search(model, [3, 4], num_beams=3, max_new_tokens=5, length_penalty=alpha)
    assert len(result.hypotheses) == 3
    for h in result.hypotheses:
        lp = seq_logprob(model, [3, 4], h.ids)
        assert h.logprob == pytest.approx(lp, abs=1e-9)
        assert h.score == pytest.approx(lp / len(h.ids) ** alpha, abs=1e-9)
    scores = [h.score for h in result.hypotheses]
    assert scores == sorted(scores, reverse=True)


def test_wide_beam_finds_the_best_two_token_continuation(models_):
    model = models_[0]
    result = beam_search(model, [5], num_beams=V, max_new_tokens=2, length_penalty=0.0)
    best = max(itertools.product(range(V), repeat=2), key=lambda ids: seq_logprob(model, [5], list(ids)))
    assert result.best.ids == list(best)


def test_stop_tokens_finish_hypotheses_and_steps_are_reported(models_):
    model = models_[0]
    free = beam_search(model, [1], num_beams=4, max_new_tokens=6)
    stop = free.steps[1].beams[0].ids[-1]  # a token the beams like at step 2
    result = beam_search(model, [1], num_beams=4, max_new_tokens=6, stop_ids=[stop])
    finished = [h for h in result.hypotheses if h.finished]
    assert finished and all(h.ids[-1] == stop for h in finished)
    assert all(stop not in b.ids for s in result.steps for b in s.beams)  # live beams never hold it
    assert [s.step for s in result.steps] == list(range(len(result.steps)))


def test_backends_agree(models_):
    a = beam_search(models_[0], [2, 7], num_beams=3, max_new_tokens=6, length_penalty=0.7)
    b = beam_search(models_[1], [2, 7], num_beams=3, max_new_tokens=6, length_penalty=0.7)
    assert [h.ids for h in a.hypotheses] == [h.ids for h in b.hypotheses]
    np.testing.assert_allclose([h.score for h in a.hypotheses], [h.score for h in b.hypotheses], atol=1e-9)


def test_bad_requests(models_):
    with pytest.raises(ValueError, match="num_beams"):
        beam_search(models_[0], [1], num_beams=0, max_new_tokens=3)
    with pytest.raises(ValueError, match="at least one token"):
        beam_search(models_[0], [], num_beams=2, max_new_tokens=3)
