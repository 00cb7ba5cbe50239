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


def test_attention_output_rebuilt_from_weights_equals_the_models_residual(make_client, zoo):
    """Σ_j w_ij v_j per head, concatenated and projected by c_proj, added to the residual stream:
    the model's own residual after attention, rebuilt from its trace and c_proj's weights."""
    client = make_client(models_dir=zoo)
    text = "abc, dea"
    r = client.post("/api/lessons/attention-output", json={"model": "tiny", "text": text, "layer": 1})
    assert r.status_code == 200, r.text
    d = r.json()
    assert d["tokens"] == list(text) and d["layer"] == 1
    heads, concat = np.array(d["heads"]), np.array(d["concat"])
    nh, T, hs = heads.shape
    assert (T, nh * hs) == concat.shape == (8, 8)
    # weights × values per head, from /api/trace's own weights and values
    for head in range(nh):
        tr = client.post("/api/trace", json={"model": "tiny", "text": text, "layer": 1, "head": head}).json()
        by_hand = np.array(tr["attention"][1][head]) @ np.array(tr["v"])
        assert np.abs(by_hand - heads[head]).max() < 2e-3, head
        assert np.array_equal(concat[:, head * hs : (head + 1) * hs], heads[head])
    proj = concat @ np.array(d["w_o"]) + np.array(d["b_o"])
    assert np.abs(proj - np.array(d["proj"])).max() < 2e-3
    added = np.array(d["residual_in"]) + np.array(d["proj"])
    assert np.abs(added - np.array(d["added"])).max() < 2e-4
    if d["norm"] == "pre":  # x + attn(ln_1(x)) is the residual after attention
        assert np.abs(np.array(d["added"]) - np.array(d["resid_mid"])).max() < 2e-4


def test_attention_output_in_full_precision_is_the_forward_pass(zoo):
    """In float64, without rounding: residual_in + c_proj(concat) is the forward's resid_mid (pre-LN),
    ln_1 of it (post-LN), and the per-head outputs are the forward's own A · V."""
    from models.lessons import attention_output_by_hand
    from server.registry import Registry

    registry = Registry.scan(zoo)
    twin = registry.get("tiny").model("numpy")
    ids = registry.get("tiny").tokenizer.encode("abc, dea")
    for layer in range(2):
        w = attention_output_by_hand(twin, ids, layer)
        block = twin.transformer["h"][layer]
        want = w.added if w.norm == "pre" else block.ln_1(w.added)
        assert np.abs(want - w.resid_mid).max() < 1e-5, (layer, w.norm)
        x = block.ln_1(w.residual_in[None]) if w.norm == "pre" else w.residual_in[None]
        mask = np.tril(np.ones((1, len(ids), len(ids)), dtype=bool))
        a, _, _ = block.attn(x, mask)
        assert np.abs(a[0] - w.proj).max() < 1e-5, layer


def test_attention_output_bad_layer_is_a_422_naming_it(make_client, zoo):
    client = make_client(models_dir=zoo)
    r = client.post("/api/lessons/attention-output", json={"model": "tiny", "text": "abc", "layer": 2})
    assert r.status_code == 422 and "layer" in str(r.json()["detail"])
