"""Generating text: the streamed generation and its events, beam search, the sampler's stages."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field

from models.stopping import MAX_STOP_CHARS, MAX_STOPS
from server.schemas.common import MODEL_NAME, Backend, SamplerFields, SeededSamplerFields

MAX_NEW_TOKENS = 1000  # past the model's context the window slides, so length is not bounded by it
StopString = Annotated[str, Field(min_length=1, max_length=MAX_STOP_CHARS)]


class GenerateRequest(SeededSamplerFields):
    model: str = MODEL_NAME
    prompt: str = Field(min_length=1, max_length=4000, description="text to continue")
    backend: Backend = "numpy"
    max_new_tokens: int = Field(
        100,
        ge=1,
        le=MAX_NEW_TOKENS,
        description="tokens to generate; past the model's context a GPT's window slides (see "
        "`window_start`), an LSTM's state carries on",
    )
    stop: list[StopString] | None = Field(
        None,
        max_length=MAX_STOPS,
        description=f"up to {MAX_STOPS} strings (1 to {MAX_STOP_CHARS} characters each) that end the "
        "generation with reason `stop` once the generated text holds one; the stop string and anything "
        "after it are not sent. Omitted (null): the model's own (a numbers model stops at the end of its "
        "line, `\\n`); `[]`: none. The tokenizer's end token, if it has one, always stops it.",
    )
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
    window_start: int = Field(
        description="index in prompt + generated tokens of the first token the model saw for this one: 0 "
        "until the text outgrows the context, then it jumps each time the window slides (the model "
        "re-reads the last half of its context from position 0 and goes on)"
    )


class DoneEvent(BaseModel):
    reason: Literal["length", "stop", "shutdown"] = Field(
        description="`length`: max_new_tokens reached; `stop`: a stop string or the end token; "
        "`shutdown`: the server is stopping"
    )
    stop: str | None = Field(None, description="the stop string, or the end token's text, that ended it")
    tokens: list[int]
    n_tokens: int
    tokens_per_s: float
    ttft_ms: float


class ErrorEvent(BaseModel):
    message: str


class BeamRequest(BaseModel):
    model: str = MODEL_NAME
    prompt: str = Field(min_length=1, max_length=4000)
    backend: Backend = "numpy"
    num_beams: int = Field(4, ge=1, le=16)
    max_new_tokens: int = Field(20, ge=1, le=128)
    length_penalty: float = Field(1.0, ge=-2, le=2)


class BeamOut(BaseModel):
    ids: list[int]
    text: str
    logprob: float
    score: float
    finished: bool


class BeamSearchStepOut(BaseModel):
    """One step of beam search on a language model."""

    step: int
    beams: list[BeamOut]
    finished: list[BeamOut]


class BeamResponse(BaseModel):
    model: str
    best: BeamOut
    hypotheses: list[BeamOut]
    steps: list[BeamSearchStepOut]


class SamplerRequest(SamplerFields):
    model: str = MODEL_NAME
    prompt: str = Field(min_length=1, max_length=4000, description="the text whose next token is drawn")
    backend: Backend = "numpy"
    n: int = Field(30, ge=1, le=200, description="how many tokens to report (the model's most likely first)")


class StageOut(BaseModel):
    name: str  # model | penalty | temperature | top_k | top_p
    probs: list[float]  # probability of each reported token after this stage
    kept: int  # tokens with probability > 0 after this stage
    entropy_bits: float  # of the whole distribution after this stage


class SamplerResponse(BaseModel):
    model: str
    backend: str
    ids: list[int]  # the reported tokens, most likely under the model first
    tokens: list[str]
    logits: list[float]  # their raw logits
    stages: list[StageOut]  # in the order the sampler applies them; the last is what is sampled
