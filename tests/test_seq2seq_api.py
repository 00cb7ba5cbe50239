"""Encoder and encoder-decoder routes on a zoo of tiny random models: numbers equal the twins'.
(The LSTM's gates come from ``/api/trace``: tests/test_trace_arch.py.)"""

import numpy as np
import pytest

from models.loading import load_model
from models.mlm import MASK_CHAR
from models.numbers import BOS_ID, EOS_ID, source_tokenizer, target_tokenizer, to_words
from models.sampling import softmax
from models.seq2seq import beam_translate, greedy_translate


def test_every_architecture_is_listed_with_its_shape(arch_client):
    models = {m["name"]: m for m in arch_client.get("/api/models").json()["models"]}
    assert {"tiny-mlm", "tiny-numbers", "tiny-lstm", "numbers-gpt"} <= set(models)
    assert models["tiny-mlm"]["architecture"] == "encoder"
    enc = models["tiny-numbers"]
    assert enc["architecture"] == "encoder-decoder" and enc["tokenizer"] == "word" and enc["vocab_size"] == 33
    assert (
        enc["parameters"]
        == load_model(arch_client.app.state.registry.get("tiny-numbers").directory).num_parameters()
    )
    assert arch_client.get("/api/models/tiny-numbers").json()["config"]["n_dec_layer"] == 2
    assert arch_client.get("/", headers={"accept": "text/html"}).status_code == 200
    learn = arch_client.get("/learn", headers={"accept": "text/html"}).text
    assert "/learn/architectures" in learn and "/learn/lstm" in learn


def test_fill_mask_is_the_twins_softmax(arch_client, arch_zoo):
    text = f"To b{MASK_CHAR}, or not"
    body = {"model": "tiny-mlm", "text": text, "positions": [7], "top_k": 6}
    r = arch_client.post("/api/fill-mask", json=body)
    assert r.status_code == 200, r.text
    got = r.json()
    assert [m["position"] for m in got["masked"]] == [4, 7]
    assert got["masked"][0]["original"] is None and got["masked"][1]["original"]["token"] == "o"
    model = load_model(arch_zoo / "tiny-mlm")
    _, tr = model.forward(np.asarray([got["ids"]]), trace=True)
    probs = softmax(np.asarray(tr.logits[0], dtype=np.float64))
    for m in got["masked"]:
        p = probs[m["position"]]
        cands = m["candidates"]
        assert len(cands) == 6 and 0 < sum(c["prob"] for c in cands) <= 1 + 1e-6
        assert [c["id"] for c in cands] == list(np.argsort(-p, kind="stable")[:6])
        for c in cands:
            assert c["prob"] == pytest.approx(p[c["id"]], abs=1e-6)
    assert got["masked"][1]["original"]["prob"] == pytest.approx(
        probs[7][got["masked"][1]["original"]["id"]], abs=1e-6
    )
    att = np.asarray(got["attention"])
    assert att.shape == (2, 2, len(text), len(text))
    np.testing.assert_allclose(att, tr.att_probs[:, 0], atol=1e-4)
    assert (att[:, :, 0, -1] > 0).all()  # bidirectional: the first token sees the last
    assert got["filled"][4] == got["masked"][0]["candidates"][0]["token"]


def test_fill_mask_refusals_name_the_field(arch_client):
    def post(**body):
        return arch_client.post("/api/fill-mask", json={"model": "tiny-mlm", "text": "abc", **body})

    r = post()
    assert r.status_code == 422 and r.json()["detail"].startswith("text: nothing is masked")
    r = post(positions=[3])
    assert r.status_code == 422 and r.json()["detail"].startswith("positions:")
    r = post(top_k=0)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "top_k"
    r = post(text="ab\u00e9" + MASK_CHAR)
    assert r.status_code == 422 and r.json()["detail"].startswith("text:")
    r = post(model="nope")
    assert r.status_code == 404
    r = post(model="numbers-gpt")
    assert r.status_code == 422 and "tiny-mlm" in r.json()["detail"] and "numbers-gpt" in r.json()["detail"]


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_translate_greedy_beam_and_cross_attention(arch_client, arch_zoo, backend):
    body = {
        "model": "tiny-numbers",
        "source": "4012",
        "num_beams": 3,
        "length_penalty": 0.5,
        "backend": backend,
    }
    r = arch_client.post("/api/translate", json=body)
    assert r.status_code == 200, r.text
    got = r.json()
    model = load_model(arch_zoo / "tiny-numbers")
    src = source_tokenizer().encode("4012")
    want = greedy_translate(model, [src], BOS_ID, EOS_ID)[0]
    assert got["greedy"]["ids"] == want and got["source_tokens"] == list("4012")
    assert got["greedy"]["tokens"] == target_tokenizer().token_strings(want)
    assert got["reference"] == to_words(4012) == "four thousand twelve"
    beams = beam_translate(model, src, BOS_ID, EOS_ID, 3, 12, 0.5)
    assert got["best"]["ids"] == beams.best.ids
    assert got["best"]["score"] == pytest.approx(beams.best.score, abs=1e-4)
    assert len(got["steps"]) == len(beams.steps)
    assert [b["ids"] for b in got["steps"][0]["beams"]] == [b.ids for b in beams.steps[0].beams]
    cross = np.asarray(got["cross_attention"])
    assert cross.shape == (2, 2, len(want), 4)
    np.testing.assert_allclose(cross.sum(-1), 1, atol=1e-3)
    _, tr = model.forward(np.asarray([src]), np.asarray([[BOS_ID, *want[:-1]]]), trace=True)
    np.testing.assert_allclose(cross, tr.decoder.cross_probs[:, 0], atol=1e-4)


def test_one_beam_is_greedy(arch_client):
    r = arch_client.post("/api/translate", json={"model": "tiny-numbers", "source": "987654", "num_beams": 1})
    got = r.json()
    assert got["best"]["ids"] == got["greedy"]["ids"]


def test_translate_refusals_name_the_field(arch_client):
    def post(**body):
        return arch_client.post("/api/translate", json={"model": "tiny-numbers", "source": "12", **body})

    r = post(source="12a")
    assert r.status_code == 422 and r.json()["detail"].startswith("source:")
    r = post(source="123456789")
    assert r.status_code == 422 and "encoder's context of 8" in r.json()["detail"]
    for field, value in (("num_beams", 0), ("num_beams", 9), ("length_penalty", 3), ("max_new_tokens", 0)):
        r = post(**{field: value})
        assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == field
    assert post(model="missing").status_code == 404
    r = post(model="tiny-lstm")
    assert r.status_code == 422 and "tiny-numbers" in r.json()["detail"]
    r = arch_client.post("/api/generate", json={"model": "tiny-numbers", "prompt": "1"})
    assert r.status_code == 422 and "tiny-lstm" in r.json()["detail"]  # the language-model routes refuse it


def test_cross_mask_of_a_padded_batch(arch_client):
    r = arch_client.post("/api/cross-mask", json={"model": "tiny-numbers", "sources": ["7", "12345", "808"]})
    assert r.status_code == 200, r.text
    got = r.json()
    assert got["source_padding"] == [[0, 0, 0, 0, 1], [1, 1, 1, 1, 1], [0, 0, 1, 1, 1]]
    assert got["source_tokens"][0] == [None, None, None, None, "7"]
    cross = np.asarray(got["cross"])
    src = np.asarray(got["source_padding"], dtype=bool)
    tgt = np.asarray(got["target_padding"], dtype=bool)
    np.testing.assert_array_equal(cross, tgt[:, :, None] & src[:, None, :])
    assert all(row[0] == "<s>" for row in got["target_tokens"])
    r = arch_client.post("/api/cross-mask", json={"model": "tiny-numbers", "sources": ["1", "x"]})
    assert r.status_code == 422 and r.json()["detail"].startswith("sources.1:")


def test_an_encoder_decoder_without_its_tokenizer_pair_is_reported(tmp_path):
    from models.config import EncDecConfig
    from models.weights import init_encdec_params, save_model_dir
    from server.registry import Registry

    cfg = EncDecConfig(n_enc_layer=1, n_dec_layer=1, n_embd=8)
    save_model_dir(tmp_path / "lonely", cfg, init_encdec_params(cfg), source_tokenizer().to_json())
    registry = Registry.scan(tmp_path)
    assert not registry.models and "source/target tokenizer pair" in registry.errors["lonely"]
