"""`playground ship` and `playground evaluate` for a masked LM, and `ship` for an LSTM language model:
tiny runs of a few dozen steps on a generated text, one thread."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from models import load_model, load_tokenizer
from models.commands.ship import N_MASKED
from models.evaluate import MLM_SLICE, fill_masks, mlm_windows, score_masked
from models.mlm import MASK_CHAR
from models.training.data import load_data
from server.cli import main

from helpers import prepared_verse

OPTS = [
    "--batch-size", "16", "--eval-interval", "10", "--eval-iters", "2", "--warmup", "5", "--lr", "1e-2",
    "--seed", "3", "--threads", "1",
]  # fmt: skip
MLM = ["--arch", "encoder", "--n-layer", "1", "--n-head", "2", "--n-embd", "16", "--block-size", "48"]
LSTM = ["--arch", "lstm", "--n-layer", "1", "--n-embd", "16", "--n-hidden", "24", "--block-size", "32"]
FILES = {"config.json", "model.safetensors", "tokenizer.json", "card.json", "metrics.jsonl", "README.md"}


@pytest.fixture(scope="module")
def text_data(tmp_path_factory) -> Path:
    return prepared_verse(tmp_path_factory.mktemp("verse"), lines=700, words=7)


@pytest.fixture(scope="module")
def mlm_run(text_data, tmp_path_factory) -> Path:
    run = tmp_path_factory.mktemp("runs") / "mlm"
    assert main(["train", "--out", str(run), "--data", str(text_data), *MLM, *OPTS, "--max-steps", "30"]) == 0
    return run


@pytest.fixture(scope="module")
def shipped_mlm(mlm_run, tmp_path_factory) -> Path:
    zoo = tmp_path_factory.mktemp("zoo")
    assert main(["ship", str(mlm_run), "--name", "verse-mlm", "--zoo", str(zoo)]) == 0
    return zoo / "verse-mlm"


def card_of(d: Path) -> dict:
    return json.loads((d / "card.json").read_text())


def test_ship_measures_the_whole_validation_split(shipped_mlm, mlm_run, text_data):
    d = shipped_mlm
    assert {p.name for p in d.iterdir()} == FILES
    card = card_of(d)
    v = card["validation"]
    val = load_data(text_data).val
    assert v["windows"] == len(val) // 48 and v["tokens"] == v["windows"] * 48
    tok = load_tokenizer(d)
    *_, targets = mlm_windows(val, 48, tok.stoi[MASK_CHAR], tok.vocab_size)
    assert v["masked"] == int((targets != -1).sum())
    assert 0.1 < v["masked"] / v["tokens"] < 0.2  # about 15 % chosen
    assert v["perplexity"] == pytest.approx(np.exp(v["loss"]))
    assert 0 <= v["accuracy"] <= v["top5_accuracy"] <= 1
    assert v["accuracy"] > 0.1  # 30 steps learn the commonest letters
    assert abs(v["loss"] - card["val_loss"]) < 0.3  # whole split vs the training-time estimate
    assert card["command"].startswith("playground prepare") and "--arch encoder --task mlm" in card["command"]
    assert "--max-steps 30" in card["command"]
    readme = (d / "README.md").read_text()
    assert card["command"] in readme and f"{v['loss']:.4f}" in readme and "top-5" in readme
    assert (d / "metrics.jsonl").read_text() == (mlm_run / "metrics.jsonl").read_text()


def test_the_cards_slice_recomputes_on_both_twins(shipped_mlm, text_data):
    card = card_of(shipped_mlm)
    tok = load_tokenizer(shipped_mlm)
    _, inputs, targets = mlm_windows(load_data(text_data).val, 48, tok.stoi[MASK_CHAR], tok.vocab_size)
    piece = card["validation"]["slice"]
    assert piece["windows"] == MLM_SLICE
    for backend in ("numpy", "torch"):
        s = score_masked(load_model(shipped_mlm, backend), inputs[:MLM_SLICE], targets[:MLM_SLICE])
        assert s.loss == pytest.approx(piece["loss"], abs=1e-4)
        assert s.accuracy == pytest.approx(piece["accuracy"], abs=2 / s.masked)


def test_examples_hide_letters_and_record_the_guesses(shipped_mlm):
    card = card_of(shipped_mlm)
    tok = load_tokenizer(shipped_mlm)
    model = load_model(shipped_mlm, "numpy")
    assert len(card["examples"]) == 3
    for e in card["examples"]:
        assert len(e["text"]) == len(e["masked"]) == len(e["filled"]) <= 48
        positions = [g["position"] for g in e["guesses"]]
        assert len(positions) == N_MASKED and positions == sorted(set(positions))
        assert [i for i, ch in enumerate(e["masked"]) if ch == MASK_CHAR] == positions
        assert all(e["text"][p].isalpha() for p in positions)
        again = fill_masks(model, tok.encode(e["text"]), positions, tok.stoi[MASK_CHAR])
        for g, r in zip(e["guesses"], again, strict=True):
            assert g["answer"] == e["text"][g["position"]] == tok.decode([r["target"]])
            assert [t["char"] for t in g["top"]] == [tok.decode([i]) for i in r["ids"]]
            assert g["top"][0]["prob"] == pytest.approx(r["probs"][0], rel=1e-6)
            assert g["correct"] == (e["filled"][g["position"]] == g["answer"])
            assert e["filled"][g["position"]] == g["top"][0]["char"]
        assert sum(a != b for a, b in zip(e["text"], e["filled"], strict=True)) <= N_MASKED


def test_evaluate_prints_the_cards_numbers(shipped_mlm, text_data, capsys):
    card = card_of(shipped_mlm)
    capsys.readouterr()
    assert main(["evaluate", str(shipped_mlm), "--data", str(text_data)]) == 0
    out = capsys.readouterr().out
    v = card["validation"]
    assert f"masked-token loss: {v['loss']:.4f} nats" in out
    assert f"top-1 {100 * v['accuracy']:.2f}%, top-5 {100 * v['top5_accuracy']:.2f}%" in out
    assert f"{v['windows']:,} non-overlapping windows" in out and "tokens/s" in out
    assert main(["evaluate", str(shipped_mlm), "--data", str(text_data), "--windows", str(MLM_SLICE)]) == 0
    assert f"masked-token loss: {v['slice']['loss']:.4f} nats" in capsys.readouterr().out


def test_evaluate_refuses_data_of_another_text(shipped_mlm, tmp_path, capsys):
    text = tmp_path / "other.txt"
    text.write_text("the king and the queen, my lord.\n" * 300, encoding="utf-8")
    assert main(["prepare", "--text", str(text), "--out", str(tmp_path / "other")]) == 0
    capsys.readouterr()
    assert main(["evaluate", str(shipped_mlm), "--data", str(tmp_path / "other")]) == 2
    assert "prepared from another text" in capsys.readouterr().err


def test_an_lstm_ships_with_a_card_of_its_own_shape(text_data, tmp_path):
    run = tmp_path / "lstm"
    assert (
        main(["train", "--out", str(run), "--data", str(text_data), *LSTM, *OPTS, "--max-steps", "20"]) == 0
    )
    assert main(["ship", str(run), "--name", "verse-lstm", "--zoo", str(tmp_path / "zoo")]) == 0
    d = tmp_path / "zoo" / "verse-lstm"
    assert {p.name for p in d.iterdir()} == FILES
    card = card_of(d)
    v = card["validation"]
    assert card["architecture"] == "lstm" and v["tokens"] == v["chars"] > 0
    assert abs(v["loss"] - card["val_loss"]) < 0.2
    readme = (d / "README.md").read_text()
    assert "1-layer LSTM" in readme and "24 hidden units" in readme and card["command"] in readme
    assert (d / "metrics.jsonl").read_text() == (run / "metrics.jsonl").read_text()
