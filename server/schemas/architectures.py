"""Architectures beyond the GPT: the masked LM fills masks, the encoder-decoder translates and
shows the cross-attention mask of a padded batch."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field

from models.mlm import MASK_CHAR
from server.schemas.common import MODEL_NAME, Backend, LensEntry


class FillMaskRequest(BaseModel):
    model: str = MODEL_NAME
    text: str = Field(min_length=1, max_length=1000, description=f"text; {MASK_CHAR} marks a hidden token")
    positions: list[int] = Field(
        default_factory=list, max_length=64, description="token positions to hide as well (0-based)"
    )
    top_k: int = Field(5, ge=1, le=50, description="candidates per masked position")
    backend: Backend = "numpy"


class MaskedPosition(BaseModel):
    position: int
    original: (
        LensEntry | None
    )  # the token that was hidden and its probability (None where the text had the mask)
    candidates: list[LensEntry]  # the top_k, most likely first


class FillMaskResponse(BaseModel):
    """``attention`` is [layer][head][query][key] over the masked input, rounded to 4 decimals."""

    model: str
    backend: str
    mask_id: int
    mask_token: str
    ids: list[int]  # the input after masking
    tokens: list[str]
    masked: list[MaskedPosition]
    filled: str  # the text with every mask replaced by its most likely token
    attention: list[list[list[list[float]]]]


class TranslateRequest(BaseModel):
    model: str = MODEL_NAME
    source: str = Field(min_length=1, max_length=64, description="the source text (for numbers: digits)")
    num_beams: int = Field(4, ge=1, le=8)
    length_penalty: float = Field(1.0, ge=-2, le=2)
    max_new_tokens: int | None = Field(None, ge=1, le=64, description="default: the decoder's context")
    backend: Backend = "numpy"


class Hypothesis(BaseModel):
    ids: list[int]
    tokens: list[str]
    text: str  # the words without the end token
    logprob: float
    score: float  # logprob / length^length_penalty
    finished: bool


class TranslationStepOut(BaseModel):
    """One step of beam search on an encoder-decoder's output."""

    step: int
    beams: list[Hypothesis]  # live beams after this step, best first
    finished: list[Hypothesis]


class Greedy(BaseModel):
    ids: list[int]  # generated ids, ending with the end token when the model wrote it
    tokens: list[str]
    text: str
    finished: bool


class TranslateResponse(BaseModel):
    """``cross_attention`` is [layer][head][target][source] for the greedy output: row t is the query
    that wrote ``greedy.tokens[t]``; ``self_attention`` the decoder's own [layer][head][target][target]."""

    model: str
    backend: str
    source_ids: list[int]
    source_tokens: list[str]
    reference: str | None  # the right words, when the source is a number
    greedy: Greedy
    best: Hypothesis
    hypotheses: list[Hypothesis]
    steps: list[TranslationStepOut]
    cross_attention: list[list[list[list[float]]]]
    self_attention: list[list[list[list[float]]]]


class CrossMaskRequest(BaseModel):
    model: str = MODEL_NAME
    sources: list[Annotated[str, Field(max_length=64)]] = Field(
        min_length=1, max_length=8, description="a batch of unequal sources"
    )


class CrossMaskResponse(BaseModel):
    source_tokens: list[list[str | None]]  # (B, S) left-padded; None where padding
    source_padding: list[list[int]]  # (B, S) 1 real, 0 padding
    target_tokens: list[list[str | None]]  # (B, T) the decoder's inputs (start token + greedy output)
    target_padding: list[list[int]]  # (B, T)
    cross: list[list[list[bool]]]  # (B, T, S) target query t may read source position s
