"""Text → tokens: ``POST /api/tokenize``."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException

from models.tokenizer import UnknownCharacterError
from server.deps import ANY, RegistryDep, lookup
from server.schemas import TokenizeRequest, TokenizeResponse

router = APIRouter(tags=["tokens"])


@router.post(
    "/tokenize",
    summary="Text to tokens, with character offsets",
    response_model=TokenizeResponse,
    responses={404: {"description": "unknown model"}, 422: {"description": "text the model cannot encode"}},
)
def tokenize(body: TokenizeRequest, registry: RegistryDep) -> TokenizeResponse:
    entry = lookup(registry, body.model, ANY)
    try:
        ids, offsets = entry.tokenizer.encode_with_offsets(body.text)
    except UnknownCharacterError as e:
        raise HTTPException(status_code=422, detail=f"text: {e}") from e
    return TokenizeResponse(
        model=entry.name, ids=ids, tokens=entry.tokenizer.token_strings(ids), offsets=offsets
    )
