"""The live class's pages: ``/class`` (the teacher's) and ``/join``, ``/join/{code}`` (a student's).

The pages are shells like every other (``pages.page`` renders them); their modules talk to ``/api/classes``.
A code in the path is only pre-filled into the join form: the join call checks it.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from server.deps import RegistryDep
from server.routers.pages import page

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)

CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O/1/I/L: read aloud and typed without doubt
CODE_LENGTH = 6


@router.api_route("/class", methods=["GET", "HEAD"])
def teacher(request: Request, registry: RegistryDep) -> HTMLResponse:
    return page(request, "class.html", registry, "Class")


@router.api_route("/join", methods=["GET", "HEAD"])
@router.api_route("/join/{code}", methods=["GET", "HEAD"])
def join(request: Request, registry: RegistryDep, code: str = "") -> HTMLResponse:
    """A code in the path is pre-filled when it can be a class code (the join itself checks it)."""
    code = code.strip().upper()
    valid = len(code) == CODE_LENGTH and all(c in CODE_ALPHABET for c in code)
    return page(request, "join.html", registry, "Join a class", code=code if valid else "")
