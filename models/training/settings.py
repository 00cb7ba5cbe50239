"""What a training run is told: its optimisation settings, where it stands, how it ended."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

Stop = Literal["done", "time", "interrupted"]


def flag(name: str) -> str:
    """The command-line flag that sets a field: ``max_steps`` → ``--max-steps``."""
    return "--" + name.replace("_", "-")


@dataclass(frozen=True)
class TrainSettings:
    """Optimisation hyper-parameters; saved in every checkpoint, so a resumed run keeps them."""

    batch_size: int = 32  # windows per micro-batch
    grad_accum: int = 1  # micro-batches per optimiser step
    lr: float = 1e-3  # peak learning rate, reached at the end of warm-up
    min_lr: float = 1e-4  # floor of the cosine decay
    warmup: int = 100  # steps of linear warm-up
    max_steps: int = 5000  # 0 evaluates the initial model only
    lr_decay_steps: int | None = None  # step where the cosine reaches min_lr; None: max_steps
    weight_decay: float = 0.1  # decoupled (AdamW), on 2-D weight matrices only
    beta1: float = 0.9
    beta2: float = 0.99
    grad_clip: float = 1.0  # largest global gradient norm; 0 turns clipping off
    eval_interval: int = 250  # steps between evaluations (and checkpoints)
    eval_iters: int = 20  # batches of fixed windows per split at each evaluation
    seed: int = 1337

    def __post_init__(self) -> None:
        for name in ("batch_size", "grad_accum", "eval_interval", "eval_iters"):
            if getattr(self, name) < 1:
                raise ValueError(f"{flag(name)} must be at least 1, got {getattr(self, name)}")
        for name in ("warmup", "max_steps", "lr_decay_steps"):
            if (getattr(self, name) or 0) < 0:
                raise ValueError(f"{flag(name)} must not be negative, got {getattr(self, name)}")
        if not 0 <= self.min_lr <= self.lr:
            raise ValueError(f"need 0 <= --min-lr ({self.min_lr}) <= --lr ({self.lr})")
        if self.weight_decay < 0 or self.grad_clip < 0:
            raise ValueError("--weight-decay and --grad-clip must not be negative")

    def replace(self, **changes: Any) -> TrainSettings:
        return dataclasses.replace(self, **changes)

    @property
    def decay_steps(self) -> int:
        """The step where the cosine reaches min_lr."""
        return self.max_steps if self.lr_decay_steps is None else self.lr_decay_steps


SETTINGS = tuple(f.name for f in dataclasses.fields(TrainSettings))  # flags of the same names set them


@dataclass
class Progress:
    """Where a run stands; saved in the checkpoint."""

    step: int = 0  # optimiser steps taken
    tokens: int = 0  # training tokens seen
    elapsed_s: float = 0.0  # wall time, summed over resumed sessions
    best_val_loss: float | None = None
    best_step: int | None = None


@dataclass(frozen=True)
class TrainResult:
    step: int
    best_val_loss: float | None
    best_step: int | None
    stopped: Stop  # "done" (max_steps), "time" (--max-minutes) or "interrupted" (Ctrl-C)


def lr_at(step: int, s: TrainSettings) -> float:
    """Learning rate of optimiser step ``step`` (from 0): linear warm-up, cosine decay, then flat."""
    decay_steps = s.decay_steps
    if step < s.warmup:
        return s.lr * (step + 1) / s.warmup
    if step >= decay_steps:
        return s.min_lr
    progress = (step - s.warmup) / max(1, decay_steps - s.warmup)
    return s.min_lr + 0.5 * (1.0 + math.cos(math.pi * progress)) * (s.lr - s.min_lr)


def lr_schedule(s: TrainSettings, points: int) -> tuple[list[int], list[float]]:
    """``lr_at`` at about ``points`` steps spread over the run, the warm-up's last and first steps
    after it included (where the curve bends) → (steps, learning rates)."""
    last = max(s.max_steps, 1)
    marks = [0, s.warmup - 1, s.warmup, last - 1] if s.warmup else [0, last - 1]
    grid = np.unique(np.concatenate([np.linspace(0, last - 1, points).round(), marks]).astype(int))
    steps = [int(step) for step in grid if 0 <= step < last]
    return steps, [lr_at(step, s) for step in steps]
