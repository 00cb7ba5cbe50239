"""The twins' own source, so a lesson shows the NumPy (or PyTorch) line that computed its numbers.

Only top-level functions and classes (and their methods) of the twin modules are served, looked up
by name, and only where they are written in a twin module or in the bases the twins share; nothing
else on disk can be read through this route.
"""

from __future__ import annotations

import importlib
import inspect
import textwrap
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Path

from server.schemas import SourceResponse

router = APIRouter(tags=["source"])

MODULES = {
    "numpy": "models.gpt_numpy",
    "torch": "models.gpt_torch",
    "sampling": "models.sampling",
    "generate": "models.generate",
    "tokenizer": "models.tokenizer",
    "explain": "models.explain",
    "encdec": "models.encdec_numpy",
    "lstm": "models.lstm_numpy",
}
# What every twin of one backend shares (``GPT.forward`` is ``LanguageModel.forward``): served
# through the twin that uses it, under the module that holds it.
SHARED = ("models.twin_numpy", "models.twin_torch", "models.numpy_nn")
Module = Literal["numpy", "torch", "sampling", "generate", "tokenizer", "explain", "encdec", "lstm"]
NAME = r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$"


def source_of(backend: str, name: str) -> SourceResponse:
    module = importlib.import_module(MODULES[backend])
    obj = module
    for part in name.split("."):
        private = part.startswith("_") and part not in ("__call__", "__init__")
        obj = None if private else getattr(obj, part, None)
        if obj is None:
            raise HTTPException(status_code=404, detail=f"name: {module.__name__} has no public {name!r}")
    home = inspect.getmodule(obj)
    served = (module.__name__, *SHARED)
    if not (inspect.isfunction(obj) or inspect.isclass(obj)) or home is None or home.__name__ not in served:
        raise HTTPException(
            status_code=404, detail=f"name: {name!r} is not a function or class of {module.__name__}"
        )
    try:
        lines, first = inspect.getsourcelines(obj)
    except (OSError, TypeError) as e:  # generated code (a dataclass's __init__) has no source file
        raise HTTPException(
            status_code=404, detail=f"name: {name!r} has no source to show (it is generated, not written)"
        ) from e
    return SourceResponse(
        backend=backend,
        module=home.__name__,  # where the code is written: a twin's own module or a shared base
        name=name,
        first_line=first,
        source=textwrap.dedent("".join(lines)).rstrip(),
    )


@router.get(
    "/source/{backend}/{name}",
    summary="The source of a twin's function, as served",
    response_model=SourceResponse,
    responses={404: {"description": "unknown name"}},
)
def source(backend: Module, name: Annotated[str, Path(max_length=80, pattern=NAME)]) -> SourceResponse:
    """The source of one function, class or method, e.g. ``numpy`` / ``CausalSelfAttention.__call__``."""
    return source_of(backend, name)
