"""``playground bench --quick``: every implementation measured, the JSON report well formed."""

import importlib.util
import json

import pytest

from models.commands.bench import IMPLS
from models.commands.bench_report import format_table
from server.cli import main


@pytest.mark.slow
def test_quick_bench_writes_every_row(tmp_path, capsys):
    out = tmp_path / "bench.json"
    assert main(["bench", "--quick", "--json", str(out)]) == 0
    report = json.loads(out.read_text())

    have_hf = importlib.util.find_spec("transformers") is not None
    expected = IMPLS if have_hf else tuple(i for i in IMPLS if i != "hf-generate")
    rows = report["rows"]
    assert [r["impl"] for r in rows] == list(expected)
    for row in rows:
        assert row["model"] == "small"
        for key in ("tokens_per_s", "ms_per_token", "ttft_ms", "peak_rss_mib"):
            assert row[key] > 0, f"{row['impl']}: {key} = {row[key]}"
        assert row["runs"] >= 1
        assert row["ms_per_token"] == pytest.approx(1000 / row["tokens_per_s"])
    assert len({r["parameters"] for r in rows}) == 1, "every row must run the same model"
    assert report["cache"][0]["cached_step_ms"] > 0
    ratios = report["ratios"]["small"]
    assert set(ratios) == {"torch_vs_hf", "numpy_vs_torch", "cache_vs_recompute"}
    assert ratios["cache_vs_recompute"]["ratio"] > 0
    assert (ratios["torch_vs_hf"]["ratio"] is None) == (not have_hf)
    printed = capsys.readouterr().out
    assert "targets" in printed
    for impl in expected:
        assert impl in printed


def test_bench_refuses_more_tokens_than_the_context(capsys):
    assert main(["bench", "--models", "small", "--new-tokens", "300"]) == 2
    assert "context of 256" in capsys.readouterr().err


def test_format_table_aligns_columns():
    table = format_table(("impl", "tokens/s"), [("torch", "1.5"), ("numpy-nocache", "12.25")])
    lines = table.splitlines()
    assert lines == [
        "impl           tokens/s",
        "torch               1.5",
        "numpy-nocache     12.25",
    ]
