"""Dependencies shared by the routers: the registry and a looked-up model."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request

from models.architectures import ARCHITECTURES, CAUSAL_TRANSFORMERS, LANGUAGE_MODELS
from models.numbers import BOS_ID, EOS_ID
from models.tokenizer import UnknownCharacterError
from server.registry import ModelEntry, Registry


def get_registry(request: Request) -> Registry:
    return request.app.state.registry


RegistryDep = Annotated[Registry, Depends(get_registry)]


TRANSFORMERS = CAUSAL_TRANSFORMERS  # what routes that show attention, heads or positions can explain
ANY = LANGUAGE_MODELS  # language models: generate, score, sample
EVERY = tuple(ARCHITECTURES)


def lookup(registry: Registry, name: str, architectures: tuple[str, ...] = TRANSFORMERS) -> ModelEntry:
    """The entry for ``name``, or a 404 that lists the names that exist; a model of an
    architecture the route cannot explain (an LSTM has no attention to trace) is a 422."""
    entry = registry.get(name)
    if entry is None:
        known = ", ".join(registry.models) or "none"
        raise HTTPException(status_code=404, detail=f"no model named {name!r}; known models: {known}")
    if entry.architecture not in architectures:
        fits = ", ".join(n for n, e in registry.models.items() if e.architecture in architectures) or "none"
        raise HTTPException(
            status_code=422,
            detail=f"model: {name} is an {entry.architecture.upper()}, which this route does not explain; "
            f"models it does: {fits}",
        )
    return entry


def encode(entry: ModelEntry, text: str, field: str = "text") -> list[int]:
    """Token ids of ``text`` that fit the model's context, or a 422 naming ``field``."""
    try:
        ids = entry.tokenizer.encode(text)
    except UnknownCharacterError as e:
        raise HTTPException(status_code=422, detail=f"{field}: {e}") from e
    if len(ids) > entry.config.block_size:
        raise HTTPException(
            status_code=422,
            detail=f"{field}: {len(ids)} tokens exceed the model's context of {entry.config.block_size}",
        )
    return ids


def special_ids(entry: ModelEntry) -> tuple[int, int]:
    """An encoder-decoder's start and end token ids."""
    stoi = getattr(entry.tokenizer, "stoi", {})
    return stoi.get("<s>", BOS_ID), stoi.get("</s>", EOS_ID)


def source_ids(entry: ModelEntry, text: str, field: str = "source") -> list[int]:
    """An encoder-decoder's source ids that fit its encoder, or a 422 naming ``field``."""
    try:
        ids = entry.source_tokenizer.encode(text)
    except (UnknownCharacterError, ValueError) as e:
        raise HTTPException(status_code=422, detail=f"{field}: {e}") from e
    if not ids:
        raise HTTPException(status_code=422, detail=f"{field}: empty; give at least one digit")
    if len(ids) > entry.config.src_block_size:
        raise HTTPException(
            status_code=422,
            detail=f"{field}: {len(ids)} tokens exceed the encoder's context of "
            f"{entry.config.src_block_size}",
        )
    return ids
