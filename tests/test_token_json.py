"""Token events written directly as JSON carry the numbers the ``TokenEvent`` schema's JSON carries."""

import json

import numpy as np
import pytest
from fastapi.sse import format_sse_event

from models.generate import DecodeBatch, start
from models.sampling import SamplingParams
from server.registry import read_entry
from server.rounding import MS_DECIMALS, rounded
from server.streaming import sse_bytes, token_event, token_text
from server.token_json import rounded_ms, rows_json

from helpers import char_gpt


@pytest.mark.parametrize("shape", [(6, 4, 37), (1, 1, 1), (2, 3, 128), (5,)])
def test_rows_are_the_rounded_numbers(shape):
    gen = np.random.default_rng(len(shape))
    a = gen.dirichlet(np.ones(shape[-1]), size=shape[:-1]).astype(np.float32)
    edges = [0.00005, 0.00015, 0.99995, 1.0, 0.0][: a.size]  # halfway cases and the ends
    a.reshape(-1)[: len(edges)] = edges
    assert json.loads(rows_json(a)) == rounded(a)


def test_rows_outside_probabilities_take_the_general_path():
    a = np.array([[-0.5, 2.0, np.nan, -np.inf]])
    assert json.loads(rows_json(a)) == rounded(a) == [[-0.5, 2.0, None, None]]


def test_ms_rounds_as_rounded_does():
    for ms in [*np.random.default_rng(0).uniform(0, 500, 2000).tolist(), 0.0005, 0.0015, 2.5e-4, 1234.5675]:
        assert rounded_ms(ms) == rounded(ms, MS_DECIMALS)


@pytest.mark.parametrize("attention", [True, False])
def test_events_match_the_schemas_json(tmp_path, attention):
    """Real token events of a batch of streams (settings of every kind): the same JSON, parsed."""
    entry = read_entry(char_gpt(tmp_path / "m", block_size=16, n_layer=2))  # 30 tokens slide its window
    model, tok = entry.model("numpy"), entry.tokenizer
    settings = [SamplingParams(), SamplingParams(temperature=0), SamplingParams(0.7, 5, 0.9, 1.3)]
    decodings = [
        start(model, [1, 2 + i], 30, settings[i % 3], i, tokenizer=tok, include_attention=attention)
        for i in range(5)
    ]
    batch = DecodeBatch(model)
    n, texts = 0, set()
    while not all(d.finished for d in decodings):
        for e in batch.step(decodings):
            assert json.loads(token_text(entry, e).json) == json.loads(
                token_event(entry, e).model_dump_json()
            )
            encoded = sse_bytes(entry, e)  # the Server-Sent Event FastAPI would write for it
            assert encoded.sse == format_sse_event(data_str=encoded.json, event="token")
            texts.add(e.text)
            n += 1
    assert n == 5 * 30
    assert any("\n" in t for t in texts)  # a line break in a token's text stays inside the one data line
