"""POST /api/generate past the model's context and with stop strings: the window_start and stop
fields, the bounds of the new fields, and the numbers decoder stopping at the end of its line."""

from __future__ import annotations

import pytest

from helpers import char_gpt, sse_events


@pytest.fixture(scope="module")
def zoo(tmp_path_factory):
    root = tmp_path_factory.mktemp("zoo")
    char_gpt(root / "short-char", jitter=0.3, block_size=16, n_layer=2, n_embd=16)
    return root


def sse(client, **body) -> tuple[list[dict], dict]:
    events = sse_events(client.post("/api/generate", json={"model": "short-char", **body}))
    assert events[-1]["event"] == "done", events[-1]
    return [e for e in events if e["event"] == "token"], events[-1]


def test_a_stream_runs_past_the_context_the_same_on_both_backends(make_client, zoo):
    client = make_client(models_dir=zoo)
    body = {"prompt": "bad ", "max_new_tokens": 200, "temperature": 1.0, "seed": 4}
    tokens, done = sse(client, **body)
    assert done["reason"] == "length" and done["n_tokens"] == 200 and done["stop"] is None
    starts = [t["window_start"] for t in tokens]
    assert starts[0] == 0 and starts == sorted(starts) and starts[-1] > 150
    assert all(4 + t["index"] - t["window_start"] <= 16 for t in tokens)  # never more than the context
    torch_tokens, _ = sse(client, **body, backend="torch")
    assert [t["id"] for t in torch_tokens] == [t["id"] for t in tokens]


def test_a_stop_string_ends_the_stream_unshown(make_client, zoo):
    client = make_client(models_dir=zoo)
    free, _ = sse(client, prompt="ab", max_new_tokens=40, temperature=0)
    text = "".join(t["text"] for t in free)
    stop = text[20:22]
    tokens, done = sse(client, prompt="ab", max_new_tokens=40, temperature=0, stop=[stop])
    assert done["reason"] == "stop" and done["stop"] == stop
    assert "".join(t["text"] for t in tokens) == text[: text.index(stop)]


@pytest.mark.parametrize("stop", [["a", "b", "c", "d", "e"], ["x" * 33], [""]])
def test_stop_strings_are_bounded(make_client, zoo, stop):
    client = make_client(models_dir=zoo)
    r = client.post("/api/generate", json={"model": "short-char", "prompt": "a", "stop": stop})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][:2] == ["body", "stop"]


def test_the_numbers_decoder_writes_its_line_and_stops(client):
    body = {"model": "numbers-to-words-decoder", "prompt": "4012=", "temperature": 0, "max_new_tokens": 200}
    events = sse_events(client.post("/api/generate", json=body))
    text = "".join(e["text"] for e in events if e["event"] == "token")
    assert text == "four thousand twelve"
    assert events[-1]["reason"] == "stop" and events[-1]["stop"] == "\n"
    events = sse_events(client.post("/api/generate", json={**body, "max_new_tokens": 40, "stop": []}))
    assert events[-1]["reason"] == "length"  # no stop: it writes on after its line
    assert "".join(e["text"] for e in events if e["event"] == "token").startswith("four thousand twelve\n")


def test_the_openapi_schema_describes_the_new_fields(client):
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    request = schemas["GenerateRequest"]["properties"]
    assert request["max_new_tokens"]["maximum"] >= 1000
    assert "stop" in request and "`stop`" in request["stop"]["description"]
