"""POST /api/kv-cache: cached and uncached greedy decoding give the same tokens; the cache's shapes."""

import pytest

from helpers import sse_events

MODEL = "shakespeare-char"
TEXT = "ROMEO: But soft"


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_cached_and_uncached_tokens_are_identical(client, backend):
    r = client.post("/api/kv-cache", json={"model": MODEL, "text": TEXT, "backend": backend, "n": 12})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["identical"] and body["ids"] == body["ids_uncached"] and len(body["ids"]) == 12
    assert len(body["cached_ms"]) == len(body["uncached_ms"]) == 12
    assert all(ms > 0 for ms in body["cached_ms"] + body["uncached_ms"])
    assert body["prompt_tokens"] == len(TEXT)
    assert body["cached_positions"] == [len(TEXT)] + [1] * 11
    assert body["uncached_positions"] == list(range(len(TEXT), len(TEXT) + 12))


def test_cache_shapes_and_bytes(client):
    cfg = client.get(f"/api/models/{MODEL}").json()["config"]
    body = client.post("/api/kv-cache", json={"model": MODEL, "text": TEXT, "n": 5}).json()
    nh, C, L = cfg["n_head"], cfg["n_embd"], cfg["n_layer"]
    tk = len(TEXT) + 5 - 1  # the last token is drawn, never fed
    assert body["dtype"] == "float32"
    assert [x["layer"] for x in body["layers"]] == list(range(L))
    for x in body["layers"]:
        assert x["k_shape"] == x["v_shape"] == [1, nh, tk, C // nh]
        assert x["bytes"] == 2 * nh * tk * (C // nh) * 4
    assert body["total_bytes"] == sum(x["bytes"] for x in body["layers"])


def test_the_greedy_tokens_equal_the_generate_endpoint(client):
    body = client.post("/api/kv-cache", json={"model": MODEL, "text": TEXT, "n": 6}).json()
    stream = client.post(
        "/api/generate", json={"model": MODEL, "prompt": TEXT, "max_new_tokens": 6, "temperature": 0}
    )
    done = next(e for e in sse_events(stream) if e["event"] == "done")
    assert done["tokens"] == body["ids"]


@pytest.mark.parametrize(
    ("patch", "field"),
    [({"n": 0}, "n"), ({"n": 65}, "n"), ({"text": ""}, "text"), ({"backend": "jax"}, "backend")],
)
def test_bad_input_is_a_422_naming_the_field(client, patch, field):
    r = client.post("/api/kv-cache", json={"model": MODEL, "text": TEXT, **patch})
    assert r.status_code == 422
    assert field in str(r.json()["detail"])


def test_too_long_for_the_context_is_a_422_on_n(client):
    r = client.post("/api/kv-cache", json={"model": MODEL, "text": "a" * 100, "n": 64})
    assert r.status_code == 422
    assert r.json()["detail"].startswith("n:")


def test_unknown_model_is_a_404(client):
    assert client.post("/api/kv-cache", json={"model": "nope", "text": TEXT}).status_code == 404
