"""`playground compare`: a row per model of each architecture, quality from its card, both backends timed."""

import json

import pytest
from arch_zoo import build_zoo

from models.cli import main


@pytest.fixture(scope="module")
def zoo(tmp_path_factory):
    return build_zoo(tmp_path_factory.mktemp("zoo"))


def test_one_row_per_model_with_both_backends(zoo, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("PLAYGROUND_ZOO", str(zoo))
    out = tmp_path / "compare.json"
    assert main(["compare", "--in-process", "--new-tokens", "4", "--json", str(out)]) == 0
    rows = {r["name"]: r for r in json.loads(out.read_text())}
    assert {r["architecture"] for r in rows.values()} == {"gpt", "lstm", "encoder", "encoder-decoder"}
    for r in rows.values():
        assert [s["backend"] for s in r["speeds"]] == ["torch", "numpy"]
        assert all(s["tokens_per_s"] > 0 and s["peak_rss_mib"] > 10 for s in r["speeds"])
        assert r["parameters"] > 0 and r["file_bytes"] > 0
    assert rows["tiny-numbers"]["quality"] == {"exact_match": 0.5}  # from its card
    assert rows["tiny-numbers"]["task"] == "numbers" and rows["tiny-mlm"]["task"] == "mlm"
    table = capsys.readouterr().out
    assert table.splitlines()[0].split()[:3] == ["model", "architecture", "task"]
    assert "tiny-lstm" in table and "words written" in table


def test_an_isolated_measurement_reports_its_own_memory(zoo):
    from models.compare import compare

    (row,) = compare([str(zoo / "tiny-lstm")], new_tokens=4)  # a fresh interpreter per backend
    assert row.architecture == "lstm" and all(s.tokens_per_s > 0 for s in row.speeds)


def test_nothing_to_compare_is_a_clear_error(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PLAYGROUND_ZOO", str(tmp_path))
    assert main(["compare", "--in-process"]) != 0
    assert "no model to compare" in capsys.readouterr().err
