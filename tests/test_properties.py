"""Property tests: any Unicode text through every shipped tokenizer, any sampler setting within its bounds."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models.loading import load_tokenizer, shipped_models
from models.sampling import MIN_PENALTY, STAGES, SamplingParams, filtered_distribution, sample_next
from models.tokenizer import (
    BPETokenizer,
    CharTokenizer,
    Seq2SeqTokenizers,
    UnknownCharacterError,
    WordTokenizer,
)
from server.schemas import GenerateRequest

SETTINGS = settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))


def shipped_tokenizers():
    """(label, tokenizer) for every tokenizer of every shipped model; a pair gives both."""
    out = []
    for name in shipped_models():
        tok = load_tokenizer(name)
        if isinstance(tok, Seq2SeqTokenizers):
            out += [(f"{name}:source", tok.source), (f"{name}:target", tok.target)]
        else:
            out.append((name, tok))
    return out


TOKENIZERS = shipped_tokenizers()
# any code point, surrogates and control characters included, plus the model's own alphabet mixed in
TEXT = st.text(st.characters(codec=None), max_size=120) | st.text("ROMEO: thou art\n 12345=", max_size=120)


def test_every_shipped_model_has_a_tokenizer_here():
    assert len(TOKENIZERS) >= len(shipped_models()) >= 1
    kinds = {type(t) for _, t in TOKENIZERS}
    assert {CharTokenizer, BPETokenizer} <= kinds


@pytest.mark.parametrize(("label", "tok"), TOKENIZERS, ids=[label for label, _ in TOKENIZERS])
@SETTINGS
@given(text=TEXT)
def test_any_text_encodes_and_decodes_or_is_refused_clearly(label, tok, text):
    try:
        ids, offsets = tok.encode_with_offsets(text)
    except ValueError as e:
        # only a closed vocabulary may refuse text, and it says which characters or words
        assert isinstance(tok, CharTokenizer | WordTokenizer), (label, e)
        assert "not in this" in str(e)
        if isinstance(tok, CharTokenizer):
            assert isinstance(e, UnknownCharacterError)
            assert set(e.chars) and set(e.chars).isdisjoint(tok.chars) and set(e.chars) <= set(text)
        return
    assert all(0 <= i < tok.vocab_size for i in ids)
    assert len(offsets) == len(ids)
    assert all(0 <= a <= b <= len(text) for a, b in offsets)
    assert len(tok.token_strings(ids)) == len(ids)
    decoded = tok.decode(ids)
    if isinstance(tok, CharTokenizer | BPETokenizer):
        assert decoded == text  # characters and byte-level BPE lose nothing
    else:
        assert decoded == " ".join(text.split())
    # "replace" never raises, whatever the text
    tok.encode(text, errors="replace")


@SETTINGS
@given(text=TEXT, which=st.sampled_from(shipped_models()))
def test_the_server_answers_any_text_with_200_or_422(client, text, which):
    r = client.post("/api/tokenize", json={"model": which, "text": text})
    assert r.status_code in (200, 422), r.text
    if r.status_code == 200:
        assert len(r.json()["ids"]) == len(r.json()["tokens"])
    else:
        assert r.json()["detail"]


def bounded(name: str, **kw):
    """A float strategy within the bounds GenerateRequest declares for ``name``."""
    field = GenerateRequest.model_fields[name]
    lo = next((m.ge for m in field.metadata if hasattr(m, "ge")), None)
    lo_open = next((m.gt for m in field.metadata if hasattr(m, "gt")), None)
    hi = next(m.le for m in field.metadata if hasattr(m, "le"))
    return st.floats(
        min_value=lo if lo is not None else lo_open,
        max_value=hi,
        exclude_min=lo is None,
        allow_nan=False,
        **kw,
    )


LOGITS = st.integers(1, 80).flatmap(
    lambda n: st.lists(st.floats(-1e4, 1e4, allow_nan=False, allow_infinity=False), min_size=n, max_size=n)
)


@SETTINGS
@given(
    logits=LOGITS,
    temperature=bounded("temperature") | st.sampled_from([0.0, 1e-9, 1e-3, 1.0]),
    top_k=st.integers(0, 1_000_000) | st.integers(0, 5),
    top_p=bounded("top_p") | st.sampled_from([1e-12, 1.0]),
    penalty=bounded("repetition_penalty") | st.sampled_from([MIN_PENALTY, 1.0, 5.0]),
    history=st.lists(st.integers(0, 79), max_size=20),
    seed=st.integers(0, 2**32 - 1),
)
def test_sampler_within_bounds_gives_distributions(logits, temperature, top_k, top_p, penalty, history, seed):
    params = SamplingParams(temperature=temperature, top_k=top_k, top_p=top_p, repetition_penalty=penalty)
    history = [h for h in history if h < len(logits)]
    dists = filtered_distribution(np.array(logits), params, history)
    assert list(dists) == list(STAGES)
    for stage, p in dists.items():
        assert p.shape == (len(logits),)
        assert np.all(np.isfinite(p)) and np.all(p >= 0), stage
        assert abs(p.sum() - 1) < 1e-9, (stage, p.sum())
    step = sample_next(np.array(logits), params, np.random.default_rng(seed), history)
    assert 0 <= step.token < len(logits)
    assert step.prob > 0 and dists["top_p"][step.token] == pytest.approx(step.prob)
    assert 1 <= step.kept <= len(logits)
    if params.greedy:
        assert step.kept == 1


def test_a_repetition_penalty_that_would_overflow_is_refused():
    with pytest.raises(ValueError, match="repetition_penalty"):
        SamplingParams(repetition_penalty=5e-324)
    p = filtered_distribution(np.array([1.0, 2.0]), SamplingParams(repetition_penalty=MIN_PENALTY), [0])[
        "penalty"
    ]
    assert np.all(np.isfinite(p)) and abs(p.sum() - 1) < 1e-9


# Bodies no JSON encoder would write: NaN and infinities, lone surrogates, and bytes that are not UTF-8.
HOSTILE_SCALARS = (
    st.floats(allow_nan=True, allow_infinity=True)
    | st.integers(-(2**70), 2**70)
    | st.text(max_size=8)
    | st.sampled_from(["\ud800", "a\udfffb", "\udc00\ud800", "\x00"])
    | st.booleans()
    | st.none()
)
HOSTILE = st.recursive(
    HOSTILE_SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8,
)
FIELDS = ("model", "text", "prompt", "texts", "layer", "head", "temperature", "top_k", "positions", "n")


@SETTINGS
@given(
    path=st.sampled_from(
        ["/api/tokenize", "/api/generate", "/api/trace", "/api/sampler", "/api/masks", "/api/translate"]
    ),
    body=st.fixed_dictionaries({"model": st.just("shakespeare-char")})
    | st.dictionaries(st.sampled_from(FIELDS), HOSTILE, max_size=4),
    extra=HOSTILE,
    raw=st.binary(max_size=40),
)
def test_hostile_bodies_get_a_4xx_with_a_message_never_a_5xx(client, path, body, extra, raw):
    text = json.dumps({**body, "extra": extra}, allow_nan=True)  # NaN, Infinity, "\ud800" as written
    for content in (text.encode(), b'{"model": "' + raw + b'"}'):
        r = client.post(path, content=content, headers={"content-type": "application/json"})
        assert r.status_code < 500, (path, content[:200], r.text[:200])
        assert "x-content-type-options" in r.headers
        if r.status_code >= 400:
            assert r.json()["detail"], r.text
