"""What the live-class router depends on: the store, a class code checked (404), a teacher's key
checked (403), the join limit counted (429), a store's refusals as JSON errors, events as SSE lines."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Header, Path, Query, Request
from fastapi.responses import JSONResponse

from server.classroom.core import ClassError, Forbidden
from server.classroom.store import ClassStore

Code = Annotated[str, Path(min_length=6, max_length=6, pattern=r"^[A-Za-z0-9]{6}$", description="join code")]
PollId = Annotated[str, Path(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")]
StudentId = Annotated[str | None, Query(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_-]+$")]


async def class_error(request: Request, exc: ClassError) -> JSONResponse:
    """A store's refusal as FastAPI's ``{"detail": ...}``, with Retry-After where waiting helps."""
    headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after is not None else None
    return JSONResponse({"detail": exc.detail}, status_code=exc.status, headers=headers)


def store_of(request: Request) -> ClassStore:
    return request.app.state.classes


StoreDep = Annotated[ClassStore, Depends(store_of)]


def address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def class_code(code: Code, store: StoreDep) -> str:
    """The code upper-cased, of a class that exists (404 otherwise)."""
    code = code.upper()
    await store.title(code)
    return code


async def limited_code(request: Request, code: Code, store: StoreDep) -> str:
    """As ``class_code``, after counting the attempt against this address's join limit (failed too)."""
    store.joins.hit(address(request), "join attempts")
    return await class_code(code, store)


async def teacher_code(
    code: Annotated[str, Depends(class_code)],
    store: StoreDep,
    x_teacher_key: Annotated[str | None, Header(max_length=100)] = None,
) -> str:
    await store.check_teacher(code, x_teacher_key)
    return code


async def listener_code(request: Request, code: Code, store: StoreDep, student: StudentId = None) -> str:
    """Checked before the stream starts (an error afterwards could not change its status). A student of
    the class reconnecting (each page the teacher sends them to opens a stream) is not a join attempt;
    any other stream is (an unknown code, a foreign student id, a teacher's or projector's view)."""
    code = code.upper()
    if student is not None and await store.is_student(code, student):
        return code
    store.joins.hit(address(request), "join attempts")
    await store.title(code)
    if student is not None:
        raise Forbidden("student: not a student of this class")
    return code


ClassCode = Annotated[str, Depends(class_code)]
LimitedCode = Annotated[str, Depends(limited_code)]
TeacherCode = Annotated[str, Depends(teacher_code)]


async def sse_lines(events: AsyncIterator[tuple[str, str]]) -> AsyncIterator[bytes]:
    """The events as Server-Sent Events, written here rather than by ``EventSourceResponse``: one class
    push goes to every student at once, and two fewer tasks per stream halve its cost on the server."""
    async for event, raw in events:
        yield f"event: {event}\ndata: {raw}\n\n".encode() if event else b": ping\n\n"
