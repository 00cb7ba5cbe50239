"""An LSTM in the zoo: listed, generates and is scored; routes that explain attention refuse it by name."""

import pytest

from models.config import LSTMConfig
from models.weights import init_lstm_params, save_model_dir

from helpers import TOK, char_gpt, sse_events


@pytest.fixture(scope="module")
def zoo(tmp_path_factory):
    """An LSTM, tiny-lstm, beside a GPT, tiny-gpt."""
    root = tmp_path_factory.mktemp("zoo")
    cfg = LSTMConfig(vocab_size=TOK.vocab_size, block_size=64, n_layer=2, n_embd=8, n_hidden=12)
    save_model_dir(root / "tiny-lstm", cfg, init_lstm_params(cfg, 1), TOK.to_json(), {"name": "tiny-lstm"})
    char_gpt(root / "tiny-gpt")
    return root


def test_the_lstm_is_listed_with_its_own_shape(make_client, zoo):
    client = make_client(models_dir=zoo)
    models = {m["name"]: m for m in client.get("/api/models").json()["models"]}
    m = models["tiny-lstm"]
    assert m["architecture"] == "lstm" and m["config"]["n_hidden"] == 12 and m["context"] == 64
    assert m["parameters"] == sum(v.size for v in init_lstm_params(LSTMConfig(**m["config"])).values())
    assert client.get("/", headers={"accept": "text/html"}).status_code == 200  # pages render it too


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_the_lstm_generates_the_same_tokens_on_both_backends(make_client, zoo, backend):
    client = make_client(models_dir=zoo)
    body = {"model": "tiny-lstm", "prompt": "abc", "max_new_tokens": 12, "seed": 3, "backend": backend}
    got = sse_events(client.post("/api/generate", json=body))
    done = next(e for e in got if e["event"] == "done")
    assert done["n_tokens"] == 12
    other = sse_events(client.post("/api/generate", json={**body, "backend": "numpy"}))
    assert next(e for e in other if e["event"] == "done")["tokens"] == done["tokens"]


def test_the_lstm_is_scored_and_sampled(make_client, zoo):
    client = make_client(models_dir=zoo)
    r = client.post("/api/perplexity", json={"model": "tiny-lstm", "text": "abc abc"})
    assert r.status_code == 200 and len(r.json()["losses"]) == 6
    r = client.post("/api/sampler", json={"model": "tiny-lstm", "prompt": "ab", "top_k": 3})
    assert r.status_code == 200 and r.json()["stages"][-1]["kept"] == 3
    r = client.post("/api/compare-backends", json={"model": "tiny-lstm", "text": "abcd"})
    assert r.status_code == 200 and max(r.json()["max_abs_diff"].values()) < 1e-5


def test_routes_that_explain_attention_refuse_an_lstm_by_name(make_client, zoo):
    client = make_client(models_dir=zoo)
    r = client.post("/api/masks", json={"model": "tiny-lstm", "texts": ["abc", "a"]})
    assert r.status_code == 422
    assert "tiny-lstm is an LSTM" in r.json()["detail"] and "tiny-gpt" in r.json()["detail"]
    r = client.post("/api/generate", json={"model": "tiny-lstm", "prompt": "a", "include_attention": True})
    assert r.status_code == 422 and r.json()["detail"].startswith("include_attention")


def test_the_default_model_is_listed_first_then_language_models(make_client, tmp_path):
    for name, task in (("a-task", "numbers"), ("b-lm", "lm"), ("c-lm", "lm")):
        char_gpt(tmp_path / name, {"task": task})
    for first, order in ((None, ["b-lm", "c-lm", "a-task"]), ("c-lm", ["c-lm", "b-lm", "a-task"])):
        c = make_client(models_dir=tmp_path, **({"default_model": first} if first else {}))
        assert [m["name"] for m in c.get("/api/models").json()["models"]] == order
