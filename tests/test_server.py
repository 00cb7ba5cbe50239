"""The HTTP API: routes against the app with its lifespan, and a real server started in the test."""

import json
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import numpy as np
import pytest

from models.config import GPTConfig
from models.tokenizer import CharTokenizer
from models.weights import save_gpt_dir
from server.main import create_app
from server.settings import Settings

from helpers import TOK, char_gpt, free_port, iter_sse, random_params, sse_events


def make_zoo(root):
    char_gpt(root / "tiny-char", {"name": "tiny-char"})
    bad = char_gpt(root / "broken")
    (bad / "model.safetensors").write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{}")  # header, no tensors
    (root / "bad-json").mkdir()
    (root / "bad-json" / "config.json").write_text("{nope")
    return root


@pytest.fixture(scope="module")
def zoo(tmp_path_factory):
    """tiny-char, and two models that fail to load: broken (no tensors) and bad-json."""
    return make_zoo(tmp_path_factory.mktemp("zoo"))


def test_health_and_the_model_list(make_client, zoo):
    client = make_client(models_dir=zoo)
    h = client.get("/healthz").json()
    assert {k: h[k] for k in ("status", "models", "streams", "tokens")} == {
        "status": "ok", "models": 1, "streams": 0, "tokens": 0
    }  # fmt: skip
    assert h["rss_mib"] > 10 and h["cpu_s"] > 0
    body = client.get("/api/models").json()
    assert [m["name"] for m in body["models"]] == ["tiny-char"]
    m = body["models"][0]
    assert m["parameters"] > 0 and m["tokenizer"] == "char" and m["backends"] == ["torch", "numpy"]
    assert set(body["unavailable"]) == {"broken", "bad-json"}
    assert "model.safetensors" in body["unavailable"]["broken"]
    assert "config.json" in body["unavailable"]["bad-json"]


def test_unknown_model_is_a_404_listing_the_known(make_client, zoo):
    client = make_client(models_dir=zoo)
    r = client.get("/api/models/nope")
    assert r.status_code == 404 and "tiny-char" in r.json()["detail"]
    r = client.post("/api/tokenize", json={"model": "../../etc/passwd", "text": "a"})
    assert r.status_code == 422  # path-like names never reach the file system
    assert client.get("/api/models/tiny-char").json()["card"] == {"name": "tiny-char"}


def test_tokenize(make_client, zoo):
    client = make_client(models_dir=zoo)
    r = client.post("/api/tokenize", json={"model": "tiny-char", "text": "bad cafe"})
    body = r.json()
    assert body["ids"] == TOK.encode("bad cafe") and body["tokens"] == list("bad cafe")
    assert body["offsets"][1] == [1, 2]
    r = client.post("/api/tokenize", json={"model": "tiny-char", "text": "xyz"})
    assert r.status_code == 422 and "'x'" in r.json()["detail"]
    r = client.post("/api/tokenize", json={"model": "tiny-char", "text": "a" * 5000})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "text"]


def test_openapi_documents_the_routes(client):
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/healthz", "/api/models", "/api/models/{name}", "/api/tokenize"} <= set(paths)


@pytest.mark.slow
def test_playground_serve_answers_health_quickly(tmp_path):
    zoo = make_zoo(tmp_path)
    port = free_port()  # another server may hold any fixed one
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "server.cli", "serve", "--port", str(port), "--models", str(zoo)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        ready = None
        while time.perf_counter() - start < 20:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=0.5).status_code == 200:
                    ready = time.perf_counter() - start
                    break
            except httpx.TransportError:
                time.sleep(0.05)
        assert ready is not None, "the server never answered /healthz"
        models = httpx.get(f"http://127.0.0.1:{port}/api/models").json()
        assert [m["name"] for m in models["models"]] == ["tiny-char"]
    finally:
        proc.terminate()
        out = proc.communicate(timeout=10)[0].decode()
    assert "model broken not served" in out and "serving 1 model(s)" in out
    print(json.dumps({"ready_s": ready}))


def sse(client, **body) -> list[dict]:
    """POST /api/generate for tiny-char and return its Server-Sent Events."""
    return sse_events(client.post("/api/generate", json={"model": "tiny-char", **body}))


def test_generate_streams_start_tokens_done(make_client, zoo):
    client = make_client(models_dir=zoo)
    events = sse(client, prompt="bad ", max_new_tokens=12, temperature=0.9, top_k=5, seed=3)
    assert [e["event"] for e in events] == ["start"] + ["token"] * 12 + ["done"]
    start, tokens, done = events[0], [e for e in events if e["event"] == "token"], events[-1]
    assert start["prompt_tokens"] == list("bad ")
    assert [t["index"] for t in tokens] == list(range(12))
    assert done["reason"] == "length" and done["tokens"] == [t["id"] for t in tokens]
    for t in tokens:
        assert 0 < t["prob"] <= 1 and len(t["candidates"]) <= 10
        assert t["id"] in [c["id"] for c in t["candidates"]] and t["attention"] is None
        assert sum(c["prob"] for c in t["candidates"]) == pytest.approx(1, abs=1e-6)  # top-k 5 leaves 5


def test_same_seed_same_text_on_both_backends(make_client, zoo):
    client = make_client(models_dir=zoo)
    body = {"prompt": "cafe ", "max_new_tokens": 20, "temperature": 1.0, "seed": 11}
    runs = [sse(client, backend=b, **body) for b in ("numpy", "torch")]
    texts = ["".join(e["text"] for e in run if e["event"] == "token") for run in runs]
    assert texts[0] == texts[1] and len(texts[0]) == 20


def test_attention_rows_when_asked(make_client, zoo):
    client = make_client(models_dir=zoo)
    events = sse(client, prompt="ab", max_new_tokens=3, include_attention=True)
    tokens = [e for e in events if e["event"] == "token"]
    assert [len(t["attention"][0][0]) for t in tokens] == [2, 3, 4]  # layer 0, head 0: keys so far
    assert len(tokens[0]["attention"]) == 1 and len(tokens[0]["attention"][0]) == 2  # 1 layer × 2 heads


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"temperature": 6}, "temperature"),
        ({"top_p": 0}, "top_p"),
        ({"max_new_tokens": 1001}, "max_new_tokens"),
        ({"backend": "jax"}, "backend"),
        ({"prompt": ""}, "prompt"),
    ],
)
def test_generate_validation_names_the_field(make_client, zoo, body, field):
    client = make_client(models_dir=zoo)
    r = client.post("/api/generate", json={"model": "tiny-char", "prompt": "a", **body})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == field


def test_generate_refuses_what_the_model_cannot_read(make_client, zoo):
    client = make_client(models_dir=zoo)
    r = client.post("/api/generate", json={"model": "tiny-char", "prompt": "xyz"})
    assert r.status_code == 422 and "'x'" in r.json()["detail"]
    r = client.post("/api/generate", json={"model": "tiny-char", "prompt": "a" * 40})
    assert r.status_code == 422 and "context of 32" in r.json()["detail"]
    r = client.post("/api/generate", json={"model": "nope", "prompt": "a"})
    assert r.status_code == 404


@pytest.fixture
def live_server(tmp_path):
    """A real uvicorn server on a free port, serving a zoo with a slower model."""
    import socket
    import threading

    import uvicorn

    zoo = make_zoo(tmp_path)
    char_gpt(zoo / "slow-char", block_size=512, n_layer=4, n_head=4, n_embd=128)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(create_app(Settings(models_dir=zoo)), port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            httpx.get(url + "/healthz", timeout=1)
            break
        except httpx.TransportError:
            time.sleep(0.05)
    yield url
    server.should_exit = True
    thread.join(timeout=10)


def health(url):
    return httpx.get(url + "/healthz", timeout=5).json()


def test_disconnect_stops_the_generation_and_health_answers_meanwhile(live_server):
    body = {"model": "slow-char", "prompt": "a", "max_new_tokens": 500, "temperature": 1.0}
    with httpx.Client(timeout=10) as c, c.stream("POST", live_server + "/api/generate", json=body) as r:
        tokens = 0
        for event in iter_sse(r.iter_lines()):
            tokens += event["event"] == "token"
            if tokens == 3:
                during = health(live_server)  # answered while a 500-token generation is running
                break
    assert during["streams"] == 1
    for _ in range(100):  # the client is gone: the stream ends within a step
        if health(live_server)["streams"] == 0:
            break
        time.sleep(0.05)
    stopped = health(live_server)
    assert stopped["streams"] == 0
    time.sleep(0.3)
    assert health(live_server)["tokens"] == stopped["tokens"] < 100, "no steps after the disconnect"


def test_trace_gives_every_number_of_a_lesson_step(make_client, zoo):
    client = make_client(models_dir=zoo)
    r = client.post("/api/trace", json={"model": "tiny-char", "text": "bad cafe", "layer": 0, "head": 1})
    assert r.status_code == 200, r.text
    t = r.json()
    T = 8
    assert t["tokens"] == list("bad cafe") and t["positions"] == list(range(T))
    assert len(t["tok_emb"]) == T and len(t["tok_emb"][0]) == 8
    assert len(t["q"]) == T and len(t["q"][0]) == 4  # head size 8 / 2
    assert t["scores"][0][1] is None and t["mask"][0] == [True] + [False] * 7  # causal: masked is null
    att = np.array(t["attention"])
    assert att.shape == (1, 2, T, T)
    np.testing.assert_allclose(att.sum(-1), 1, atol=1e-3)
    assert len(t["residual_norm"]) == 2 and len(t["logit_lens"][0][0]) == 5
    assert len(t["next_token"]) == 12 and len(t["next_logits"]) == TOK.vocab_size  # vocab is 12 < 20
    # the same numbers from the other backend
    body = {"model": "tiny-char", "text": "bad cafe", "backend": "torch", "head": 1}
    np.testing.assert_allclose(
        np.array(client.post("/api/trace", json=body).json()["attention"]), att, atol=2e-4
    )


def test_trace_validation(make_client, zoo):
    client = make_client(models_dir=zoo)
    for body, word in (({"layer": 3}, "layer"), ({"head": 2}, "head"), ({"text": "xyz"}, "'x'")):
        r = client.post("/api/trace", json={"model": "tiny-char", "text": "ab", **body})
        assert r.status_code == 422 and word in str(r.json()["detail"])


def test_a_64_token_trace_of_a_shakespeare_sized_model_stays_under_1_mb(make_client, tmp_path):
    tok = CharTokenizer([chr(c) for c in range(32, 97)])  # 65 characters, as the Shakespeare vocabulary
    cfg = GPTConfig(vocab_size=65, block_size=128, n_layer=6, n_head=4, n_embd=128)
    save_gpt_dir(tmp_path / "m", cfg, random_params(cfg), tok.to_json())
    r = make_client(models_dir=tmp_path).post(
        "/api/trace", json={"model": "m", "text": "".join(tok.chars[:64])}
    )
    assert r.status_code == 200 and len(r.json()["ids"]) == 64
    assert len(r.content) < 1_000_000, f"{len(r.content)} bytes"


def test_perplexity_by_hand(make_client, zoo):
    client = make_client(models_dir=zoo)
    r = client.post("/api/perplexity", json={"model": "tiny-char", "text": "bad cafe"})
    p = r.json()
    assert len(p["losses"]) == 7 and p["tokens"] == list("bad cafe")
    assert p["loss"] == pytest.approx(np.mean(p["losses"]), abs=1e-4)
    assert p["perplexity"] == pytest.approx(np.exp(p["loss"]))
    assert p["bits_per_char"] == pytest.approx(p["loss"] / np.log(2))  # one character per token
    assert client.post("/api/perplexity", json={"model": "tiny-char", "text": "a"}).status_code == 422


def test_compare_backends_reports_tiny_differences_and_times(make_client, zoo):
    client = make_client(models_dir=zoo)
    c = client.post("/api/compare-backends", json={"model": "tiny-char", "text": "bad cafe"}).json()
    assert set(c["max_abs_diff"]) >= {"logits", "att_probs", "q", "residual"}
    assert max(c["max_abs_diff"].values()) < 1e-5
    assert [t["backend"] for t in c["timings"]] == ["numpy", "torch"] and all(
        t["ms"] > 0 for t in c["timings"]
    )


def test_masks_from_a_real_padded_batch(make_client, zoo):
    client = make_client(models_dir=zoo)
    m = client.post("/api/masks", json={"model": "tiny-char", "texts": ["abc", "a", "bad c"]}).json()
    assert m["padding"] == [[0, 0, 1, 1, 1], [0, 0, 0, 0, 1], [1, 1, 1, 1, 1]]
    assert m["tokens"][1] == [None, None, None, None, "a"]
    assert m["positions"][0] == [0, 0, 0, 1, 2]
    combined = np.array(m["combined"])
    assert not (combined & (np.array(m["padding"])[:, None, :] == 0)).any()  # no query sees a pad
    np.testing.assert_array_equal(combined[2], np.tril(np.ones((5, 5), bool)))
    np.testing.assert_array_equal(np.array(m["causal"]), np.tril(np.ones((5, 5), bool)))


def test_positional_sinusoids_and_learned_table(make_client, zoo):
    client = make_client(models_dir=zoo)
    s = client.get("/api/positional", params={"kind": "sinusoidal", "positions": 10, "dims": 8}).json()
    v = np.array(s["vectors"])
    assert v.shape == (10, 8) and v[3, 0] == pytest.approx(np.sin(3), abs=1e-4)
    np.testing.assert_allclose(np.diag(s["similarity"]), 1, atol=1e-4)
    learned = client.get("/api/positional", params={"kind": "learned", "model": "tiny-char", "positions": 40})
    assert np.array(learned.json()["vectors"]).shape == (32, 8)  # capped at the context
    r = client.get("/api/positional", params={"kind": "learned"})
    assert r.status_code == 422 and "model" in r.json()["detail"]


def test_beam_reports_every_step(make_client, zoo):
    client = make_client(models_dir=zoo)
    r = client.post(
        "/api/beam", json={"model": "tiny-char", "prompt": "ab", "num_beams": 3, "max_new_tokens": 5}
    )
    b = r.json()
    assert len(b["steps"]) == 5 and all(len(s["beams"]) == 3 for s in b["steps"])
    assert b["best"] == b["hypotheses"][0] and len(b["best"]["ids"]) == 5
    assert b["best"]["score"] == pytest.approx(b["best"]["logprob"] / 5, abs=1e-5)
    one = client.post(
        "/api/beam", json={"model": "tiny-char", "prompt": "ab", "num_beams": 1, "max_new_tokens": 5}
    )
    greedy = sse(client, prompt="ab", max_new_tokens=5, temperature=0)
    assert one.json()["best"]["ids"] == [e["id"] for e in greedy if e["event"] == "token"]


def test_over_the_stream_limit_is_a_503_with_retry_after(make_client, zoo):
    c = make_client(models_dir=zoo, max_streams=2, retry_after_s=7)
    c.app.state.streams.active = 2  # two generations are streaming
    r = c.post("/api/generate", json={"model": "tiny-char", "prompt": "a"})
    assert r.status_code == 503 and r.headers["retry-after"] == "7" and "limit" in r.json()["detail"]
    c.app.state.streams.active = 1
    r = c.post("/api/generate", json={"model": "tiny-char", "prompt": "a", "max_new_tokens": 2})
    assert r.status_code == 200
    home = c.get("/")
    assert home.status_code == 200 and "Transformer Playground" in home.text
    assert "default-src 'self'" in home.headers["content-security-policy"]


def test_memory_growth_compares_the_medians_of_the_first_and_last_quarters():
    from server.loadtest import rss_growth, rss_medians

    swing = [(t / 10, 150.0 + 40.0 * (t % 7 == 0)) for t in range(400)]  # a buffer comes and goes
    medians = rss_medians(swing, since=0, until=40)
    assert medians == {"first": 150.0, "last": 150.0}
    one_moment = {"before": 190.0, "after": 150.0}  # two readings at two moments of the swing
    assert rss_growth({"server_rss_mib": one_moment, "server_rss_median_mib": medians}) == 0.0
    leak = rss_medians([(t / 10, 150.0 + t / 10) for t in range(400)], since=0, until=40)
    assert leak == {"first": pytest.approx(155.0, abs=0.1), "last": pytest.approx(185.0, abs=0.1)}
    assert rss_growth({"server_rss_mib": one_moment, "server_rss_median_mib": leak}) == pytest.approx(
        30 / 155, abs=1e-3
    )
    no_probe = {"first": None, "last": None}  # no /healthz answer in a quarter: the two readings
    assert rss_growth({"server_rss_mib": one_moment, "server_rss_median_mib": no_probe}) == pytest.approx(
        -40 / 190
    )


@pytest.mark.slow
def test_loadtest_reports_latency_of_concurrent_streams(live_server, tmp_path, capsys, monkeypatch):
    import ssl

    from server.cli import main
    from server.loadtest_class import tls_context

    real, built = ssl.create_default_context, []  # httpx builds one per client unless given one

    def counted(*args, **kwargs):
        built.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(ssl, "create_default_context", counted)
    tls_context.cache_clear()
    out = tmp_path / "load.json"
    args = ["loadtest", "--url", live_server, "--streams", "4", "--duration", "2", "--model", "tiny-char"]
    args += ["--prompt", "bad ", "--prompt", "cafe"]
    # in a thread of its own: the browser tests' Playwright keeps an event loop in this one
    with ThreadPoolExecutor(1) as pool:
        rc = pool.submit(main, [*args, "--max-new-tokens", "20", "--attention", "--json", str(out)]).result()
    assert rc == 0
    r = json.loads(out.read_text())
    assert r["errors"] == 0 and r["generations"] >= 4 and r["tokens"] >= 4 * 19
    assert len(built) == 1  # one TLS context for all the clients: ~50 ms each held the clients' loop
    assert r["inter_token_ms"]["p95"] > 0 and r["ttft_ms"]["p50"] > 0
    assert r["server_rss_mib"]["after"] > 10
    assert r["server_rss_median_mib"]["first"] > 10 and r["server_rss_median_mib"]["last"] > 10
    assert r["mean_batch"] >= 1 and r["failures"] == []
    assert r["server_cpu_ms_per_token"] > 0 and len(r["load_average"]) == 3
    printed = capsys.readouterr().out
    assert "inter-token p50 / p95 / max" in printed and "server CPU per token" in printed
    # targets become the exit status: the same load cannot meet a p95 of 1 µs, nor produce 503s
    strict = [*args, "--max-new-tokens", "5", "--warmup", "0.5", "--max-p95-ms", "0.001", "--expect-busy"]
    with ThreadPoolExecutor(1) as pool:
        assert pool.submit(main, strict).result() == 1
    printed = capsys.readouterr().out
    assert "MISSED: inter-token p95" in printed and "MISSED: no request was turned away" in printed
