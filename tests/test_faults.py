"""Faults a classroom produces: many clients leaving at once, a client that stops reading.

Served the way ``playground serve`` serves it (a separate process); figures come from /healthz.
"""

from __future__ import annotations

import threading
import time

import httpx
import pytest

from helpers import char_gpt, iter_sse, served

LONG = 511  # tokens: the model's whole context after a one-character prompt


@pytest.fixture(scope="module")
def url(tmp_path_factory):
    root = tmp_path_factory.mktemp("faults")
    char_gpt(root / "zoo" / "long-char", block_size=512, n_layer=4, n_head=4, n_embd=64)
    with served(root / "zoo", root / "server.log") as base:
        yield base


def health(url: str) -> dict:
    return httpx.get(url + "/healthz", timeout=10).json()


def wait_idle(url: str, seconds: float = 10) -> dict:
    deadline = time.monotonic() + seconds
    while (h := health(url))["streams"] and time.monotonic() < deadline:
        time.sleep(0.05)
    return h


def read_tokens(url: str, body: dict, n: int) -> None:
    """Stream a generation, read ``n`` token events, then hang up."""
    with httpx.Client(timeout=30) as c, c.stream("POST", url + "/api/generate", json=body) as r:
        assert r.status_code == 200
        seen = 0
        for event in iter_sse(r.iter_lines()):
            seen += event["event"] == "token"
            if seen == n:
                return


def test_many_clients_leaving_at_once_stop_their_work_and_give_memory_back(url):
    body = {"model": "long-char", "prompt": "a", "max_new_tokens": LONG, "temperature": 1.0}
    read_tokens(url, {**body, "max_new_tokens": 20}, 20)  # the twin is loaded, the allocator warm
    time.sleep(1.5)  # the batch lets its rows go after a second without requests
    before = health(url)["rss_mib"]
    for _ in range(3):  # a leak of the caches would add up over the storms
        threads = [threading.Thread(target=read_tokens, args=(url, body, 30 + i)) for i in range(20)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        h = wait_idle(url)
        assert h["streams"] == 0
        produced = h["tokens"]
        time.sleep(0.5)
        assert health(url)["tokens"] == produced  # no step runs for a client that left
    time.sleep(1.5)
    after = health(url)["rss_mib"]
    assert after - before < 25, f"resident memory {before} → {after} MiB after 60 disconnects"


def test_a_client_that_stops_reading_pauses_its_generation(url):
    """Flow control: the stream waits at a ``yield`` while the socket is full, instead of running
    ahead and queueing events in memory."""
    body = {"model": "long-char", "prompt": "a", "max_new_tokens": LONG, "include_attention": True}
    wait_idle(url)
    start = health(url)
    with httpx.Client(timeout=60) as c, c.stream("POST", url + "/api/generate", json=body) as r:
        events = iter_sse(r.iter_lines())
        assert next(events)["event"] == "start"
        time.sleep(3)  # enough for the whole generation, had it not waited for the reader
        paused = health(url)
        assert paused["streams"] == 1
        assert paused["tokens"] - start["tokens"] < LONG
        assert paused["rss_mib"] - start["rss_mib"] < 50
        tokens = sum(e["event"] == "token" for e in events)
    assert tokens == LONG  # reading again finishes it
