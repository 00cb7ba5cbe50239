"""What ``card.json`` says about an exported model, and the command that trains it again."""

from __future__ import annotations

import dataclasses
import platform
import shlex
from pathlib import Path
from typing import Any

from models.architectures import ModelConfig, architecture_for
from models.training.settings import Progress, TrainSettings, flag
from models.training.tasks import Task


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def reproduce_command(
    task: Task, config: ModelConfig, s: TrainSettings, preset_name: str, threads: int, steps: int
) -> str:
    """``[playground prepare … &&] playground train …`` with every setting spelled out."""
    arch = architecture_for(config).name
    train = (
        ["playground", "train", "--arch", arch]
        if arch != "gpt"
        else ["playground", "train", "--preset", preset_name]
    )
    train += task.train_args()
    for name in architecture_for(config).train_flags:
        train += [flag(name), str(getattr(config, name))]
    for name, value in {**dataclasses.asdict(s), "max_steps": steps}.items():
        if name not in ("beta1", "beta2"):  # no flags: always the defaults
            train += [flag(name), str(value)]
    train += ["--threads", str(threads)]
    prepare = task.prepare_args()
    return f"{shlex.join(prepare)} && {shlex.join(train)}" if prepare else shlex.join(train)


def model_card(
    name: str,
    task: Task,
    config: ModelConfig,
    s: TrainSettings,
    preset_name: str,
    n_params: int,
    progress: Progress,
    losses: dict[str, float],
) -> dict[str, Any]:
    """What ``card.json`` says about an exported model: task, data, size, training, results, provenance."""
    import torch

    fields = task.card_fields()
    return {
        "name": name,
        "architecture": architecture_for(config).name,
        "task": fields["task"],
        "data": fields["data"],
        "tokenizer": fields["tokenizer"],
        "config": config.to_dict(),
        "preset": preset_name,
        "parameters": n_params,
        "steps": progress.step,
        "tokens": progress.tokens,
        "wall_time_s": round(progress.elapsed_s, 1),
        "hardware": {
            "cpu": cpu_name(),
            "device": "cpu",
            "threads": torch.get_num_threads(),
            "torch": torch.__version__,
        },
        "training": dataclasses.asdict(s),
        **losses,
        "command": reproduce_command(task, config, s, preset_name, torch.get_num_threads(), progress.step),
    }


# -- the run ----------------------------------------------------------------------------------------
