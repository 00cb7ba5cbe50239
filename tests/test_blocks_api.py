"""POST /api/layernorm: one real vector through a block's first LayerNorm, checked against the twin."""

import numpy as np
import pytest
from fastapi.testclient import TestClient

from models.gpt_numpy import layer_norm
from server.main import create_app

MODEL = "shakespeare-char"
TEXT = "ROMEO: But soft"


@pytest.fixture(scope="module")
def client():
    with TestClient(create_app()) as c:
        yield c


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
