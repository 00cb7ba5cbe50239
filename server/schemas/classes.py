"""Requests and answers of the live-class API (``server/routers/classes.py``)."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StringConstraints,
    field_validator,
    model_validator,
)

STUDENT = Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_-]+$", description="a student's id")
POLL_ID = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")
ParamName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,39}$")]
ParamValue = Annotated[str, StringConstraints(max_length=4000)] | bool | int | float | None
ControlName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_-]{0,39}$")]
NoControl = r"^[^\x00-\x1f\x7f]*$"


def json_size(value: dict[str, Any], limit: int, field: str) -> dict[str, Any]:
    if len(json.dumps(value, separators=(",", ":"))) > limit:
        raise ValueError(f"{field}: at most {limit} bytes of JSON")
    return value


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ClassCreate(Strict):
    title: str = Field("", max_length=80, pattern=NoControl, description="shown to the students")


class ClassCreated(BaseModel):
    code: str
    teacher_key: str = Field(description="send as X-Teacher-Key with every teacher action; keep it")
    join_url: str
    qr: str
    events: str
    join_note: str | None = Field(None, description="why the join link does not use the address asked")


class JoinRequest(Strict):
    name: str = Field("", max_length=40, pattern=NoControl, description="a display name; empty: anonymous")

    @field_validator("name")
    @classmethod
    def stripped(cls, v: str) -> str:
        return v.strip()


class Joined(BaseModel):
    student: str
    code: str
    events: str


class ClassState(BaseModel):
    version: int
    page: str | None
    params: dict[str, Any]
    lock: list[str]
    hide: list[str]
    mode: Literal["follow", "free"]
    present: bool


class StateUpdate(Strict):
    """Every field optional: what is left out stays as it was."""

    page: str | None = Field(None, max_length=300, description="a path of this site, e.g. /learn/qkv")
    params: dict[ParamName, ParamValue] | None = Field(None, max_length=40)
    lock: list[ControlName] | None = Field(None, max_length=40)
    hide: list[ControlName] | None = Field(None, max_length=40)
    mode: Literal["follow", "free"] | None = None
    present: StrictBool | None = None

    @field_validator("page")
    @classmethod
    def site_path(cls, v: str | None) -> str | None:
        if v is None:
            return v
        if not v.startswith("/") or "//" in v or "\\" in v:
            raise ValueError("a path of this site: one leading /, no //, no backslash")
        if v == "/api" or v.startswith("/api/"):
            raise ValueError("a page, not an API route")
        if any(c in v for c in "?#") or any(ord(c) < 33 or ord(c) == 127 for c in v):
            raise ValueError("no query, fragment, spaces or control characters (params carry the query)")
        return v

    def given(self) -> dict[str, Any]:
        """The fields the teacher sent (null for ``page`` clears it; null elsewhere keeps the field)."""
        data = self.model_dump(exclude_unset=True)
        return {k: v for k, v in data.items() if v is not None or k == "page"}


class Version(BaseModel):
    version: int


class PollCreate(Strict):
    question: str = Field(min_length=1, max_length=300)
    kind: Literal["choice", "guess"] = "choice"
    options: list[Annotated[str, StringConstraints(min_length=1, max_length=120)]] = Field(
        default_factory=list, max_length=12
    )
    context: dict[str, Any] = Field(default_factory=dict, description="at most 4 KB of JSON")

    @field_validator("context")
    @classmethod
    def small_context(cls, v: dict[str, Any]) -> dict[str, Any]:
        return json_size(v, 4096, "context")

    @model_validator(mode="after")
    def options_fit_kind(self) -> PollCreate:
        if self.kind == "choice":
            if not 2 <= len(self.options) <= 12:
                raise ValueError("options: a choice poll has 2 to 12 options")
            if len(set(self.options)) != len(self.options):
                raise ValueError("options: each option once")
        elif self.options:
            raise ValueError("options: a guess round has none (students type their guess)")
        return self


class PollOpened(BaseModel):
    poll_id: str


class AnswerRequest(Strict):
    poll_id: str = POLL_ID
    answer: str = Field(min_length=1, max_length=120)
    student: str = STUDENT


class Ok(BaseModel):
    ok: bool = True


class RevealRequest(Strict):
    model: dict[str, Any] = Field(
        default_factory=dict, description="the model's answer, at most 8 KB of JSON"
    )

    @field_validator("model")
    @classmethod
    def small_model(cls, v: dict[str, Any]) -> dict[str, Any]:
        return json_size(v, 8192, "model")


class PollView(BaseModel):
    poll_id: str
    kind: str
    question: str
    options: list[str]
    context: dict[str, Any]
    answers: int
    revealed: bool


class ClassInfo(BaseModel):
    code: str
    title: str
    students: int = Field(description="students with a stream open now")
    joined: int
    names: list[str] = Field(description="display names given, sorted (anonymous students have none)")
    state: ClassState
    poll: PollView | None


class PollTally(BaseModel):
    poll_id: str
    kind: str
    question: str
    options: list[str]
    tally: dict[str, int]
    answers: int
    students: int
    revealed: bool
    model: dict[str, Any] | None
