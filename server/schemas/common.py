"""What many requests and responses share: the model-name field, the backend, a top-k row, and the
sampler's fields."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from models.sampling import MIN_PENALTY, SamplingParams

MODEL_NAME = Field(
    min_length=1, max_length=100, pattern=r"^[A-Za-z0-9._-]+$", description="a served model's name"
)
Backend = Literal["torch", "numpy"]


class LensEntry(BaseModel):
    id: int
    token: str
    prob: float


class SamplerFields(BaseModel):
    """The sampler's settings, as every request that shapes or draws from a distribution takes them."""

    temperature: float = Field(0.8, ge=0, le=5, description="0 = greedy")
    top_k: int = Field(0, ge=0, le=1_000_000, description="keep the k most likely tokens; 0 = off")
    top_p: float = Field(1.0, gt=0, le=1, description="keep the smallest set reaching p; 1 = off")
    repetition_penalty: float = Field(
        1.0, ge=MIN_PENALTY, le=5, description="> 1 discourages repeats; 1 = off"
    )

    def sampling_params(self) -> SamplingParams:
        return SamplingParams(self.temperature, self.top_k, self.top_p, self.repetition_penalty)


class SeededSamplerFields(SamplerFields):
    """The sampler's settings and the seed of the draws, for a request that samples tokens."""

    seed: int = Field(0, ge=0, le=2**32 - 1)
