"""/api/lessons/qkv and /api/lessons/padded: the numbers behind the Q/K/V and masks lesson steps."""

import numpy as np
import pytest

from helpers import char_gpt


@pytest.fixture(scope="module", params=["pre", "post"])
def zoo(tmp_path_factory, request):
    """One model, "tiny": pre-LN with learned positions, or post-LN with sinusoids."""
    root = tmp_path_factory.mktemp(f"zoo-{request.param}")
    pos = "learned" if request.param == "pre" else "sinusoidal"
    char_gpt(root / "tiny", {"name": "tiny"}, jitter=0.5, n_layer=2, norm=request.param, pos=pos)
    return root


def test_qkv_by_hand_equals_the_models_queries_keys_and_values(make_client, zoo):
    client = make_client(models_dir=zoo)
    r = client.post("/api/lessons/qkv", json={"model": "tiny", "text": "abc, dea", "layer": 1, "head": 1})
    assert r.status_code == 200, r.text
    d = r.json()
    assert d["tokens"] == list("abc, dea") and (d["layer"], d["head"]) == (1, 1)
    x = np.array(d["x"])
    assert x.shape == (8, 8)
    for part in "qkv":
        by_hand = x @ np.array(d[f"w_{part}"]) + np.array(d[f"b_{part}"])
        assert np.abs(by_hand - np.array(d[part])).max() < 2e-3, part
    trace = client.post(
        "/api/trace", json={"model": "tiny", "text": "abc, dea", "layer": 1, "head": 1}
    ).json()
    assert d["q"] == trace["q"] and d["k"] == trace["k"] and d["v"] == trace["v"]


def test_padded_keys_get_exactly_zero_weight_and_padding_changes_nothing_else(make_client, zoo):
    client = make_client(models_dir=zoo)
    texts = ["abc, dea", "h", "fed."]
    r = client.post("/api/lessons/padded", json={"model": "tiny", "texts": texts, "layer": 0, "head": 1})
    assert r.status_code == 200, r.text
    d = r.json()
    att = np.array(d["attention"])
    assert att.shape == (3, 8, 8)
    assert d["padding"][1] == [0] * 7 + [1] and d["tokens"][1][-1] == "h" and d["tokens"][1][0] is None
    assert d["positions"][2][-4:] == [0, 1, 2, 3]
    assert d["pad_weight"] == 0.0 and d["max_change"] < 1e-5
    real = np.array(d["padding"], dtype=bool)
    assert (att[:, :, ~real[1]][1] == 0).all()  # prompt 1: nobody looks at its padding
    assert np.allclose(att[real].sum(-1), 1, atol=1e-3)  # real queries' rows sum to one
    assert (att[~real] == 0).all()  # a padded query sees nothing
    assert np.array(d["alone"][2]).shape == (4, 4)
    masks = client.post("/api/masks", json={"model": "tiny", "texts": texts}).json()
    assert masks["positions"] == d["positions"] and masks["padding"] == d["padding"]


@pytest.mark.parametrize(
    "path, body, field",
    [
        ("/api/lessons/qkv", {"text": "abc", "layer": 5}, "layer"),
        ("/api/lessons/qkv", {"text": "abc", "head": 9}, "head"),
        ("/api/lessons/qkv", {"text": "xyz"}, "text"),
        ("/api/lessons/padded", {"texts": ["abc", ""]}, "texts"),
        ("/api/lessons/padded", {"texts": ["a"] * 5}, "texts"),
    ],
)
def test_bad_input_is_a_422_naming_the_field(make_client, zoo, path, body, field):
    client = make_client(models_dir=zoo)
    r = client.post(path, json={"model": "tiny", **body})
    assert r.status_code == 422
    assert field in str(r.json()["detail"])


def test_unknown_model_is_a_404(make_client, zoo):
    client = make_client(models_dir=zoo)
    assert client.post("/api/lessons/qkv", json={"model": "nope", "text": "a"}).status_code == 404
