"""A live class on a real server: ``playground loadtest --class`` with a small class (every figure
filled in), and a server that stops at once however many class streams are open."""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx

from helpers import char_gpt, iter_sse, server_process


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


def test_a_stopping_server_closes_the_class_streams_at_once(tmp_path):
    zoo = tmp_path / "zoo"
    char_gpt(zoo / "tiny")
    with server_process(zoo, tmp_path / "server.log", PLAYGROUND_DEFAULT_MODEL="tiny") as (proc, url):
        code = httpx.post(f"{url}/api/classes", json={}).json()["code"]
        seen: list[list[dict]] = [[] for _ in range(3)]

        def follow(events: list[dict]) -> None:
            with httpx.stream("GET", f"{url}/api/classes/{code}/events", timeout=30) as r:
                events.extend(iter_sse(r.iter_lines()))

        readers = [threading.Thread(target=follow, args=(s,), daemon=True) for s in seen]
        for t in readers:
            t.start()
        deadline = time.monotonic() + 10
        while not all(seen):
            assert time.monotonic() < deadline, "the streams did not open"
            time.sleep(0.05)
        start = time.monotonic()
        proc.terminate()
        proc.wait(timeout=10)
        assert time.monotonic() - start < 5  # not the proxies' 10 minutes, nor a ping's 15 s
        for t in readers:
            t.join(5)
            assert not t.is_alive()
        # closed without ``end``: the class did not end, the pages reconnect to the next server
        assert all(events[0]["event"] == "state" and events[-1]["event"] != "end" for events in seen)
