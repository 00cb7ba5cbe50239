"""Request and response bodies of the API (pydantic): bounds here become 422s that name the field."""

from __future__ import annotations

from typing import Any, Literal

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
    models: int  # served
    streams: int  # generations streaming now
    tokens: int  # tokens generated since start-up


class GenerateRequest(BaseModel):
    model: str = MODEL_NAME
    prompt: str = Field(min_length=1, max_length=4000, description="text to continue")
    backend: Literal["torch", "numpy"] = "numpy"
    max_new_tokens: int = Field(100, ge=1, le=512)
    temperature: float = Field(0.8, ge=0, le=5, description="0 = greedy")
    top_k: int = Field(0, ge=0, le=1_000_000, description="keep the k most likely tokens; 0 = off")
    top_p: float = Field(1.0, gt=0, le=1, description="keep the smallest set reaching p; 1 = off")
    repetition_penalty: float = Field(1.0, gt=0, le=5, description="> 1 discourages repeats; 1 = off")
    seed: int = Field(0, ge=0, le=2**32 - 1)
    include_attention: bool = Field(False, description="send each new token's attention row per layer × head")


class Candidate(BaseModel):
    id: int
    token: str
    prob: float


class StartEvent(BaseModel):
    model: str
    backend: str
    prompt_ids: list[int]
    prompt_tokens: list[str]


class TokenEvent(BaseModel):
    index: int
    id: int
    text: str  # what this token adds to the text ("" while a character is incomplete)
    token: str  # the token's own text
    prob: float  # in the distribution that was sampled (after every filter)
    model_prob: float  # under the model alone
    candidates: list[Candidate]  # the top 10 after the filters
    attention: list[list[list[float]]] | None  # [layer][head][key] for the new token, when asked for
    ms: float


class DoneEvent(BaseModel):
    reason: str  # max_tokens | context | stop_token
    tokens: list[int]
    n_tokens: int
    tokens_per_s: float
    ttft_ms: float


class ErrorEvent(BaseModel):
    message: str
