"""``playground train``: the flags, a new or resumed run, then ``models.training.loop.train``."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

from models.architectures import ARCHITECTURES, ModelConfig
from models.config import PRESETS
from models.devices import DEVICES, resolve_device
from models.training.data import REPO_ROOT, TOKENIZERS, default_data_dir, load_data
from models.training.loop import DEFAULT_PRESET, read_checkpoint_info, train
from models.training.sequences import SequenceTask
from models.training.settings import SETTINGS, TrainSettings, flag
from models.training.tasks import (
    DEFAULT_BLOCK_SIZE,
    DEFAULT_TASK,
    SEQUENCE_TASKS,
    TASK_HELP,
    TASKS,
    LMTask,
    MLMTask,
    Task,
    check_arch,
    numbers_task,
)

log = logging.getLogger(__name__)
# every architecture's model flags (the vocabulary comes from the task)
MODEL_FLAGS = tuple(dict.fromkeys(f for a in ARCHITECTURES.values() for f in a.train_flags))

EPILOG = """tasks and architectures:
  --task lm       (default for gpt, lstm) next-token language model on prepared windows:
                  playground prepare --tokenizer char && playground train --preset small
  --task numbers  (default for encoder-decoder) numbers to words, 0-999,999, generated from
                  --split-seed (no prepare step); the test numbers are never trained on:
                  playground train --arch encoder-decoder --n-embd 64 --max-steps 3000
                  playground train --arch gpt --task numbers --preset tiny   ('1234=words' lines,
                  loss on the answer only)
  --task mlm      (default for encoder) masked LM on prepared character windows, 15% of the
                  tokens chosen, BERT's 80/10/10: playground train --arch encoder --n-layer 2
Model flags belong to architectures: gpt (--preset, --block-size, --n-layer, --n-head, --n-embd,
--norm, --pos, --activation, --dropout), lstm (--block-size, --n-layer, --n-embd, --n-hidden,
--dropout), encoder (--block-size, --n-layer, --n-head, --n-embd, --pos, --dropout),
encoder-decoder (--n-enc-layer, --n-dec-layer, --n-head, --n-embd, --pos, --dropout).
Numbers models are measured with `playground evaluate NAME` (held-out greedy exact match)."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    d = TrainSettings()
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = EPILOG
    parser.add_argument(
        "--arch",
        choices=tuple(ARCHITECTURES),
        help="gpt (a transformer, default), lstm (a recurrent network), encoder (a masked LM) or "
        "encoder-decoder (a translation model)",
    )
    parser.add_argument(
        "--task",
        choices=TASKS,
        help="what to learn: " + "; ".join(f"{k}: {v}" for k, v in TASK_HELP.items()) + " (default: the "
        "architecture's own: lm for gpt and lstm, mlm for encoder, numbers for encoder-decoder)",
    )
    parser.add_argument("--preset", choices=PRESETS, help=f"GPT size (default {DEFAULT_PRESET})")
    parser.add_argument("--tokenizer", choices=TOKENIZERS, help="which prepared data to use (default char)")
    parser.add_argument("--data", type=Path, help="prepared data directory (default data/<text>-<tokenizer>)")
    parser.add_argument(
        "--split-seed", type=int, help="--task numbers: seed of the train/validation/test split (default 0)"
    )
    parser.add_argument("--out", type=Path, help="run directory (default runs/<data>-<preset>)")
    parser.add_argument("--export", type=Path, help="where the best model is exported (default <out>/export)")
    parser.add_argument("--resume", action="store_true", help="continue the run in --out from its checkpoint")
    model = parser.add_argument_group("model (overrides the preset)")
    model.add_argument(
        "--block-size", type=int, help=f"context length in tokens (default {DEFAULT_BLOCK_SIZE})"
    )
    model.add_argument("--n-layer", type=int)
    model.add_argument("--n-enc-layer", type=int, help="encoder-decoder: encoder layers (default 2)")
    model.add_argument("--n-dec-layer", type=int, help="encoder-decoder: decoder layers (default 2)")
    model.add_argument("--n-head", type=int)
    model.add_argument("--n-embd", type=int, help="transformer width; LSTM embedding width")
    model.add_argument("--n-hidden", type=int, help="LSTM hidden and cell width")
    model.add_argument("--norm", choices=("pre", "post"))
    model.add_argument("--pos", choices=("learned", "sinusoidal", "none"))
    model.add_argument("--activation", choices=("gelu", "relu"))
    model.add_argument("--dropout", type=float, help="dropout while training (default 0)")
    opt = parser.add_argument_group("optimisation")
    opt.add_argument("--batch-size", type=int, help=f"examples per micro-batch (default {d.batch_size})")
    opt.add_argument("--grad-accum", type=int, help=f"micro-batches per step (default {d.grad_accum})")
    opt.add_argument("--lr", type=float, help=f"peak learning rate (default {d.lr})")
    opt.add_argument(
        "--min-lr", type=float, help=f"learning rate at the end of the decay (default {d.min_lr})"
    )
    opt.add_argument("--warmup", type=int, help=f"warm-up steps (default {d.warmup})")
    opt.add_argument("--max-steps", type=int, help=f"optimiser steps in all (default {d.max_steps})")
    opt.add_argument(
        "--lr-decay-steps", type=int, help="step where the cosine decay ends (default --max-steps)"
    )
    opt.add_argument("--weight-decay", type=float, help=f"AdamW weight decay (default {d.weight_decay})")
    opt.add_argument(
        "--grad-clip", type=float, help=f"gradient norm clip, 0 for none (default {d.grad_clip})"
    )
    opt.add_argument(
        "--eval-interval", type=int, help=f"steps between evaluations (default {d.eval_interval})"
    )
    opt.add_argument(
        "--eval-iters", type=int, help=f"batches per split per evaluation (default {d.eval_iters})"
    )
    opt.add_argument("--seed", type=int, help=f"seeds the model, batches and dropout (default {d.seed})")
    run = parser.add_argument_group("this session")
    run.add_argument("--max-minutes", type=float, help="stop after this much wall time, saving a checkpoint")
    run.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")
    run.add_argument(
        "--device",
        choices=DEVICES,
        default="cpu",
        help="where to train: auto (CUDA, then MPS, then CPU), cpu (default), cuda (bf16 autocast) or mps",
    )


def _given(args: argparse.Namespace, names: tuple[str, ...]) -> dict[str, Any]:
    return {name: getattr(args, name) for name in names if getattr(args, name, None) is not None}


def _task_name(args: argparse.Namespace, arch: str) -> str:
    task = args.task or DEFAULT_TASK[arch]
    check_arch(task, arch)
    return task


def _make_task(args: argparse.Namespace, arch: str, task_name: str) -> Task:
    """A new run's task from the flags (``--data`` / ``--tokenizer`` for prepared text,
    ``--split-seed`` for numbers); flags that do not apply to the task are refused."""
    if task_name in SEQUENCE_TASKS or task_name == "numbers":
        for name in ("data", "tokenizer"):
            if getattr(args, name) is not None:
                raise ValueError(
                    f"{flag(name)}: --task {task_name} generates its own data and vocabularies "
                    "(no prepare step)"
                )
        if task_name in SEQUENCE_TASKS:
            if args.split_seed is not None:
                raise ValueError("--split-seed applies to --task numbers only")
            return SequenceTask(task_name)
        return numbers_task(arch, args.split_seed or 0)
    if args.split_seed is not None:
        raise ValueError("--split-seed applies to --task numbers only")
    data = load_data(args.data or default_data_dir(args.tokenizer or "char"))
    if args.tokenizer is not None and args.tokenizer != data.kind:
        raise ValueError(f"--tokenizer {args.tokenizer}, but {data.directory} holds {data.kind} tokens")
    return MLMTask(data) if task_name == "mlm" else LMTask(data)


def _new_run(args: argparse.Namespace, task: Task, preset_name: str) -> tuple[ModelConfig, TrainSettings]:
    """The model from the preset, the task and the flags; the settings from the flags and defaults."""
    arch = args.arch or "gpt"
    model_changes = _given(args, MODEL_FLAGS)
    foreign = sorted(set(model_changes) - set(ARCHITECTURES[arch].train_flags))
    if foreign:
        raise ValueError(f"{', '.join(flag(f) for f in foreign)}: not an option of the {arch} architecture")
    if arch == "lstm" and args.preset is not None:
        raise ValueError("--preset names GPT sizes; size an LSTM with --n-layer, --n-embd and --n-hidden")
    if arch != "gpt" and args.preset is not None:
        raise ValueError(f"--preset names GPT sizes; size the {arch} with its model flags (see --help)")
    config = task.config(arch, preset_name, model_changes)
    settings = TrainSettings(**_given(args, SETTINGS))
    if settings.lr_decay_steps is None:  # fixed now, so that raising --max-steps later extends the run
        settings = settings.replace(lr_decay_steps=settings.max_steps)
    return config, settings


def _saved_task(info: dict[str, Any], arch: str) -> Task:
    """The task of a checkpoint (one written before tasks existed trained a language model)."""
    saved = info.get("task") or {"name": "lm"}
    if saved["name"] == "numbers":
        return numbers_task(arch, saved["split_seed"])
    if saved["name"] in SEQUENCE_TASKS:
        return SequenceTask(saved["name"])
    data = load_data(Path(info["data"]["directory"]))
    if data.meta["sha256"] != info["data"]["sha256"]:
        raise ValueError(f"{data.directory} was prepared from another text than this run's (sha256 differs)")
    return MLMTask(data) if saved["name"] == "mlm" else LMTask(data)


def _resumed_run(
    args: argparse.Namespace, info: dict[str, Any]
) -> tuple[ModelConfig, TrainSettings, Task, str]:
    """The checkpoint's model, task, data and preset (flags may not change them) and its settings,
    which flags may change (a changed setting makes the run differ from an uninterrupted one)."""
    arch = info.get("arch", "gpt")
    task_info = info.get("task") or {"name": "lm"}
    given = {
        **_given(args, MODEL_FLAGS),
        "arch": args.arch,
        "preset": args.preset,
        "task": args.task,
        "split_seed": args.split_seed,
        "data": args.data and str(args.data.resolve()),
    }
    saved = {
        **info["config"],
        "arch": arch,
        "preset": info["preset"],
        "task": task_info["name"],
        "split_seed": task_info.get("split_seed"),
        "data": (info.get("data") or {}).get("directory"),
    }
    for name, value in given.items():
        if value is not None and value != saved.get(name):
            raise ValueError(
                f"{flag(name)} {value} differs from the checkpoint's {saved.get(name)}; "
                "a resumed run keeps its model, task and data (choose another --out for a new run)"
            )
    settings = TrainSettings(**info["settings"])
    changes = _given(args, SETTINGS)
    for name, value in changes.items():
        if value != getattr(settings, name):
            log.info("resume: %s %s → %s", flag(name), getattr(settings, name), value)
    task = _saved_task(info, arch)
    if args.tokenizer is not None and args.tokenizer != getattr(getattr(task, "data", None), "kind", None):
        raise ValueError(f"--tokenizer {args.tokenizer} differs from the checkpoint's data")
    config = ARCHITECTURES[arch].config.from_dict(info["config"])
    return config, settings.replace(**changes), task, info["preset"]


def default_out(args: argparse.Namespace, arch: str, preset_name: str) -> Path:
    """``runs/<data>-<preset>`` (language models), ``runs/<data>-mlm``, ``runs/numbers-<preset>``."""
    task = args.task or DEFAULT_TASK[arch]
    if task == "numbers" or task in SEQUENCE_TASKS:
        return REPO_ROOT / "runs" / f"{task}-{preset_name}"
    data_dir = args.data or default_data_dir(args.tokenizer or "char")
    return REPO_ROOT / "runs" / f"{data_dir.name}-{'mlm' if task == 'mlm' else preset_name}"


def main(args: argparse.Namespace) -> int:
    import torch

    if args.threads is not None:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)  # a device this machine lacks is refused before any work
    arch = args.arch or "gpt"
    preset_name = (args.preset or DEFAULT_PRESET) if arch == "gpt" else arch
    out_dir = args.out or default_out(args, arch, preset_name)
    if args.resume:
        config, settings, task, preset_name = _resumed_run(args, read_checkpoint_info(out_dir))
    else:
        task = _make_task(args, arch, _task_name(args, arch))
        config, settings = _new_run(args, task, preset_name)
    result = train(
        config,
        settings,
        task,
        out_dir,
        args.export,
        resume=args.resume,
        max_minutes=args.max_minutes,
        preset_name=preset_name,
        device=device,
    )
    return 130 if result.stopped == "interrupted" else 0
