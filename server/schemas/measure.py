"""How good and how equal: a text's perplexity, and the PyTorch twin against the NumPy twin."""

from __future__ import annotations

from pydantic import BaseModel, Field

from server.schemas.common import MODEL_NAME, Backend


class TextRequest(BaseModel):
    model: str = MODEL_NAME
    text: str = Field(min_length=1, max_length=4000)
    backend: Backend = "numpy"


class PerplexityResponse(BaseModel):
    model: str
    tokens: list[str]
    losses: list[float]  # -log p of each token after the first, in nats
    loss: float  # their mean
    perplexity: float  # exp(loss)
    bits_per_char: float  # total bits / characters predicted


class BackendTiming(BaseModel):
    backend: str
    ms: float


class CompareBackendsRequest(BaseModel):
    model: str = MODEL_NAME
    text: str = Field(min_length=1, max_length=4000)


class CompareBackendsResponse(BaseModel):
    model: str
    tokens: int
    max_abs_diff: dict[str, float]  # per trace tensor, float32 NumPy vs float32 PyTorch
    timings: list[BackendTiming]  # one traced forward each
