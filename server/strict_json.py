"""Request bodies as strict JSON, and validation errors that never echo what they reject.

Python's ``json`` module reads ``NaN``, ``Infinity`` and ``-Infinity`` (which JSON does not have),
turns ``1e999`` into an infinite float, and keeps a lone surrogate (``"\\ud800"``) in a string: none
of them is a value any route can use, and each used to reach a handler that then failed to encode
it. ``problem_in`` finds the first such value in a body (its JSON path and what is wrong with it)
so the security middleware answers ``422`` before the app parses anything; ``validation_error``
answers pydantic's field errors with their location and message only, never the rejected input.
"""

from __future__ import annotations

import json
import math
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse


class NonFinite(str):
    """Where the body had ``NaN``, ``Infinity`` or a number too large for a float (its text)."""


def _constant(text: str) -> NonFinite:
    return NonFinite(text)


def _float(text: str) -> float | NonFinite:
    value = float(text)
    return value if math.isfinite(value) else NonFinite(text)


def _first_problem(value: Any, path: str) -> str | None:
    """The first value that strict JSON would not hold, as "path: what is wrong", or None."""
    if isinstance(value, NonFinite):
        return f"{path}: {value[:24]} is not a finite number; JSON numbers are finite, send one"
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return f"{path}: holds a lone surrogate (\\ud800–\\udfff), which is not a Unicode character"
        return None
    if isinstance(value, dict):
        for k, v in value.items():
            found = _first_problem(k, path) or _first_problem(v, f"{path}.{k}")
            if found:
                return found
    if isinstance(value, list):
        for i, v in enumerate(value):
            found = _first_problem(v, f"{path}[{i}]")
            if found:
                return found
    return None


def problem_in(body: bytes) -> str | None:
    """What keeps ``body`` from being strict JSON with valid Unicode strings, naming where (None when
    it is, or when it is not JSON at all: the app's own parser answers that with its 400 or 422)."""
    try:
        data = json.loads(body, parse_constant=_constant, parse_float=_float)
    except RecursionError:
        return "body: nested too deeply to read"
    except (ValueError, UnicodeDecodeError):
        return None
    try:
        return _first_problem(data, "body")
    except RecursionError:
        return "body: nested too deeply to read"


def readable(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Pydantic's errors with location, message and type only (no input, no context)."""
    return [
        {"loc": [str(part) for part in e.get("loc", ())], "msg": str(e.get("msg", "")), "type": e.get("type")}
        for e in errors
    ]


async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    return JSONResponse(status_code=422, content={"detail": readable(list(exc.errors()))})
