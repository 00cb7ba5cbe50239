"""Security headers, the request-body limit, and hostile model names that must never reach the disk."""

from __future__ import annotations

import asyncio
import builtins
import html
import io
import os
import pathlib
from concurrent.futures import ThreadPoolExecutor

import pytest

from server import security
from server.routers.pages import CSP
from server.settings import Settings

MODEL = "shakespeare-char"  # served by the session's ``client``, the shipped zoo


def assert_hardened(r) -> None:
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] == "no-referrer"
    assert r.headers["x-frame-options"] == "DENY"
    csp = r.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp
    assert "'unsafe-inline'" not in next((d for d in csp.split(";") if "script-src" in d), "")
    # one of each, even where the page set some itself
    for name in ("x-content-type-options", "referrer-policy", "content-security-policy"):
        assert len(r.headers.get_list(name)) == 1, name


def test_the_page_policy_forbids_inline_scripts_and_framing():
    directives = dict(d.strip().split(" ", 1) for d in CSP.split(";"))
    assert directives["script-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert directives["object-src"] == "'none'"


@pytest.mark.parametrize(
    ("method", "path", "kind"),
    [
        ("GET", "/", "text/html"),
        ("GET", "/playground", "text/html"),
        ("GET", "/no-such-page", "text/html"),
        ("GET", "/healthz", "application/json"),
        ("GET", "/api/models", "application/json"),
        ("GET", "/api/models/nope", "application/json"),
        ("GET", "/openapi.json", "application/json"),
        ("GET", "/static/css/app.css", "text/css"),
        ("GET", "/static/js/lib/dom.js", "javascript"),
    ],
)
def test_security_headers_on_pages_api_and_static(client, method, path, kind):
    r = client.request(method, path, headers={"accept": "text/html"} if kind == "text/html" else {})
    assert kind in r.headers["content-type"]
    assert_hardened(r)
    if kind != "text/html":
        assert r.headers["content-security-policy"] == security.NON_PAGE_CSP
    elif r.status_code == 200:
        assert r.headers["content-security-policy"] == CSP


def test_validation_errors_are_hardened_too(client):
    r = client.post("/api/tokenize", json={"model": MODEL})
    assert r.status_code == 422
    assert_hardened(r)


def test_a_large_body_is_a_413_with_json(client):
    big = {"model": MODEL, "text": "a" * (70 * 1024)}
    r = client.post("/api/tokenize", json=big)
    assert r.status_code == 413
    assert "larger than 65536 bytes" in r.json()["detail"]
    assert_hardened(r)
    # a body just under the limit still reaches the route (and fails its own validation: 4000 chars max)
    r = client.post("/api/tokenize", json={"model": MODEL, "text": "a" * 60_000})
    assert r.status_code == 422
    r = client.post("/api/tokenize", json={"model": MODEL, "text": "abc"})
    assert r.status_code == 200


def test_a_chunked_body_without_content_length_is_counted(client):
    def chunks():
        yield b'{"model": "shakespeare-char", "text": "'
        for _ in range(80):
            yield b"a" * 1024
        yield b'"}'

    r = client.post("/api/tokenize", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413 and "detail" in r.json()


def run_in_own_loop(coroutine):
    """asyncio.run in a thread of its own: the browser tests' Playwright keeps an event loop in this one."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def asgi_call(app, messages, headers=()):
    """Run one HTTP request through an ASGI app with the body in the given messages."""
    sent = []
    queue = list(messages)

    async def receive():
        return queue.pop(0) if queue else {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/", "headers": list(headers)}
    run_in_own_loop(app(scope, receive, send))
    return sent


def test_the_limit_counts_body_messages_one_by_one():
    seen = []

    async def echo(scope, receive, send):
        message = await receive()
        seen.append(message["body"])
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    mw = security.SecurityMiddleware(echo, max_body_bytes=2048)
    part = {"type": "http.request", "body": b"x" * 1000, "more_body": True}
    sent = asgi_call(mw, [part, part, {"type": "http.request", "body": b"x" * 100, "more_body": False}])
    assert sent[0]["status"] == 413 and not seen  # the app never ran
    sent = asgi_call(mw, [part, {"type": "http.request", "body": b"yz", "more_body": False}])
    assert sent[0]["status"] == 200 and seen == [b"x" * 1000 + b"yz"]  # the app got the whole body at once
    # a declared length over the limit is refused before any body is read
    sent = asgi_call(mw, [], headers=[(b"content-length", b"999999")])
    assert sent[0]["status"] == 413


def test_the_limit_is_a_setting(monkeypatch, tmp_path, make_client):
    monkeypatch.setenv("PLAYGROUND_MAX_BODY_BYTES", "4096")
    assert Settings(models_dir=tmp_path).max_body_bytes == 4096
    client = make_client(models_dir=tmp_path)
    r = client.post("/api/tokenize", content=b"x" * 5000, headers={"content-type": "application/json"})
    assert r.status_code == 413 and "4096" in r.json()["detail"]


HOSTILE = [
    "../../etc/passwd",
    "..%2f..%2fetc%2fpasswd",
    "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "%2e%2e",
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "shakespeare-char/../../../etc/passwd",
    "..",
    "con",
]


@pytest.fixture
def opened(monkeypatch):
    """Every path the process opens or stats while the fixture is active."""
    paths: list[str] = []
    real_open, real_io_open, real_os_open, real_stat = builtins.open, io.open, os.open, os.stat
    real_path_open = pathlib.Path.open

    def rec(f):
        def wrapper(file, *a, **kw):
            paths.append(os.fsdecode(file) if isinstance(file, str | bytes | os.PathLike) else repr(file))
            return f(file, *a, **kw)

        return wrapper

    monkeypatch.setattr(builtins, "open", rec(real_open))
    monkeypatch.setattr(io, "open", rec(real_io_open))
    monkeypatch.setattr(os, "open", rec(real_os_open))
    monkeypatch.setattr(os, "stat", rec(real_stat))
    monkeypatch.setattr(
        pathlib.Path,
        "open",
        lambda self, *a, **kw: (paths.append(str(self)), real_path_open(self, *a, **kw))[1],
    )
    return paths


def hostile_requests(name: str):
    quoted = name.replace("<", "%3C").replace(">", "%3E").replace(" ", "%20")
    yield "GET", f"/api/models/{quoted}", None
    yield "GET", f"/api/models/{quoted}/metrics", None
    yield "GET", f"/api/models/{quoted}/schedule", None
    yield "GET", f"/api/source/numpy/{quoted}", None
    yield "GET", "/api/positional", {"params": {"kind": "learned", "model": name}}
    for route, body in [
        ("/api/tokenize", {"text": "abc"}),
        ("/api/generate", {"prompt": "abc", "max_new_tokens": 1}),
        ("/api/trace", {"text": "abc"}),
    ]:
        yield "POST", route, {"json": {"model": name, **body}}


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_model_names_never_touch_the_file_system(client, opened, name):
    for method, url, kw in hostile_requests(name):
        opened.clear()
        r = client.request(method, url, **(kw or {}))
        assert r.status_code in (404, 422), (url, r.status_code, r.text)
        assert r.headers["content-type"].startswith("application/json")
        touched = [p for p in opened if "passwd" in p or ".." in p or "script" in p or "onerror" in p]
        assert not touched, (url, touched)


@pytest.mark.parametrize("name", ["<script>alert(1)</script>", "<img src=x onerror=alert(1)>"])
def test_hostile_names_in_pages_come_back_escaped(client, name):
    for url in (f"/learn/{name}", f"/playground?model={name}", f"/{name}"):
        r = client.get(url, headers={"accept": "text/html"})
        assert r.status_code in (200, 404), url
        assert r.headers["content-type"].startswith("text/html")
        body = r.text
        assert name not in body, url  # never as markup
    # a lesson name without a slash is named back on the 404 page: as text, and in the JSON blob as \u003c
    name = "<img src=x onerror=alert(1)>"
    body = client.get(f"/learn/{name}", headers={"accept": "text/html"}).text
    assert html.escape(name) in body and "\\u003cimg src=x onerror=alert(1)\\u003e" in body
    assert name not in body


def test_the_openapi_documents_message_422s(client):
    """The routes' own 422s send one message string; the schema says so beside the field-error list."""
    detail = client.get("/openapi.json").json()["components"]["schemas"]["HTTPValidationError"]["properties"][
        "detail"
    ]
    assert {"type": "string"} in detail["anyOf"] and any(d.get("type") == "array" for d in detail["anyOf"])
    r = client.post("/api/tokenize", json={"model": MODEL, "text": "x#z"})  # no '#' in Shakespeare
    assert r.status_code == 422 and isinstance(r.json()["detail"], str)
