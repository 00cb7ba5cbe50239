"""What is served: the model list and each model's card, training log and schedule, the measured
comparison table, health, tokenizing a text, and the twins' own source."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from server.schemas.common import MODEL_NAME


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


class ScheduleResponse(BaseModel):
    model: str
    lr: float  # peak, reached at the end of warm-up
    min_lr: float  # floor of the cosine decay
    warmup: int  # steps of linear warm-up
    max_steps: int  # steps the run was set up for
    decay_steps: int  # step where the cosine reaches min_lr
    trained_steps: int | None  # steps the shipped weights actually saw
    steps: list[int]
    lrs: list[float]  # lr_at(step) for each of steps


class CompareSpeed(BaseModel):
    backend: str
    tokens_per_s: float
    what: str  # which tokens were counted
    peak_rss_mib: float  # peak memory of the process that measured it
    device: str = "cpu"  # where it ran (tables written before devices were recorded: the CPU)


class CompareRow(BaseModel):
    name: str
    architecture: str
    task: str  # lm, mlm or numbers
    parameters: int
    quality: dict[str, float]  # val_loss/val_ppl/val_bpc, masked_loss/…/masked_top5, or exact_match
    quality_source: str = ""  # where the quality numbers come from
    speeds: list[CompareSpeed]
    file_bytes: int


class CompareMachine(BaseModel):
    """What the table was measured on, as much as a reader needs: no kernel or library versions
    (the file keeps them; the server does not advertise its own stack)."""

    cpu: str
    cores: int


class CompareTable(BaseModel):
    format: str
    generated: str  # when the table was measured (ISO 8601, UTC)
    machine: CompareMachine
    settings: dict[str, Any]
    backends: list[str]
    rows: list[CompareRow]  # served models only, in the order pages list them
    missing: list[str]  # served models the table has no row for (shipped after it was measured)


class Health(BaseModel):
    status: str
    models: int  # served
    streams: int  # generations streaming now
    tokens: int  # tokens generated since start-up
    rss_mib: float | None  # the server's resident memory now (Linux)
    mean_batch: float | None = None  # streams per generation forward since start-up (None before any)
    device: str  # where the PyTorch twin runs; "auto" until the first PyTorch twin loads and picks one
    cpu_s: float | None = None  # CPU seconds this process has used since start-up, all its threads


class TokenizeRequest(BaseModel):
    model: str = MODEL_NAME
    text: str = Field(max_length=4000, description="the text to split into tokens")


class TokenizeResponse(BaseModel):
    model: str
    ids: list[int]
    tokens: list[str]  # the text each token stands for
    offsets: list[tuple[int, int]]  # (start, end) character span of each token in the text


class SourceResponse(BaseModel):
    backend: str
    module: str
    name: str
    first_line: int  # line number of the first line in the module file
    source: str
