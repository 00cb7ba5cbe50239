"""Dependencies shared by the routers: the settings, the registry, a looked-up model, and the checks
that turn a bad text, layer or head into a 422 naming the field."""

from __future__ import annotations

from typing import Annotated, Any

import numpy as np
from fastapi import Depends, HTTPException, Request

from models.architectures import ARCHITECTURES, CAUSAL_TRANSFORMERS, LANGUAGE_MODELS, names_where
from models.explain import layer_head_problems
from models.numbers import BOS_ID, EOS_ID
from models.tokenizer import UnknownCharacterError
from server.registry import ModelEntry, Registry
from server.settings import Settings


async def get_registry(request: Request) -> Registry:  # async: no worker thread for a lookup
    return request.app.state.registry


async def get_settings(request: Request) -> Settings:
    return request.app.state.settings


RegistryDep = Annotated[Registry, Depends(get_registry)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


# which architectures a route can explain, read from the architecture table
TRANSFORMERS = CAUSAL_TRANSFORMERS  # what routes that show attention, heads or positions can explain
ANY = LANGUAGE_MODELS  # language models: generate, score, sample
EVERY = tuple(ARCHITECTURES)
MASKED_LMS = names_where(lambda a: a.kind == "masked-lm")  # fill masks
TRANSLATORS = names_where(lambda a: a.kind == "seq2seq")  # translate a source


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


def check_layer_head(
    entry: ModelEntry, layer: int | None = None, head: int | None = None, more: tuple[str, ...] = ()
) -> None:
    """A 422 naming every field that is out of bounds: the layer and head (None: not asked for) as
    the model's config and architecture allow them, and the route's own ``more`` problems."""
    problems = [*layer_head_problems(entry.config, layer, head), *more]
    if problems:
        raise HTTPException(status_code=422, detail="; ".join(problems))


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


def check_traced(ids: list[int], settings: Settings, field: str = "text") -> None:
    """A 422 naming the cap when an input is longer than a trace may explain (its answer grows
    with the square of the length)."""
    if len(ids) > settings.max_trace_tokens:
        raise HTTPException(
            status_code=422,
            detail=f"{field}: {len(ids)} tokens exceed the trace cap of {settings.max_trace_tokens} "
            "(PLAYGROUND_MAX_TRACE_TOKENS); trace a shorter text",
        )


def input_ids(entry: ModelEntry, text: str, field: str = "text") -> list[int]:
    """What the model reads first: an encoder-decoder's source ids, any other model's token ids."""
    return source_ids(entry, text, field) if entry.arch.kind == "seq2seq" else encode(entry, text, field)


def input_tokenizer(entry: ModelEntry) -> Any:
    """The tokenizer of what the model reads first (an encoder-decoder's source vocabulary)."""
    return entry.source_tokenizer if entry.arch.kind == "seq2seq" else entry.tokenizer


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


def batch_ids(entry: ModelEntry, texts: list[str]) -> list[list[int]]:
    """Token ids of every text of a batch, each at least one token, or a 422 naming the text."""
    seqs = [encode(entry, text, f"texts[{i}]") for i, text in enumerate(texts)]
    if any(not s for s in seqs):
        raise HTTPException(status_code=422, detail="texts: every prompt needs at least one token")
    return seqs


def padded_tokens(tokenizer: Any, ids: Any, real: Any) -> list[list[str | None]]:
    """(B, T) token strings of a padded batch, None where ``real`` is 0 (padding)."""
    ids, real = np.asarray(ids), np.asarray(real).astype(bool)
    strings = np.array(tokenizer.token_strings(ids.reshape(-1).tolist()), dtype=object).reshape(ids.shape)
    return np.where(real, strings, None).tolist()
