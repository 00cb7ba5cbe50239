"""``POST /api/model-map``: the whole model on one map, every part with its real shapes."""

from __future__ import annotations

from pydantic import BaseModel, Field

from server.schemas.common import MODEL_NAME


class ModelMapRequest(BaseModel):
    model: str = MODEL_NAME
    text: str = Field(
        min_length=1, max_length=4000, description="the reader's text (an encoder-decoder's source): sets T"
    )


class MapPart(BaseModel):
    id: str = Field(description="unique in the map, e.g. transformer.h.0.attn")
    kind: str = Field(description="what the part is: tokens, wte, wpe, ln_1, attn, add_attn, mlp, head, …")
    label: str
    shape: str = Field(description="the real shapes of its parameters, e.g. '65 × 128'")
    layer: int | None
    params: dict[str, list[int]] = Field(description="the stored parameters it reads: name → shape")
    steps: list[str] = Field(description="the lesson steps that teach it")
    link: str | None = Field(description="the served lesson step it links to (/learn/<link>)")


class MapStack(BaseModel):
    name: str
    title: str
    parts: list[MapPart]


class ModelMapResponse(BaseModel):
    model: str
    architecture: str
    label: str
    kind: str
    T: int = Field(description="tokens of the text (an encoder-decoder's source)")
    tokens: list[str]
    sizes: dict[str, int] = Field(description="the config's sizes by shape letter: V, C, L, nh, hs, …")
    stacks: list[MapStack]
    whole_model_steps: list[str] = Field(
        description="steps about the whole model: their small map lights all"
    )
