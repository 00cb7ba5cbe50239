"""The lesson steps' own numbers beyond ``/api/trace``: one head's Q, K, V by hand, a padded batch,
one LayerNorm worked through, the KV cache, the masks of a batch and the positional encodings."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field

from server.schemas.common import MODEL_NAME, Backend


class LayerHead(BaseModel):
    model: str = MODEL_NAME
    layer: int = Field(0, ge=0)
    head: int = Field(0, ge=0)
    backend: Literal["numpy"] = "numpy"


class QKVRequest(LayerHead):
    text: str = Field(min_length=1, max_length=4000)


class QKVResponse(BaseModel):
    """x (T, C) is what the attention reads: LN(residual) in a pre-LN block, the residual in a post-LN one."""

    model: str
    layer: int
    head: int
    norm: str  # "pre" or "post"
    tokens: list[str]
    x: list[list[float]]  # (T, C)
    w_q: list[list[float]]  # (C, hs) this head's columns of c_attn
    w_k: list[list[float]]
    w_v: list[list[float]]
    b_q: list[float] | None  # (hs,) or None without biases
    b_k: list[float] | None
    b_v: list[float] | None
    q: list[list[float]]  # (T, hs) as the model computed them
    k: list[list[float]]
    v: list[list[float]]


class AttentionOutputRequest(BaseModel):
    model: str = MODEL_NAME
    text: str = Field(min_length=1, max_length=4000)
    layer: int = Field(0, ge=0)
    backend: Literal["numpy"] = "numpy"


class AttentionOutputResponse(BaseModel):
    """One layer's attention from weights × values to the residual stream, every head, every token.

    ``added`` = ``residual_in`` + ``proj``; in a pre-LN block it is ``resid_mid``, in a post-LN block
    ``resid_mid`` = ln_1(``added``).
    """

    model: str
    layer: int
    norm: str  # "pre" or "post"
    tokens: list[str]
    heads: list[list[list[float]]]  # (nh, T, hs) Σ_j w_ij v_j per head
    concat: list[list[float]]  # (T, C) the heads side by side
    w_o: list[list[float]]  # (C, C) c_proj's weight
    b_o: list[float] | None  # (C,) or None without biases
    proj: list[list[float]]  # (T, C) concat · W_O + b_O
    residual_in: list[list[float]]  # (T, C) entering the block
    added: list[list[float]]  # (T, C) residual_in + proj
    resid_mid: list[list[float]]  # (T, C) the model's residual stream after attention


class PaddedRequest(LayerHead):
    texts: list[Annotated[str, Field(max_length=4000)]] = Field(
        min_length=1, max_length=4, description="a batch of unequal prompts"
    )


class PaddedResponse(BaseModel):
    model: str
    layer: int
    head: int
    tokens: list[list[str | None]]  # (B, T) left-padded; None where padding
    padding: list[list[int]]  # (B, T) 1 real, 0 padding
    positions: list[list[int]]  # (B, T) as the model numbers them
    attention: list[list[list[float]]]  # (B, T, T) the chosen head, run as one padded batch
    alone: list[list[list[float]]]  # per prompt (T_b, T_b): the same head, the prompt run by itself
    pad_weight: float  # total weight real queries give padded keys (exactly 0)
    max_change: float  # largest |batched - alone| over the real tokens' weights


class LayerNormRequest(BaseModel):
    model: str = MODEL_NAME
    text: str = Field(min_length=1, max_length=4000, description="the input")
    layer: int = Field(0, ge=0, description="the block whose first LayerNorm (ln_1) is worked through")
    position: int = Field(-1, ge=-1, description="the token; -1 = the last")


class LayerNormResponse(BaseModel):
    model: str
    norm: str  # "pre" or "post"
    layer: int
    position: int
    token: str
    eps: float
    input: list[float]  # (C,) the vector ln_1 receives
    mean: float
    var: float  # biased: divides by C
    std: float  # sqrt(var + eps)
    normalised: list[float]  # (C,) (x - mean) / std
    normalised_mean: float
    normalised_var: float
    weight: list[float] | None  # (C,) gain γ
    bias: list[float] | None  # (C,) shift β
    output: list[float]  # (C,) γ · normalised + β: what the block uses


class CacheRequest(BaseModel):
    model: str = MODEL_NAME
    text: str = Field(min_length=1, max_length=4000, description="the prompt to continue")
    backend: Backend = "numpy"
    n: int = Field(32, ge=1, le=64, description="how many tokens to generate (greedy)")


class CacheLayer(BaseModel):
    layer: int
    k_shape: list[int]  # (B, nh, Tk, hs)
    v_shape: list[int]  # (B, nh, Tk, hs)
    bytes: int  # K and V together


class CacheResponse(BaseModel):
    model: str
    backend: str
    prompt_tokens: int
    ids: list[int]  # the generated ids (identical both ways when ``identical``)
    tokens: list[str]
    ids_uncached: list[int]
    identical: bool
    cached_ms: list[float]  # wall time of each step with the cache (step 0 runs the whole prompt)
    uncached_ms: list[float]  # ... and without it
    cached_positions: list[int]  # tokens each step runs through the model with the cache
    uncached_positions: list[int]  # ... and without it
    dtype: str
    layers: list[CacheLayer]  # the cache after the last step
    total_bytes: int


class MasksRequest(BaseModel):
    model: str = MODEL_NAME
    texts: list[Annotated[str, Field(max_length=4000)]] = Field(
        min_length=1, max_length=8, description="a batch of unequal prompts"
    )


class MasksResponse(BaseModel):
    tokens: list[list[str | None]]  # (B, T) left-padded; None where padding
    padding: list[list[int]]  # (B, T) 1 real, 0 padding
    positions: list[list[int]]  # (B, T) as the model numbers them
    causal: list[list[bool]]  # (T, T)
    combined: list[list[list[bool]]]  # (B, T, T) causal ∧ padding: what attention may use


class PositionalResponse(BaseModel):
    kind: str  # "sinusoidal" or "learned"
    model: str | None
    vectors: list[list[float]]  # (positions, dims)
    similarity: list[list[float]]  # (positions, positions) cosine similarity
