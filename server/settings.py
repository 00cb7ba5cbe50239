"""Server settings, read from the environment (``PLAYGROUND_*``) by pydantic-settings."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from models.loading import zoo_dir


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PLAYGROUND_", frozen=True)

    models_dir: Path = Field(default_factory=zoo_dir, description="folder of model directories to serve")
    default_model: str = Field(
        "shakespeare-char", description="the model pages open with (listed first) when it is served"
    )
    device: str = Field(
        "auto",
        pattern=r"^(auto|cpu|cuda|mps)$",
        description="where the PyTorch twin runs: auto (CUDA, then MPS, then the CPU), cpu, cuda or mps; "
        "the NumPy twin always runs on the CPU",
    )
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    max_streams: int = Field(
        64, ge=1, description="generations streaming at once; more get 503 + Retry-After"
    )
    torch_threads: int = Field(
        1, ge=1, description="torch threads per forward; each stream has its own worker thread already"
    )
    blas_threads: int = Field(
        1, ge=1, description="BLAS threads for NumPy; streams already run side by side in worker threads"
    )
    batching: bool = Field(
        True, description="streams on one model and backend share each forward (one batched step)"
    )
    max_batch: int = Field(64, ge=1, description="most streams advanced by one batched forward")
    retry_after_s: int = Field(5, ge=1, description="what a 503 tells the client to wait")
    max_body_bytes: int = Field(
        64 * 1024, ge=1024, description="largest request body accepted; larger ones get 413"
    )
    max_heavy: int = Field(
        2, ge=1, description="lesson answers (traces, tables, measurements) computed at once"
    )
    max_heavy_queue: int = Field(
        64, ge=0, description="lesson answers waiting for a turn; more get 503 + Retry-After"
    )
    max_trace_tokens: int = Field(
        256, ge=1, description="longest input a trace or a backend comparison explains, in tokens"
    )
    max_header_bytes: int = Field(
        16 * 1024, ge=1024, description="largest request head (request line and headers); larger get 400"
    )
    header_timeout_s: float = Field(
        10, gt=0, description="seconds a connection may take to send a request's head before it is closed"
    )
    body_timeout_s: float = Field(
        10, gt=0, description="seconds a request body may take to arrive whole; slower ones get 408"
    )
    keep_alive_s: float = Field(5, gt=0, description="seconds an idle keep-alive connection stays open")
    max_trainings: int = Field(
        1,
        ge=0,
        description="training-lab runs at once (each in a worker thread of its own); one more gets 503",
    )
    train_max_s: float = Field(600, gt=0, description="wall-time cap of one training-lab run, in seconds")
    train_max_steps: int = Field(5000, ge=1, description="most steps a training-lab run may ask for")
    train_idle_s: float = Field(
        60, gt=0, description="a training-lab run nobody has watched for this long stops by itself"
    )
    lab_models_kept: int = Field(4, ge=0, description="trained lab models served at once (the oldest goes)")
    lab_model_idle_s: float = Field(
        1800, gt=0, description="a trained lab model unused for this long is no longer served"
    )
    runs_dir: Path | None = Field(
        None, description="where trained lab models are also written as model folders (default: nowhere)"
    )
    train_text: Path | None = Field(
        None, description="the lab's shakespeare text (default: PLAYGROUND_TEXT or the shared Shakespeare)"
    )
    max_classes: int = Field(
        20, ge=1, description="live classes held at once; one more gets 503 + Retry-After"
    )
    class_max_students: int = Field(
        250, ge=1, description="students who may join one class; one more gets 503"
    )
    class_idle_s: float = Field(
        14400, gt=0, description="a class with no teacher action, join or new connection for this long ends"
    )
    class_join_per_min: int = Field(
        30, ge=1, description="join, event-stream and QR attempts per client address per minute (then 429)"
    )
    class_create_per_hour: int = Field(
        20, ge=1, description="classes one client address may start per hour (then 429)"
    )
    redis_url: str | None = Field(
        None,
        description="Redis for the live classes (needed with more than one replica); default: this process",
    )
    public_url: str | None = Field(
        None,
        pattern=r"^(https?://[^\s/?#]+(/[^\s?#]*)?)?$",
        description="the address students reach this site at, e.g. https://class.example.org (join links); "
        "default: the address the teacher's browser used",
    )
    forwarded_allow_ips: str | None = Field(
        None,
        description="proxies whose X-Forwarded-For names the client (comma-separated, or *); "
        "default: 127.0.0.1 (or $FORWARDED_ALLOW_IPS)",
    )
