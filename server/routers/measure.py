"""How good and how equal: ``POST /api/perplexity`` and ``POST /api/compare-backends``."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException

from models.explain import compare_traces
from models.measure import score_text, timed_trace
from models.seq2seq import greedy_decoder_input
from server.deps import (
    ANY,
    EVERY,
    RegistryDep,
    SettingsDep,
    check_traced,
    encode,
    input_ids,
    lookup,
    special_ids,
)
from server.heavy import HEAVY, encoded
from server.rounding import MS_DECIMALS, rounded
from server.schemas import (
    BackendTiming,
    CompareBackendsRequest,
    CompareBackendsResponse,
    PerplexityResponse,
    TextRequest,
)

router = APIRouter(tags=["measure"], dependencies=[HEAVY])
ERRORS = {404: {"description": "unknown model"}, 422: {"description": "text the model cannot read"}}
LOSS_DECIMALS = 5


@router.post(
    "/perplexity",
    summary="Per-token loss, perplexity and bits per character of a text",
    response_model=PerplexityResponse,
    responses=ERRORS,
)
def perplexity_of(body: TextRequest, registry: RegistryDep) -> PerplexityResponse:
    entry = lookup(registry, body.model, ANY)
    ids = encode(entry, body.text)
    if len(ids) < 2:
        raise HTTPException(status_code=422, detail="text: needs at least two tokens to score a prediction")
    model = entry.model(body.backend)
    chars = len(entry.tokenizer.decode(ids[1:]))  # the characters that were predicted
    score = score_text(model, ids, chars)
    return encoded(
        PerplexityResponse(
            model=entry.name,
            tokens=entry.tokenizer.token_strings(ids),
            losses=rounded(score.losses, LOSS_DECIMALS),
            loss=score.loss,
            perplexity=score.perplexity,
            bits_per_char=score.bits_per_char,
        )
    )


@router.post(
    "/compare-backends",
    summary="PyTorch twin vs NumPy twin: max difference per trace tensor, and time",
    response_model=CompareBackendsResponse,
    responses=ERRORS,
)
def compare_backends(
    body: CompareBackendsRequest, registry: RegistryDep, settings: SettingsDep
) -> CompareBackendsResponse:
    """Every trace tensor of the two twins on the same input. An encoder-decoder reads the text as
    its source and its own greedy translation (NumPy twin) as the target."""
    entry = lookup(registry, body.model, EVERY)
    ids = input_ids(entry, body.text)
    check_traced(ids, settings)
    inputs = [ids]
    if entry.arch.kind == "seq2seq":
        numpy_model = entry.model("numpy")
        inputs.append(greedy_decoder_input(numpy_model, ids, *special_ids(entry)))
    traces, timings = {}, []
    for backend in ("numpy", "torch"):
        model = entry.model(backend)
        traces[backend], ms = timed_trace(model, inputs)
        timings.append(BackendTiming(backend=backend, ms=rounded(ms, MS_DECIMALS)))
    return encoded(
        CompareBackendsResponse(
            model=entry.name,
            tokens=len(ids),
            max_abs_diff=compare_traces(traces["numpy"], traces["torch"]),
            timings=timings,
        )
    )
