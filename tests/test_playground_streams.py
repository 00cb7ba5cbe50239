"""Stop in the playground closes the connection: the server's count of open streams must return to 0.

A fast model outruns the client, so its stream waits at a ``yield`` when the client goes away; the
stream must still be closed (its cleanup run), or every Stop leaks one slot of the stream limit.
Served the way ``playground serve`` serves it: a separate process.
"""

import time

import httpx
import pytest

from helpers import char_gpt, iter_sse, served, sse_events


@pytest.fixture
def fast_server(tmp_path):
    char_gpt(tmp_path / "fast-char", block_size=512)
    with served(tmp_path, tmp_path / "server.log", PLAYGROUND_MAX_STREAMS="2") as url:
        yield url


def streams(url) -> int:
    return httpx.get(url + "/healthz", timeout=5).json()["streams"]


def test_every_stopped_stream_is_closed_and_frees_its_slot(fast_server):
    body = {"model": "fast-char", "prompt": "a", "max_new_tokens": 500}
    for _ in range(4):  # more stops than the limit of 2 streams: a leaked slot would turn into a 503
        with httpx.Client(timeout=10) as c, c.stream("POST", fast_server + "/api/generate", json=body) as r:
            assert r.status_code == 200
            tokens = 0
            for event in iter_sse(r.iter_lines()):
                tokens += event["event"] == "token"
                if tokens == 3:
                    break
        deadline = time.monotonic() + 2
        while streams(fast_server) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert streams(fast_server) == 0
    r = httpx.post(fast_server + "/api/generate", json={**body, "max_new_tokens": 5}, timeout=10)
    assert r.status_code == 200 and [e["event"] for e in sse_events(r)].count("token") == 5
