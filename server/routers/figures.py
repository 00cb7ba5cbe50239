"""Figures computed from a model's own code: ``POST /api/masks`` and ``GET /api/positional``."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query

from models.explain import cosine_similarity
from models.lessons import batch_masks, position_vectors
from server.deps import RegistryDep, batch_ids, lookup, padded_tokens
from server.heavy import HEAVY, encoded
from server.rounding import rounded
from server.schemas import MasksRequest, MasksResponse, PositionalResponse

router = APIRouter(tags=["figures"], dependencies=[HEAVY])
MAX_POSITIONS = 1024
MAX_DIMS = 1024
MAX_NUMBERS = 2**19  # position vectors plus their similarity matrix: 524,288 numbers, about 4 MB of JSON


@router.post(
    "/masks",
    summary="Padding, causal and combined masks of a real padded batch",
    response_model=MasksResponse,
    responses={404: {"description": "unknown model"}},
)
def masks(body: MasksRequest, registry: RegistryDep) -> MasksResponse:
    """The masks of a real batch of unequal prompts, built by the same functions the twins run."""
    entry = lookup(registry, body.model)
    m = batch_masks(batch_ids(entry, body.texts))
    return encoded(
        MasksResponse(
            tokens=padded_tokens(entry.tokenizer, m.ids, m.padding),
            padding=m.padding.tolist(),
            positions=m.positions.tolist(),
            causal=m.causal.tolist(),
            combined=m.combined.tolist(),
        )
    )


@router.get(
    "/positional",
    summary="Positional encodings and their position-similarity matrix",
    response_model=PositionalResponse,
    responses={404: {"description": "unknown model"}},
)
def positional(
    registry: RegistryDep,
    kind: Annotated[Literal["sinusoidal", "learned"], Query()] = "sinusoidal",
    model: Annotated[str | None, Query(max_length=100)] = None,
    positions: Annotated[int, Query(ge=1, le=MAX_POSITIONS)] = 64,
    dims: Annotated[int, Query(ge=2, le=MAX_DIMS, description="sinusoid width when no model is named")] = 64,
) -> PositionalResponse:
    """Position vectors (fixed sinusoids, or a model's learned table) and their cosine similarity."""
    entry = lookup(registry, model) if model is not None else None
    if entry is not None:
        dims, positions = entry.config.n_embd, min(positions, entry.config.block_size)
    if positions * (dims + positions) > MAX_NUMBERS:  # the vectors and their similarity matrix
        raise HTTPException(
            status_code=422,
            detail=f"positions: {positions} positions × ({dims} channels + {positions}) numbers exceed "
            f"the cap of {MAX_NUMBERS:,}; ask for fewer positions",
        )
    twin = None
    if kind == "learned":
        if entry is None or entry.config.pos != "learned":
            raise HTTPException(status_code=422, detail="model: name a model with learned positions")
        twin = entry.model("numpy")
    elif dims % 2:
        raise HTTPException(
            status_code=422, detail="dims: sinusoids come in sin/cos pairs, use an even width"
        )
    vectors = position_vectors(kind, positions, dims, twin)
    return encoded(
        PositionalResponse(
            kind=kind,
            model=entry.name if entry else None,
            vectors=rounded(vectors),
            similarity=rounded(cosine_similarity(vectors)),
        )
    )
