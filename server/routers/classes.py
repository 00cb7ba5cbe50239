"""The live class's API: a teacher starts a class, pushes state and polls; students join, follow the
events and answer. The store (``server/classroom``) keeps everything; this router checks and calls it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import StreamingResponse

from server.classroom.core import Forbidden
from server.classroom.deps import (
    ClassCode,
    LimitedCode,
    PollId,
    StoreDep,
    StudentId,
    TeacherCode,
    address,
    listener_code,
    sse_lines,
)
from server.classroom.links import join_url, qr_svg
from server.schemas.classes import (
    AnswerRequest,
    ClassCreate,
    ClassCreated,
    ClassInfo,
    Joined,
    JoinRequest,
    Ok,
    PollCreate,
    PollOpened,
    PollTally,
    RevealRequest,
    StateUpdate,
    Version,
)

router = APIRouter(tags=["live class"])
TEACHER = {403: {"description": "teacher key missing or wrong"}, 404: {"description": "unknown class"}}
LIMITED = {429: {"description": "too many attempts from this address; see Retry-After"}}


@router.post(
    "/classes",
    summary="Start a class",
    response_model=ClassCreated,
    response_model_exclude_none=True,
    responses={503: {"description": "the server holds as many classes as it may"}, **LIMITED},
)
async def create_class(body: ClassCreate, request: Request, store: StoreDep) -> ClassCreated:
    """A join code, a teacher key (keep it: every teacher action sends it as ``X-Teacher-Key``), the
    join link students open and its QR code."""
    store.creates.hit(address(request), "classes started")
    code, key = await store.create(body.title)
    url, note = join_url(code, str(request.base_url), store.settings.public_url)
    return ClassCreated(
        code=code,
        teacher_key=key,
        join_url=url,
        join_note=note,
        qr=f"/api/classes/{code}/qr.svg",
        events=f"/api/classes/{code}/events",
    )


@router.get(
    "/classes/{code}/qr.svg",
    summary="The join link as a QR code (SVG)",
    response_class=Response,
    responses={200: {"content": {"image/svg+xml": {}}}, 404: {"description": "unknown class"}, **LIMITED},
)
async def class_qr(code: LimitedCode, request: Request, store: StoreDep) -> Response:
    url, _ = join_url(code, str(request.base_url), store.settings.public_url)
    return Response(qr_svg(url), media_type="image/svg+xml", headers={"Cache-Control": "no-store"})


@router.post(
    "/classes/{code}/join",
    summary="Join a class as a student",
    response_model=Joined,
    responses={404: {"description": "unknown class"}, 503: {"description": "the class is full"}, **LIMITED},
)
async def join_class(body: JoinRequest, code: LimitedCode, store: StoreDep) -> Joined:
    student = await store.join(code, body.name)
    return Joined(student=student, code=code, events=f"/api/classes/{code}/events?student={student}")


@router.get("/classes/{code}", summary="The class as the teacher sees it", responses=TEACHER)
async def class_info(code: TeacherCode, store: StoreDep) -> ClassInfo:
    return ClassInfo(**await store.info(code))


@router.delete("/classes/{code}", summary="End the class", status_code=204, responses=TEACHER)
async def end_class(code: TeacherCode, store: StoreDep) -> Response:
    await store.end(code, "ended by the teacher")
    return Response(status_code=204)


@router.get(
    "/classes/{code}/events",
    summary="Follow the class: Server-Sent Events",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"text/event-stream": {}}},
        403: {"description": "not a student of this class"},
        404: {"description": "unknown class"},
    },
)
async def class_events(
    code: Annotated[str, Depends(listener_code)], store: StoreDep, student: StudentId = None
) -> StreamingResponse:
    """``state`` first (then on every push), ``count``, ``poll`` (the open one first, for a student who
    reconnects), ``answers``, ``reveal``, and ``end`` before the stream closes. Without ``student`` the
    stream is the teacher's (or a projector's) and is not counted."""
    return StreamingResponse(
        sse_lines(store.listen(code, student)),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@router.post("/classes/{code}/state", summary="Push the teacher's page and settings", responses=TEACHER)
async def push_state(body: StateUpdate, code: TeacherCode, store: StoreDep) -> Version:
    return Version(version=await store.push(code, body.given()))


@router.post("/classes/{code}/polls", summary="Open a poll", responses=TEACHER)
async def open_poll(body: PollCreate, code: TeacherCode, store: StoreDep) -> PollOpened:
    """Opening a poll closes the class's previous one."""
    return PollOpened(poll_id=await store.open_poll(code, body.model_dump()))


@router.post(
    "/classes/{code}/answers",
    summary="A student's answer (the last one counts)",
    responses={
        403: {"description": "not a student of this class"},
        404: {"description": "unknown class or poll"},
        409: {"description": "the poll is revealed or closed"},
    },
)
async def answer_poll(body: AnswerRequest, code: ClassCode, store: StoreDep) -> Ok:
    if not await store.is_student(code, body.student):
        raise Forbidden("student: not a student of this class")
    await store.answer(code, body.poll_id, body.student, body.answer)
    return Ok()


@router.get("/classes/{code}/polls/{poll_id}", summary="A poll's tally", responses=TEACHER)
async def poll_tally(code: TeacherCode, poll_id: PollId, store: StoreDep) -> PollTally:
    return PollTally(**await store.tally(code, poll_id))


@router.post("/classes/{code}/polls/{poll_id}/reveal", summary="Reveal a poll's tally", responses=TEACHER)
async def reveal_poll(body: RevealRequest, code: TeacherCode, poll_id: PollId, store: StoreDep) -> PollTally:
    return PollTally(**await store.reveal(code, poll_id, body.model))
