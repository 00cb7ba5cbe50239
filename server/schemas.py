"""Request and response bodies of the API (pydantic): bounds here become 422s that name the field."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

MODEL_NAME = Field(
    min_length=1, max_length=100, pattern=r"^[A-Za-z0-9._-]+$", description="a served model's name"
)


class ModelSummary(BaseModel):
    name: str
    architecture: str
    parameters: int
    tokenizer: str  # "char" or "bpe"
    vocab_size: int
    context: int
    backends: list[str]
    config: dict[str, Any]
    card: dict[str, Any]


class ModelList(BaseModel):
    models: list[ModelSummary]
    unavailable: dict[str, str]  # directory name → why it is not served


class TokenizeRequest(BaseModel):
    model: str = MODEL_NAME
    text: str = Field(max_length=4000, description="the text to split into tokens")


class TokenizeResponse(BaseModel):
    model: str
    ids: list[int]
    tokens: list[str]  # the text each token stands for
    offsets: list[tuple[int, int]]  # (start, end) character span of each token in the text


class Health(BaseModel):
    status: str
    models: int
