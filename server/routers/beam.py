"""Beam search with every step's beams: ``POST /api/beam``."""

from __future__ import annotations

from fastapi import APIRouter

from models.beam import Beam, beam_search
from server.deps import ANY, RegistryDep, encode, lookup
from server.heavy import HEAVY, encoded
from server.registry import ModelEntry
from server.rounding import SCALAR_DECIMALS, rounded
from server.schemas import BeamOut, BeamRequest, BeamResponse, BeamSearchStepOut

router = APIRouter(tags=["generate"], dependencies=[HEAVY])


def beam_out(entry: ModelEntry, beam: Beam) -> BeamOut:
    return BeamOut(
        ids=beam.ids,
        text=entry.tokenizer.decode(beam.ids),
        logprob=rounded(beam.logprob, SCALAR_DECIMALS),
        score=rounded(beam.score, SCALAR_DECIMALS),
        finished=beam.finished,
    )


@router.post(
    "/beam",
    summary="Beam search on a language model, every step's beams and scores",
    response_model=BeamResponse,
    responses={404: {"description": "unknown model"}},
)
def beam(body: BeamRequest, registry: RegistryDep) -> BeamResponse:
    entry = lookup(registry, body.model, ANY)
    ids = encode(entry, body.prompt, "prompt")
    model = entry.model(body.backend)
    result = beam_search(model, ids, body.num_beams, body.max_new_tokens, body.length_penalty)
    return encoded(
        BeamResponse(
            model=entry.name,
            best=beam_out(entry, result.best),
            hypotheses=[beam_out(entry, h) for h in result.hypotheses],
            steps=[
                BeamSearchStepOut(
                    step=s.step,
                    beams=[beam_out(entry, b) for b in s.beams],
                    finished=[beam_out(entry, b) for b in s.finished],
                )
                for s in result.steps
            ],
        )
    )
