"""Training the PyTorch twins: ``playground train``.

What a run learns is its *task* (``--task``, ``models/tasks.py``): a language model on windows of
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

import argparse
import dataclasses
import json
import logging
import math
import os
import platform
import shlex
import signal
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from models.config import PRESETS, EncDecConfig, EncoderConfig, GPTConfig, LSTMConfig, preset
from models.data import REPO_ROOT, TOKENIZERS, TokenData, default_data_dir, load_data
from models.metrics import bits_per_char, perplexity
from models.tasks import DEFAULT_TASK, TASK_HELP, TASKS, Batch, MLMTask, check_arch, numbers_task
from models.weights import (
    atomic_write_bytes,
    atomic_write_json,
    init_encdec_params,
    init_encoder_params,
    init_gpt_params,
    init_lstm_params,
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
DEFAULT_BLOCK_SIZE = 128
EMBEDDINGS = ("wte.weight", "wpe.weight")  # parameter names ending so are never weight-decayed
# config fields that command-line flags may override, per architecture (the vocabulary comes from the task)
ARCH_FLAGS = {
    "gpt": ("block_size", "n_layer", "n_head", "n_embd", "norm", "pos", "activation", "dropout"),
    "lstm": ("block_size", "n_layer", "n_embd", "n_hidden", "dropout"),
    "encoder": ("block_size", "n_layer", "n_head", "n_embd", "pos", "dropout"),
    "encoder-decoder": ("n_enc_layer", "n_dec_layer", "n_head", "n_embd", "pos", "dropout"),
}
MODEL_FLAGS = tuple(dict.fromkeys(f for flags in ARCH_FLAGS.values() for f in flags))
ModelConfig = GPTConfig | LSTMConfig | EncoderConfig | EncDecConfig
CONFIGS = {"gpt": GPTConfig, "lstm": LSTMConfig, "encoder": EncoderConfig, "encoder-decoder": EncDecConfig}


def arch_of(config: ModelConfig) -> str:
    return next(arch for arch, cls in CONFIGS.items() if isinstance(config, cls))


def build_model(config: ModelConfig, params: dict[str, np.ndarray] | None, seed: int = 0) -> Any:
    """The PyTorch twin for ``config`` (float32), from ``params`` or the seeded initialisation."""
    if isinstance(config, LSTMConfig):
        from models.lstm_torch import LSTM

        return LSTM(config, params if params is not None else init_lstm_params(config, seed)).float()
    if isinstance(config, EncoderConfig):
        from models.encoder_torch import MaskedLM

        return MaskedLM(config, params if params is not None else init_encoder_params(config, seed)).float()
    if isinstance(config, EncDecConfig):
        from models.encdec_torch import EncoderDecoder

        init = params if params is not None else init_encdec_params(config, seed)
        return EncoderDecoder(config, init).float()
    from models.gpt_torch import GPT

    return GPT(config, params if params is not None else init_gpt_params(config, seed)).float()


Stop = Literal["done", "time", "interrupted"]


def _flag(name: str) -> str:
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
                raise ValueError(f"{_flag(name)} must be at least 1, got {getattr(self, name)}")
        for name in ("warmup", "max_steps", "lr_decay_steps"):
            if (getattr(self, name) or 0) < 0:
                raise ValueError(f"{_flag(name)} must not be negative, got {getattr(self, name)}")
        if not 0 <= self.min_lr <= self.lr:
            raise ValueError(f"need 0 <= --min-lr ({self.min_lr}) <= --lr ({self.lr})")
        if self.weight_decay < 0 or self.grad_clip < 0:
            raise ValueError("--weight-decay and --grad-clip must not be negative")

    def replace(self, **changes: Any) -> TrainSettings:
        return dataclasses.replace(self, **changes)


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
    decay_steps = s.max_steps if s.lr_decay_steps is None else s.lr_decay_steps
    if step < s.warmup:
        return s.lr * (step + 1) / s.warmup
    if step >= decay_steps:
        return s.min_lr
    progress = (step - s.warmup) / max(1, decay_steps - s.warmup)
    return s.min_lr + 0.5 * (1.0 + math.cos(math.pi * progress)) * (s.lr - s.min_lr)


def make_optimizer(model: Any, s: TrainSettings) -> torch.optim.AdamW:
    """AdamW whose weight decay reaches 2-D weight matrices only: not biases, LayerNorm gains, embeddings."""
    import torch

    decay, no_decay = [], []
    for name, p in model.named_parameters():  # a tied lm_head is wte, an embedding
        (decay if p.dim() == 2 and not name.endswith(EMBEDDINGS) else no_decay).append(p)
    groups = [{"params": decay, "weight_decay": s.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=s.lr, betas=(s.beta1, s.beta2), fused=True)


def sample_batch(
    tokens: np.ndarray, block_size: int, batch_size: int, rng: np.random.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """``batch_size`` windows at random offsets: inputs (B, T) and next-token targets (B, T)."""
    import torch

    starts = rng.integers(0, len(tokens) - block_size, size=batch_size)  # (B,)
    windows = torch.from_numpy(tokens[starts[:, None] + np.arange(block_size + 1)])  # (B, T+1)
    return windows[:, :-1], windows[:, 1:]


def fixed_batches(
    tokens: np.ndarray, block_size: int, batch_size: int, n_batches: int
) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """``n_batches`` batches of windows spread evenly over a split: the same at every evaluation."""
    import torch

    starts = np.linspace(0, len(tokens) - block_size - 1, n_batches * batch_size).round().astype(np.int64)
    windows = torch.from_numpy(tokens[starts[:, None] + np.arange(block_size + 1)])  # (N·B, T+1)
    return [(w[:, :-1], w[:, 1:]) for w in windows.split(batch_size)]


def prepare_args(data: TokenData) -> list[str]:
    """``playground prepare …`` that makes ``data`` again."""
    meta = data.meta
    prepare = ["playground", "prepare", "--text", _shown(Path(meta["text"])), "--tokenizer", data.kind]
    if data.kind == "bpe":
        prepare += ["--vocab-size", str(meta["requested_vocab_size"])]
    return [*prepare, "--out", _shown(data.directory)]


class LMTask:
    """Next-token prediction on random windows of a prepared data directory (GPT or LSTM): the
    task of ``models/tasks.py``'s interface that reads a ``TokenData``."""

    name = "lm"
    archs = ("gpt", "lstm")

    def __init__(self, data: TokenData):
        self.data = data
        self.train_tokens, self.val_tokens = data.train.astype(np.int64), data.val.astype(np.int64)
        self.block_size = DEFAULT_BLOCK_SIZE

    def config(self, arch: str, preset_name: str, changes: dict[str, Any]) -> ModelConfig:
        check_arch(self.name, arch)
        changes = dict(changes)
        block_size = changes.pop("block_size", DEFAULT_BLOCK_SIZE)
        if arch == "lstm":
            return LSTMConfig(vocab_size=self.data.vocab_size, block_size=block_size, **changes)
        return preset(preset_name, vocab_size=self.data.vocab_size, block_size=block_size, **changes)

    def setup(self, config: ModelConfig) -> None:
        T = self.block_size = config.block_size
        if config.vocab_size != self.data.vocab_size:
            raise ValueError(
                f"the model's vocabulary ({config.vocab_size}) is not the data's ({self.data.vocab_size})"
            )
        for split, tokens in (("train", self.train_tokens), ("validation", self.val_tokens)):
            if len(tokens) <= T:
                raise ValueError(f"the {split} split has {len(tokens)} tokens; --block-size {T} needs more")

    def train_batch(self, rng: np.random.Generator, batch_size: int) -> Batch:
        x, y = sample_batch(self.train_tokens, self.block_size, batch_size, rng)
        return Batch((x, y), batch_size * self.block_size)

    def eval_batches(self, split: str, batch_size: int, n_batches: int) -> list[Batch]:
        tokens = self.train_tokens if split == "train" else self.val_tokens
        batches = fixed_batches(tokens, self.block_size, batch_size, n_batches)
        return [Batch((x, y), x.numel()) for x, y in batches]

    def measures(self, model: Any, split: str, batches: list[Batch], loss: float) -> dict[str, float]:
        if split != "val":
            return {}
        val = self.data.meta["splits"]["val"]
        return {"val_ppl": perplexity(loss), "val_bpc": bits_per_char(loss, val["tokens"], val["chars"])}

    def tokenizer_json(self) -> dict[str, Any]:
        return self.data.tokenizer_json()

    def card_fields(self) -> dict[str, Any]:
        meta = self.data.meta
        return {
            "task": self.name,
            "data": {
                "text": meta["text_name"],
                "sha256": meta["sha256"],
                "splits": {
                    k: {"chars": v["chars"], "tokens": v["tokens"]} for k, v in meta["splits"].items()
                },
            },
            "tokenizer": {"kind": self.data.kind, "vocab_size": self.data.vocab_size},
        }

    def info(self) -> dict[str, Any]:
        return {"name": self.name}

    def prepare_args(self) -> list[str]:
        return prepare_args(self.data)

    def train_args(self) -> list[str]:
        return ["--tokenizer", self.data.kind, "--data", _shown(self.data.directory)]


Task = Any  # LMTask, or one of models/tasks.py's


def evaluate(model: Any, batches: list[Batch]) -> float:
    """Mean loss (nats per token) over fixed batches, dropout off; leaves the model in train mode."""
    import torch

    model.eval()
    with torch.inference_mode():
        losses = [model.loss(*b.args).item() for b in batches]
    model.train()
    return float(np.mean(losses))


def train_step(
    model: Any,
    optimizer: torch.optim.Optimizer,
    task: Task,
    rng: np.random.Generator,
    s: TrainSettings,
    lr: float,
) -> tuple[float, int]:
    """One optimiser step over ``grad_accum`` micro-batches → (their mean loss in nats per token,
    the tokens trained on)."""
    import torch

    total, tokens = 0.0, 0
    for _ in range(s.grad_accum):
        batch = task.train_batch(rng, s.batch_size)
        loss = model.loss(*batch.args)
        (loss / s.grad_accum).backward()
        total += loss.item()
        tokens += batch.tokens
    if s.grad_clip > 0:
        torch.nn.utils.clip_grad_norm_(model.parameters(), s.grad_clip)
    for group in optimizer.param_groups:
        group["lr"] = lr
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    return total / s.grad_accum, tokens


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


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _shown(path: Path) -> str:
    """A path as a command in the repository root would name it: relative when it is near the repo."""
    path = Path(path).resolve()
    if path.is_relative_to(REPO_ROOT.parent):
        return os.path.relpath(path, REPO_ROOT)
    return str(path)


def reproduce_command(
    task: Task, config: ModelConfig, s: TrainSettings, preset_name: str, threads: int, steps: int
) -> str:
    """``[playground prepare … &&] playground train …`` with every setting spelled out."""
    arch = arch_of(config)
    train = (
        ["playground", "train", "--arch", arch]
        if arch != "gpt"
        else ["playground", "train", "--preset", preset_name]
    )
    train += task.train_args()
    for name in ARCH_FLAGS[arch]:
        train += [_flag(name), str(getattr(config, name))]
    for name, value in {**dataclasses.asdict(s), "max_steps": steps}.items():
        if name not in ("beta1", "beta2"):  # no flags: always the defaults
            train += [_flag(name), str(value)]
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
        "architecture": arch_of(config),
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
) -> TrainResult:
    """Train (or, with ``resume``, continue) a run in ``out_dir``; the best model goes to ``export_dir``.

    ``data`` is a task (``models/tasks.py``), or prepared token data for the language-model task."""
    import torch
    from tqdm import tqdm
    from tqdm.contrib.logging import logging_redirect_tqdm

    out_dir = Path(out_dir)
    export_dir = Path(export_dir) if export_dir is not None else out_dir / "export"
    s = settings
    task = LMTask(data) if isinstance(data, TokenData) else data
    check_arch(task.name, arch_of(config))
    task.setup(config)
    eval_batches = {split: task.eval_batches(split, s.batch_size, s.eval_iters) for split in ("train", "val")}
    rng = np.random.default_rng(s.seed)
    if resume:
        info = read_checkpoint_info(out_dir)
        arrays = read_safetensors(out_dir / info["tensors"])
        params = {k.removeprefix("model."): v for k, v in arrays.items() if k.startswith("model.")}
        model = build_model(config, params)
        optimizer = make_optimizer(model, s)
        restore_optimizer(optimizer, model, arrays)
        torch.set_rng_state(torch.from_numpy(arrays["rng.torch"].copy()))
        rng.bit_generator.state = info["rng_numpy"]
        progress = Progress(**info["progress"])
        truncate_metrics(out_dir, progress.step)
        log.info("resuming %s at step %d of %d", out_dir, progress.step, s.max_steps)
    else:
        if (out_dir / CHECKPOINT_FILE).is_file():
            raise ValueError(
                f"{out_dir} already holds a run: pass --resume to continue it, or choose another --out"
            )
        out_dir.mkdir(parents=True, exist_ok=True)
        model = build_model(config, None, s.seed)
        optimizer = make_optimizer(model, s)
        torch.manual_seed(s.seed)  # dropout masks from here on
        progress = Progress()
        (out_dir / METRICS_FILE).unlink(missing_ok=True)
    model.train()
    n_params = model.num_parameters()
    run_info = {
        "arch": arch_of(config),
        "config": config.to_dict(),
        "settings": dataclasses.asdict(s),
        "preset": preset_name,
        "task": task.info(),
    }
    data_dir = getattr(task, "data", None)
    if data_dir is not None:
        run_info["data"] = {"directory": str(data_dir.directory.resolve()), "sha256": data_dir.meta["sha256"]}
    log.info("%s: task %s, %d parameters, %d threads", out_dir, task.name, n_params, torch.get_num_threads())

    session_start = time.perf_counter()
    elapsed_before = progress.elapsed_s
    deadline = session_start + 60 * max_minutes if max_minutes else None
    saved_at = progress.step if resume else None  # the resumed state is saved and evaluated already
    window = (progress.tokens, session_start)  # tokens/s is measured between evaluations

    def evaluate_and_record() -> None:
        losses: dict[str, float] = {}
        for split in ("train", "val"):
            loss = evaluate(model, eval_batches[split])
            losses[f"{split}_loss"] = loss
            model.eval()
            with torch.inference_mode():
                losses.update(task.measures(model, split, eval_batches[split], loss))
            model.train()
        now = time.perf_counter()
        progress.elapsed_s = elapsed_before + now - session_start
        seen = progress.tokens - window[0]
        record = {
            "step": progress.step,
            "tokens": progress.tokens,
            **losses,
            "lr": lr_at(progress.step, s),
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
            loss, tokens = train_step(model, optimizer, task, rng, s, lr_at(progress.step, s))
            progress.step += 1
            progress.tokens += tokens
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


# -- the `playground train` command ----------------------------------------------------------------

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
        choices=tuple(ARCH_FLAGS),
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
    model.add_argument("--pos", choices=("learned", "sinusoidal"))
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


def _given(args: argparse.Namespace, names: tuple[str, ...]) -> dict[str, Any]:
    return {name: getattr(args, name) for name in names if getattr(args, name, None) is not None}


def _task_name(args: argparse.Namespace, arch: str) -> str:
    task = args.task or DEFAULT_TASK[arch]
    check_arch(task, arch)
    return task


def _make_task(args: argparse.Namespace, arch: str, task_name: str) -> Task:
    """A new run's task from the flags (``--data`` / ``--tokenizer`` for prepared text,
    ``--split-seed`` for numbers); flags that do not apply to the task are refused."""
    if task_name == "numbers":
        for flag in ("data", "tokenizer"):
            if getattr(args, flag) is not None:
                raise ValueError(
                    f"{_flag(flag)}: --task numbers generates its own data and vocabularies (no prepare step)"
                )
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
    foreign = sorted(set(model_changes) - set(ARCH_FLAGS[arch]))
    if foreign:
        raise ValueError(f"{', '.join(_flag(f) for f in foreign)}: not an option of the {arch} architecture")
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
                f"{_flag(name)} {value} differs from the checkpoint's {saved.get(name)}; "
                "a resumed run keeps its model, task and data (choose another --out for a new run)"
            )
    settings = TrainSettings(**info["settings"])
    changes = _given(args, SETTINGS)
    for name, value in changes.items():
        if value != getattr(settings, name):
            log.info("resume: %s %s → %s", _flag(name), getattr(settings, name), value)
    task = _saved_task(info, arch)
    if args.tokenizer is not None and args.tokenizer != getattr(getattr(task, "data", None), "kind", None):
        raise ValueError(f"--tokenizer {args.tokenizer} differs from the checkpoint's data")
    config = CONFIGS[arch].from_dict(info["config"])
    return config, settings.replace(**changes), task, info["preset"]


def default_out(args: argparse.Namespace, arch: str, preset_name: str) -> Path:
    """``runs/<data>-<preset>`` (language models), ``runs/<data>-mlm``, ``runs/numbers-<preset>``."""
    task = args.task or DEFAULT_TASK[arch]
    if task == "numbers":
        return REPO_ROOT / "runs" / f"numbers-{preset_name}"
    data_dir = args.data or default_data_dir(args.tokenizer or "char")
    return REPO_ROOT / "runs" / f"{data_dir.name}-{'mlm' if task == 'mlm' else preset_name}"


def main(args: argparse.Namespace) -> int:
    import torch

    if args.threads is not None:
        torch.set_num_threads(args.threads)
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
    )
    return 130 if result.stopped == "interrupted" else 0
