"""``/api/trace`` and ``/api/compare-backends`` for every architecture: an encoder (masked LM), an
encoder-decoder (decoder with cross-attention on a given or greedy target), an LSTM (gates). The
numbers equal the twins' own traces; refusals name the field."""

import numpy as np
import pytest
from arch_zoo import SHAKESPEARE_CHARS

from models.loading import load_model
from models.mlm import with_mask_token
from models.numbers import BOS_ID, EOS_ID, source_tokenizer, target_tokenizer
from models.sampling import softmax
from models.seq2seq import greedy_translate
from models.tokenizer import CharTokenizer

TEXT = "ROMEO: But soft"


def trace(arch_client, **body):
    r = arch_client.post("/api/trace", json=body)
    assert r.status_code == 200, r.text
    return r.json()


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_an_encoder_is_traced_with_bidirectional_attention(arch_client, arch_zoo, backend):
    got = trace(arch_client, model="tiny-mlm", text=TEXT, layer=1, head=1, backend=backend)
    tok, _ = with_mask_token(CharTokenizer(sorted(set(SHAKESPEARE_CHARS))))
    ids = tok.encode(TEXT)
    assert got["architecture"] == "encoder" and got["ids"] == ids and got["head"] == 1
    T = len(ids)
    assert np.asarray(got["mask"]).all()  # no triangle: every token sees every token
    _, tr = load_model(arch_zoo / "tiny-mlm").forward(np.asarray([ids]), trace=True)
    att = np.asarray(got["attention"])
    assert att.shape == (2, 2, T, T)
    np.testing.assert_allclose(att, tr.att_probs[:, 0], atol=1e-4)
    assert np.triu(att[1, 1], 1).max() > 0.01  # a query reads keys to its right
    np.testing.assert_allclose(got["q"], tr.q[1, 0, 1], atol=1e-4)
    np.testing.assert_allclose(got["scores"], tr.att_scores[1, 0, 1], atol=1e-4)
    # the last block's lens is the masked LM's own prediction at every position
    top = [row[0]["id"] for row in got["logit_lens"][-1]]
    assert top == list(np.argmax(tr.logits[0], axis=-1))
    assert got["next_token"] is None and got["next_logits"] is None and got["decoder"] is None


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_an_encoder_decoder_traces_its_greedy_translation(arch_client, arch_zoo, backend):
    got = trace(arch_client, model="tiny-numbers", text="4012", head=1, backend=backend)
    model = load_model(arch_zoo / "tiny-numbers")
    src = source_tokenizer().encode("4012")
    out = greedy_translate(model, [src], BOS_ID, EOS_ID, 11)[0]
    tgt = [BOS_ID, *[i for i in out if i != EOS_ID]]
    assert got["architecture"] == "encoder-decoder" and got["tokens"] == list("4012")
    dec = got["decoder"]
    assert dec["ids"] == tgt and dec["tokens"] == target_tokenizer().token_strings(tgt)
    _, tr = model.forward(np.asarray([src]), np.asarray([tgt]), trace=True)
    S, T = len(src), len(tgt)
    # the encoder (1 layer) at the top level, with no head of its own
    np.testing.assert_allclose(got["attention"], tr.encoder.att_probs[:, 0], atol=1e-4)
    assert np.asarray(got["attention"]).shape == (1, 2, S, S) and got["logit_lens"] is None
    # the decoder: causal self-attention, cross-attention over the whole source
    np.testing.assert_allclose(dec["attention"], tr.decoder.att_probs[:, 0], atol=1e-4)
    assert np.asarray(dec["mask"]).tolist() == np.tril(np.ones((T, T), dtype=bool)).tolist()
    cross = dec["cross"]
    assert np.asarray(cross["attention"]).shape == (2, 2, T, S) and np.asarray(cross["mask"]).all()
    np.testing.assert_allclose(cross["attention"], tr.decoder.cross_probs[:, 0], atol=1e-4)
    np.testing.assert_allclose(cross["scores"], tr.decoder.cross_scores[0, 0, 1], atol=1e-4)
    np.testing.assert_allclose(cross["k"], tr.decoder.cross_k[0, 0, 1], atol=1e-4)
    # row t of the lens' last layer is what the decoder wrote after reading tgt[..t]
    assert [row[0]["id"] for row in dec["logit_lens"][-1]][:-1] == tgt[1:]
    p = softmax(np.asarray(tr.decoder.logits[0, -1], dtype=np.float64))
    assert dec["next_token"][0]["id"] == int(np.argmax(p))
    assert dec["next_token"][0]["prob"] == pytest.approx(p.max(), abs=1e-6)


def test_an_encoder_decoder_reads_a_given_target(arch_client, arch_zoo):
    got = trace(arch_client, model="tiny-numbers", text="42", target="forty two", layer=0)
    want = [BOS_ID, *target_tokenizer().encode("forty two")]
    assert got["decoder"]["ids"] == want and got["decoder"]["tokens"] == ["<s>", "forty", "two"]
    assert np.asarray(got["decoder"]["cross"]["attention"]).shape == (2, 2, 3, 2)


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_an_lstm_sends_one_layers_gates_and_every_layers_state_sizes(arch_client, arch_zoo, backend):
    got = trace(arch_client, model="tiny-lstm", text=TEXT, layer=1, backend=backend)
    ids = CharTokenizer(sorted(set(SHAKESPEARE_CHARS))).encode(TEXT)
    assert got["architecture"] == "lstm" and got["head"] is None and got["attention"] is None
    _, tr = load_model(arch_zoo / "tiny-lstm").forward(np.asarray([ids]), trace=True)
    lstm = got["lstm"]
    assert lstm["n_hidden"] == 30 and lstm["gates"]["layer"] == 1
    for name in ("input_gate", "forget_gate", "cell_input", "output_gate", "cell", "hidden"):
        np.testing.assert_allclose(lstm["gates"][name], getattr(tr, name)[1, 0], atol=1e-4, err_msg=name)
    np.testing.assert_allclose(lstm["hidden_norm"], np.linalg.norm(tr.hidden[:, 0], axis=-1), atol=1e-4)
    np.testing.assert_allclose(lstm["cell_norm"], np.linalg.norm(tr.cell[:, 0], axis=-1), atol=1e-4)
    np.testing.assert_allclose(got["tok_emb"], tr.tok_emb[0], atol=1e-4)
    p = softmax(np.asarray(tr.logits[0, -1], dtype=np.float64))
    assert got["next_token"][0]["id"] == int(np.argmax(p)) and len(got["next_logits"]) == 65


def test_every_lstm_layer_is_the_twins_and_the_next_tokens_are_ranked(arch_client, arch_zoo):
    """What ``/api/lstm-trace`` sent before ``/api/trace`` took the LSTM over: any layer's gates,
    and the next tokens most likely first."""
    ids = CharTokenizer(sorted(set(SHAKESPEARE_CHARS))).encode(TEXT)
    _, tr = load_model(arch_zoo / "tiny-lstm").forward(np.asarray([ids]), trace=True)
    for layer in (0, 1):
        gates = trace(arch_client, model="tiny-lstm", text=TEXT, layer=layer)["lstm"]["gates"]
        for name in ("input_gate", "forget_gate", "cell_input", "output_gate", "cell", "hidden"):
            assert np.asarray(gates[name]).shape == (len(TEXT), 30)
            np.testing.assert_allclose(gates[name], getattr(tr, name)[layer, 0], atol=1e-4, err_msg=name)
    got = trace(arch_client, model="tiny-lstm", text=TEXT)
    p = softmax(np.asarray(tr.logits[0, -1], dtype=np.float64))
    assert [c["id"] for c in got["next_token"]] == list(np.argsort(-p, kind="stable")[:20])
    assert got["next_token"][0]["prob"] == pytest.approx(p.max(), abs=1e-6)
    r = arch_client.post("/api/trace", json={"model": "tiny-lstm", "text": ""})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "text"
    r = arch_client.post("/api/trace", json={"model": "tiny-lstm", "text": "a" * 129})
    assert r.status_code == 422 and "context of 128" in r.json()["detail"]
    assert arch_client.post("/api/trace", json={"model": "gone", "text": "abc"}).status_code == 404
    assert arch_client.post("/api/lstm-trace", json={"model": "tiny-lstm", "text": "abc"}).status_code == 404


def test_both_backends_trace_every_architecture_alike(arch_client):
    for body in (
        {"model": "tiny-mlm", "text": TEXT},
        {"model": "tiny-numbers", "text": "918273"},
        {"model": "tiny-lstm", "text": TEXT},
    ):
        a = trace(arch_client, **body, backend="numpy")
        b = trace(arch_client, **body, backend="torch")
        for key in ("attention", "tok_emb", "residual_norm", "lstm", "decoder"):
            if a[key] is None:
                assert b[key] is None
                continue
            flat_a, flat_b = (np.asarray(x[key]["hidden_norm"] if key == "lstm" else x[key]) for x in (a, b))
            if key == "decoder":
                flat_a, flat_b = (np.asarray(x["decoder"]["cross"]["attention"]) for x in (a, b))
            np.testing.assert_allclose(flat_a, flat_b, atol=2e-4, err_msg=f"{body['model']} {key}")


@pytest.mark.parametrize(
    "body, field",
    [
        ({"model": "tiny-lstm", "text": "abc", "head": 1}, "head: an LSTM has no attention heads"),
        ({"model": "tiny-lstm", "text": "abc", "layer": 2}, "layer: the model has layers 0..1"),
        ({"model": "tiny-numbers", "text": "42", "layer": 1}, "layer: the model has layers 0..0"),
        ({"model": "tiny-numbers", "text": "42", "head": 2}, "head: the model has heads 0..1"),
        ({"model": "tiny-numbers", "text": "4x"}, "text:"),
        ({"model": "tiny-numbers", "text": "123456789"}, "text: 9 tokens exceed the encoder's context of 8"),
        ({"model": "tiny-numbers", "text": "42", "target": "forty zwei"}, "target: words not in"),
        ({"model": "tiny-numbers", "text": "42", "target": "one " * 12}, "target: 12 words"),
        ({"model": "tiny-mlm", "text": "abc", "target": "x"}, "target: only an encoder-decoder"),
    ],
)
def test_trace_refusals_name_the_field(arch_client, body, field):
    r = arch_client.post("/api/trace", json=body)
    assert r.status_code == 422 and field in r.json()["detail"], r.text


def test_backends_compare_on_every_architecture(arch_client):
    for model, text, fields in (
        ("tiny-mlm", TEXT, {"att_probs", "logits"}),
        ("tiny-numbers", "4012", {"encoder.att_probs", "decoder.cross_probs", "decoder.logits"}),
        ("tiny-lstm", TEXT, {"forget_gate", "logits"}),
    ):
        r = arch_client.post("/api/compare-backends", json={"model": model, "text": text})
        assert r.status_code == 200, r.text
        diff = r.json()["max_abs_diff"]
        assert fields <= set(diff) and max(diff.values()) < 1e-4, (model, diff)
