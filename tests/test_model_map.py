"""The whole-model map: every label is the shape of a tensor the shipped model stores, every part
links to a served step, and the route answers 200, 404 and 422 as the API does elsewhere."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from models.architectures import architecture
from models.model_map import TEACHES, dims, model_map
from models.weights import read_json, read_safetensors_shapes

ZOO = Path(__file__).resolve().parents[1] / "models" / "zoo"
SHIPPED = sorted(d.name for d in ZOO.iterdir() if (d / "config.json").is_file())


def shipped(name: str):
    raw = read_json(ZOO / name / "config.json")
    arch = architecture(raw.get("playground", {}).get("architecture", "gpt"))
    config, _ = arch.load_dir(ZOO / name)
    return arch, config, read_safetensors_shapes(ZOO / name / "model.safetensors")


@pytest.mark.parametrize("name", SHIPPED)
def test_every_label_is_a_stored_shape(name):
    _, config, stored = shipped(name)
    m = model_map(config, T=5)
    parts = [p for s in m.stacks for p in s.parts]
    read = set()
    for p in parts:
        for param, shape in p.params.items():
            assert tuple(shape) == stored[param], f"{p.id}: {param}"
            read.add(param)
        if p.kind in ("wte", "head") and len(p.params) == 1:  # "65 × 128" or "128 → 65"
            (param,) = p.params
            V, C = stored[param]
            assert p.shape.startswith(dims(stored[param]) if p.kind == "wte" else f"{C} → {V}"), p
        for c_name in re.findall(r"(c_attn|c_proj|c_fc|q_attn) (\d+) → (\d+)", p.shape):
            tag, n_in, n_out = c_name
            weights = [w for w in p.params if f".{tag}.weight" in w]
            if tag == "c_proj" and len(weights) > 1:
                weights = weights[-1:]
            assert weights, (p.id, tag)
            assert stored[weights[0]] == (int(n_in), int(n_out)), (p.id, tag, p.shape)
        if p.kind.startswith("ln"):  # "γ, β: 128 each"
            ((param, shape),) = p.params.items()
            assert p.shape == f"γ, β: {stored[param][0]} each", p
        for n_head, size in re.findall(r"(\d+) heads × (\d+)", p.shape):
            c_proj = next(w for w in p.params if w.endswith(".c_proj.weight"))
            assert int(n_head) * int(size) == stored[c_proj][0] and int(n_head) == config.n_head, p
    # every stored matrix (2-D and up) is on the map
    matrices = {n for n, s in stored.items() if len(s) >= 2 and "wte" not in n}
    assert matrices <= read, sorted(matrices - read)
    assert all(p.kind in TEACHES and p.steps for p in parts)


def test_gpt_map_reads_as_the_lessons_say():
    _, config, stored = shipped("shakespeare-char")
    m = model_map(config, T=27)
    (stack,) = m.stacks
    by_id = {p.id: p for p in stack.parts}
    assert by_id["transformer.wte"].shape == "65 × 128" == dims(stored["transformer.wte.weight"])
    assert by_id["transformer.h.0.attn"].shape == "c_attn 128 → 384 · 4 heads × 32 · c_proj 128 → 128"
    assert by_id["transformer.h.5.mlp"].shape == "c_fc 128 → 512 · GELU · c_proj 512 → 128"
    assert by_id["transformer.tokens"].shape == "T = 27 tokens"
    kinds = [p.kind for p in stack.parts if p.layer == 0]
    assert kinds == ["ln_1", "attn", "add_attn", "ln_2", "mlp", "add_mlp"]  # pre-LN order
    assert [p.kind for p in stack.parts[-3:]] == ["ln_f", "head", "probs"]
    assert sum(p.kind == "attn" for p in stack.parts) == config.n_layer


def test_post_ln_sinusoidal_map_follows_its_config():
    _, config, _ = shipped("shakespeare-char-postln")
    (stack,) = model_map(config, T=3).stacks
    assert [p.kind for p in stack.parts if p.layer == 0] == [
        "attn",
        "add_attn",
        "ln_1",
        "mlp",
        "add_mlp",
        "ln_2",
    ]
    wpe = next(p for p in stack.parts if p.kind == "wpe")
    assert wpe.params == {} and wpe.shape == "3 × 128" and "sinusoidal" in wpe.label
    assert "ln_f" not in [p.kind for p in stack.parts]  # post-LN blocks end normalised
    assert "ReLU" in next(p for p in stack.parts if p.kind == "mlp").shape


def test_encoder_decoder_has_cross_attention_and_lstm_its_gates():
    _, config, _ = shipped("numbers-to-words")
    enc, dec = model_map(config, T=4).stacks
    assert [s.name for s in (enc, dec)] == ["encoder", "decoder"]
    assert not any(p.kind in ("cross", "head") for p in enc.parts)
    cross = [p for p in dec.parts if p.kind == "cross"]
    assert len(cross) == config.n_dec_layer and "q_attn" in cross[0].shape
    _, config, _ = shipped("shakespeare-lstm")
    (stack,) = model_map(config, T=4).stacks
    assert [p.kind for p in stack.parts] == ["tokens", "wte", "lstm", "lstm", "lstm_head", "probs"]
    _, config, _ = shipped("shakespeare-mlm")
    (stack,) = model_map(config, T=4).stacks
    assert stack.parts[-2].kind == "mlm_head" and "bidirectional" in stack.title


def test_route_links_parts_to_served_steps(client):
    r = client.post("/api/model-map", json={"model": "shakespeare-char", "text": "ROMEO:"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["T"] == 6 and body["tokens"][0] == "R"
    served = {x.slug for x in __import__("server.lessons", fromlist=["LESSONS"]).LESSONS}
    parts = body["stacks"][0]["parts"]
    assert all(p["link"] in served for p in parts), [p for p in parts if p["link"] not in served]
    assert next(p for p in parts if p["kind"] == "wte")["link"] == "embeddings"


def test_route_refuses_bad_input(client):
    r = client.post("/api/model-map", json={"model": "no-such-model", "text": "a"})
    assert r.status_code == 404 and "no-such-model" in r.json()["detail"]
    r = client.post("/api/model-map", json={"model": "shakespeare-char", "text": ""})
    assert r.status_code == 422 and "text" in r.text
    r = client.post("/api/model-map", json={"model": "numbers-to-words", "text": "ROMEO"})
    assert r.status_code == 422 and "text" in r.json()["detail"]


def test_the_map_page_and_step_are_served(client):
    for path in ("/model", "/learn/model"):
        r = client.get(path)
        assert r.status_code == 200 and "The whole model on one map" in r.text, path
    assert 'href="/model"' in client.get("/").text  # in the site menu
