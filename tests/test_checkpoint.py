"""Your own checkpoint: a Hugging Face GPT-2 folder (config.json + model.safetensors + vocab.json/merges.txt,
no tokenizer.json, no card) served on both backends, and ``playground check`` on it."""

import json
import shutil

import numpy as np
import pytest

from models.loading import load_model, load_tokenizer
from server.cli import main

from helpers import sse_events

transformers = pytest.importorskip("transformers")
from hf_gpt2 import build_hf_gpt2  # noqa: E402 - needs transformers


@pytest.fixture(scope="module")
def hf_folder(tmp_path_factory):
    """The tiny GPT-2 as transformers writes it; tests copy it before they change anything."""
    return build_hf_gpt2(tmp_path_factory.mktemp("hf") / "tiny-gpt2")


@pytest.fixture
def models_dir(tmp_path, hf_folder):
    shutil.copytree(hf_folder, tmp_path / "models" / "tiny-gpt2")
    return tmp_path / "models"


def test_the_folder_is_gpt2s_own_files(hf_folder):
    names = {p.name for p in hf_folder.iterdir()}
    assert {"config.json", "model.safetensors", "vocab.json", "merges.txt"} <= names
    assert "tokenizer.json" not in names and "card.json" not in names
    tok = load_tokenizer(hf_folder)
    assert tok.kind == "bpe" and tok.decode(tok.encode("ROMEO: soft light")) == "ROMEO: soft light"


def test_the_server_lists_a_card_less_gpt2_folder(make_client, models_dir):
    client = make_client(models_dir=models_dir)
    listing = client.get("/api/models").json()
    assert listing["unavailable"] == {}
    [m] = listing["models"]
    assert m["name"] == "tiny-gpt2" and m["architecture"] == "gpt" and m["tokenizer"] == "bpe"
    assert m["vocab_size"] == 300 and m["context"] == 64 and m["backends"] == ["torch", "numpy"]
    card = m["card"]
    assert card["name"] == "tiny-gpt2" and card["parameters"] == m["parameters"]
    assert card["tokenizer"] == {"kind": "bpe", "vocab_size": 300}
    page = client.get("/compare")  # the pages render a model without a card
    assert page.status_code == 200 and "tiny-gpt2" in page.text


def test_it_streams_the_same_greedy_tokens_on_both_backends(make_client, models_dir, hf_folder):
    client = make_client(models_dir=models_dir)
    body = {"model": "tiny-gpt2", "prompt": "ROMEO: But soft", "max_new_tokens": 12, "temperature": 0}
    runs = {}
    for backend in ("numpy", "torch"):
        events = sse_events(client.post("/api/generate", json={**body, "backend": backend}))
        assert [e["event"] for e in events] == ["start"] + ["token"] * 12 + ["done"], events[-1]
        runs[backend] = events[-1]["tokens"]
    assert runs["numpy"] == runs["torch"]
    # … and they are transformers' greedy tokens
    import torch

    hf = transformers.GPT2LMHeadModel.from_pretrained(hf_folder).eval()
    ids = load_tokenizer(hf_folder).encode(body["prompt"])
    with torch.no_grad():
        out = hf.generate(torch.as_tensor([ids]), max_new_tokens=12, do_sample=False, pad_token_id=0)
    assert out[0, len(ids) :].tolist() == runs["numpy"]


def test_trace_works_on_it(make_client, models_dir):
    client = make_client(models_dir=models_dir)
    r = client.post("/api/trace", json={"model": "tiny-gpt2", "text": "ROMEO: speak", "layer": 1, "head": 0})
    assert r.status_code == 200, r.text
    t = r.json()
    att = np.array(t["attention"])
    assert att.shape[:2] == (2, 2) and att.shape[2] == len(t["tokens"])
    np.testing.assert_allclose(att.sum(-1), 1, atol=1e-3)


def test_a_folder_without_any_tokenizer_is_reported_by_name(make_client, models_dir):
    (models_dir / "tiny-gpt2" / "merges.txt").unlink()
    listing = make_client(models_dir=models_dir).get("/api/models").json()
    assert listing["models"] == []
    assert "vocab.json + merges.txt" in listing["unavailable"]["tiny-gpt2"]


def test_check_prints_the_agreement_and_writes_a_card(models_dir, capsys):
    folder = models_dir / "tiny-gpt2"
    assert main(["check", str(folder), "--steps", "8"]) == 0
    out = capsys.readouterr().out
    assert "numpy twin vs torch twin:" in out and "greedy tokens, 8 steps (float32): equal" in out
    assert f"numpy twin vs transformers {transformers.__version__}:" in out
    assert "verdict: agree" in out and f"wrote {folder / 'card.json'}" in out
    card = json.loads((folder / "card.json").read_text())
    assert card["source"] == "checked folder" and card["architecture"] == "gpt"
    assert card["tokenizer"] == {"kind": "bpe", "vocab_size": 300}
    assert card["parameters"] == load_model(folder).num_parameters()
    for side in ("twins", "transformers"):
        figures = card["check"][side]
        assert figures["max_abs_diff"]["float32"] < 1e-4 and figures["max_abs_diff"]["float64"] < 1e-9
        assert figures["greedy_equal"] is True and figures["greedy_steps"] == 8


def test_check_never_overwrites_a_card_unless_forced(models_dir, capsys):
    folder = models_dir / "tiny-gpt2"
    (folder / "card.json").write_text('{"name": "mine"}')
    assert main(["check", str(folder), "--steps", "2", "--no-transformers"]) == 0
    out = capsys.readouterr().out
    assert (
        "exists: left as it is (--force replaces it)" in out and "transformers: not compared (skipped)" in out
    )
    assert json.loads((folder / "card.json").read_text()) == {"name": "mine"}
    assert main(["check", str(folder), "--steps", "2", "--force"]) == 0
    assert json.loads((folder / "card.json").read_text())["source"] == "checked folder"


def test_check_on_a_folder_that_is_not_a_model_is_a_message(tmp_path, capsys):
    assert main(["check", str(tmp_path / "missing")]) == 2
    assert "is not a folder" in capsys.readouterr().err
    assert main(["check", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "is not a model folder: it holds no config.json" in err and "Traceback" not in err
    (tmp_path / "config.json").write_text('{"model_type": "bert"}')
    assert main(["check", str(tmp_path)]) == 2
    assert "model_type must be 'gpt2'" in capsys.readouterr().err


def test_every_model_has_an_example_its_vocabulary_reads(arch_zoo, models_dir):
    """What "Measure all" on /compare sends a model whose vocabulary cannot read the page's text."""
    from server.registry import EXAMPLE_TEXT, Registry

    registry = Registry.scan(arch_zoo)
    examples = {name: e.example for name, e in registry.models.items()}
    assert examples == {
        "tiny-lstm": EXAMPLE_TEXT,
        "tiny-mlm": EXAMPLE_TEXT,
        "numbers-gpt": "4012=",  # a GPT on numbers reads "n="
        "tiny-numbers": "4012",  # the encoder-decoder's source: digits
    }
    assert all(not e.has_metrics for e in Registry.scan(models_dir).models.values())
    assert all(e.has_metrics for e in registry.models.values())
