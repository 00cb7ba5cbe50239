"""The one streaming core: a generation as an async iterator of typed events.

The SSE endpoint (and any other transport) consumes it; ``sse_stream`` writes the events as the
bytes of Server-Sent Events. Each model step runs in a worker thread, so a slow generation never
blocks the event loop; the steps of all streams on one model and backend share forwards
(``server/batching.py``), and each token event is written as its SSE bytes in that same thread
(``sse_bytes``), so the event loop only passes bytes on. When the consumer stops (a client that
disconnects cancels it), no further step is computed; when the server is shutting down, each
stream ends after its current step with a ``done`` event whose reason is "shutdown".
"""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import aclosing
from dataclasses import dataclass, field
from functools import partial

import anyio.to_thread
from fastapi.sse import format_sse_event

from models.generate import TokenEvent as ModelToken
from models.generate import start
from models.sampling import SamplingParams
from server.batching import Batchers
from server.registry import ModelEntry
from server.rounding import MS_DECIMALS, rounded
from server.schemas import Candidate, DoneEvent, ErrorEvent, GenerateRequest, StartEvent, TokenEvent
from server.token_json import token_json

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EncodedToken:
    """A token event already written: ``json`` is the JSON of ``TokenEvent`` (``token_text``),
    ``sse`` the bytes of its Server-Sent Event when they were written too (``sse_bytes``)."""

    json: str
    sse: bytes | None = None


Event = StartEvent | TokenEvent | DoneEvent | ErrorEvent | EncodedToken
EVENT_NAMES: dict[type, str] = {
    StartEvent: "start",
    TokenEvent: "token",
    DoneEvent: "done",
    ErrorEvent: "error",
    EncodedToken: "token",
}


@dataclass
class StreamStats:
    """What the server is generating now: open streams and tokens produced since start-up.

    ``admit`` is the one way in: it checks the limit and counts the new stream in one step under
    a lock (request dependencies run in worker threads), so a burst can never pass the limit.
    """

    active: int = 0
    tokens: int = 0
    closing: bool = False  # the server is shutting down: streams end after their current step
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def admit(self, limit: int) -> bool:
        """Count one more stream if fewer than ``limit`` are open; False (and no count) if not."""
        with self._lock:
            if self.active >= limit:
                return False
            self.active += 1
            return True

    def release(self) -> None:
        with self._lock:
            self.active -= 1


@dataclass
class Generation:
    """A checked request: the model entry, its prompt ids and the sampler settings."""

    entry: ModelEntry
    body: GenerateRequest
    prompt_ids: list[int]
    params: SamplingParams


def token_event(entry: ModelEntry, event: ModelToken) -> TokenEvent:
    tok = entry.tokenizer
    final = event.step.stages["top_p"]
    strings = tok.token_strings([event.id] + [c.id for c in final])
    attention = None if event.attention is None else rounded(event.attention)
    return TokenEvent(
        index=event.index,
        id=event.id,
        text=event.text or "",
        token=strings[0],
        prob=event.step.prob,
        model_prob=event.step.model_prob,
        candidates=[
            Candidate(id=c.id, token=s, prob=c.prob) for c, s in zip(final, strings[1:], strict=True)
        ],
        attention=attention,
        ms=rounded(event.ms, MS_DECIMALS),
        window_start=event.window_start,
    )


def token_text(entry: ModelEntry, event: ModelToken) -> EncodedToken:
    """``token_event(entry, event)`` as JSON, written directly (``server.token_json``)."""
    final = event.step.stages["top_p"]
    strings = entry.tokenizer.token_strings([event.id] + [c.id for c in final])
    return EncodedToken(token_json(event, strings[0], strings[1:], event.text or ""))


def sse_bytes(entry: ModelEntry, event: ModelToken) -> EncodedToken:
    """A token event as the bytes of its Server-Sent Event, as the response sends them: one
    ``data:`` line, as JSON text never holds a line break (JSON writes one inside a string as \\n)."""
    text = token_text(entry, event).json
    return EncodedToken(text, b"event: token\ndata: %s\n\n" % text.encode())


async def sse_stream(events: AsyncIterator[Event]) -> AsyncIterator[bytes]:
    """The events as Server-Sent Events (``event: <name>``, ``data: <JSON>``): what the response
    sends. Written here rather than by ``EventSourceResponse``, whose two tasks and two queues per
    stream cost more than the token itself when 50 streams share a forward."""
    async for event in events:
        if isinstance(event, EncodedToken):
            yield event.sse or format_sse_event(data_str=event.json, event="token")
        else:
            yield format_sse_event(data_str=event.model_dump_json(), event=EVENT_NAMES[type(event)])


# what scripts/profile_step.py times apart inside a step and its encoding
PROFILED = ("models.generate.sample_batch", "server.token_json.rows_json")


async def generation_events(g: Generation, stats: StreamStats, batchers: Batchers) -> AsyncIterator[Event]:
    """start, one token event per new token, then done (or error); the caller has admitted the
    stream (``StreamStats.admit``) and releases it when this iterator closes."""
    body, entry = g.body, g.entry
    yield StartEvent(
        model=entry.name,
        backend=body.backend,
        prompt_ids=g.prompt_ids,
        prompt_tokens=entry.tokenizer.token_strings(g.prompt_ids),
    )
    try:
        model = await anyio.to_thread.run_sync(entry.model, body.backend)
        decoding = start(
            model,
            g.prompt_ids,
            body.max_new_tokens,
            g.params,
            body.seed,
            tokenizer=entry.tokenizer,
            include_attention=body.include_attention,
            stop=entry.stop if body.stop is None else body.stop,
        )
        sent, shutdown = 0, stats.closing
        tokens = batchers.tokens(entry.name, body.backend, model, decoding, partial(sse_bytes, entry))
        async with aclosing(tokens):  # leaving early: the decoding leaves its batch here
            while not shutdown and (encoded := await anext(tokens, None)) is not None:
                sent += 1
                stats.tokens += 1
                yield encoded
                shutdown = stats.closing
        if shutdown and not decoding.finished:  # a token computed ahead and not sent is not counted
            decoding.reason = "shutdown"
            del decoding.out[sent:]
        done = decoding.done()
        yield DoneEvent(
            reason=done.reason,
            stop=done.stop,
            tokens=done.tokens,
            n_tokens=done.n_tokens,
            tokens_per_s=rounded(done.tokens_per_s, 2),
            ttft_ms=rounded(done.ttft_ms, MS_DECIMALS),
        )
    except Exception as e:  # a failure mid-stream becomes an event: the response has started
        log.exception("generation with %s failed", entry.name)
        yield ErrorEvent(message=f"{type(e).__name__}: {e}")
