"""Training the PyTorch twins: ``playground train``.

What a run learns is its *task* (``--task``, ``models/training/tasks.py``): a language model on windows of
a prepared data directory (``lm``: GPT or LSTM), numbers to words (``numbers``: the
encoder-decoder, or a GPT on "1234=words" lines) or a masked LM (``mlm``: the encoder). The
loop below is the same for all of them; the task supplies the batches, the fixed evaluation
batches, extra measures (perplexity, accuracy) and what the card says about the data.

One run lives in one directory (``--out``)::

    runs/<name>/
        checkpoint.json                step, config, settings, NumPy RNG state, best validation loss
        checkpoint-000500.safetensors  parameters, AdamW moments and step counts, torch RNG state
        metrics.jsonl                  one JSON line per evaluation: the loss curves
        export/                        the best model so far (config.json, model.safetensors,
                                       tokenizer.json, card.json); ``models.load_model`` reads it

The loop is nanoGPT's, in small: sample a random batch with a NumPy Generator, accumulate
gradients over ``grad_accum`` micro-batches, clip them, set the learning rate (linear warm-up,
then cosine decay to ``min_lr``) and take an AdamW step. Every ``eval_interval`` steps it
measures the loss on fixed train and validation batches, appends a line to ``metrics.jsonl``,
exports the model when validation improved, and writes a checkpoint.

Everything random (batch offsets from the NumPy Generator, dropout masks from torch's generator)
is restored from the checkpoint, so ``--resume`` continues exactly as the uninterrupted run would
have. The safetensors file is written first and ``checkpoint.json``, which names it, last, each
atomically: a crash at any moment leaves the previous checkpoint whole. Nothing is pickled.

torch is imported inside the functions that use it, so ``playground --help`` stays fast.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import signal
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from models.architectures import ModelConfig, architecture_for
from models.devices import resolve_device
from models.training.card import model_card
from models.training.data import TokenData
from models.training.settings import Progress, Stop, TrainResult, TrainSettings
from models.training.tasks import LMTask, Task
from models.training.trainer import Trainer
from models.weights import (
    atomic_write_bytes,
    atomic_write_json,
    read_json,
    read_safetensors,
    save_model_dir,
    save_safetensors,
)

if TYPE_CHECKING:
    import torch

log = logging.getLogger(__name__)

CHECKPOINT_FILE = "checkpoint.json"
CHECKPOINT_FORMAT = "playground-train-checkpoint/1"
METRICS_FILE = "metrics.jsonl"
DEFAULT_PRESET = "small"


# -- checkpoints: safetensors for tensors, JSON for the rest -------------------------------------


def save_checkpoint(
    out_dir: Path,
    model: Any,
    optimizer: torch.optim.Optimizer,
    rng: np.random.Generator,
    progress: Progress,
    run_info: dict[str, Any],
) -> None:
    """Write ``checkpoint-<step>.safetensors``, then ``checkpoint.json`` naming it, then drop older files."""
    import torch

    arrays = {f"model.{name}": value for name, value in model.state_arrays().items()}
    names = {p: name for name, p in model.named_parameters()}
    for p, state in optimizer.state.items():  # exp_avg, exp_avg_sq, step
        for key, value in state.items():
            arrays[f"optim.{names[p]}.{key}"] = value.detach().cpu().numpy()
    arrays["rng.torch"] = torch.get_rng_state().numpy()
    tensors = f"checkpoint-{progress.step:06d}.safetensors"
    save_safetensors(out_dir / tensors, arrays)
    info = {
        "format": CHECKPOINT_FORMAT,
        "tensors": tensors,
        **run_info,
        "progress": dataclasses.asdict(progress),
        "rng_numpy": rng.bit_generator.state,
    }
    atomic_write_json(out_dir / CHECKPOINT_FILE, info)
    for old in out_dir.glob("checkpoint-*.safetensors"):
        if old.name != tensors:
            old.unlink()


def read_checkpoint_info(out_dir: Path) -> dict[str, Any]:
    """The JSON half of the checkpoint in ``out_dir``; a missing one says how to start a run."""
    path = Path(out_dir) / CHECKPOINT_FILE
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint to resume: {path} is missing (drop --resume to start a run)")
    info = read_json(path)
    if info.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"{path} is not a {CHECKPOINT_FORMAT} checkpoint")
    return info


def restore_optimizer(optimizer: torch.optim.Optimizer, model: Any, arrays: dict[str, np.ndarray]) -> None:
    """Put saved AdamW moments and step counts back (through ``load_state_dict``, which sets dtypes)."""
    import torch

    names = {p: name for name, p in model.named_parameters()}
    ordered = [names[p] for group in optimizer.param_groups for p in group["params"]]  # state_dict order
    state = {}
    for index, name in enumerate(ordered):
        prefix = f"optim.{name}."
        saved = {k[len(prefix) :]: torch.from_numpy(v) for k, v in arrays.items() if k.startswith(prefix)}
        if saved:
            state[index] = saved
    optimizer.load_state_dict({"state": state, "param_groups": optimizer.state_dict()["param_groups"]})


def append_metrics(out_dir: Path, record: dict[str, Any]) -> None:
    with open(out_dir / METRICS_FILE, "a", encoding="utf-8") as f:
        f.write(json.dumps(record) + "\n")


def truncate_metrics(out_dir: Path, step: int) -> None:
    """Keep the metric lines up to the checkpoint's step (a crash may have left later or partial ones)."""
    path = out_dir / METRICS_FILE
    if not path.is_file():
        return
    kept = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if record["step"] <= step:
            kept.append(line + "\n")
    atomic_write_bytes(path, "".join(kept).encode())


class StopRequest:
    """While active, Ctrl-C asks the loop to stop after the current step (it then saves a checkpoint);
    a second Ctrl-C interrupts at once. Only the main thread can catch signals; elsewhere it does nothing."""

    def __init__(self) -> None:
        self.requested = False
        self._previous: Any = None

    def __enter__(self) -> StopRequest:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum: int, frame: Any) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        log.warning("interrupted: finishing this step and saving a checkpoint (Ctrl-C again to abort)")

    def __exit__(self, *exc: object) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)


# -- export: the best model as a model directory with a card --------------------------------------


def train(
    config: ModelConfig,
    settings: TrainSettings,
    data: TokenData | Task,
    out_dir: Path,
    export_dir: Path | None = None,
    *,
    resume: bool = False,
    max_minutes: float | None = None,
    preset_name: str = DEFAULT_PRESET,
    device: str = "cpu",
) -> TrainResult:
    """Train (or, with ``resume``, continue) a run in ``out_dir``; the best model goes to ``export_dir``.

    ``data`` is a task (``models/training/tasks.py``), or prepared token data for the language-model task."""
    import torch
    from tqdm import tqdm
    from tqdm.contrib.logging import logging_redirect_tqdm

    out_dir = Path(out_dir)
    export_dir = Path(export_dir) if export_dir is not None else out_dir / "export"
    s = settings
    device = resolve_device(device)
    task = LMTask(data) if isinstance(data, TokenData) else data
    if resume:
        info = read_checkpoint_info(out_dir)
        arrays = read_safetensors(out_dir / info["tensors"])
        params = {k.removeprefix("model."): v for k, v in arrays.items() if k.startswith("model.")}
        progress = Progress(**info["progress"])
        trainer = Trainer(config, s, task, device=device, params=params, progress=progress)
        restore_optimizer(trainer.optimizer, trainer.model, arrays)
        torch.set_rng_state(torch.from_numpy(arrays["rng.torch"].copy()))
        trainer.rng.bit_generator.state = info["rng_numpy"]
        truncate_metrics(out_dir, trainer.progress.step)
        log.info("resuming %s at step %d of %d", out_dir, trainer.progress.step, s.max_steps)
    else:
        if (out_dir / CHECKPOINT_FILE).is_file():
            raise ValueError(
                f"{out_dir} already holds a run: pass --resume to continue it, or choose another --out"
            )
        out_dir.mkdir(parents=True, exist_ok=True)
        trainer = Trainer(config, s, task, device=device)
        (out_dir / METRICS_FILE).unlink(missing_ok=True)
    model, optimizer, rng, progress = trainer.model, trainer.optimizer, trainer.rng, trainer.progress
    n_params = model.num_parameters()
    run_info = {
        "arch": architecture_for(config).name,
        "config": config.to_dict(),
        "settings": dataclasses.asdict(s),
        "preset": preset_name,
        "task": task.info(),
    }
    data_dir = getattr(task, "data", None)
    if data_dir is not None:
        run_info["data"] = {"directory": str(data_dir.directory.resolve()), "sha256": data_dir.meta["sha256"]}
    log.info(
        "%s: task %s, %d parameters, on %s, %d threads",
        out_dir,
        task.name,
        n_params,
        device,
        torch.get_num_threads(),
    )

    session_start = time.perf_counter()
    elapsed_before = progress.elapsed_s
    deadline = session_start + 60 * max_minutes if max_minutes else None
    saved_at = progress.step if resume else None  # the resumed state is saved and evaluated already
    window = (progress.tokens, session_start)  # tokens/s is measured between evaluations

    def evaluate_and_record() -> None:
        losses = trainer.evaluate()
        now = time.perf_counter()
        progress.elapsed_s = elapsed_before + now - session_start
        seen = progress.tokens - window[0]
        record = {
            "step": progress.step,
            "tokens": progress.tokens,
            **losses,
            "lr": trainer.lr,
            "elapsed_s": round(progress.elapsed_s, 3),
            "tokens_per_s": seen / (now - window[1]) if seen else None,
        }
        append_metrics(out_dir, record)
        extra = ", ".join(
            f"{k.removeprefix('val_')} {v:.4f}"
            for k, v in losses.items()
            if k not in ("train_loss", "val_loss")
        )
        log.info(
            "step %d: train %.4f, val %.4f%s, lr %.2e, %s tok/s",
            progress.step,
            losses["train_loss"],
            losses["val_loss"],
            f" ({extra})" if extra else "",
            record["lr"],
            f"{record['tokens_per_s']:.0f}" if seen else "-",
        )
        val_loss = losses["val_loss"]
        if progress.best_val_loss is None or val_loss < progress.best_val_loss:
            progress.best_val_loss, progress.best_step = val_loss, progress.step
            card = model_card(out_dir.name, task, config, s, preset_name, n_params, progress, losses)
            save_model_dir(export_dir, config, model.state_arrays(), task.tokenizer_json(), card)

    stopped: Stop = "done"
    with (
        StopRequest() as stop,
        logging_redirect_tqdm(),
        tqdm(total=s.max_steps, initial=progress.step, unit="step", dynamic_ncols=True, disable=None) as bar,
    ):
        while True:
            if progress.step != saved_at and (
                progress.step % s.eval_interval == 0 or progress.step >= s.max_steps
            ):
                evaluate_and_record()
                save_checkpoint(out_dir, model, optimizer, rng, progress, run_info)
                saved_at, window = progress.step, (progress.tokens, time.perf_counter())
            if progress.step >= s.max_steps:
                break
            if stop.requested or (deadline is not None and time.perf_counter() >= deadline):
                stopped = "interrupted" if stop.requested else "time"
                break
            loss = trainer.step().loss
            rate = (progress.tokens - window[0]) / (time.perf_counter() - window[1])
            bar.set_postfix(loss=f"{loss:.4f}", tok_s=f"{rate:.0f}", refresh=False)
            bar.update()
        if progress.step != saved_at:  # stopped between evaluations
            if stopped == "time":
                evaluate_and_record()  # the budget's last model may be the best one
            progress.elapsed_s = elapsed_before + time.perf_counter() - session_start
            save_checkpoint(out_dir, model, optimizer, rng, progress, run_info)
    log.info(
        "%s at step %d (%s); best val loss %s at step %s; model in %s",
        "stopped" if stopped != "done" else "finished",
        progress.step,
        {"done": "max steps", "time": "time budget", "interrupted": "Ctrl-C"}[stopped],
        f"{progress.best_val_loss:.4f}" if progress.best_val_loss is not None else "-",
        progress.best_step,
        export_dir,
    )
    return TrainResult(progress.step, progress.best_val_loss, progress.best_step, stopped)
