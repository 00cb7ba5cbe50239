"""``playground bench --quick``: every implementation measured, the JSON report well formed."""

import importlib.util
import json
import statistics
import time

import numpy as np
import pytest

from models import gpt_numpy, gpt_torch
from models.commands.bench import BENCH_MODELS, IMPLS, targets_for
from models.commands.bench_floor import floor_seconds, step_products
from models.commands.bench_report import CacheTiming, Row, format_table, model_report, targets_report
from models.devices import available_devices
from models.weights import init_gpt_params
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
        if row["impl"] == "numpy-nocache":
            assert row["floor_ms"] is None
        else:  # the row's step does the floor's products and more
            assert 0 < row["floor_ms"] < row["ms_per_token"], row
            assert row["floor_ratio"] == pytest.approx(row["ms_per_token"] / row["floor_ms"])
    assert len({r["parameters"] for r in rows}) == 1, "every row must run the same model"
    assert report["cache"][0]["cached_step_ms"] > 0
    ratios = report["ratios"]["small"]
    assert set(ratios) == {"torch_vs_hf", "numpy_vs_torch", "cache_vs_recompute"}
    assert ratios["cache_vs_recompute"]["ratio"] > 0
    assert (ratios["torch_vs_hf"]["ratio"] is None) == (not have_hf)
    printed = capsys.readouterr().out
    assert "targets" in printed and "× floor" in printed
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


# -- the matmul floor and the targets --------------------------------------------------------


def test_floor_counts_every_product_of_a_decode_step():
    config = BENCH_MODELS["medium"]
    products = step_products(config, batch=2, keys=40)
    assert len(products) == 6 * config.n_layer + 1
    C, nh = config.n_embd, config.n_head
    assert products[:6] == [
        ((2, C), (C, 3 * C)),
        ((2, nh, 1, C // nh), (2, nh, C // nh, 40)),
        ((2, nh, 1, 40), (2, nh, 40, C // nh)),
        ((2, C), (C, C)),
        ((2, C), (C, 4 * C)),
        ((2, 4 * C), (4 * C, C)),
    ]
    assert products[-1] == ((2, C), (C, config.vocab_size))


@pytest.mark.parametrize("backend", ["torch", "numpy"])
def test_floor_is_positive_and_scales_with_the_model(backend):
    tiny = floor_seconds(BENCH_MODELS["tiny"], 1, 64, backend)
    large = floor_seconds(BENCH_MODELS["large"], 1, 64, backend)
    assert 0 < tiny < large
    assert large > 5 * tiny  # ~200× the multiply-adds


@pytest.mark.parametrize("backend", ["torch", "numpy"])
def test_floor_is_below_a_decode_step_of_the_twin(backend):
    """The twin's step does these products and more: it cannot be faster than their floor."""
    config = BENCH_MODELS["medium"]
    model = (gpt_torch.GPT if backend == "torch" else gpt_numpy.GPT)(config, init_gpt_params(config, seed=0))
    ids = np.random.default_rng(0).integers(0, config.vocab_size, (1, 64))
    with model.inference_context():
        _, past, _ = model.forward_cached(ids[:, :-1])
        times = []
        for _ in range(15):
            start = time.perf_counter()
            model.forward_cached(ids[:, -1:], past)
            times.append(time.perf_counter() - start)
    assert 0 < floor_seconds(config, 1, 64, backend) < statistics.median(times)


def test_floor_refuses_an_unknown_backend():
    with pytest.raises(ValueError, match="backend"):
        floor_seconds(BENCH_MODELS["tiny"], 1, 8, "jax")


def row(impl: str, ms: float, floor_ms: float | None) -> Row:
    return Row(impl, "medium", 1000 / ms, ms, 1.0, 1.0, 10, 1, 8, [], floor_ms=floor_ms)


def test_targets_compare_the_twins_to_their_floor_and_print_pass_or_fail():
    cache = CacheTiming("medium", 256, 1.0, 10.0, 3)
    rows = [row("hf-generate", 6.0, 1.0), row("torch", 3.0, 1.0), row("numpy", 2.5, 1.0)]
    assert rows[1].floor_ratio == pytest.approx(3.0)
    targets = {t.key: t for t in targets_for("medium", rows, cache)}
    assert targets["torch_vs_hf"].met and targets["numpy_vs_torch"].met
    assert targets["torch_vs_floor"].ratio == pytest.approx(3.0) and targets["torch_vs_floor"].met is False
    assert targets["numpy_vs_floor"].met is False
    rows = [row("hf-generate", 6.0, 1.0), row("torch", 3.0, 1.0), row("numpy", 3.5, 2.0)]
    targets = {t.key: t for t in targets_for("medium", rows, cache)}
    assert targets["numpy_vs_floor"].met and targets["numpy_vs_torch"].met is False
    printed = targets_report(list(targets.values()))
    assert "numpy ms/token / its matmul floor" in printed and "≤ 2×" in printed and "≥ 1.5×" in printed
    results = [line.split()[-1] for line in printed.splitlines()[2:]]  # after the title and the header
    assert results == ["PASS", "FAIL", "PASS", "FAIL", "PASS"]  # hf, numpy/torch, cache, floors
    assert "torch_vs_floor" not in {t.key for t in targets_for("small", rows, cache)}  # medium and large only
    table = model_report("medium", BENCH_MODELS["medium"], 16, rows, cache, None)
    assert "× floor" in table and "1.75×" in table


def test_bench_refuses_a_device_that_is_not_there(capsys):
    missing = next((d for d in ("cuda", "mps") if d not in available_devices()), None)
    if missing is None:
        pytest.skip("this machine has every device")
    assert main(["bench", "--models", "tiny", "--device", missing]) == 2
    assert "not available" in capsys.readouterr().err
