"""The JSON API: one router under ``/api`` that gathers the per-concern routers (which have no prefix)."""

from __future__ import annotations

from fastapi import APIRouter

from server.routers import (
    beam,
    blocks,
    cache,
    classes,
    compare,
    figures,
    generate,
    lessons_math,
    measure,
    model_map,
    models,
    sampler,
    seq2seq,
    source,
    tokenize,
    trace,
    train,
)

api = APIRouter(prefix="/api")
for concern in (
    models,
    tokenize,
    generate,
    trace,
    beam,
    measure,
    figures,
    source,
    sampler,
    lessons_math,
    compare,
    cache,
    blocks,
    seq2seq,
    train,
    model_map,
    classes,
):
    api.include_router(concern.router)
