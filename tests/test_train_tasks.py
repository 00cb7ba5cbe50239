"""`playground train` on its other tasks: numbers to words (encoder-decoder, and a GPT on
"1234=words" lines) and the masked LM; exact resume, export, ship, evaluate, bad input.

Tiny models on one thread, a few dozen steps each.
"""

from __future__ import annotations

import json
import signal
from pathlib import Path

import numpy as np
import pytest

from models import load_model, load_tokenizer
from models.evaluate import held_out, numbers_accuracy, translate
from models.numbers import gpt_line, split_numbers, to_words
from models.tokenizer import Seq2SeqTokenizers, WordTokenizer, tokenizer_from_json
from models.training.tasks import PromptNumbersTask, longest_gpt_line
from server.cli import main

from helpers import prepared_verse

OPTS = [
    "--batch-size", "16", "--eval-interval", "10", "--eval-iters", "2", "--warmup", "5", "--lr", "1e-2",
    "--seed", "3", "--threads", "1",
]  # fmt: skip
ENCDEC = [
    "--arch",
    "encoder-decoder",
    "--n-enc-layer",
    "1",
    "--n-dec-layer",
    "1",
    "--n-head",
    "2",
    "--n-embd",
    "16",
]
GPT = ["--arch", "gpt", "--task", "numbers", "--n-layer", "1", "--n-head", "2", "--n-embd", "16"]
TIMING = ("elapsed_s", "tokens_per_s")


def read_metrics(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


def curve(run: Path) -> list[dict]:
    return [{k: v for k, v in r.items() if k not in TIMING} for r in read_metrics(run)]


def train(out: Path, *args: str) -> int:
    return main(["train", "--out", str(out), *OPTS, *args])


@pytest.fixture(scope="module")
def encdec_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("runs") / "encdec"
    assert train(out, *ENCDEC, "--max-steps", "40") == 0
    return out


@pytest.fixture(scope="module")
def text_data(tmp_path_factory) -> Path:
    return prepared_verse(tmp_path_factory.mktemp("verse"), lines=600, words=8)


def test_the_encoder_decoder_learns_numbers_and_records_its_split(encdec_run):
    records = read_metrics(encdec_run)
    assert [r["step"] for r in records] == [0, 10, 20, 30, 40]
    assert set(records[0]) == {"step", "tokens", "train_loss", "val_loss", "val_accuracy", "lr", *TIMING}
    assert records[-1]["val_loss"] < records[0]["val_loss"] - 0.8
    assert records[-1]["train_loss"] < records[0]["train_loss"] - 0.8
    card = json.loads((encdec_run / "export" / "card.json").read_text())
    assert card["architecture"] == "encoder-decoder" and card["task"] == "numbers"
    assert card["data"]["split_seed"] == 0 and card["data"]["splits"]["test"] >= 2000
    assert card["tokenizer"]["vocab_size"] == 33 and card["config"]["n_embd"] == 16
    cmd = card["command"]
    assert "--arch encoder-decoder --task numbers --split-seed 0" in cmd and "prepare" not in cmd
    assert "--n-enc-layer 1" in cmd and "--n-layer" not in cmd and "--preset" not in cmd
    pair = load_tokenizer(encdec_run / "export")
    assert isinstance(pair, Seq2SeqTokenizers) and pair.vocab_size == 33
    source, target = pair
    assert source.encode("907") == [9, 0, 7] and target.decode(target.encode("nine hundred seven")) == (
        "nine hundred seven"
    )


def test_encoder_decoder_resume_equals_the_uninterrupted_run(encdec_run, tmp_path):
    out = tmp_path / "part"
    assert train(out, *ENCDEC, "--max-steps", "20", "--lr-decay-steps", "40") == 0
    assert main(["train", "--out", str(out), "--resume", "--max-steps", "40", "--threads", "1"]) == 0
    assert curve(out) == curve(encdec_run)
    tensors = {}
    for run in (out, encdec_run):
        info = json.loads((run / "checkpoint.json").read_text())
        assert info["task"] == {"name": "numbers", "split_seed": 0}
        from safetensors.numpy import load_file

        tensors[run] = load_file(run / info["tensors"])
    a, b = tensors[out], tensors[encdec_run]
    assert a.keys() == b.keys()
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)


def test_encoder_decoder_ctrl_c_then_resume_equals_the_uninterrupted_run(encdec_run, tmp_path, monkeypatch):
    from models.training.tasks import NumbersTask

    sample = NumbersTask.train_batch
    calls = 0

    def interrupting(self, rng, batch_size):
        nonlocal calls
        calls += 1
        if calls == 25:  # Ctrl-C in the middle of step 25
            signal.raise_signal(signal.SIGINT)
        return sample(self, rng, batch_size)

    out = tmp_path / "interrupted"
    monkeypatch.setattr(NumbersTask, "train_batch", interrupting)
    assert train(out, *ENCDEC, "--max-steps", "40") == 130
    monkeypatch.setattr(NumbersTask, "train_batch", sample)
    assert json.loads((out / "checkpoint.json").read_text())["progress"]["step"] == 25
    assert main(["train", "--out", str(out), "--resume", "--threads", "1"]) == 0
    assert curve(out) == curve(encdec_run)


def test_export_runs_on_both_twins_alike(encdec_run):
    export = encdec_run / "export"
    numbers = held_out(0, "test", 40)
    outputs = [translate(load_model(export, backend), numbers)[0] for backend in ("numpy", "torch")]
    assert outputs[0] == outputs[1]
    card = json.loads((export / "card.json").read_text())
    best = min(read_metrics(encdec_run), key=lambda r: r["val_loss"])
    assert card["val_accuracy"] == best["val_accuracy"] and card["steps"] == best["step"]


def test_a_gpt_learns_numbers_from_prompt_then_answer_lines(tmp_path):
    out = tmp_path / "gpt"
    assert train(out, *GPT, "--max-steps", "30") == 0
    records = read_metrics(out)
    assert records[-1]["val_loss"] < records[0]["val_loss"] - 0.8
    card = json.loads((out / "export" / "card.json").read_text())
    assert card["architecture"] == "gpt" and card["task"] == "numbers"
    assert card["config"]["block_size"] == longest_gpt_line() - 1
    assert "--preset small --task numbers --split-seed 0" in card["command"]
    tok = load_tokenizer(out / "export")
    assert tok.decode(tok.encode(gpt_line(123456))) == gpt_line(123456)


def test_prompt_batches_score_the_answer_only():
    task = PromptNumbersTask()
    batch = task.batch(np.array([7, 123456]))
    targets = batch.args[1].numpy()
    assert batch.tokens == len("seven\n") + len(to_words(123456) + "\n")
    assert task.batch_numbers([batch]).tolist() == [7, 123456]
    assert (targets[0, : len("7=") - 1] == -1).all() and targets[0, len("7=") - 1] != -1


def test_longest_line_is_the_longest_of_all():
    sample = np.random.default_rng(0).integers(0, 1_000_000, 20_000)
    assert max(len(gpt_line(int(n))) for n in sample) <= longest_gpt_line()
    assert longest_gpt_line() == len(gpt_line(777_777))


def test_training_numbers_are_never_held_out():
    task = PromptNumbersTask(split_seed=5)
    drawn = task.sample_numbers(np.random.default_rng(1), 5000)
    splits = split_numbers(5)
    assert not np.isin(drawn, splits["test"]).any() and not np.isin(drawn, splits["val"]).any()
    lengths = np.bincount([len(str(n)) for n in drawn], minlength=7)[1:]
    assert (lengths > 0).all() and lengths[5] > lengths[0]  # every length, longer ones more often


def test_the_masked_lm_trains_on_prepared_characters(text_data, tmp_path):
    out = tmp_path / "mlm"
    args = [
        "--arch",
        "encoder",
        "--data",
        str(text_data),
        "--n-layer",
        "1",
        "--n-head",
        "2",
        "--n-embd",
        "16",
    ]
    assert train(out, *args, "--block-size", "32", "--max-steps", "40") == 0
    records = read_metrics(out)
    assert set(records[0]) == {"step", "tokens", "train_loss", "val_loss", "val_accuracy", "lr", *TIMING}
    assert records[-1]["val_loss"] < records[0]["val_loss"] - 0.3
    assert records[-1]["val_accuracy"] > records[0]["val_accuracy"] + 0.05
    card = json.loads((out / "export" / "card.json").read_text())
    assert card["task"] == "mlm" and card["tokenizer"]["mask_token"] == "\u2588"
    assert "playground prepare" in card["command"] and "--arch encoder --task mlm" in card["command"]
    tok = load_tokenizer(out / "export")
    assert (
        tok.vocab_size
        == card["config"]["vocab_size"]
        == json.loads((text_data / "meta.json").read_text())["vocab_size"] + 1
    )
    assert main(["evaluate", str(out / "export"), "--data", str(text_data), "--windows", "8"]) == 0


def test_ship_and_evaluate_a_numbers_model(encdec_run, tmp_path, capsys):
    zoo = tmp_path / "zoo"
    assert main(["ship", str(encdec_run), "--name", "n2w", "--zoo", str(zoo)]) == 0
    d = zoo / "n2w"
    assert {p.name for p in d.iterdir()} == {
        "config.json", "model.safetensors", "tokenizer.json", "card.json", "metrics.jsonl", "README.md"
    }  # fmt: skip
    card = json.loads((d / "card.json").read_text())
    acc = card["accuracy"]
    assert acc["test"]["numbers"] == len(split_numbers(0)["test"]) >= 2000
    assert 0 <= acc["test"]["exact_match"] <= 1 and acc["slice"]["numbers"] == 300
    assert len(card["examples"]) == 3 and card["examples"][0]["number"] == int(split_numbers(0)["test"][0])
    recomputed = numbers_accuracy(load_model(d, "numpy"), held_out(0, "test", 300))
    assert recomputed.accuracy == pytest.approx(acc["slice"]["exact_match"])
    readme = (d / "README.md").read_text()
    assert card["command"] in readme and "held-out test exact match" in readme
    capsys.readouterr()
    assert main(["evaluate", str(d), "--limit", "50"]) == 0
    printed = capsys.readouterr().out
    assert "greedy exact match" in printed and "tokens/s" in printed and f"{card['parameters']:,}" in printed


def test_tokenizer_loader_reads_word_and_pair_json():
    words = WordTokenizer(["<pad>", "one", "two"])
    assert tokenizer_from_json(words.to_json()).decode([1, 2]) == "one two"
    from models.numbers import tokenizers_json

    pair = tokenizer_from_json(tokenizers_json())
    assert isinstance(pair, Seq2SeqTokenizers) and pair.to_json() == tokenizers_json()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--arch", "encoder", "--task", "numbers"], "--task numbers cannot train --arch encoder"),
        (["--arch", "lstm", "--task", "numbers"], "--task numbers cannot train --arch lstm"),
        (["--arch", "encoder-decoder", "--task", "lm"], "--task lm cannot train --arch encoder-decoder"),
        (["--arch", "gpt", "--task", "mlm"], "--task mlm cannot train --arch gpt"),
        (["--arch", "encoder-decoder", "--data", "x"], "--data: --task numbers generates its own data"),
        (["--arch", "encoder-decoder", "--n-layer", "2"], "--n-layer: not an option of the encoder-decoder"),
        (["--arch", "encoder-decoder", "--preset", "tiny"], "--preset names GPT sizes"),
        (["--arch", "gpt", "--task", "numbers", "--block-size", "20"], "--block-size 20 is too short"),
        (["--split-seed", "1", "--data", "nowhere"], "--split-seed applies to --task numbers only"),
    ],
)
def test_bad_tasks_are_refused_clearly(tmp_path, capsys, args, message):
    out = tmp_path / "run"
    assert main(["train", "--out", str(out), "--max-steps", "1", "--threads", "1", *args]) == 2
    assert message in capsys.readouterr().err
    assert not (out / "checkpoint.json").exists()


def test_an_unknown_task_is_an_argument_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "--task", "poetry", "--out", str(tmp_path / "run")])
    assert exit_info.value.code == 2
    assert "invalid choice: 'poetry'" in capsys.readouterr().err


def test_a_masked_lm_needs_characters(tmp_path, capsys):
    text = tmp_path / "t.txt"
    text.write_text("to be or not to be, that is the question\n" * 200, encoding="utf-8")
    data = tmp_path / "bpe"
    assert (
        main(
            ["prepare", "--text", str(text), "--tokenizer", "bpe", "--vocab-size", "300", "--out", str(data)]
        )
        == 0
    )
    capsys.readouterr()
    assert (
        main(
            [
                "train",
                "--arch",
                "encoder",
                "--data",
                str(data),
                "--out",
                str(tmp_path / "r"),
                "--threads",
                "1",
            ]
        )
        == 2
    )
    assert "--task mlm reads a character vocabulary" in capsys.readouterr().err


def test_evaluate_refuses_a_language_model(tmp_path, capsys):
    from models.loading import shipped_models

    lms = [n for n in shipped_models() if n.startswith("shakespeare")]
    if not lms:
        pytest.skip("no language model shipped")
    assert main(["evaluate", lms[0]]) == 2
    assert "is a language model (task lm): measure it on a text with --text FILE" in capsys.readouterr().err
