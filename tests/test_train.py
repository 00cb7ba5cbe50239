"""The training pipeline: `playground prepare`, `playground train`, resume, export, no pickle.

Everything runs on a generated text and a one-layer model, on one thread (so another busy
process on the machine cannot stall torch's thread pool), in a few seconds.
"""

from __future__ import annotations

import json
import signal
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.numpy import load_file

import models.training.data
import models.training.loop
import models.training.tasks
from models import load_model, load_tokenizer
from models.training.data import load_data
from server.cli import main

TINY = [
    "--n-layer", "1", "--n-head", "2", "--n-embd", "16", "--block-size", "32", "--dropout", "0.1",
    "--batch-size", "8", "--eval-interval", "10", "--eval-iters", "2", "--warmup", "5", "--lr", "3e-3",
    "--seed", "7", "--threads", "1",
]  # fmt: skip
# Per-session fields: wall time differs between runs, the curve must not.
TIMING = ("elapsed_s", "tokens_per_s")


def make_text(n_words: int = 6000) -> str:
    """Pseudo-verse with a small vocabulary: learnable in a few dozen steps."""
    rng = np.random.default_rng(0)
    words = "the king queen lord my thy and of to be not what is this good night love death sweet".split()
    lines = [" ".join(rng.choice(words, size=8)).capitalize() + "," for _ in range(n_words // 8)]
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def text_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("text") / "verse.txt"
    path.write_text(make_text(), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def char_data(text_file, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("data") / "verse-char"
    assert main(["prepare", "--text", str(text_file), "--out", str(out)]) == 0
    return out


def train(data: Path, out: Path, *extra: str) -> int:
    return main(["train", "--data", str(data), "--out", str(out), *TINY, *extra])


def read_metrics(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


def curve(run: Path) -> list[dict]:
    return [{k: v for k, v in r.items() if k not in TIMING} for r in read_metrics(run)]


@pytest.fixture(scope="module")
def full_run(char_data, tmp_path_factory) -> Path:
    """40 uninterrupted steps: the reference for resume and export."""
    out = tmp_path_factory.mktemp("runs") / "full"
    assert train(char_data, out, "--max-steps", "40") == 0
    return out


@pytest.mark.parametrize("kind", ["char", "bpe"])
def test_prepare_writes_split_and_meta(text_file, tmp_path, kind):
    out = tmp_path / kind
    extra = ["--vocab-size", "300"] if kind == "bpe" else []
    assert main(["prepare", "--text", str(text_file), "--tokenizer", kind, "--out", str(out), *extra]) == 0
    text = text_file.read_text(encoding="utf-8")
    data = load_data(out)
    meta, splits = data.meta, data.meta["splits"]
    assert meta["tokenizer"] == kind and meta["text_name"] == "verse.txt" and len(meta["sha256"]) == 64
    assert splits["train"]["chars"] == int(0.9 * len(text))
    assert splits["train"]["chars"] + splits["val"]["chars"] == len(text)
    assert (splits["train"]["tokens"], splits["val"]["tokens"]) == (len(data.train), len(data.val))
    tokenizer = load_tokenizer(out / "tokenizer.json")
    assert tokenizer.vocab_size == meta["vocab_size"]
    assert max(data.train.max(), data.val.max()) < meta["vocab_size"]
    n_train = splits["train"]["chars"]
    assert tokenizer.decode(data.train) == text[:n_train]
    assert tokenizer.decode(data.val) == text[n_train:]
    if kind == "bpe":
        assert 256 < meta["vocab_size"] <= 300
        assert splits["train"]["tokens"] < splits["train"]["chars"]  # merges compress


def test_loss_falls_and_metrics_are_logged(full_run):
    records = read_metrics(full_run)
    assert [r["step"] for r in records] == [0, 10, 20, 30, 40]
    losses = {"train_loss", "val_loss", "val_ppl", "val_bpc"}
    assert set(records[0]) == {"step", "tokens", *losses, "lr", *TIMING}
    assert records[-1]["tokens"] == 40 * 8 * 32
    assert records[-1]["val_loss"] < records[0]["val_loss"] - 0.5
    assert records[-1]["train_loss"] < records[0]["train_loss"] - 0.5
    last = records[-1]
    assert last["val_ppl"] == pytest.approx(np.exp(last["val_loss"]))
    assert last["val_bpc"] == pytest.approx(last["val_loss"] / np.log(2))  # characters: 1 token each


def test_resume_reproduces_the_uninterrupted_run(char_data, full_run, tmp_path):
    out = tmp_path / "resumed"
    assert train(char_data, out, "--max-steps", "20", "--lr-decay-steps", "40") == 0
    assert [r["step"] for r in read_metrics(out)] == [0, 10, 20]
    assert main(["train", "--out", str(out), "--resume", "--max-steps", "40", "--threads", "1"]) == 0
    assert curve(out) == curve(full_run)
    assert_same_checkpoint(out, full_run)


def test_ctrl_c_saves_a_checkpoint_that_resumes_exactly(char_data, full_run, tmp_path, monkeypatch):
    sample = models.training.tasks.sample_batch
    calls = 0

    def interrupting_sample(*args, **kwargs):
        nonlocal calls
        calls += 1
        if calls == 25:  # Ctrl-C in the middle of step 25
            signal.raise_signal(signal.SIGINT)
        return sample(*args, **kwargs)

    out = tmp_path / "interrupted"
    monkeypatch.setattr(models.training.tasks, "sample_batch", interrupting_sample)
    assert train(char_data, out, "--max-steps", "40") == 130
    monkeypatch.setattr(models.training.tasks, "sample_batch", sample)
    assert json.loads((out / "checkpoint.json").read_text())["progress"]["step"] == 25
    assert main(["train", "--out", str(out), "--resume", "--threads", "1"]) == 0
    assert curve(out) == curve(full_run)
    assert_same_checkpoint(out, full_run)


def assert_same_checkpoint(run_a: Path, run_b: Path) -> None:
    def tensors(run: Path) -> dict[str, np.ndarray]:
        return load_file(run / json.loads((run / "checkpoint.json").read_text())["tensors"])

    a, b = tensors(run_a), tensors(run_b)
    assert a.keys() == b.keys()
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)


def test_export_loads_in_both_twins_with_equal_loss(char_data, full_run):
    export = full_run / "export"
    card = json.loads((export / "card.json").read_text())
    best = min(read_metrics(full_run), key=lambda r: r["val_loss"])
    assert card["steps"] == best["step"] and card["tokens"] == best["tokens"]
    assert card["val_loss"] == best["val_loss"] and card["train_loss"] == best["train_loss"]
    assert card["architecture"] == "gpt"
    assert card["tokenizer"] == {"kind": "char", "vocab_size": len(set(make_text()))}
    assert card["parameters"] > 0 and card["hardware"]["threads"] == 1
    assert "playground train" in card["command"] and "--max-steps 40" in card["command"]

    tokenizer = load_tokenizer(export)
    ids = load_data(char_data).val[:66].astype(np.int64).reshape(2, 33)  # (B, T+1)
    numpy_model = load_model(export, "numpy")
    torch_model = load_model(export, "torch")
    numpy_loss = numpy_model.loss(ids[:, :-1], ids[:, 1:])
    with torch.inference_mode():
        torch_loss = torch_model.loss(torch.from_numpy(ids[:, :-1]), torch.from_numpy(ids[:, 1:])).item()
    assert abs(numpy_loss - torch_loss) < 1e-5
    assert numpy_model.config.vocab_size == tokenizer.vocab_size
    text = make_text()
    assert tokenizer.decode(tokenizer.encode(text[:200])) == text[:200]


def test_missing_text_names_the_flag(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv(models.training.data.TEXT_ENV, raising=False)
    monkeypatch.setattr(models.training.data, "DEFAULT_TEXT", tmp_path / "absent.txt")
    assert main(["prepare", "--out", str(tmp_path / "data")]) == 2
    assert "--text" in capsys.readouterr().err
    assert main(["prepare", "--text", str(tmp_path / "nope.txt")]) == 2
    assert "--text" in capsys.readouterr().err
    assert main(["train", "--data", str(tmp_path / "unprepared"), "--out", str(tmp_path / "run")]) == 2
    assert "playground prepare" in capsys.readouterr().err


def test_runs_are_not_overwritten_or_changed_on_resume(char_data, full_run, capsys):
    assert train(char_data, full_run, "--max-steps", "40") == 2
    assert "--resume" in capsys.readouterr().err
    assert main(["train", "--out", str(full_run), "--resume", "--n-layer", "2"]) == 2
    assert "--n-layer" in capsys.readouterr().err


def test_time_budget_stops_with_a_checkpoint(char_data, tmp_path):
    out = tmp_path / "budget"
    assert train(char_data, out, "--max-steps", "100000", "--max-minutes", "0.002") == 0
    step = json.loads((out / "checkpoint.json").read_text())["progress"]["step"]
    assert 0 < step < 100000
    assert read_metrics(out)[-1]["step"] == step  # the last model is evaluated too


def test_nothing_is_pickled(char_data, full_run):
    files = [p for p in full_run.rglob("*") if p.is_file()]
    assert {p.suffix for p in files} == {".json", ".jsonl", ".safetensors"}
    for path in files:
        if path.suffix == ".safetensors":
            load_file(path)  # safetensors only: raises on anything else
    for split in ("train", "val"):
        assert np.load(char_data / f"{split}.npy", allow_pickle=False).dtype == np.uint16
    for module in (models.training.loop, models.training.data):
        source = Path(module.__file__).read_text()
        for forbidden in ("torch.save(", "torch.load(", "import pickle", "allow_pickle=True"):
            assert forbidden not in source, f"{module.__name__} uses {forbidden}"


def test_ship_copies_the_best_model_and_completes_its_card(full_run, tmp_path):
    zoo = tmp_path / "zoo"
    assert main(["ship", str(full_run), "--name", "verse", "--zoo", str(zoo), "--seed", "3"]) == 0
    d = zoo / "verse"
    assert {p.name for p in d.iterdir()} == {
        "config.json", "model.safetensors", "tokenizer.json", "card.json", "metrics.jsonl", "README.md"
    }  # fmt: skip
    card = json.loads((d / "card.json").read_text())
    v = card["validation"]
    assert v["tokens"] == v["chars"] > 0  # a character model: one token per character
    assert v["bits_per_char"] == pytest.approx(v["loss"] / np.log(2))
    assert abs(v["loss"] - card["val_loss"]) < 0.1  # whole split vs the training-time estimate
    assert len(card["sample"]["text"]) == 300 and card["sample"]["seed"] == 3
    assert "--lr-decay-steps" in card["command"] and "playground prepare" in card["command"]
    readme = (d / "README.md").read_text()
    assert card["sample"]["text"] in readme and f"{v['loss']:.4f}" in readme
    assert (d / "metrics.jsonl").read_text() == (full_run / "metrics.jsonl").read_text()
    # the same model on both twins, the same sample again from the same seed
    tok = load_tokenizer(d)
    from models.commands.ship import sample_text

    assert sample_text(load_model(d, "torch"), tok, "\n", 3) == card["sample"]["text"]


LSTM_TINY = ("--arch", "lstm", "--n-layer", "2", "--n-embd", "16", "--n-hidden", "24", "--block-size", "32")
LSTM_OPTS = (
    "--batch-size",
    "8",
    "--eval-interval",
    "10",
    "--eval-iters",
    "2",
    "--lr",
    "1e-2",
    "--threads",
    "1",
)


def train_lstm(data: Path, out: Path, *extra: str) -> int:
    return main(["train", "--data", str(data), "--out", str(out), *LSTM_TINY, *LSTM_OPTS, *extra])


def test_an_lstm_trains_resumes_exactly_and_exports(char_data, tmp_path):
    full, part = tmp_path / "lstm-full", tmp_path / "lstm-part"
    assert train_lstm(char_data, full, "--max-steps", "30") == 0
    records = read_metrics(full)
    assert records[-1]["val_loss"] < records[0]["val_loss"] - 0.3
    assert train_lstm(char_data, part, "--max-steps", "20", "--lr-decay-steps", "30") == 0
    assert main(["train", "--out", str(part), "--resume", "--max-steps", "30", "--threads", "1"]) == 0
    assert curve(part) == curve(full)
    assert_same_checkpoint(part, full)

    export = full / "export"
    card = json.loads((export / "card.json").read_text())
    assert card["architecture"] == "lstm" and card["config"]["n_hidden"] == 24
    assert "--arch lstm" in card["command"] and "--n-hidden 24" in card["command"]
    assert "--preset" not in card["command"] and "--n-head" not in card["command"]
    ids = load_data(char_data).val[:66].astype(np.int64).reshape(2, 33)
    numpy_loss = load_model(export, "numpy").loss(ids[:, :-1], ids[:, 1:])
    with torch.inference_mode():
        torch_loss = load_model(export, "torch").loss(
            torch.from_numpy(ids[:, :-1]), torch.from_numpy(ids[:, 1:])
        )
    assert abs(numpy_loss - torch_loss.item()) < 1e-5


def test_flags_of_another_architecture_are_refused(char_data, tmp_path, capsys):
    assert train_lstm(char_data, tmp_path / "x", "--n-head", "2", "--max-steps", "1") != 0
    assert "--n-head: not an option of the lstm architecture" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()
