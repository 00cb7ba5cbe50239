"""The pages' Jinja2 templates, read on the first page asked for: the server answers /healthz and the
API without importing Jinja2 at start (each template is compiled on its first use either way)."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


@cache
def templates() -> Any:
    """The one ``Jinja2Templates`` of the app (``templates/``)."""
    from fastapi.templating import Jinja2Templates

    return Jinja2Templates(directory=ROOT / "templates")
