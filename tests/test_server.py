"""The HTTP API: routes against the app with its lifespan, and a real server started in the test."""

import json
import subprocess
import sys
import time

import httpx
import pytest
from fastapi.testclient import TestClient

from models.config import GPTConfig
from models.tokenizer import CharTokenizer
from models.weights import save_gpt_dir
from server.main import create_app
from server.settings import Settings

from helpers import random_params

TOK = CharTokenizer.train("abcdefgh ,.\n")


def make_zoo(root):
    cfg = GPTConfig(vocab_size=TOK.vocab_size, block_size=32, n_layer=1, n_head=2, n_embd=8)
    save_gpt_dir(root / "tiny-char", cfg, random_params(cfg), TOK.to_json(), {"name": "tiny-char"})
    bad = save_gpt_dir(root / "broken", cfg, random_params(cfg), TOK.to_json())
    (bad / "model.safetensors").write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{}")  # header, no tensors
    (root / "bad-json").mkdir()
    (root / "bad-json" / "config.json").write_text("{nope")
    return root


@pytest.fixture
def client(tmp_path):
    app = create_app(Settings(models_dir=make_zoo(tmp_path)))
    with TestClient(app) as c:
        yield c


def test_health_and_the_model_list(client):
    assert client.get("/healthz").json() == {"status": "ok", "models": 1}
    body = client.get("/api/models").json()
    assert [m["name"] for m in body["models"]] == ["tiny-char"]
    m = body["models"][0]
    assert m["parameters"] > 0 and m["tokenizer"] == "char" and m["backends"] == ["torch", "numpy"]
    assert set(body["unavailable"]) == {"broken", "bad-json"}
    assert "model.safetensors" in body["unavailable"]["broken"]
    assert "config.json" in body["unavailable"]["bad-json"]


def test_unknown_model_is_a_404_listing_the_known(client):
    r = client.get("/api/models/nope")
    assert r.status_code == 404 and "tiny-char" in r.json()["detail"]
    r = client.post("/api/tokenize", json={"model": "../../etc/passwd", "text": "a"})
    assert r.status_code == 422  # path-like names never reach the file system
    assert client.get("/api/models/tiny-char").json()["card"] == {"name": "tiny-char"}


def test_tokenize(client):
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
    port = 8765
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "models.cli", "serve", "--port", str(port), "--models", str(zoo)],
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
