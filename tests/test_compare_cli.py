"""`playground compare`: a row per model of each architecture, quality from its card, both backends timed."""

import json

import numpy as np
import pytest
from arch_zoo import build_zoo

from server.cli import main


@pytest.fixture(scope="module")
def zoo(tmp_path_factory):
    return build_zoo(tmp_path_factory.mktemp("zoo"))


def test_one_row_per_model_with_both_backends(zoo, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("PLAYGROUND_ZOO", str(zoo))
    out = tmp_path / "compare.json"
    assert main(["compare", "--in-process", "--new-tokens", "4", "--json", str(out)]) == 0
    body = json.loads(out.read_text())
    assert body["format"] == "playground-compare/1" and body["backends"] == ["torch", "numpy"]
    assert body["machine"]["cpu"] and body["machine"]["torch"] and body["generated"].startswith("20")
    device = body["settings"]["device"]  # auto: the best here (cpu on a machine without a GPU)
    assert body["settings"] == {"new_tokens": 4, "threads": 1, "fresh_interpreter": False, "device": device}
    rows = {r["name"]: r for r in body["rows"]}
    assert {r["architecture"] for r in rows.values()} == {"gpt", "lstm", "encoder", "encoder-decoder"}
    for r in rows.values():
        assert [s["backend"] for s in r["speeds"]] == ["torch", "numpy"]
        assert [s["device"] for s in r["speeds"]] == [device, "cpu"]  # the NumPy twin always on the CPU
        assert all(s["tokens_per_s"] > 0 and s["peak_rss_mib"] > 10 for s in r["speeds"])
        assert r["parameters"] > 0 and r["file_bytes"] > 0
    assert rows["tiny-numbers"]["quality"] == {"exact_match": 0.5}  # from its card
    assert rows["tiny-numbers"]["task"] == "numbers" and rows["tiny-mlm"]["task"] == "mlm"
    assert rows["numbers-gpt"]["task"] == "numbers" and rows["tiny-lstm"]["task"] == "lm"
    what = {name: r["speeds"][0]["what"] for name, r in rows.items()}
    assert what["tiny-numbers"].startswith("words written") and what["numbers-gpt"].startswith("characters")
    assert what["tiny-mlm"].startswith("tokens read") and what["tiny-lstm"].endswith("LSTM state")
    table = capsys.readouterr().out
    assert table.splitlines()[0].split()[:3] == ["model", "architecture", "task"]
    assert "tiny-lstm" in table and "words written" in table and "50.00%" in table
    assert f"devices: numpy on cpu, torch on {device}" in table


def test_quality_is_what_each_task_is_scored_by():
    from models.commands.compare import quality_of

    lm = {"val_loss": 1.7, "val_ppl": 5.5, "val_bpc": 2.45, "validation": {"loss": 1.5, "perplexity": 4.5}}
    assert quality_of(lm, "lm") == (
        {"val_loss": 1.5, "val_ppl": 4.5, "val_bpc": 2.45},
        "whole validation split",
    )
    assert quality_of({"val_loss": 1.7}, "lm") == ({"val_loss": 1.7}, "training-time estimate")
    mlm = {
        "val_loss": 1.2,
        "validation": {"loss": 1.0, "perplexity": 2.7, "accuracy": 0.6, "top5_accuracy": 0.9},
    }
    q, source = quality_of(mlm, "mlm")
    assert q == {"masked_loss": 1.0, "masked_ppl": 2.7, "masked_accuracy": 0.6, "masked_top5": 0.9}
    assert source.startswith("whole validation split")
    q, source = quality_of({"val_loss": 1.2, "val_accuracy": 0.5}, "mlm")
    assert q == pytest.approx({"masked_loss": 1.2, "masked_ppl": np.exp(1.2), "masked_accuracy": 0.5})
    numbers = {"val_loss": 0.01, "accuracy": {"test": {"exact_match": 0.99, "numbers": 2990}}}
    assert quality_of(numbers, "numbers")[0] == {"exact_match": 0.99, "exact_match_numbers": 2990.0}
    assert quality_of({}, "numbers") == ({}, "none")


def test_an_isolated_measurement_reports_its_own_memory(zoo):
    from models.commands.compare import compare

    (row,) = compare([str(zoo / "tiny-lstm")], new_tokens=4)  # a fresh interpreter per backend
    assert row.architecture == "lstm" and all(s.tokens_per_s > 0 for s in row.speeds)


def test_nothing_to_compare_is_a_clear_error(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PLAYGROUND_ZOO", str(tmp_path))
    assert main(["compare", "--in-process"]) != 0
    assert "no model to compare" in capsys.readouterr().err
