"""``playground loadtest --class`` against a real server: a small class, every figure filled in."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

from helpers import char_gpt, server_process


def test_the_class_load_test_measures_pushes_tally_and_memory(tmp_path, capsys):
    from server.cli import main

    zoo = tmp_path / "zoo"
    char_gpt(zoo / "tiny")
    out = tmp_path / "class.json"
    with server_process(zoo, tmp_path / "server.log", PLAYGROUND_DEFAULT_MODEL="tiny") as (proc, url):
        args = ["loadtest", "--class", "--url", url, "--students", "5", "--pushes", "3"]
        args += ["--push-every-ms", "50", "--server-pid", str(proc.pid), "--json", str(out)]
        # in a thread of its own: the browser tests' Playwright keeps an event loop in this one
        with ThreadPoolExecutor(1) as pool:
            assert pool.submit(main, args).result() == 0
        r = json.loads(out.read_text())
        assert (r["connected"], r["received"], r["answers"]) == (5, 15, 5)
        assert r["tally"] == {"attention": 2, "the MLP": 2, "layer norm": 1} == r["tally_expected"]
        assert 0 < r["push_ms"]["p50"] <= r["push_ms"]["p95"] <= r["push_ms"]["max"]
        assert r["rss_kib"]["before"] > 10_000 and r["kib_per_student"] is not None and r["failures"] == []
        assert "push latency p50 / p95 / max" in capsys.readouterr().out
        with ThreadPoolExecutor(1) as pool:  # a target it cannot meet is the exit status
            assert pool.submit(main, [*args[:-2], "--max-push-p95-ms", "0.001"]).result() == 1
        assert "MISSED: push latency p95" in capsys.readouterr().out
