"""The one sampler: each filter by hand, edge cases, determinism, and the same text on both backends."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from models import generate, load_model
from models.config import GPTConfig
from models.generate import DoneEvent, TokenEvent
from models.sampling import (
    STAGES,
    SamplingParams,
    apply_repetition_penalty,
    filtered_distribution,
    sample_next,
    top_k_mask,
    top_p_mask,
)

from helpers import model_dir

LOGITS = np.log(
    np.array([0.05, 0.4, 0.1, 0.3, 0.15])
)  # probabilities 0.4, 0.3, 0.15, 0.1, 0.05 by id 1, 3, 4, 2, 0


def final(params, history=()):
    return filtered_distribution(LOGITS, params, history)["top_p"]


def test_temperature_one_and_no_filters_is_the_model():
    np.testing.assert_allclose(final(SamplingParams()), np.exp(LOGITS), atol=1e-12)


def test_temperature_sharpens_and_flattens():
    p = final(SamplingParams(temperature=0.5))
    expected = np.exp(LOGITS) ** 2 / np.sum(np.exp(LOGITS) ** 2)
    np.testing.assert_allclose(p, expected, atol=1e-12)
    assert final(SamplingParams(temperature=100)).std() < 0.01


def test_greedy_puts_all_mass_on_the_argmax():
    np.testing.assert_array_equal(final(SamplingParams(temperature=0)), [0, 1, 0, 0, 0])


def test_top_k():
    np.testing.assert_allclose(final(SamplingParams(top_k=2)), [0, 0.4 / 0.7, 0, 0.3 / 0.7, 0], atol=1e-12)
    np.testing.assert_array_equal(final(SamplingParams(top_k=1)), [0, 1, 0, 0, 0])
    for k in (0, 5, 50):  # off, = V, > V
        np.testing.assert_allclose(final(SamplingParams(top_k=k)), np.exp(LOGITS), atol=1e-12)
    # ties keep exactly k, the smaller ids first
    assert top_k_mask(np.zeros(6), 3).tolist() == [True, True, True, False, False, False]


def test_top_p():
    # 0.4 < 0.6 so the second token (0.3) is needed; together 0.7 ≥ 0.6
    np.testing.assert_allclose(final(SamplingParams(top_p=0.6)), [0, 0.4 / 0.7, 0, 0.3 / 0.7, 0], atol=1e-12)
    np.testing.assert_allclose(final(SamplingParams(top_p=0.7)), [0, 0.4 / 0.7, 0, 0.3 / 0.7, 0], atol=1e-12)
    assert np.count_nonzero(final(SamplingParams(top_p=0.71))) == 3
    np.testing.assert_array_equal(final(SamplingParams(top_p=1e-9)), [0, 1, 0, 0, 0])  # p → 0: the top token
    assert top_p_mask(np.array([0.5, 0.5]), 0.5).tolist() == [True, False]


def test_top_k_then_top_p_renormalises_in_between():
    # top-k 3 leaves 0.4, 0.3, 0.15 → renormalised 0.47, 0.35, 0.18; top-p 0.8 keeps the first two
    p = final(SamplingParams(top_k=3, top_p=0.8))
    np.testing.assert_allclose(p, [0, 0.4 / 0.7, 0, 0.3 / 0.7, 0], atol=1e-12)


def test_repetition_penalty_by_hand():
    logits = np.array([2.0, -1.0, 0.5, 3.0])
    out = apply_repetition_penalty(logits, [0, 1, 1], 2.0)
    np.testing.assert_allclose(out, [1.0, -2.0, 0.5, 3.0])
    np.testing.assert_allclose(apply_repetition_penalty(logits, [0, 1], 1.0), logits)


def test_penalty_and_temperature_commute():
    logits = np.random.default_rng(0).normal(0, 2, 50)
    hist = [1, 5, 7, 7]
    a = apply_repetition_penalty(logits, hist, 1.3) / 0.7
    b = apply_repetition_penalty(logits / 0.7, hist, 1.3)
    np.testing.assert_allclose(a, b, atol=1e-12)


def test_step_reports_every_stage_and_the_choice():
    step = sample_next(
        LOGITS, SamplingParams(temperature=0.8, top_k=3), np.random.default_rng(0), n_candidates=3
    )
    assert list(step.stages) == list(STAGES)
    assert [c.id for c in step.stages["model"]] == [1, 3, 4]
    assert step.stages["model"][0].prob == pytest.approx(0.4)
    assert step.token in (1, 3, 4) and step.kept == 3
    assert step.model_prob == pytest.approx(math.exp(LOGITS[step.token]))
    assert step.prob == pytest.approx(
        filtered_distribution(LOGITS, SamplingParams(0.8, 3))["top_p"][step.token]
    )


def test_sampling_follows_the_distribution():
    rng = np.random.default_rng(123)
    draws = [sample_next(LOGITS, SamplingParams(), rng).token for _ in range(4000)]
    freq = np.bincount(draws, minlength=5) / 4000
    np.testing.assert_allclose(freq, np.exp(LOGITS), atol=0.03)


def test_same_seed_same_tokens():
    a = [sample_next(LOGITS, SamplingParams(), np.random.default_rng(7)).token for _ in range(5)]
    b = [sample_next(LOGITS, SamplingParams(), np.random.default_rng(7)).token for _ in range(5)]
    assert a == b


@pytest.mark.parametrize(
    ("field", "kwargs"),
    [
        ("temperature", {"temperature": -1}),
        ("temperature", {"temperature": float("nan")}),
        ("top_k", {"top_k": -2}),
        ("top_k", {"top_k": 1.5}),
        ("top_p", {"top_p": 0}),
        ("top_p", {"top_p": 1.5}),
        ("repetition_penalty", {"repetition_penalty": 0}),
    ],
)
def test_bad_parameters_name_the_field(field, kwargs):
    with pytest.raises(ValueError, match=field):
        SamplingParams(**kwargs)


@settings(max_examples=200, deadline=None)
@given(
    logits=st.lists(st.floats(-50, 50), min_size=1, max_size=40),
    temperature=st.floats(0, 5),
    top_k=st.integers(0, 50),
    top_p=st.floats(1e-6, 1.0),
    penalty=st.floats(0.5, 3.0),
    seed=st.integers(0, 2**32 - 1),
)
def test_any_parameters_give_a_valid_token(logits, temperature, top_k, top_p, penalty, seed):
    params = SamplingParams(temperature, top_k, top_p, penalty)
    step = sample_next(np.array(logits), params, np.random.default_rng(seed), history=[0])
    assert 0 <= step.token < len(logits)
    assert 0 < step.prob <= 1 and 1 <= step.kept <= len(logits)
    if top_k:
        assert step.kept <= top_k


# -- generation on both backends -----------------------------------------------------------------


@pytest.fixture(scope="module")
def twin_pair(tmp_path_factory):
    cfg = GPTConfig(vocab_size=40, block_size=48, n_layer=2, n_head=2, n_embd=32)
    d = model_dir(tmp_path_factory.mktemp("gen"), cfg, jitter=0.5)  # peaky enough to have a clear argmax
    return load_model(d, "numpy"), load_model(d, "torch")


def tokens(model, **kw):
    events = list(generate(model, [1, 2, 3], **kw))
    assert isinstance(events[-1], DoneEvent)
    return [e.id for e in events if isinstance(e, TokenEvent)], events[-1]


def test_greedy_is_equal_across_backends(twin_pair):
    mn, mt = twin_pair
    a, done = tokens(mn, max_new_tokens=30, params=SamplingParams(temperature=0))
    b, _ = tokens(mt, max_new_tokens=30, params=SamplingParams(temperature=0))
    assert a == b and done.reason == "length" and done.n_tokens == 30
    # and equal to argmax of full recomputation
    seq = [1, 2, 3]
    for _ in range(30):
        seq.append(int(np.argmax(mn(np.array([seq]))[0, -1])))
    assert seq[3:] == a


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_same_seed_same_text_on_both_backends(twin_pair, seed):
    mn, mt = twin_pair
    params = SamplingParams(temperature=1.2, top_k=20, top_p=0.95, repetition_penalty=1.1)
    a, _ = tokens(mn, max_new_tokens=40, params=params, seed=seed)
    b, _ = tokens(mt, max_new_tokens=40, params=params, seed=seed)
    c, _ = tokens(mn, max_new_tokens=40, params=params, seed=seed + 100)
    assert a == b
    assert a != c


def test_generation_runs_past_the_context_and_stops_at_a_stop_token(twin_pair):
    mn, _ = twin_pair
    out, done = tokens(mn, max_new_tokens=100)
    assert done.reason == "length" and len(out) == 100  # past the context of 48: the window slid
    out, done = tokens(mn, max_new_tokens=100, stop_ids=[out[4]])
    assert done.reason == "stop" and len(out) <= 5 and done.stop == str(out[-1])


def test_token_events_carry_attention_rows_and_timing(twin_pair):
    mn, mt = twin_pair
    ev_n = [e for e in generate(mn, [1, 2, 3], 4, include_attention=True) if isinstance(e, TokenEvent)]
    ev_t = [e for e in generate(mt, [1, 2, 3], 4, include_attention=True) if isinstance(e, TokenEvent)]
    assert [e.attention.shape for e in ev_n] == [(2, 2, 3), (2, 2, 4), (2, 2, 5), (2, 2, 6)]
    for a, b in zip(ev_n, ev_t, strict=True):
        np.testing.assert_allclose(a.attention, b.attention, atol=1e-5)
        np.testing.assert_allclose(a.attention.sum(-1), 1, atol=1e-5)
        assert a.ms > 0


def test_bad_generation_requests(twin_pair):
    mn, _ = twin_pair
    with pytest.raises(ValueError, match="at least one token"):
        next(generate(mn, [], 5))
    with pytest.raises(ValueError, match="context"):
        next(generate(mn, [1] * 49, 5))
    with pytest.raises(ValueError, match="max_new_tokens"):
        next(generate(mn, [1], 0))
