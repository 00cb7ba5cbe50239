"""POST /api/layernorm: one real vector through a block's first LayerNorm, checked against the twin."""

from pathlib import Path

import numpy as np
import pytest

from models.gpt_numpy import layer_norm

MODEL = "shakespeare-char"
TEXT = "ROMEO: But soft"


def test_layernorm_numbers_agree_with_each_other(client):
    r = client.post("/api/layernorm", json={"model": MODEL, "text": TEXT, "layer": 2, "position": 3})
    assert r.status_code == 200, r.text
    b = r.json()
    x = np.asarray(b["input"])
    assert b["token"] == TEXT[3] and b["position"] == 3 and b["norm"] == "pre"
    assert len(x) == client.get(f"/api/models/{MODEL}").json()["config"]["n_embd"]
    assert b["mean"] == pytest.approx(x.mean(), abs=1e-4)
    assert b["var"] == pytest.approx(x.var(), rel=1e-3)
    assert b["std"] == pytest.approx(np.sqrt(x.var() + b["eps"]), rel=1e-3)
    assert b["normalised_mean"] == pytest.approx(0, abs=1e-5)
    assert b["normalised_var"] == pytest.approx(1, abs=1e-3)
    y = layer_norm(x, np.asarray(b["weight"]), np.asarray(b["bias"]), b["eps"])
    assert np.allclose(y, b["output"], atol=2e-3)


def test_pre_ln_input_is_the_residual_stream_entering_the_block(client):
    """Its norm is the trace's residual_norm for that layer and token."""
    b = client.post("/api/layernorm", json={"model": MODEL, "text": TEXT, "layer": 4}).json()
    tr = client.post("/api/trace", json={"model": MODEL, "text": TEXT}).json()
    assert b["position"] == len(TEXT) - 1
    assert np.linalg.norm(b["input"]) == pytest.approx(tr["residual_norm"][4][-1], rel=1e-3)


@pytest.mark.parametrize(
    ("patch", "field"), [({"layer": 6}, "layer"), ({"position": 99}, "position"), ({"layer": -1}, "layer")]
)
def test_bad_layer_or_position_is_a_422(client, patch, field):
    r = client.post("/api/layernorm", json={"model": MODEL, "text": TEXT, **patch})
    assert r.status_code == 422
    assert field in str(r.json()["detail"])


def test_post_ln_feeds_ln_1_the_stream_plus_the_attention_output(make_client, tmp_path):
    """A small random post-LN model: the route's output of ln_1 is the trace's resid_mid."""
    from models.config import preset
    from models.gpt_numpy import GPT
    from models.tokenizer import tokenizer_from_json
    from models.weights import init_gpt_params, read_json, save_gpt_dir

    tokenizer = read_json(Path(__file__).parents[1] / "models/zoo/shakespeare-char/tokenizer.json")
    config = preset("tiny", vocab_size=65, block_size=32, norm="post", pos="sinusoidal", activation="relu")
    params = init_gpt_params(config, seed=3)
    save_gpt_dir(tmp_path / "post", config, params, tokenizer)
    client = make_client(models_dir=tmp_path)
    b = client.post("/api/layernorm", json={"model": "post", "text": TEXT, "layer": 1, "position": 4}).json()
    assert b["norm"] == "post"
    ids = tokenizer_from_json(tokenizer).encode(TEXT)
    _, tr = GPT(config, params).forward(np.asarray([ids]), trace=True)
    assert np.allclose(b["output"], tr.resid_mid[1, 0, 4], atol=2e-3)
