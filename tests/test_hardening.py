"""A hostile client gets a 4xx with a message, never a 5xx; limits hold under bursts; heavy work never
runs on the event loop; the connection itself is bounded in size and time."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from pathlib import Path

import httpx
import pytest
from fastapi import HTTPException

from server.heavy import HeavyLimit, heavy_slot
from server.settings import Settings
from server.streaming import StreamStats

from helpers import run_coroutine, served

ROOT = Path(__file__).resolve().parents[1]
SECURITY_HEADERS = ("x-content-type-options", "referrer-policy", "x-frame-options", "content-security-policy")
NOT_JSON_NUMBERS = ("NaN", "Infinity", "-Infinity", "1e999", "-1e999")


ZOO = ROOT / "models" / "zoo"


@pytest.fixture(scope="module")
def post_routes(client) -> list[str]:
    return [path for path, ops in client.app.openapi()["paths"].items() if "post" in ops]


def assert_rejected(r: httpx.Response, status: int = 422) -> None:
    assert r.status_code == status, (r.status_code, r.text[:300])
    assert r.json()["detail"], r.text
    for header in SECURITY_HEADERS:
        assert header in r.headers, f"{header} missing on a {r.status_code}"


@pytest.mark.parametrize("number", NOT_JSON_NUMBERS)
def test_a_number_json_does_not_have_is_a_422_naming_the_field_on_every_post_route(
    client, post_routes, number
):
    assert len(post_routes) >= 15
    for path in post_routes:
        body = f'{{"model": "shakespeare-char", "text": "ab", "layer": {number}, "temperature": {number}}}'
        r = client.post(path, content=body, headers={"content-type": "application/json"})
        assert_rejected(r)
        assert "body.layer" in r.json()["detail"] and "finite" in r.json()["detail"], (path, r.text)


@pytest.mark.parametrize("text", ['"\\ud800"', '"ab\\udfffcd"', '["ok", "\\udc00"]'])
def test_a_lone_surrogate_in_any_string_is_a_422_on_every_post_route(client, post_routes, text):
    for path in post_routes:
        body = f'{{"model": "shakespeare-char", "text": {text}, "prompt": {text}, "texts": [{text}]}}'
        r = client.post(path, content=body, headers={"content-type": "application/json"})
        assert_rejected(r)
        assert "surrogate" in r.json()["detail"], (path, r.text)


def test_invalid_utf8_and_deep_nesting_are_4xx_with_the_headers(client, post_routes):
    for path in post_routes:
        r = client.post(path, content=b'{"text": "\xff\xfe"}', headers={"content-type": "application/json"})
        assert 400 <= r.status_code < 500 and all(h in r.headers for h in SECURITY_HEADERS), (path, r.text)
    r = client.post(
        "/api/trace", content="[" * 30_000 + "]" * 30_000, headers={"content-type": "application/json"}
    )
    assert_rejected(r)


def test_field_errors_name_the_field_and_never_echo_the_input(client):
    secret = "x" * 50 + "\u2603"
    r = client.post("/api/trace", json={"model": "shakespeare-char", "text": "ab", "layer": secret})
    assert_rejected(r)
    (error,) = r.json()["detail"]
    assert error["loc"] == ["body", "layer"] and error["msg"] and secret not in r.text


def test_source_names_with_no_source_are_404_not_500(client):
    for name in ("SamplingParams.__init__", "DoneEvent.__init__", "TokenEvent.__init__"):
        module = "sampling" if name.startswith("Sampling") else "generate"
        r = client.get(f"/api/source/{module}/{name}")
        assert_rejected(r, 404)
        assert "no source" in r.json()["detail"]


def test_an_unexpected_error_is_a_500_with_the_security_headers_and_no_traceback(make_client):
    c = make_client()

    def boom() -> None:
        raise RuntimeError("secret detail")

    c.app.add_api_route("/boom", boom)
    r = c.get("/boom")
    assert_rejected(r, 500)
    assert "secret" not in r.text and "Traceback" not in r.text


def test_stream_admission_is_atomic_under_a_burst_of_threads():
    stats, limit = StreamStats(), 8
    barrier = threading.Barrier(64)
    admitted = []

    def one() -> None:
        barrier.wait()
        admitted.append(stats.admit(limit))

    threads = [threading.Thread(target=one) for _ in range(64)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(admitted) == limit == stats.active
    for _ in range(limit):
        stats.release()
    assert stats.active == 0 and stats.admit(limit)


def test_heavy_admission_holds_running_plus_waiting_and_refuses_the_rest():
    """150 requests at once against 2 running + 5 waiting: 7 get a place, 143 are refused at once."""

    class Request:  # what heavy_slot reads
        class app:
            class state:
                heavy = HeavyLimit(2, 5)
                settings = Settings()

    async def burst() -> tuple[int, int]:
        release = asyncio.Event()
        placed, refused = 0, 0

        async def one() -> None:
            nonlocal placed, refused
            slot = heavy_slot(Request)
            try:
                await slot.__anext__()
            except HTTPException as e:
                assert e.status_code == 503 and e.headers["Retry-After"]
                refused += 1
                return
            placed += 1
            await release.wait()
            await slot.aclose()

        tasks = [asyncio.create_task(one()) for _ in range(150)]
        await asyncio.sleep(0.1)
        counts = (placed, refused)
        release.set()
        await asyncio.gather(*tasks)
        return counts

    placed, refused = run_coroutine(burst())
    assert (placed, refused) == (2, 143)  # two run; five wait and are placed after
    limit = Request.app.state.heavy
    assert limit.running == 0 and limit.waiting == 0 and limit.refused == 143


def test_heavy_answers_are_computed_off_the_event_loop(monkeypatch, make_client):
    """A trace blocked in its computation does not block /healthz (it would hang if it ran on the loop)."""
    import server.routers.trace as trace_router

    entered, release = threading.Event(), threading.Event()
    real = trace_router.explain

    def blocked(*args, **kwargs):
        entered.set()
        assert release.wait(30)
        return real(*args, **kwargs)

    monkeypatch.setattr(trace_router, "explain", blocked)
    c = make_client()
    result = {}
    worker = threading.Thread(
        target=lambda: result.setdefault(
            "r", c.post("/api/trace", json={"model": "shakespeare-char", "text": "ab"})
        )
    )
    worker.start()
    assert entered.wait(30)
    health = c.get("/healthz")  # answered while the trace is still computing
    assert health.status_code == 200 and not release.is_set()
    release.set()
    worker.join(30)
    assert result["r"].status_code == 200


def test_size_caps_are_422_naming_the_cap(make_client):
    c = make_client(max_trace_tokens=4)
    r = c.post("/api/trace", json={"model": "shakespeare-char", "text": "abcdef"})
    assert_rejected(r)
    assert "trace cap of 4" in r.json()["detail"]
    r = c.get("/api/positional", params={"positions": 1000, "dims": 1000})
    assert_rejected(r)
    assert "cap of 524,288" in r.json()["detail"]
    r = c.get("/api/positional", params={"positions": 4096})
    assert_rejected(r)


def test_redirects_stay_on_this_server_whatever_the_host_header(client):
    r = client.get("/api/models/", headers={"host": "evil.example"}, follow_redirects=False)
    assert r.status_code in (307, 308) and r.headers["location"] == "/api/models"


def test_pages_answer_head(client):
    for path in ("/", "/playground", "/learn", "/attention", "/masks", "/positions", "/compare", "/docs"):
        r = client.head(path)
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/html") and not r.content


# -- a real server: the burst, the connection limits --------------------------------------------------


@pytest.fixture(scope="module")
def limited_server():
    settings = {
        "PLAYGROUND_MAX_STREAMS": "8",
        "PLAYGROUND_HEADER_TIMEOUT_S": "1",
        "PLAYGROUND_BODY_TIMEOUT_S": "1",
        "PLAYGROUND_MAX_HEADER_BYTES": "8192",
    }
    with served(ZOO, ROOT / "artifacts" / "hardening-server.log", **settings) as url:
        yield url


def test_a_burst_of_80_streams_admits_at_most_the_limit(limited_server):
    async def burst() -> list[int]:
        body = {"model": "shakespeare-char", "prompt": "ab", "max_new_tokens": 60, "temperature": 1.0}
        async with httpx.AsyncClient(
            base_url=limited_server, timeout=60, limits=httpx.Limits(max_connections=100)
        ) as c:

            async def one() -> int:
                async with c.stream("POST", "/api/generate", json=body) as r:
                    status = r.status_code
                    await asyncio.sleep(1.0)  # hold the stream open while the others arrive
                    return status

            return await asyncio.gather(*(one() for _ in range(80)))

    statuses = run_coroutine(burst())
    assert set(statuses) <= {200, 503}
    assert 1 <= statuses.count(200) <= 8, statuses.count(200)
    assert httpx.get(f"{limited_server}/healthz").json()["streams"] == 0


def raw(url: str, data: bytes, wait_s: float = 0.0) -> bytes:
    """Send ``data`` on a fresh connection, wait, and return whatever comes back before it closes."""
    host, port = url.removeprefix("http://").split(":")
    chunks = []
    with socket.create_connection((host, int(port)), timeout=10) as s:
        try:
            s.sendall(data)
            time.sleep(wait_s)
            while chunk := s.recv(65536):
                chunks.append(chunk)
        except (ConnectionResetError, BrokenPipeError, TimeoutError):
            pass  # the server closed the connection while we were still sending
    return b"".join(chunks)


def test_a_huge_header_is_refused(limited_server):
    for size in (9_000, 64_000, 4_000_000):  # whole in one read, or arriving over many
        reply = raw(
            limited_server, b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * size + b"\r\n\r\n"
        )
        assert reply.startswith((b"HTTP/1.1 431", b"HTTP/1.1 400")) or reply == b"", (size, reply[:100])
    many = b"".join(b"X-%d: 1\r\n" % i for i in range(300))
    reply = raw(limited_server, b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + many + b"\r\n")
    assert reply.startswith(b"HTTP/1.1 431"), reply[:100]


def test_a_head_that_trickles_or_never_comes_is_closed(limited_server):
    start = time.monotonic()
    assert raw(limited_server, b"GET /healthz HTTP/1.1\r\nHost: x\r\n") == b""  # never finished
    assert time.monotonic() - start < 8
    start = time.monotonic()
    assert raw(limited_server, b"") == b""  # opened, nothing sent
    assert time.monotonic() - start < 8


def test_a_body_that_never_completes_is_a_408(limited_server):
    head = (
        b"POST /api/tokenize HTTP/1.1\r\nHost: x\r\n"
        b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n"
    )
    reply = raw(limited_server, head + b'{"model": "shakespeare-char"')
    assert reply.startswith(b"HTTP/1.1 408"), reply[:200]
    assert b"not received within 1 s" in reply and json.loads(reply.split(b"\r\n\r\n", 1)[1])["detail"]
