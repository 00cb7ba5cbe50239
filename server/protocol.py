"""The HTTP protocol ``playground serve`` runs: uvicorn's h11 protocol with limits at the connection.

- Headers: h11 refuses a request whose head is larger than ``PLAYGROUND_MAX_HEADER_BYTES``
  (uvicorn's ``h11_max_incomplete_event_size``) with ``400``, so neither one huge header nor many
  small ones can grow the server's memory. (uvicorn's default protocol, httptools, has no such limit.)
- Time: a connection must finish sending a request's head within ``PLAYGROUND_HEADER_TIMEOUT_S`` of
  its first byte (or of the connection opening); one that trickles its headers, or opens and sends
  nothing, is closed. Idle keep-alive connections close after uvicorn's ``timeout_keep_alive``, and a
  body that stops arriving is answered ``408`` by the security middleware.
"""

from __future__ import annotations

import asyncio
import logging

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

log = logging.getLogger(__name__)


class HeaderTimeoutProtocol(H11Protocol):
    header_timeout_s: float = 10.0
    _header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._start_watching()  # a new connection owes its first request's head

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.conn.their_state is not h11.IDLE:  # the head is in: the request is under way
            self._stop_watching()
        elif self.conn.trailing_data[0]:  # part of a head (on a kept-alive connection too)
            self._start_watching()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_watching()
        super().connection_lost(exc)

    def _start_watching(self) -> None:
        if self._header_timer is None:
            self._header_timer = self.loop.call_later(self.header_timeout_s, self._head_too_slow)

    def _stop_watching(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _head_too_slow(self) -> None:
        self._header_timer = None
        log.info("closed a connection whose request head took over %.0f s", self.header_timeout_s)
        self.transport.close()


def protocol_with(header_timeout_s: float) -> type[HeaderTimeoutProtocol]:
    """The protocol class for uvicorn's ``http=`` with this header timeout."""
    return type("HeaderTimeoutProtocol", (HeaderTimeoutProtocol,), {"header_timeout_s": header_timeout_s})
