"""Streaming generation: ``POST /api/generate`` answers with Server-Sent Events."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import StreamingResponse

from server.deps import ANY, RegistryDep, SettingsDep, encode, lookup
from server.schemas import GenerateRequest
from server.streaming import Event, Generation, generation_events, sse_stream

router = APIRouter(tags=["generate"])


def checked_generation(
    body: GenerateRequest, registry: RegistryDep, settings: SettingsDep, request: Request
) -> Generation:
    """Everything that can be wrong with a request, found before the stream starts (404 / 422), then
    admission (503): the last step, so a refused request holds no place."""
    entry = lookup(registry, body.model, ANY)
    if body.include_attention and not entry.arch.attention:
        raise HTTPException(
            status_code=422, detail=f"include_attention: {entry.name} has no attention to send"
        )
    ids = encode(entry, body.prompt, "prompt")
    if not request.app.state.streams.admit(settings.max_streams):
        raise HTTPException(
            status_code=503,
            detail=f"the server is streaming {settings.max_streams} generations, its limit; try again soon",
            headers={"Retry-After": str(settings.retry_after_s)},
        )
    return Generation(entry, body, ids, body.sampling_params())


async def event_stream(
    g: Annotated[Generation, Depends(checked_generation)], request: Request
) -> AsyncIterator[AsyncIterator[Event]]:
    """The generation's events, closed when the request ends: a client that disconnects mid-stream
    leaves the stream suspended at a ``yield``, and only this close runs its cleanup (the count of
    open streams)."""
    stats = request.app.state.streams
    events = generation_events(g, stats, request.app.state.batchers)
    try:
        yield events
    finally:
        await events.aclose()
        stats.release()


@router.post(
    "/generate",
    summary="Stream a generation as Server-Sent Events",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"text/event-stream": {}}},
        404: {"description": "unknown model"},
        422: {"description": "a field out of bounds"},
        503: {"description": "too many streams at once; see Retry-After"},
    },
)
async def generate(events: Annotated[AsyncIterator[Event], Depends(event_stream)]) -> StreamingResponse:
    """Events: ``start`` (prompt tokens), ``token`` per new token, then ``done`` or ``error``."""
    return StreamingResponse(
        sse_stream(events),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
