"""``POST /api/trace``: every number a lesson step needs, for one input and any architecture."""

from __future__ import annotations

from pydantic import BaseModel, Field

from server.schemas.common import MODEL_NAME, Backend, LensEntry


class TraceRequest(BaseModel):
    model: str = MODEL_NAME
    text: str = Field(
        min_length=1, max_length=4000, description="the input to trace (an encoder-decoder's source)"
    )
    target: str | None = Field(
        None,
        max_length=400,
        description="encoder-decoder only: the words the decoder reads after its start token "
        "(teacher forcing); default: its own greedy translation",
    )
    backend: Backend = "numpy"
    layer: int = Field(0, ge=0, description="the layer whose Q, K, V and scores (an LSTM's gates) are sent")
    head: int = Field(0, ge=0, description="the head whose Q, K, V and scores are sent (0 for an LSTM)")
    top_k: int = Field(5, ge=1, le=50, description="logit-lens candidates per layer and position")


class CrossTrace(BaseModel):
    """The decoder's cross-attention: T target queries, S source positions."""

    mask: list[list[bool]]  # (T, S) True where target query t may read source position s
    q: list[list[float]]  # (T, hs) the chosen layer and head
    k: list[list[float]]  # (S, hs) from the encoder's output
    v: list[list[float]]  # (S, hs)
    scores: list[list[float | None]]  # (T, S)
    attention: list[list[list[list[float]]]]  # (L, heads, T, S)


class StackTrace(BaseModel):
    """One transformer stack on one input; what ``TraceResponse`` holds at its top level for a GPT
    or an encoder, and under ``decoder`` for an encoder-decoder."""

    ids: list[int]
    tokens: list[str]
    positions: list[int]
    tok_emb: list[list[float]]  # (T, C)
    pos_emb: list[list[float]]  # (T, C)
    q: list[list[float]]  # (T, hs)
    k: list[list[float]]  # (T, hs)
    v: list[list[float]]  # (T, hs)
    scores: list[list[float | None]]  # (T, T)
    mask: list[list[bool]]  # (T, T)
    attention: list[list[list[list[float]]]]  # (L, heads, T, T)
    mlp_mean: list[list[float]]  # (L, T)
    mlp_active: list[list[float]]  # (L, T)
    residual_norm: list[list[float]]  # (L+1, T)
    logit_lens: list[list[list[LensEntry]]] | None  # (L, T, top_k); None: the stack has no head
    next_token: list[LensEntry] | None  # the 20 most likely tokens after the last position
    cross: CrossTrace | None = None


class LSTMLayerOut(BaseModel):
    """Each array is [step][unit], rounded to 4 decimals."""

    layer: int
    input_gate: list[list[float]]  # i = σ(·)
    forget_gate: list[list[float]]  # f = σ(·)
    cell_input: list[list[float]]  # g = tanh(·)
    output_gate: list[list[float]]  # o = σ(·)
    cell: list[list[float]]  # c_t
    hidden: list[list[float]]  # h_t


class LSTMStateTrace(BaseModel):
    n_hidden: int
    gates: LSTMLayerOut  # the chosen layer
    hidden_norm: list[list[float]]  # (L, T) ‖h_t‖ of every layer
    cell_norm: list[list[float]]  # (L, T) ‖c_t‖ of every layer


class TraceResponse(BaseModel):
    """Arrays are nested lists rounded to 4 decimals; a masked score (-inf) is null.

    A GPT or an encoder fills the top-level stack fields (an encoder's "logit lens" is what each
    block would fill in at every position, and it has no ``next_token``); an encoder-decoder puts
    its encoder there and its decoder (with cross-attention) under ``decoder``; an LSTM has no
    stack fields (null) and fills ``lstm`` instead.
    """

    model: str
    backend: str
    architecture: str
    ids: list[int]
    tokens: list[str]
    layer: int
    head: int | None  # None for an LSTM
    positions: list[int] | None = None
    tok_emb: list[list[float]]  # (T, C) for an LSTM (T, E)
    pos_emb: list[list[float]] | None = None  # (T, C)
    q: list[list[float]] | None = None  # (T, hs)
    k: list[list[float]] | None = None  # (T, hs)
    v: list[list[float]] | None = None  # (T, hs)
    scores: list[list[float | None]] | None = None  # (T, T)
    mask: list[list[bool]] | None = None  # (T, T)
    attention: list[list[list[list[float]]]] | None = None  # (L, heads, T, T)
    mlp_mean: list[list[float]] | None = None  # (L, T)
    mlp_active: list[list[float]] | None = None  # (L, T)
    residual_norm: list[list[float]] | None = None  # (L+1, T)
    logit_lens: list[list[list[LensEntry]]] | None = None  # (L, T, top_k)
    next_token: list[LensEntry] | None = None  # the 20 most likely next tokens (GPT, LSTM)
    next_logits: list[float] | None = None  # (V,) the last position's logits, for the sampler panel
    decoder: StackTrace | None = None  # encoder-decoder: the decoder on the target, with cross-attention
    lstm: LSTMStateTrace | None = None
