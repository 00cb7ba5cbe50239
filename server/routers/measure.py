"""How good and how equal: ``POST /api/perplexity`` and ``POST /api/compare-backends``."""

from __future__ import annotations

import time
from typing import Any

import anyio.to_thread
import numpy as np
from fastapi import APIRouter, HTTPException

from models.explain import compare_traces, token_losses
from models.metrics import bits_per_char, perplexity
from models.seq2seq import greedy_decoder_input
from server.deps import ANY, EVERY, RegistryDep, encode, lookup, source_ids, special_ids
from server.schemas import (
    BackendTiming,
    CompareBackendsRequest,
    CompareBackendsResponse,
    PerplexityResponse,
    TextRequest,
)

router = APIRouter(tags=["measure"])
ERRORS = {404: {"description": "unknown model"}, 422: {"description": "text the model cannot read"}}


@router.post(
    "/perplexity",
    summary="Per-token loss, perplexity and bits per character of a text",
    response_model=PerplexityResponse,
    responses=ERRORS,
)
async def perplexity_of(body: TextRequest, registry: RegistryDep) -> PerplexityResponse:
    entry = lookup(registry, body.model, ANY)
    ids = encode(entry, body.text)
    if len(ids) < 2:
        raise HTTPException(status_code=422, detail="text: needs at least two tokens to score a prediction")
    model = await anyio.to_thread.run_sync(entry.model, body.backend)
    losses = await anyio.to_thread.run_sync(token_losses, model, ids)
    loss = float(np.mean(losses))
    chars = len(entry.tokenizer.decode(ids[1:]))  # the characters that were predicted
    return PerplexityResponse(
        model=entry.name,
        tokens=entry.tokenizer.token_strings(ids),
        losses=np.round(losses, 5).tolist(),
        loss=loss,
        perplexity=perplexity(loss),
        bits_per_char=bits_per_char(loss, len(losses), chars),
    )


def _traced(model: Any, inputs: list[list[int]]) -> tuple[Any, float]:
    """One traced forward (an encoder-decoder takes source and target) and its wall time in ms."""
    start = time.perf_counter()
    with model.inference_context():
        _, tr = model.forward(*(np.asarray([x]) for x in inputs), trace=True)
    return tr, (time.perf_counter() - start) * 1000


@router.post(
    "/compare-backends",
    summary="PyTorch twin vs NumPy twin: max difference per trace tensor, and time",
    response_model=CompareBackendsResponse,
    responses=ERRORS,
)
async def compare_backends(body: CompareBackendsRequest, registry: RegistryDep) -> CompareBackendsResponse:
    """Every trace tensor of the two twins on the same input. An encoder-decoder reads the text as
    its source and its own greedy translation (NumPy twin) as the target."""
    entry = lookup(registry, body.model, EVERY)
    if entry.architecture == "encoder-decoder":
        ids = source_ids(entry, body.text, "text")
        bos, eos = special_ids(entry)
        numpy_model = await anyio.to_thread.run_sync(entry.model, "numpy")
        target = await anyio.to_thread.run_sync(greedy_decoder_input, numpy_model, ids, bos, eos)
        inputs = [ids, target]
    else:
        ids = encode(entry, body.text)
        inputs = [ids]
    traces, timings = {}, []
    for backend in ("numpy", "torch"):
        model = await anyio.to_thread.run_sync(entry.model, backend)
        traces[backend], ms = await anyio.to_thread.run_sync(_traced, model, inputs)
        timings.append(BackendTiming(backend=backend, ms=round(ms, 3)))
    return CompareBackendsResponse(
        model=entry.name,
        tokens=len(ids),
        max_abs_diff=compare_traces(traces["numpy"], traces["torch"]),
        timings=timings,
    )
