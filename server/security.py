"""Security headers on every response and a limit on request bodies.

One pure ASGI middleware (it never buffers a response, so generation streams pass through as they are
produced):

- every response carries ``X-Content-Type-Options: nosniff``, ``Referrer-Policy: no-referrer`` and
  ``X-Frame-Options: DENY``; a response that is not an HTML page (JSON, static files) also gets a
  ``Content-Security-Policy`` that lets it load nothing and be framed by no one. Pages keep the policy
  ``server/routers/pages.py`` gives them.
- a request body over ``Settings.max_body_bytes`` (``PLAYGROUND_MAX_BODY_BYTES``, 64 KiB by default) is
  answered ``413`` with a JSON message before the app sees it, whether its size is announced by
  ``Content-Length`` or only found by counting a chunked body.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import anyio
from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError

from server.strict_json import problem_in, validation_error

log = logging.getLogger(__name__)
Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

HEADERS = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
}
# for responses that are not pages: a JSON body or a static file has nothing to run or load
MAX_HEADERS = 100  # headers in one request; a browser sends about 20
NON_PAGE_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"


class BodyTooLarge(Exception):
    pass


def relative(name: bytes, value: bytes) -> tuple[bytes, bytes]:
    """A ``Location`` header as a path on this server: ``http://any.host/api/models`` → ``/api/models``."""
    if name.lower() != b"location":
        return name, value
    parts = urlsplit(value.decode("latin-1"))
    path = urlunsplit(("", "", parts.path or "/", parts.query, parts.fragment))
    return name, path.encode("latin-1")


def is_json(scope: Scope) -> bool:
    for name, value in scope.get("headers", []):
        if name.lower() == b"content-type":
            return b"json" in value.lower()
    return False


class SecurityMiddleware:
    def __init__(
        self, app: ASGIApp, max_body_bytes: int, body_timeout_s: float = 10.0, max_header_bytes: int = 16384
    ) -> None:
        self.app = app
        self.max_header_bytes = max_header_bytes
        self.max_body_bytes = max_body_bytes
        self.body_timeout_s = body_timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = [relative(k, v) for k, v in message.get("headers", [])]
                present = {k.decode("latin-1").lower() for k, _ in headers}
                for name, value in HEADERS.items():
                    if name not in present:
                        headers.append((name.encode(), value.encode()))
                content_type = dict(headers).get(b"content-type", b"").decode("latin-1")
                if "content-security-policy" not in present and not content_type.startswith("text/html"):
                    headers.append((b"content-security-policy", NON_PAGE_CSP.encode()))
                message = {**message, "headers": headers}
            await send(message)

        head = sum(len(k) + len(v) + 4 for k, v in scope.get("headers", ())) + len(
            scope.get("raw_path") or b""
        )
        if head > self.max_header_bytes or len(scope.get("headers", ())) > MAX_HEADERS:
            await self.respond(
                send_with_headers,
                431,
                f"request headers over {self.max_header_bytes} bytes or more than {MAX_HEADERS} of them",
            )
            return
        declared = self.content_length(scope)
        if declared is not None and declared > self.max_body_bytes:
            await self.reject(send_with_headers)
            return
        try:
            with anyio.fail_after(self.body_timeout_s):
                first = await self.read_body(receive)
        except BodyTooLarge:
            await self.reject(send_with_headers)
            return
        except TimeoutError:
            await self.respond(
                send_with_headers, 408, f"request body not received within {self.body_timeout_s:g} s"
            )
            return

        replayed = False

        async def replay() -> Message:
            # the body once, whole; then the client's own messages (a disconnect, for streams)
            nonlocal replayed
            if not replayed:
                replayed = True
                return first
            return await receive()

        problem = problem_in(first.get("body", b"")) if is_json(scope) else None
        if problem:
            await self.respond(send_with_headers, 422, problem)
            return
        try:
            await self.app(scope, replay, send_with_headers)
        except Exception:
            log.exception("%s %s failed", scope.get("method"), scope.get("path"))
            if started:
                raise
            await self.respond(send_with_headers, 500, "internal error; the server log has the details")

    @staticmethod
    def content_length(scope: Scope) -> int | None:
        for name, value in scope.get("headers", []):
            if name.lower() == b"content-length":
                try:
                    return int(value)
                except ValueError:
                    return None
        return None

    async def read_body(self, receive: Receive) -> Message:
        """The request's body as one message, counting bytes as they come (a chunked body has no
        Content-Length); a disconnect before the end is passed on as it is."""
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return message
            body = message.get("body", b"")
            size += len(body)
            if size > self.max_body_bytes:
                raise BodyTooLarge
            chunks.append(body)
            if not message.get("more_body", False):
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}

    async def reject(self, send: Send) -> None:
        await self.respond(send, 413, f"request body larger than {self.max_body_bytes} bytes")

    @staticmethod
    async def respond(send: Send, status: int, detail: str) -> None:
        body = json.dumps({"detail": detail}, ensure_ascii=True).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body, "more_body": False})


def document_string_details(app: FastAPI) -> None:
    """The OpenAPI's 422 body says ``detail`` is a list of field errors; the routes' own 422s (an unknown
    character, a model of the wrong architecture, too many tokens) send one message string. Document
    both, so clients and schema checkers accept every 422 the API really sends."""
    make = app.openapi

    def openapi() -> dict[str, Any]:
        schema = make()
        error = schema.get("components", {}).get("schemas", {}).get("HTTPValidationError")
        detail = error and error.get("properties", {}).get("detail")
        if detail and "anyOf" not in detail:
            error["properties"]["detail"] = {"anyOf": [detail, {"type": "string"}], "title": "Detail"}
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def install(app: FastAPI) -> None:
    """Wrap ``app`` in the security middleware, its body limit from the app's settings."""
    settings = app.state.settings
    app.add_middleware(
        SecurityMiddleware,
        max_body_bytes=settings.max_body_bytes,
        body_timeout_s=settings.body_timeout_s,
        max_header_bytes=settings.max_header_bytes,
    )
    app.add_exception_handler(RequestValidationError, validation_error)
    document_string_details(app)
