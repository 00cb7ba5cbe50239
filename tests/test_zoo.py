"""Every shipped model: loads in both twins, matches its card, and the twins continue text alike."""

import json
from pathlib import Path

import numpy as np
import pytest

from models import SamplingParams, generate, load_model, load_tokenizer, shipped_models, zoo_dir
from models.commands.ship import slice_loss
from models.generate import TokenEvent
from models.weights import read_json

TEXT = Path(__file__).resolve().parents[2] / "shared" / "data" / "tinyshakespeare.txt"
SHIPPED = [n for n in shipped_models() if read_json(zoo_dir() / n / "card.json").get("task", "lm") == "lm"]


def test_all_weights_fit_the_budget():
    total = sum(p.stat().st_size for p in zoo_dir().glob("*/model.safetensors"))
    assert total <= 40 * 2**20, f"shipped weights take {total / 2**20:.1f} MiB"


@pytest.mark.parametrize("name", SHIPPED)
def test_card_is_complete(name):
    card = read_json(zoo_dir() / name / "card.json")
    for key in ("data", "tokenizer", "config", "parameters", "steps", "wall_time_s", "hardware", "command"):
        assert key in card, key
    for key in ("train_loss", "val_loss"):
        assert np.isfinite(card[key])
    assert len(card["sample"]["text"]) == 300
    assert (zoo_dir() / name / "README.md").is_file()
    lines = (zoo_dir() / name / "metrics.jsonl").read_text().splitlines()
    assert lines and all("val_loss" in json.loads(line) for line in lines)


@pytest.mark.parametrize("name", SHIPPED)
def test_numpy_twin_matches_the_card_on_a_fixed_validation_slice(name):
    if not TEXT.is_file():
        pytest.skip(f"{TEXT} is not here")
    card = read_json(zoo_dir() / name / "card.json")
    text = TEXT.read_text(encoding="utf-8")
    assert card["data"]["splits"]["train"]["chars"] == int(len(text) * 0.9)
    val = np.asarray(load_tokenizer(name).encode(text[int(len(text) * 0.9) :]))
    loss = slice_loss(load_model(name, "numpy"), val)
    assert abs(loss - card["validation"]["slice"]["loss"]) <= 0.02


@pytest.mark.parametrize("name", SHIPPED)
def test_greedy_continuations_agree_across_backends(name):
    tok = load_tokenizer(name)
    prompt = tok.encode("ROMEO:\nWhat light")
    greedy = SamplingParams(temperature=0)
    out = []
    for backend in ("numpy", "torch"):
        events = generate(load_model(name, backend), prompt, 100, greedy)
        out.append([e.id for e in events if isinstance(e, TokenEvent)])
    assert out[0] == out[1]


# -- masked language models ------------------------------------------------------------------------

MLM_SHIPPED = [n for n in shipped_models() if read_json(zoo_dir() / n / "card.json").get("task") == "mlm"]


def mlm_slice(name):
    """The card's slice again: the validation split's first windows, masked as shipping masks them."""
    from models.evaluate import MLM_SLICE, mlm_windows
    from models.mlm import MASK_CHAR

    text = TEXT.read_text(encoding="utf-8")
    tok = load_tokenizer(name)
    val = np.asarray(tok.encode(text[int(len(text) * 0.9) :]))
    T = read_json(zoo_dir() / name / "config.json")["block_size"]
    _, inputs, targets = mlm_windows(val, T, tok.stoi[MASK_CHAR], tok.vocab_size)
    return inputs[:MLM_SLICE], targets[:MLM_SLICE]


@pytest.mark.parametrize("name", MLM_SHIPPED)
def test_masked_lm_card_is_complete(name):
    card = read_json(zoo_dir() / name / "card.json")
    for key in ("data", "tokenizer", "config", "parameters", "steps", "wall_time_s", "hardware", "command"):
        assert key in card, key
    assert card["architecture"] == "encoder" and card["tokenizer"]["mask_token"] == "\u2588"
    v = card["validation"]
    assert v["windows"] * card["config"]["block_size"] == v["tokens"] > 100_000  # the whole split
    assert 0.1 < v["masked"] / v["tokens"] < 0.2
    assert (
        v["perplexity"] == pytest.approx(np.exp(v["loss"])) and 0 < v["accuracy"] <= v["top5_accuracy"] <= 1
    )
    assert len(card["examples"]) == 3 and all(e["guesses"] for e in card["examples"])
    assert "--arch encoder --task mlm" in card["command"]
    readme = (zoo_dir() / name / "README.md").read_text()
    assert card["command"] in readme and f"{v['loss']:.4f}" in readme
    lines = (zoo_dir() / name / "metrics.jsonl").read_text().splitlines()
    assert lines and all("val_accuracy" in json.loads(line) for line in lines)


@pytest.mark.parametrize("name", MLM_SHIPPED)
def test_masked_lm_matches_the_card_on_its_slice_in_both_twins(name):
    from models.evaluate import score_masked

    if not TEXT.is_file():
        pytest.skip(f"{TEXT} is not here")
    piece = read_json(zoo_dir() / name / "card.json")["validation"]["slice"]
    inputs, targets = mlm_slice(name)
    scores = {b: score_masked(load_model(name, b), inputs, targets) for b in ("numpy", "torch")}
    assert abs(scores["numpy"].loss - piece["loss"]) <= 0.02
    assert abs(scores["numpy"].accuracy - piece["accuracy"]) <= 0.01
    assert scores["torch"].loss == pytest.approx(scores["numpy"].loss, abs=1e-4)
    assert scores["torch"].accuracy == pytest.approx(scores["numpy"].accuracy, abs=3 / scores["numpy"].masked)


@pytest.mark.parametrize("name", MLM_SHIPPED)
def test_masked_lm_fill_ins_agree_across_backends(name):
    from models.evaluate import fill_masks
    from models.mlm import MASK_CHAR

    card = read_json(zoo_dir() / name / "card.json")
    tok = load_tokenizer(name)
    for e in card["examples"]:
        positions = [g["position"] for g in e["guesses"]]
        ids = tok.encode(e["text"])
        out = [
            fill_masks(load_model(name, b), ids, positions, tok.stoi[MASK_CHAR], k=1)
            for b in ("numpy", "torch")
        ]
        assert [g["ids"] for g in out[0]] == [g["ids"] for g in out[1]]
        assert [tok.decode(g["ids"]) for g in out[0]] == [g["top"][0]["char"] for g in e["guesses"]]
