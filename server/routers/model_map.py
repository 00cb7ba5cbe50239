"""The whole model on one map: ``POST /api/model-map``.

The parts, their real shapes and the steps that teach them come from ``models.model_map``; this
module validates the text (its length is T), links each part to the first of its steps that is
served, and returns the schema.
"""

from __future__ import annotations

from fastapi import APIRouter

from models.model_map import model_map as build_map
from server.deps import EVERY, RegistryDep, input_ids, input_tokenizer, lookup
from server.lessons import available
from server.schemas import ModelMapRequest, ModelMapResponse

router = APIRouter(tags=["model map"])


@router.post(
    "/model-map",
    summary="The whole model on one map: every part in order, with its real shapes and its lesson step",
    response_model=ModelMapResponse,
    responses={404: {"description": "unknown model"}, 422: {"description": "bad text"}},
)
def model_map(body: ModelMapRequest, registry: RegistryDep) -> ModelMapResponse:
    entry = lookup(registry, body.model, EVERY)
    ids = input_ids(entry, body.text)
    served = [x.slug for x in available({e.architecture for e in registry.models.values()})]
    m = build_map(entry.config, len(ids)).to_dict()
    for stack in m["stacks"]:
        for part in stack["parts"]:
            part["link"] = next((s for s in part["steps"] if s in served), None)
    return ModelMapResponse(model=entry.name, tokens=input_tokenizer(entry).token_strings(ids), **m)
