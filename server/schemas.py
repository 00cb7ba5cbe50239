"""Request and response bodies of the API (pydantic): bounds here become 422s that name the field."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from models.sampling import MIN_PENALTY

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


class MetricsLog(BaseModel):
    model: str
    records: list[dict[str, Any]]  # step, tokens, train_loss, val_loss, val_ppl, val_bpc, lr, elapsed_s, ...


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
    rss_mib: float | None  # the server's resident memory now (Linux)
    mean_batch: float | None = None  # streams per generation forward since start-up (None before any)


class GenerateRequest(BaseModel):
    model: str = MODEL_NAME
    prompt: str = Field(min_length=1, max_length=4000, description="text to continue")
    backend: Literal["torch", "numpy"] = "numpy"
    max_new_tokens: int = Field(100, ge=1, le=512)
    temperature: float = Field(0.8, ge=0, le=5, description="0 = greedy")
    top_k: int = Field(0, ge=0, le=1_000_000, description="keep the k most likely tokens; 0 = off")
    top_p: float = Field(1.0, gt=0, le=1, description="keep the smallest set reaching p; 1 = off")
    repetition_penalty: float = Field(
        1.0, ge=MIN_PENALTY, le=5, description="> 1 discourages repeats; 1 = off"
    )
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
    reason: str  # max_tokens | context | stop_token | shutdown
    tokens: list[int]
    n_tokens: int
    tokens_per_s: float
    ttft_ms: float


class ErrorEvent(BaseModel):
    message: str


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
    backend: Literal["torch", "numpy"] = "numpy"
    layer: int = Field(0, ge=0, description="the layer whose Q, K, V and scores (an LSTM's gates) are sent")
    head: int = Field(0, ge=0, description="the head whose Q, K, V and scores are sent (0 for an LSTM)")
    top_k: int = Field(5, ge=1, le=50, description="logit-lens candidates per layer and position")


class LensEntry(BaseModel):
    id: int
    token: str
    prob: float


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


class TextRequest(BaseModel):
    model: str = MODEL_NAME
    text: str = Field(min_length=1, max_length=4000)
    backend: Literal["torch", "numpy"] = "numpy"


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


class BeamRequest(BaseModel):
    model: str = MODEL_NAME
    prompt: str = Field(min_length=1, max_length=4000)
    backend: Literal["torch", "numpy"] = "numpy"
    num_beams: int = Field(4, ge=1, le=16)
    max_new_tokens: int = Field(20, ge=1, le=128)
    length_penalty: float = Field(1.0, ge=-2, le=2)


class BeamOut(BaseModel):
    ids: list[int]
    text: str
    logprob: float
    score: float
    finished: bool


class BeamStepOut(BaseModel):
    step: int
    beams: list[BeamOut]
    finished: list[BeamOut]


class BeamResponse(BaseModel):
    model: str
    best: BeamOut
    hypotheses: list[BeamOut]
    steps: list[BeamStepOut]
