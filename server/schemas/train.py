"""The training lab's request, control, state and Server-Sent Events."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from models.training.lab import LAB_ARCHS, LabSettings, resolved

LabTask = Literal["copy", "reverse", "sort", "induction", "numbers", "shakespeare"]
LabArch = Literal["gpt", "lstm", "encoder-decoder"]
D = LabSettings()  # the lab's defaults: one place for them, bounded here


class TrainRequest(BaseModel):
    """A run's settings; every field is optional (the task's defaults fill in)."""

    model_config = ConfigDict(extra="forbid")

    task: LabTask = D.task
    arch: LabArch | None = Field(None, description="default: gpt (encoder-decoder for numbers)")
    n_layer: int = Field(D.n_layer, ge=1, le=4)
    n_head: int = Field(D.n_head, ge=1, le=4)
    n_embd: int = Field(D.n_embd, ge=16, le=128)
    pos: Literal["learned", "sinusoidal", "none"] = D.pos
    norm: Literal["pre", "post"] = D.norm
    lr: float = Field(D.lr, gt=0, le=0.1)
    warmup: int = Field(D.warmup, ge=0, le=5000)
    steps: int | None = Field(None, ge=1, description="default: the task's; at most the server's cap")
    batch_size: int = Field(D.batch_size, ge=1, le=256)
    seed: int = Field(D.seed, ge=0, le=2**31 - 1)
    device: Literal["auto", "cpu", "cuda", "mps"] = D.device

    @model_validator(mode="after")
    def fits(self) -> TrainRequest:
        arch = resolved(LabSettings(task=self.task, arch=self.arch)).arch
        if arch not in LAB_ARCHS[self.task]:
            raise ValueError(f"arch: task {self.task} trains {' or '.join(LAB_ARCHS[self.task])}, not {arch}")
        if arch != "lstm" and self.n_embd % self.n_head:
            raise ValueError(f"n_embd: {self.n_embd} is not a multiple of n_head ({self.n_head})")
        return self


class TrainStarted(BaseModel):
    id: str
    model: str  # the name the trained model will be served under
    events: str  # the run's event stream
    page: str  # the run's own page: anyone with the link watches it


class TrainControl(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action: Literal["pause", "resume", "step", "stop"]


class TrainState(BaseModel):
    id: str
    model: str
    status: Literal["starting", "running", "paused", "done"]
    step: int
    steps: int
    reason: str | None  # why it ended (finished, stopped, time, idle, error, shutdown)
    viewers: int
    settings: dict[str, Any]
    served: bool  # whether its trained model is served now (the playground can use it)


class TrainEvent(BaseModel):
    """One event of a run; ``data`` as ``models/training/lab.py`` describes it per event name."""

    event: Literal["start", "step", "eval", "snapshot", "done", "error"]
    data: dict[str, Any]
